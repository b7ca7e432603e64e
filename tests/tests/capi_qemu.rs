//! The C API from C: `examples/c` compiled by `arm-none-eabi-gcc` against
//! `libcharm.a`, run under QEMU on the Cortex-M4F (`mps2-an386`) and the
//! Cortex-M0 (`microbit`), prints exactly what `charm sample` prints for the
//! same model and flags: f32, int8 row pairs, int8 tiles and fixed int8; models of one
//! tanh layer with the one-layer library, GRU, LSTM and stacked models
//! (format version 5) with the library built with `cells`, which the
//! one-layer library refuses in one line.
//!
//! | name | core | QEMU machine | libraries |
//! |---|---|---|---|
//! | `qemu_capi_m4_*` | Cortex-M4F | `mps2-an386` | `target/capi/cortex-m4f/libcharm.a`, `target/capi/cortex-m4f/cells/libcharm.a` |
//! | `qemu_capi_m0_*` | Cortex-M0 | `microbit` | `target/capi/cortex-m0/libcharm.a`, `target/capi/cortex-m0/cells/libcharm.a` |
//!
//! They need `arm-none-eabi-gcc` (Debian's `gcc-arm-none-eabi`),
//! `qemu-system-arm` and the libraries (`scripts/build-capi.sh`, or
//! `$CHARM_CAPI_DIR` for another directory than `target/capi`);
//! `./scripts/test.sh` provides them all. They fail, never skip, without them.
//! Each program is built with the model linked in and its parameters as a
//! header (`examples/c/build.sh --model --params`).

mod qemu_support;

use charm_params::Params;
use qemu_support::host::{charm, cli_sample, cli_train};
use qemu_support::models::{alphabet, corpus, quantized, random_stacked_model, tiled};
use qemu_support::{repo_root, Machine, Run, M0, M4};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A scratch directory under the target dir.
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("charm-capi-qemu");
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// The sampling parameters as `examples/c/sample_params.h` gives them: the
/// temperature as Rust's shortest decimal for the f32 (which C reads back to
/// the same f32), the prime as octal escapes of its UTF-8 bytes.
fn params_header(p: &Params<'_>) -> String {
    let prime: String = p.prime.bytes().map(|b| format!("\\{b:03o}")).collect();
    format!(
        "#define SAMPLE_LEN {}u\n#define SAMPLE_TEMPERATURE {:?}f\n#define SAMPLE_TOP_K {}u\n\
         #define SAMPLE_SEED {}ull\n#define SAMPLE_PRIME \"{prime}\"\n",
        p.len, p.temperature, p.top_k, p.seed
    )
}

/// The directory of the libraries: `$CHARM_CAPI_DIR` or `target/capi`.
fn capi_dir() -> PathBuf {
    std::env::var_os("CHARM_CAPI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/capi"))
}

/// The core of a machine's library.
fn core_of(m: &Machine) -> &'static str {
    match m.name {
        "m4" => "cortex-m4f",
        "m0" => "cortex-m0",
        other => panic!("no C example for {other}"),
    }
}

/// Which of a core's libraries (scripts/build-capi.sh --variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Library {
    /// `CORE/libcharm.a`: models of one tanh layer.
    OneLayer,
    /// `CORE/cells/libcharm.a`: models of every cell and depth too.
    Cells,
}

/// Builds the C example for `m` against `library` with `model` linked in
/// and `params`; returns the ELF.
fn build_with(
    m: &Machine,
    library: Library,
    model: &Path,
    params: &Params<'_>,
    name: &str,
) -> PathBuf {
    let dir = tempfile::tempdir().expect("temporary directory").keep();
    let header = dir.join("params.h");
    std::fs::write(&header, params_header(params)).expect("write the parameters");
    let (lib_dir, variant) = match library {
        Library::OneLayer => (capi_dir().join(core_of(m)), "one-layer"),
        Library::Cells => (capi_dir().join(core_of(m)).join("cells"), "cells"),
    };
    let lib = lib_dir.join("libcharm.a");
    assert!(
        lib.is_file(),
        "{} does not exist: build it with scripts/build-capi.sh --core {} --variant {variant} \
         (./scripts/test.sh does that first), or set CHARM_CAPI_DIR",
        lib.display(),
        core_of(m)
    );
    let elf = dir.join(format!("{name}.elf"));
    let out = Command::new("bash")
        .arg(repo_root().join("examples/c/build.sh"))
        .args(["--board", m.board.name, "--model"])
        .arg(model)
        .arg("--params")
        .arg(&header)
        .arg("--lib")
        .arg(&lib)
        .arg("--out")
        .arg(&elf)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "examples/c/build.sh failed (arm-none-eabi-gcc is Debian's gcc-arm-none-eabi):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elf
}

/// Builds the C example for `m` against the one-layer library.
fn build(m: &Machine, model: &Path, params: &Params<'_>, name: &str) -> PathBuf {
    build_with(m, Library::OneLayer, model, params, name)
}

/// Asserts that the program succeeded and printed exactly `expected`.
fn assert_prints(run: &Run, expected: &[u8], what: &str) {
    assert_eq!(
        run.status,
        0,
        "{what}: the C example failed; output {:?}; QEMU: {}",
        run.text(),
        String::from_utf8_lossy(&run.stderr)
    );
    if run.stdout != expected {
        let at = run
            .stdout
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(run.stdout.len().min(expected.len()));
        panic!(
            "{what}: the C example's output differs from charm sample's at byte {at}\n\
             C    ({} bytes): {:?}\nhost ({} bytes): {:?}",
            run.stdout.len(),
            run.text(),
            expected.len(),
            String::from_utf8_lossy(expected)
        );
    }
}

/// Builds and runs the example with the model at `path`, and compares with `charm sample`.
fn matches_charm_sample(m: &Machine, path: &Path, params: &Params<'_>, what: &str) {
    matches_charm_sample_with(m, Library::OneLayer, path, params, what);
}

/// [`matches_charm_sample`] against `library`.
fn matches_charm_sample_with(
    m: &Machine,
    library: Library,
    path: &Path,
    params: &Params<'_>,
    what: &str,
) {
    let name = path.file_stem().expect("a file name").to_string_lossy();
    let elf = build_with(m, library, path, params, &name);
    let run = m.run_elf(&elf, None, None);
    assert_prints(&run, &cli_sample(path, params), what);
}

/// `bytes` written to the scratch directory as `name`.
fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).expect("write a model");
    std::fs::rename(&temporary, &path).expect("rename a model");
    path
}

/// charm-core's embedding example model, as f32, int8 row pairs, int8
/// tiles and fixed int8 (as `charm quantize` writes them), with a name.
fn tiny_models() -> &'static [(PathBuf, &'static str)] {
    static MODELS: OnceLock<Vec<(PathBuf, &'static str)>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let f32_model = std::fs::read(repo_root().join("core/examples/embed/tiny.charm"))
            .expect("read core/examples/embed/tiny.charm");
        let f32_path = scratch_file("tiny.charm", &f32_model);
        let fixed = cli_quantize(&f32_path, "fixed");
        vec![
            (f32_path, "f32"),
            (
                scratch_file("tiny-int8.charm", &quantized(&f32_model)),
                "int8",
            ),
            (
                scratch_file("tiny-tiles.charm", &tiled(&f32_model)),
                "int8 tiles",
            ),
            (fixed, "int8 fixed"),
        ]
    })
}

/// An H=128 model trained with `charm train` on a corpus made here (65
/// characters, as tinyshakespeare has), and its int8 row pairs, tiles and
/// fixed int8 from `charm quantize` (once per run).
fn trained_models() -> &'static [(PathBuf, &'static str)] {
    static MODELS: OnceLock<Vec<(PathBuf, &'static str)>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let data = scratch().join("corpus-65.txt");
        std::fs::write(&data, corpus(&alphabet(65), 30_000, 5)).expect("write the corpus");
        let f32_path = scratch().join("trained-h128.charm");
        cli_train(&data, 128, 200, 7, &f32_path, &["--batch", "8"]);
        let mut models = vec![(f32_path.clone(), "f32")];
        for (layout, name) in [
            ("pairs", "int8"),
            ("tiles", "int8 tiles"),
            ("fixed", "int8 fixed"),
        ] {
            let out = scratch().join(format!("trained-h128-{layout}.charm"));
            charm(&[
                "quantize".as_ref(),
                "--model".as_ref(),
                f32_path.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
                "--layout".as_ref(),
                layout.as_ref(),
                "--force".as_ref(),
            ]);
            models.push((out, name));
        }
        models
    })
}

/// Whether the library of `m`'s core runs models of `element`: fixed int8
/// only on the cores without an FPU (scripts/build-capi.sh).
fn library_runs(m: &Machine, element: &str) -> bool {
    element != "int8 fixed" || matches!(core_of(m), "cortex-m0" | "cortex-m3" | "riscv32imac")
}

fn tiny_model_in_every_element_type(m: &Machine) {
    let runs = [
        // examples/c/sample_params.h
        Params {
            len: 120,
            temperature: 0.8,
            seed: 7,
            top_k: 0,
            prime: "the c",
        },
        Params {
            len: 200,
            temperature: 1.3,
            seed: 3,
            top_k: 5,
            prime: "",
        },
    ];
    for (path, element) in tiny_models().iter().filter(|(_, e)| library_runs(m, e)) {
        for params in &runs {
            let what = format!("tiny {element} T={} k={}", params.temperature, params.top_k);
            matches_charm_sample(m, path, params, &what);
        }
    }
}

fn trained_h128_in_every_element_type(m: &Machine) {
    for (path, element) in trained_models().iter().filter(|(_, e)| library_runs(m, e)) {
        let params = Params {
            len: 200,
            temperature: 0.7,
            seed: 2,
            top_k: 0,
            prime: "the quick\nbrown",
        };
        matches_charm_sample(m, path, &params, &format!("trained H=128 {element}"));
    }
}

/// `charm quantize --model F32 --out OUT --layout LAYOUT --force`; OUT's path.
fn cli_quantize(f32_path: &Path, layout: &str) -> PathBuf {
    let stem = f32_path.file_stem().expect("a file name").to_string_lossy();
    let out = f32_path.with_file_name(format!("{stem}-{layout}.charm"));
    charm(&[
        "quantize".as_ref(),
        "--model".as_ref(),
        f32_path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--layout".as_ref(),
        layout.as_ref(),
        "--force".as_ref(),
    ]);
    out
}

/// A version-5 model of `depth` layers of `cell` with `hidden` units over
/// 28 characters (random weights in ±0.6 from `seed`), as f32 and as
/// `charm quantize` writes its int8 row pairs and tiles: paths and names.
fn cells_models(
    cell: charm_core::Cell,
    depth: usize,
    hidden: usize,
    seed: u64,
) -> Vec<(PathBuf, String)> {
    let name = format!("{}-{depth}-layers-h{hidden}", cell.name());
    let model = random_stacked_model(cell, depth, hidden, &alphabet(28), seed, 0.6);
    let f32_path = scratch_file(&format!("{name}.charm"), &model);
    let mut models = vec![(f32_path.clone(), format!("{name} f32"))];
    for layout in ["pairs", "tiles"] {
        let path = cli_quantize(&f32_path, layout);
        let bytes = std::fs::read(&path).expect("read the int8 model");
        assert_eq!(bytes[4], 5, "{name} {layout}: format version 5");
        models.push((path, format!("{name} int8 {layout}")));
    }
    models
}

/// Every form of a version-5 model on the `cells` library against
/// `charm sample`: without a prime and with one, two temperatures, top-k.
fn cells_match_charm_sample(
    m: &Machine,
    cell: charm_core::Cell,
    depth: usize,
    hidden: usize,
    seed: u64,
) {
    let runs = [
        Params {
            len: 150,
            temperature: 1.0,
            seed: 3,
            top_k: 0,
            prime: "",
        },
        Params {
            len: 150,
            temperature: 0.7,
            seed: 9,
            top_k: 5,
            prime: "the cab ",
        },
    ];
    for (path, what) in cells_models(cell, depth, hidden, seed) {
        for params in &runs {
            let what = format!("{what} T={} prime={:?}", params.temperature, params.prime);
            matches_charm_sample_with(m, Library::Cells, &path, params, &what);
        }
    }
}

fn gru_in_every_element_type(m: &Machine) {
    cells_match_charm_sample(m, charm_core::Cell::Gru, 1, 24, 11);
}

fn lstm_in_every_element_type(m: &Machine) {
    cells_match_charm_sample(m, charm_core::Cell::Lstm, 1, 24, 12);
}

/// Two layers, H odd (the row pairs' half pair, the tiles' padding): an
/// LSTM (h and c per layer) and a GRU.
fn two_layers_in_every_element_type(m: &Machine) {
    cells_match_charm_sample(m, charm_core::Cell::Lstm, 2, 13, 13);
    cells_match_charm_sample(m, charm_core::Cell::Gru, 2, 17, 14);
}

/// A 2-layer LSTM of H 48 trained with `charm train --cell lstm --layers 2`
/// (once per run), as f32 and int8 row pairs and tiles from `charm quantize`
/// (the f32 file, 150 KB, fits the micro:bit's 256 KiB of flash with the
/// program; H 64 would not).
fn trained_lstm_two_layers_in_every_element_type(m: &Machine) {
    static MODELS: OnceLock<Vec<(PathBuf, &'static str)>> = OnceLock::new();
    let models = MODELS.get_or_init(|| {
        let data = scratch().join("corpus-40.txt");
        std::fs::write(&data, corpus(&alphabet(40), 20_000, 3)).expect("write the corpus");
        let f32_path = scratch().join("trained-lstm2-h48.charm");
        let extra = ["--cell", "lstm", "--layers", "2", "--batch", "8"];
        cli_train(&data, 48, 100, 5, &f32_path, &extra);
        vec![
            (f32_path.clone(), "f32"),
            (cli_quantize(&f32_path, "pairs"), "int8"),
            (cli_quantize(&f32_path, "tiles"), "int8 tiles"),
        ]
    });
    for (path, element) in models {
        let params = Params {
            len: 200,
            temperature: 0.7,
            seed: 2,
            top_k: 0,
            prime: "the quick\nbrown",
        };
        let what = format!("trained LSTM 2 layers H=48 {element}");
        matches_charm_sample_with(m, Library::Cells, path, &params, &what);
    }
}

/// The one-layer library refuses a version-5 model as charm without
/// `cells` does: one line, exit status 1.
fn one_layer_library_refuses_cells_models(m: &Machine) {
    let model = random_stacked_model(charm_core::Cell::Gru, 1, 8, &alphabet(28), 15, 0.6);
    let path = scratch_file(&format!("gru-refused-{}.charm", m.name), &model);
    let elf = build(m, &path, &Params::default(), "gru-refused");
    let run = m.run_elf(&elf, None, None);
    assert_eq!(run.status, 1, "output {:?}", run.text());
    assert_eq!(
        run.text(),
        "error: the weights linked in cannot be used: it has weight format version 5, this build \
         reads up to version 4\n"
    );
}

/// A corrupted model: one line with charm's sentence, exit status 1.
fn refuses_a_corrupted_model_with_charms_sentence(m: &Machine) {
    let mut model = std::fs::read(repo_root().join("core/examples/embed/tiny.charm"))
        .expect("read the tiny model");
    let at = model.len() / 2;
    model[at] ^= 0x10;
    let path = scratch_file(&format!("corrupted-{}.charm", m.name), &model);
    let elf = build(m, &path, &Params::default(), "corrupted");
    let run = m.run_elf(&elf, None, None);
    let clause = charm_core::decode_any(&charm_core::AlignedBytes::from(&model[..]))
        .expect_err("corrupted")
        .to_string();
    assert_eq!(run.status, 1, "output {:?}", run.text());
    assert_eq!(
        run.text(),
        format!("error: the weights linked in cannot be used: {clause}\n")
    );
    assert!(
        clause.starts_with("it is corrupted: CRC-32 is "),
        "{clause}"
    );
}

/// A prime character outside the vocabulary: charm's sentence, exit status 3.
fn refuses_a_prime_outside_the_vocabulary(m: &Machine) {
    let (path, _) = &tiny_models()[0];
    let params = Params {
        prime: "the Ω",
        ..Params::default()
    };
    let run = m.run_elf(&build(m, path, &params, "prime"), None, None);
    assert_eq!(run.status, 3, "output {:?}", run.text());
    assert_eq!(
        run.text(),
        "error: cannot generate: the character 'Ω' (U+03A9) does not occur in the model's \
         vocabulary\n"
    );
}

/// One test per (machine, test): `qemu_capi_m4_<test>`, `qemu_capi_m0_<test>`.
macro_rules! on_machines {
    ($($test:ident),* $(,)?) => {
        pastey::paste! {
            $(
                #[test]
                fn [<qemu_capi_m4_ $test>]() {
                    $test(&M4);
                }
                #[test]
                fn [<qemu_capi_m0_ $test>]() {
                    $test(&M0);
                }
            )*
        }
    };
}

on_machines!(
    tiny_model_in_every_element_type,
    trained_h128_in_every_element_type,
    refuses_a_corrupted_model_with_charms_sentence,
    refuses_a_prime_outside_the_vocabulary,
    gru_in_every_element_type,
    lstm_in_every_element_type,
    two_layers_in_every_element_type,
    trained_lstm_two_layers_in_every_element_type,
    one_layer_library_refuses_cells_models,
);
