//! The firmware under QEMU against the host, on every core: the same test
//! set on each of eight machines.
//!
//! | name | core | QEMU machine |
//! |---|---|---|
//! | `qemu_m0_*` | Cortex-M0 (no FPU, no DSP) | `microbit` |
//! | `qemu_m3_*` | Cortex-M3 (no FPU, no DSP) | `mps2-an385` |
//! | `qemu_m4_*` | Cortex-M4F | `mps2-an386` |
//! | `qemu_m7_*` | Cortex-M7 | `mps2-an500` |
//! | `qemu_m33_*` | Cortex-M33 | `mps2-an505` |
//! | `qemu_m55_*` | Cortex-M55 | `mps3-an547` |
//! | `qemu_riscv32_*` | RV32IMAC (no FPU) | `virt` (qemu-system-riscv32) |
//! | `qemu_riscv32imc_*` | RV32IMC (the ESP32-C3's: no atomics, no FPU) | `virt` with `-cpu rv32,a=off,f=off,d=off` |
//!
//! `cargo test -p charm-tests --test qemu -- qemu_m0_` runs one core's;
//! `cargo test -p charm-tests qemu` all. They need `qemu-system-arm`,
//! `qemu-system-riscv32` and each machine's firmware ELF
//! (`scripts/build-firmware.sh --board NAME`; `./scripts/test.sh` provides
//! them) and fail, never skip, without them. Each QEMU run is killed and
//! failed after 60 s.
//!
//! Weights and the parameters record are written to the firmware's flash
//! regions with QEMU's `-device loader,...,force-raw=on`, as
//! `probe-rs download --binary-format bin --base-address ...` writes them on a
//! board; one firmware image per machine serves every test. A model too
//! large for a machine's WEIGHTS region (the micro:bit has 192 KiB) is cut
//! to the largest of its kind that fits, and the test says so in its message.

mod qemu_support;

use charm_params::Params;
use charm_tests::cycle_model::{self, CycleTable, Isa, TraceCounts};
use qemu_support::host::{charm, cli_sample, cli_train, core_sample};
use qemu_support::models::{
    alphabet, corpus, extreme_fixed, extreme_int8, extreme_stacked_int8, fixed, largest, quantized,
    random_model, random_stacked_model, scaled_model, tiled, tinyshakespeare, Extreme,
    ExtremeIntegers,
};
use qemu_support::{assert_refused, repo_root, Machine, Run};
use qemu_support::{EXIT_BAD_PARAMS, EXIT_BAD_WEIGHTS, EXIT_CANNOT_GENERATE};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Runs the machine's firmware with `model` in flash and `params` as a record.
fn run_with(m: &Machine, model: &[u8], params: &Params<'_>) -> Run {
    let record = params.to_bytes().expect("a valid record");
    m.run(Some(model), Some(&record))
}

/// Runs `model` (the bytes of the file at `path`) with `params` on the
/// machine and asserts it prints what `charm sample` prints with the same flags.
fn matches_charm_sample(m: &Machine, path: &Path, model: &[u8], params: &Params<'_>, what: &str) {
    assert_prints(&run_with(m, model, params), &cli_sample(path, params), what);
}

/// Asserts that the firmware succeeded and printed exactly `expected`.
fn assert_prints(run: &Run, expected: &[u8], what: &str) {
    assert_eq!(
        run.status,
        0,
        "{what}: firmware failed; UART: {:?}; QEMU: {}",
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
            "{what}: the firmware's output differs from the host's at byte {at}\n\
             firmware ({} bytes): {:?}\nhost     ({} bytes): {:?}",
            run.stdout.len(),
            run.text(),
            expected.len(),
            String::from_utf8_lossy(expected)
        );
    }
}

/// A scratch directory under the target dir for models the tests train.
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("charm-qemu");
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// A small model over "\n abc...z" for the refusal tests.
fn small_model() -> Vec<u8> {
    random_model(16, &alphabet(28), 3, 0.5)
}

/// Which size of a model to keep when it must shrink to fit a WEIGHTS region.
#[derive(Clone, Copy)]
enum Keep {
    Hidden,
    Vocab,
}

/// `make(H, V)`, or, if that file is larger than the machine's WEIGHTS
/// region, the largest that fits: the other size shrinks first (V down to
/// 2, H down to 1), then the kept one. Returns (H, V, file).
fn fitted(
    m: &Machine,
    hidden: usize,
    vocab: usize,
    keep: Keep,
    make: impl Fn(usize, usize) -> Vec<u8>,
) -> (usize, usize, Vec<u8>) {
    let region = m.board.weights_bytes as usize;
    let fits = |h: usize, v: usize| make(h, v).len() <= region;
    let (h, v) = if fits(hidden, vocab) {
        (hidden, vocab)
    } else {
        // V counts from 2: largest(n) over n = V - 1.
        let shrink_vocab = |h: usize| largest(vocab - 1, |n| fits(h, n + 1)).map(|n| n + 1);
        let shrink_hidden = |v: usize| largest(hidden, |h| fits(h, v));
        match keep {
            Keep::Hidden => match shrink_vocab(hidden) {
                Some(v) => (hidden, v),
                None => (shrink_hidden(2).expect("H 1, V 2 fits"), 2),
            },
            Keep::Vocab => match shrink_hidden(vocab) {
                Some(h) => (h, vocab),
                None => (1, shrink_vocab(1).expect("H 1, V 2 fits")),
            },
        }
    };
    (h, v, make(h, v))
}

// ---------------------------------------------------------------- refusals

fn refuses_blank_flash(m: &Machine) {
    let erased = vec![0xFFu8; 64 * 1024];
    let run = m.run(Some(&erased), None);
    assert_refused(&run, EXIT_BAD_WEIGHTS, "error: no weights in flash (blank)");
    assert_eq!(
        run.text(),
        format!(
            "error: no weights in flash (blank): write a .charm file to {}\n",
            m.weights_address()
        )
    );
}

/// Nothing written: RAM that QEMU starts at zero, or the micro:bit's erased flash.
fn refuses_unwritten_flash(m: &Machine) {
    let run = m.run(None, None);
    assert_refused(&run, EXIT_BAD_WEIGHTS, "error: no weights in flash (blank)");
}

fn refuses_corrupted_weights(m: &Machine) {
    let mut model = small_model();
    let at = model.len() / 2;
    model[at] ^= 0x10;
    let run = m.run(Some(&model), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at {} cannot be used: it is corrupted: CRC-32 is ",
            m.weights_address()
        ),
    );
}

/// A partial copy: the device sees the rest of the region (zeros under
/// QEMU, or erased flash), the host sees the file end; both say it is
/// truncated, at the same byte.
fn refuses_a_truncated_copy_as_truncated_like_the_host(m: &Machine) {
    let model = small_model();
    let cut = model.len() * 2 / 3;
    let partial = &model[..cut];
    let host = charm_core::decode_any(&charm_core::AlignedBytes::from(partial)).unwrap_err();
    for blank in [0x00u8, 0xFF] {
        let device = charm_core::decode_any(&charm_core::AlignedBytes::from(
            &[partial, &vec![blank; 4096][..]].concat()[..],
        ))
        .unwrap_err();
        assert_eq!(host, device, "rest of the region {blank:#04x}");
    }
    let run = m.run(Some(partial), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at {} cannot be used: it is truncated: {cut} bytes of {}",
            m.weights_address(),
            model.len()
        ),
    );
}

fn refuses_a_file_that_is_not_a_model(m: &Machine) {
    let run = m.run(Some(b"\x89PNG\r\n\x1a\n not a model"), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at {} cannot be used: it is not a charm weight file",
            m.weights_address()
        ),
    );
}

/// One more than the build's H: an f32 model, or its int8 form where the f32
/// file does not fit the WEIGHTS region (the micro:bit's).
fn refuses_hidden_size_over_capacity(m: &Machine) {
    let (max_hidden, max_vocab) = (m.board.max_hidden, m.board.max_vocab);
    let hidden = max_hidden as usize + 1;
    let mut model = random_model(hidden, &alphabet(28), 5, 0.1);
    if model.len() > m.board.weights_bytes as usize {
        model = quantized(&model);
    }
    let run = m.run(Some(&model), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at {} cannot be used: its model (hidden {hidden}, \
             vocabulary 28) exceeds the capacity of this build (hidden {max_hidden}, vocabulary \
             {max_vocab})",
            m.weights_address()
        ),
    );
}

fn refuses_vocabulary_over_capacity(m: &Machine) {
    let (max_hidden, max_vocab) = (m.board.max_hidden, m.board.max_vocab);
    // V + 1 is within the format's limit (charm_core::MAX_VOCAB), over the build's.
    assert!((max_vocab as usize) < charm_core::MAX_VOCAB);
    let vocab = max_vocab as usize + 1;
    let model = random_model(8, &alphabet(vocab), 6, 0.1);
    let run = m.run(Some(&model), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at {} cannot be used: its model (hidden 8, vocabulary \
             {vocab}) exceeds the capacity of this build (hidden {max_hidden}, vocabulary \
             {max_vocab})",
            m.weights_address()
        ),
    );
}

fn refuses_corrupted_params_record(m: &Machine) {
    let mut record = Params {
        len: 10,
        ..Params::default()
    }
    .to_bytes()
    .expect("record");
    record[9] ^= 0x01; // len 10 -> 266: caught by the CRC
    let run = m.run(Some(&small_model()), Some(&record));
    assert_refused(
        &run,
        EXIT_BAD_PARAMS,
        &format!(
            "error: the sampling parameters record in flash at {} cannot be used: it is \
             corrupted: CRC-32 is ",
            m.params_address()
        ),
    );
}

fn refuses_prime_outside_vocabulary(m: &Machine) {
    let params = Params {
        prime: "abc!",
        ..Params::default()
    };
    let run = run_with(m, &small_model(), &params);
    assert_refused(
        &run,
        EXIT_CANNOT_GENERATE,
        "error: cannot generate: the character '!' (U+0021) does not occur in the model's vocabulary",
    );
}

// ------------------------------------------------- against charm-core directly

fn matches_core_generator_on_random_models(m: &Machine) {
    let (max_hidden, max_vocab) = (m.board.max_hidden as usize, m.board.max_vocab as usize);
    let cases: [(usize, usize, Keep, f32, u32, &str, u32); 7] = [
        // (hidden, vocab, keep, temperature, top_k, prime, len)
        (1, 2, Keep::Hidden, 1.0, 0, "", 40),
        (7, 28, Keep::Hidden, 0.0, 0, "abc", 60),
        (64, 90, Keep::Hidden, 0.7, 5, "", 120),
        (100, 300, Keep::Hidden, 1.3, 0, "Αβγ", 120),
        (128, 65, Keep::Hidden, 1.0, 0, "hello world", 200),
        // The capacity of the build, as far as the WEIGHTS region holds the
        // f32 file (H 512 and V 1024 together would be 5.2 MB).
        (max_hidden, 500, Keep::Hidden, 1.0, 3, "", 25),
        (64, max_vocab, Keep::Vocab, 0.9, 0, "", 25),
    ];
    for (i, &(hidden, vocab, keep, temperature, top_k, prime, len)) in cases.iter().enumerate() {
        let seed = 100 + i as u64;
        let (hidden, vocab, model) = fitted(m, hidden, vocab, keep, |h, v| {
            random_model(h, &alphabet(v), seed, 0.4)
        });
        let fits = m
            .board
            .fits(hidden as u32, vocab as u32, model.len() as u64);
        assert_eq!(fits, Ok(()), "H {hidden} V {vocab}");
        let params = Params {
            len,
            temperature,
            seed: 42 + i as u64,
            top_k,
            prime,
        };
        let run = run_with(m, &model, &params);
        let what = format!("H={hidden} V={vocab} T={temperature} top_k={top_k} prime={prime:?}");
        assert_prints(&run, &core_sample(&model, &params), &what);
    }
}

/// The subnormal-model runs: random f32 models (H 32, V 28) scaled by 1e-36
/// (normal weights whose products are subnormal), 2e-38 and 1e-39 (weights
/// and states around and below f32::MIN_POSITIVE) and 1e-44 (a few units of
/// the last place of zero), each greedy and at T = 1; with a name.
fn subnormal_runs(seed: u64) -> Vec<(String, Vec<u8>, Params<'static>)> {
    let factors = [1e-36f32, 2e-38, 1e-39, 1e-44].into_iter().enumerate();
    let runs = factors.flat_map(|(i, factor)| {
        let model = scaled_model(32, &alphabet(28), seed + i as u64, factor);
        [0.0, 1.0].map(|temperature| {
            let params = Params {
                len: 40,
                temperature,
                seed: 9,
                top_k: 0,
                prime: "abc",
            };
            let what = format!("weights × {factor:e}, T={temperature}");
            (what, model.clone(), params)
        })
    });
    runs.collect()
}

/// Subnormal weights, sums and states: the device computes IEEE-754 bits
/// there too (no flush to zero), f32 and int8, greedy and sampled.
fn matches_core_generator_on_subnormal_models(m: &Machine) {
    for (what, f32_model, params) in subnormal_runs(300) {
        for (kind, model) in [("f32", f32_model.clone()), ("int8", quantized(&f32_model))] {
            let run = run_with(m, &model, &params);
            let what = format!("{kind} {what}");
            assert_prints(&run, &core_sample(&model, &params), &what);
        }
    }
}

/// The sampler's corner cases, against the host: vocabularies that leave
/// 0–3 entries after the last whole vector of four (the M55 computes four at
/// a time), ties (all logits ±0), temperatures that send every weight but
/// the largest below exp's range or every argument to a subnormal (1e30,
/// a subnormal temperature), logits of ±1e3 and logits that overflow to ±inf
/// and NaN, top-k, and an int8 model.
fn matches_core_generator_on_sampling_corner_cases(m: &Machine) {
    let cases: [(usize, usize, f32, f32, u32, bool); 10] = [
        // (hidden, vocab, weight scale, temperature, top_k, int8)
        (8, 2, 0.4, 1.0, 0, false),
        (8, 3, 0.4, 1e-30, 0, false),
        (8, 5, 1e3, 1.0, 0, false),
        (8, 6, 0.4, 1e30, 0, false),
        (8, 7, 30.0, 0.5, 0, false),
        (8, 9, 0.0, 1.0, 0, false),
        (8, 13, 0.4, 1e-40, 0, false),
        (16, 20, 1e38, 1.0, 0, false),
        (8, 16, 0.4, 0.3, 3, false),
        (32, 65, 2.0, 0.8, 0, true),
    ];
    for (i, &(hidden, vocab, scale, temperature, top_k, int8)) in cases.iter().enumerate() {
        let f32_model = random_model(hidden, &alphabet(vocab), 500 + i as u64, scale);
        let model = if int8 {
            quantized(&f32_model)
        } else {
            f32_model
        };
        let params = Params {
            len: 60,
            temperature,
            seed: 11 + i as u64,
            top_k,
            prime: "",
        };
        let run = run_with(m, &model, &params);
        let what = format!(
            "H={hidden} V={vocab} scale {scale:e} T={temperature:e} top_k={top_k} int8={int8}"
        );
        assert_prints(&run, &core_sample(&model, &params), &what);
    }
}

fn uses_default_params_without_a_record(m: &Machine) {
    let model = random_model(32, &alphabet(40), 9, 0.5);
    let run = m.run(Some(&model), None);
    let defaults = Params::default();
    assert_eq!(
        (defaults.len, defaults.temperature, defaults.seed),
        (200, 1.0, 1)
    );
    assert_prints(&run, &core_sample(&model, &defaults), "no record: defaults");
}

fn runs_a_model_linked_into_the_image(m: &Machine) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let model = random_model(24, &alphabet(50), 11, 0.5);
    let model_path = dir.path().join("linked.charm");
    std::fs::write(&model_path, &model).expect("write the model");
    let elf = dir.path().join("linked.elf");
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/build-firmware.sh"))
        .args(["--board", m.board.name])
        .arg("--model")
        .arg(&model_path)
        .arg("--out")
        .arg(&elf)
        .status()
        .expect("run scripts/build-firmware.sh");
    assert!(status.success(), "scripts/build-firmware.sh --model failed");
    // Nothing is written to the WEIGHTS region: the model comes with the image.
    let run = m.run_elf(&elf, None, None);
    assert_prints(
        &run,
        &core_sample(&model, &Params::default()),
        "linked model, defaults",
    );
    let params = Params {
        len: 80,
        temperature: 0.5,
        seed: 3,
        top_k: 0,
        prime: "ab",
    };
    let record = params.to_bytes().expect("record");
    let run = m.run_elf(&elf, None, Some(&record));
    assert_prints(&run, &core_sample(&model, &params), "linked model, record");
}

// ------------------------------------------------ against the `charm` CLI

/// The H=128 model trained on tinyshakespeare with `charm train` (once per run).
fn shakespeare_model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let out = scratch().join("shakespeare-h128.charm");
        // A small batch keeps the training to seconds; the comparison does not
        // need a good model, only a real one.
        cli_train(&tinyshakespeare(), 128, 200, 7, &out, &["--batch", "8"]);
        out
    })
}

/// Firmware vs `charm sample` on the shakespeare model, with and without prime.
fn shakespeare_at(m: &Machine, temperature: f32, seed: u64) {
    let path = shakespeare_model();
    let model = std::fs::read(path).expect("read the model");
    for prime in ["", "ROMEO:\nWhat say"] {
        let params = Params {
            len: 300,
            temperature,
            seed,
            top_k: 0,
            prime,
        };
        matches_charm_sample(
            m,
            path,
            &model,
            &params,
            &format!("shakespeare T={temperature} prime={prime:?}"),
        );
    }
}

fn matches_charm_sample_shakespeare_h128_temperature_0_5(m: &Machine) {
    shakespeare_at(m, 0.5, 1);
}

fn matches_charm_sample_shakespeare_h128_temperature_1_0(m: &Machine) {
    shakespeare_at(m, 1.0, 2);
}

fn matches_charm_sample_shakespeare_h128_temperature_1_5(m: &Machine) {
    shakespeare_at(m, 1.5, 3);
}

fn matches_charm_sample_defaults_without_a_record(m: &Machine) {
    let path = shakespeare_model();
    let model = std::fs::read(path).expect("read the model");
    let run = m.run(Some(&model), None);
    let host =
        qemu_support::host::charm(&["sample".as_ref(), "--model".as_ref(), path.as_os_str()]);
    assert_prints(&run, &host, "no record vs `charm sample --model M`");
}

/// The PyTorch model of `tests/fixtures/pytorch/` (`nn.RNN` + `nn.Linear`,
/// saved by `safetensors.torch.save_file`), imported with `charm import`
/// (once per run).
fn pytorch_model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let out = scratch().join("pytorch-tiny-rnn.charm");
        let input = repo_root().join("tests/fixtures/pytorch/tiny_rnn.safetensors");
        let args = ["import".as_ref(), "--model".as_ref(), input.as_os_str()];
        let out_args = ["--out".as_ref(), out.as_os_str(), "--force".as_ref()];
        qemu_support::host::charm(&[&args[..], &out_args[..]].concat());
        out
    })
}

fn matches_charm_sample_imported_pytorch_model(m: &Machine) {
    let path = pytorch_model();
    let model = std::fs::read(path).expect("read the model");
    for (temperature, seed, prime) in [(1.0, 4, ""), (0.6, 5, "the café ")] {
        let params = Params {
            len: 200,
            temperature,
            seed,
            top_k: 0,
            prime,
        };
        matches_charm_sample(
            m,
            path,
            &model,
            &params,
            &format!("PyTorch model T={temperature} prime={prime:?}"),
        );
    }
}

/// An f32 model trained by `charm train` on a 300-character
/// Greek/Cyrillic/kana/CJK text (once per run).
fn non_ascii_model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let letters = alphabet(300);
        let data = scratch().join("non-ascii.txt");
        std::fs::write(&data, corpus(&letters, 20_000, 5)).expect("write the corpus");
        let path = scratch().join("non-ascii.charm");
        cli_train(&data, 48, 30, 5, &path, &[]);
        path
    })
}

fn matches_charm_sample_vocabulary_over_256_non_ascii(m: &Machine) {
    let path = non_ascii_model();
    let model = std::fs::read(path).expect("read the model");
    let bytes = charm_core::AlignedBytes::from(&model[..]);
    let file = charm_core::decode(&bytes).expect("charm train wrote a valid model");
    assert!(file.vocab.len() > 256, "vocabulary of {}", file.vocab.len());
    for (temperature, prime) in [(1.0, "Ωμέγα"), (0.5, ""), (1.5, "Жж ぁ")] {
        let params = Params {
            len: 200,
            temperature,
            seed: 17,
            top_k: 0,
            prime,
        };
        let run = run_with(m, &model, &params);
        let host = cli_sample(path, &params);
        assert!(
            !host.is_ascii(),
            "the sample should have non-ASCII characters"
        );
        assert_prints(
            &run,
            &host,
            &format!("V>256 T={temperature} prime={prime:?}"),
        );
    }
}

// ------------------------------------------------------------- int8 models

/// `charm quantize` of an f32 model file, written beside it as `NAME-int8.charm`.
fn cli_quantize(f32_model: &Path) -> PathBuf {
    cli_quantize_layout(f32_model, "pairs")
}

/// `charm quantize --layout LAYOUT` of an f32 model file, written beside it
/// as `NAME-int8.charm` (pairs) or `NAME-tiles.charm`.
fn cli_quantize_layout(f32_model: &Path, layout: &str) -> PathBuf {
    let stem = f32_model
        .file_stem()
        .expect("a file name")
        .to_string_lossy();
    let suffix = if layout == "pairs" { "int8" } else { layout };
    let out = f32_model.with_file_name(format!("{stem}-{suffix}.charm"));
    qemu_support::host::charm(&[
        "quantize".as_ref(),
        "--model".as_ref(),
        f32_model.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--layout".as_ref(),
        layout.as_ref(),
        "--force".as_ref(), // the scratch directory keeps earlier runs' files
    ]);
    out
}

/// The random int8 models of the tests, made by `layout` from random f32
/// models: H and V that are not multiples of 2, 4, 8 or 16 (the row pairs'
/// odd last row, the tiles' padding, the tail-predicated Helium rows; H 1,
/// 13, 21 and 100 pad to 1, 2, 3 and 13 steps of eight columns; every
/// entry of the DSP loop's turns: `int8_matches_core_generator_at_every_turn_entry`)
/// and the machine's capacity,
/// each fitted to its WEIGHTS region; with a name and the sampling
/// parameters to run it with.
fn int8_random_models(
    m: &Machine,
    seed: u64,
    layout: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<(String, Vec<u8>, Params<'static>)> {
    let (max_hidden, max_vocab) = (m.board.max_hidden as usize, m.board.max_vocab as usize);
    let cases: [(usize, usize, f32, &str, u32); 5] = [
        (1, 2, 1.0, "", 40),
        (13, 28, 0.8, "abc", 100),
        (21, 45, 1.0, "ab", 30),
        (100, 300, 1.2, "Αβγ", 120),
        (max_hidden, max_vocab, 1.0, "", 25),
    ];
    let models = cases.iter().enumerate();
    models
        .map(|(i, &(hidden, vocab, temperature, prime, len))| {
            let seed = seed + i as u64;
            let (hidden, vocab, model) = fitted(m, hidden, vocab, Keep::Hidden, |h, v| {
                layout(&random_model(h, &alphabet(v), seed, 0.4))
            });
            let params = Params {
                len,
                temperature,
                seed: 7 + seed % 100,
                top_k: 0,
                prime,
            };
            (format!("H={hidden} V={vocab}"), model, params)
        })
        .collect()
}

fn int8_matches_core_generator_on_random_models(m: &Machine) {
    for (what, model, params) in int8_random_models(m, 200, quantized) {
        assert_eq!(model[4], 3, "format version 3 (int8)");
        let run = run_with(m, &model, &params);
        assert_prints(&run, &core_sample(&model, &params), &format!("int8 {what}"));
    }
}

/// Row-pair models whose weights are all −128, −128 and 127 by turns, or
/// any byte, with states that saturate at ±32767 (the extremes of the
/// inner loops' sums), at H and V odd, 1, and the machine's capacity.
fn int8_matches_core_generator_on_extreme_weights(m: &Machine) {
    let (max_hidden, max_vocab) = (m.board.max_hidden as usize, m.board.max_vocab as usize);
    let cases = [
        (1, 2, Extreme::AllMinus128),
        (13, 29, Extreme::Alternating),
        (37, 5, Extreme::AnyByte(11)),
        (max_hidden, max_vocab, Extreme::AllMinus128),
        (max_hidden, max_vocab, Extreme::AnyByte(12)),
    ];
    for (i, (hidden, vocab, extreme)) in cases.into_iter().enumerate() {
        let (hidden, vocab, model) = fitted(m, hidden, vocab, Keep::Hidden, |h, v| {
            extreme_int8(&random_model(h, &alphabet(v), 300 + i as u64, 0.4), extreme)
        });
        let params = Params {
            len: 30,
            temperature: 1.0,
            seed: 5 + i as u64,
            top_k: 0,
            prime: "",
        };
        let run = run_with(m, &model, &params);
        let what = format!("int8 {extreme:?} H={hidden} V={vocab}");
        assert_prints(&run, &core_sample(&model, &params), &what);
    }
}

/// The runs of the int8 Shakespeare tests: three temperatures, with and
/// without a prime, 300 characters each; with a name.
fn shakespeare_int8_runs() -> Vec<(String, Params<'static>)> {
    let runs = [(0.5, 1), (1.0, 2), (1.5, 3)]
        .into_iter()
        .flat_map(|(temperature, seed)| {
            ["", "ROMEO:\nWhat say"].map(|prime| {
                let params = Params {
                    len: 300,
                    temperature,
                    seed,
                    top_k: 0,
                    prime,
                };
                (
                    format!("shakespeare T={temperature} prime={prime:?}"),
                    params,
                )
            })
        });
    runs.collect()
}

fn int8_matches_charm_sample_shakespeare_h128(m: &Machine) {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    let path = MODEL.get_or_init(|| cli_quantize(shakespeare_model()));
    let model = std::fs::read(path).expect("read the int8 model");
    assert_eq!(model[4], 3, "charm quantize writes format version 3");
    for (what, params) in shakespeare_int8_runs() {
        matches_charm_sample(m, path, &model, &params, &format!("int8 {what}"));
    }
}

fn int8_matches_charm_sample_vocabulary_over_256_non_ascii(m: &Machine) {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    let path = MODEL.get_or_init(|| {
        let letters = alphabet(300);
        let data = scratch().join("non-ascii-int8.txt");
        std::fs::write(&data, corpus(&letters, 20_000, 6)).expect("write the corpus");
        let f32_path = scratch().join("non-ascii-q.charm");
        cli_train(&data, 48, 30, 6, &f32_path, &[]);
        cli_quantize(&f32_path)
    });
    let model = std::fs::read(path).expect("read the int8 model");
    let params = Params {
        len: 200,
        temperature: 1.0,
        seed: 23,
        top_k: 0,
        prime: "Жж ぁ",
    };
    let run = run_with(m, &model, &params);
    let host = cli_sample(path, &params);
    assert!(
        !host.is_ascii(),
        "the sample should have non-ASCII characters"
    );
    assert_prints(&run, &host, "int8 V>256");
}

// ------------------------------------------------------- fixed int8 models

/// Whether the machine's firmware runs fixed int8 models: every board but
/// the Cortex-M4F ones, whose 16 KiB of text leave feature `fixed` out
/// (firmware/Cargo.toml).
fn runs_fixed(m: &Machine) -> bool {
    m.board.core.name != "Cortex-M4F"
}

/// Runs a fixed int8 `model`: where the firmware runs the layout it must
/// print what charm-core's generator prints on the host; the M4F refuses
/// the element type with one line.
fn fixed_matches_or_is_refused(m: &Machine, model: &[u8], params: &Params<'_>, what: &str) {
    let bytes = charm_core::AlignedBytes::from(model);
    let file = charm_core::decode_any(&bytes).expect("a model");
    assert_eq!(
        (file.version, file.weights.element()),
        (4, 3),
        "version 4, int8 fixed"
    );
    let run = run_with(m, model, params);
    if runs_fixed(m) {
        assert_prints(&run, &core_sample(model, params), &format!("fixed {what}"));
    } else {
        assert_refused(&run, EXIT_BAD_WEIGHTS, "error: the weights in flash at ");
        assert!(run.text().contains("element type 3"), "{}", run.text());
    }
}

/// Random fixed models (H and V odd, 1, the machine's capacity), with and
/// without a prime, at temperatures 1.0, 0.8 and 1.2.
fn fixed_matches_core_generator_on_random_models(m: &Machine) {
    for (what, model, params) in int8_random_models(m, 600, fixed) {
        fixed_matches_or_is_refused(m, &model, &params, &what);
    }
}

/// The fixed sampler's corner cases: greedy, top-k 1 and 3, temperatures
/// that send every weight but the largest to 0 (1e-30, subnormal 1e-40)
/// or make them all equal (1e30), ties (zero weights: every logit equal),
/// logits saturating at ±128 (weights ×300).
fn fixed_matches_core_generator_on_sampling_corner_cases(m: &Machine) {
    let cases: [(usize, usize, f32, f32, u32); 9] = [
        // (hidden, vocab, weight scale, temperature, top_k)
        (8, 2, 0.4, 0.0, 0),
        (9, 7, 0.4, 1.0, 1),
        (8, 16, 0.4, 0.3, 3),
        (8, 3, 0.4, 1e-30, 0),
        (8, 13, 0.4, 1e-40, 0),
        (8, 6, 0.4, 1e30, 0),
        (8, 9, 0.0, 1.0, 0),
        (16, 20, 300.0, 1.0, 0),
        (32, 65, 2.0, 0.8, 5),
    ];
    for (i, &(hidden, vocab, scale, temperature, top_k)) in cases.iter().enumerate() {
        let letters = alphabet(vocab);
        let model = fixed(&random_model(hidden, &letters, 700 + i as u64, scale));
        let prime: String = letters.chars().take(2 * (i % 2)).collect();
        let params = Params {
            len: 60,
            temperature,
            seed: 13 + i as u64,
            top_k,
            prime: &prime,
        };
        let what = format!("H={hidden} V={vocab} scale {scale:e} T={temperature:e} top_k={top_k}");
        fixed_matches_or_is_refused(m, &model, &params, &what);
    }
}

/// Fixed models with the row-pair extremes' int8 weights (−128 everywhere,
/// −128 and 127 by turns, any byte; states saturating at ±32767) and
/// integers as quantized, saturating (every product at ±2²⁹, every logit
/// at ±2²³) or anywhere in their ranges; H and V odd, 1, the capacity.
fn fixed_matches_core_generator_on_extreme_weights(m: &Machine) {
    let (max_hidden, max_vocab) = (m.board.max_hidden as usize, m.board.max_vocab as usize);
    let cases = [
        (1, 2, Extreme::AllMinus128, ExtremeIntegers::Quantized),
        (1, 1, Extreme::AllMinus128, ExtremeIntegers::Saturating),
        (13, 29, Extreme::Alternating, ExtremeIntegers::Saturating),
        (37, 5, Extreme::AnyByte(11), ExtremeIntegers::AnyInRange(3)),
        (
            max_hidden,
            max_vocab,
            Extreme::AllMinus128,
            ExtremeIntegers::Quantized,
        ),
        (
            max_hidden,
            max_vocab,
            Extreme::AnyByte(12),
            ExtremeIntegers::AnyInRange(4),
        ),
    ];
    for (i, (hidden, vocab, extreme, integers)) in cases.into_iter().enumerate() {
        let (hidden, vocab, model) = fitted(m, hidden, vocab, Keep::Hidden, |h, v| {
            let f32_model = random_model(h, &alphabet(v), 800 + i as u64, 0.4);
            extreme_fixed(&f32_model, extreme, integers)
        });
        let params = Params {
            len: 30,
            temperature: [1.0, 0.0, 0.7][i % 3],
            seed: 5 + i as u64,
            top_k: [0, 0, 2][i % 3],
            prime: "",
        };
        let what = format!("{extreme:?} {integers:?} H={hidden} V={vocab}");
        fixed_matches_or_is_refused(m, &model, &params, &what);
    }
}

/// Row-pair and fixed models of every padded state length up to 192
/// entries (H = 8k − 3, so S = 8k, k = 1 … 24), so that the DSP two-block
/// loop starts its passes after each step of its turn: in builds with the
/// fixed layout (the M7's and M33's firmware) a state of at most 128
/// entries takes one 128-column turn, entered after any of its sixteen
/// steps, and a longer one 64-column turns, entered after any of their
/// eight; the M4F's default build has 16-column turns (two entries), the
/// M55 its Helium rows. V = 3 to 6 by turns, so that the fixed sampler's
/// loop of four logits a turn is entered at each of them. The firmware
/// prints the host's characters (the fixed models where it runs them).
fn int8_matches_core_generator_at_every_turn_entry(m: &Machine) {
    for k in 1..=24usize {
        let (hidden, vocab) = (8 * k - 3, 3 + k % 4);
        let f32_model = random_model(hidden, &alphabet(vocab), 900 + k as u64, 0.5);
        let params = Params {
            len: 12,
            temperature: 1.0,
            seed: 3 + k as u64,
            top_k: 0,
            prime: "",
        };
        let what = format!("H={hidden} V={vocab}");
        let model = quantized(&f32_model);
        let run = run_with(m, &model, &params);
        assert_prints(&run, &core_sample(&model, &params), &format!("int8 {what}"));
        fixed_matches_or_is_refused(m, &fixed(&f32_model), &params, &what);
    }
}

/// `charm quantize --layout fixed` of the Shakespeare model: what `charm
/// sample` prints, at three temperatures with and without a prime, greedy
/// and top-k 5.
fn fixed_matches_charm_sample_shakespeare_h128(m: &Machine) {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    let path = MODEL.get_or_init(|| cli_quantize_layout(shakespeare_model(), "fixed"));
    let model = std::fs::read(path).expect("read the fixed int8 model");
    let mut runs = shakespeare_int8_runs();
    for (temperature, top_k) in [(0.0, 0), (1.0, 5)] {
        let params = Params {
            len: 200,
            temperature,
            seed: 4,
            top_k,
            prime: "ROMEO:\nWhat say",
        };
        runs.push((format!("shakespeare T={temperature} top_k={top_k}"), params));
    }
    for (what, params) in runs {
        if runs_fixed(m) {
            matches_charm_sample(m, path, &model, &params, &format!("fixed {what}"));
        } else {
            fixed_matches_or_is_refused(m, &model, &params, &what);
        }
    }
}

// -------------------------------------------------------- int8 tile models

/// The one line a core without Helium answers an int8 tile model with.
const TILES_REFUSED: &str = "error: the weights are int8 tiles, which only the Cortex-M55 \
     (Helium) firmware runs: quantize the f32 model with `charm quantize --layout pairs` for \
     this core\n";

/// Runs an int8 tile `model`: on a core with Helium it must print what
/// charm-core's generator prints on the host, elsewhere refuse it in one line.
fn tiles_match_or_are_refused(m: &Machine, model: &[u8], params: &Params<'_>, what: &str) {
    assert_eq!(model[4], 4, "format version 4 (int8 tiles)");
    let run = run_with(m, model, params);
    if m.board.core.int8_helium {
        assert_prints(&run, &core_sample(model, params), what);
    } else {
        assert_refused(&run, EXIT_BAD_WEIGHTS, "error: the weights are int8 tiles");
        assert_eq!(run.text(), TILES_REFUSED, "{what}");
    }
}

fn tiles_match_core_generator_on_random_models(m: &Machine) {
    for (what, model, params) in int8_random_models(m, 400, tiled) {
        tiles_match_or_are_refused(m, &model, &params, &format!("tiles {what}"));
    }
    // Subnormal scales, sums and logits: IEEE-754 bits on Helium too (its
    // f32 lanes flush subnormals; the step then computes the rows in scalar).
    for (what, f32_model, params) in subnormal_runs(500) {
        let what = format!("tiles {what}");
        tiles_match_or_are_refused(m, &tiled(&f32_model), &params, &what);
    }
}

fn tiles_match_charm_sample_shakespeare_h128(m: &Machine) {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    let path = MODEL.get_or_init(|| cli_quantize_layout(shakespeare_model(), "tiles"));
    let model = std::fs::read(path).expect("read the int8 tile model");
    for (what, params) in shakespeare_int8_runs() {
        let what = format!("tiles {what}");
        if m.board.core.int8_helium {
            matches_charm_sample(m, path, &model, &params, &what);
        } else {
            tiles_match_or_are_refused(m, &model, &params, &what);
        }
    }
}

// --------------------------------------------- charm-core's embedding example

/// `core/examples/embed.rs` built for the Cortex-M4F (`$CHARM_EMBED_EXAMPLE_ELF`,
/// which `./scripts/test.sh` sets, else cargo's default place) prints what
/// `charm sample` prints for its model and flags.
#[test]
fn qemu_m4_embedding_example_prints_what_charm_sample_prints() {
    let elf = std::env::var_os("CHARM_EMBED_EXAMPLE_ELF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/thumbv7em-none-eabihf/release/examples/embed"));
    assert!(
        elf.is_file(),
        "{} does not exist: build it with `cargo rustc -p charm-core --example embed --release \
         --target thumbv7em-none-eabihf -- -C link-arg=-Tlink.x -L native=core/examples/embed` \
         (./scripts/test.sh does)",
        elf.display()
    );
    let run = qemu_support::M4.run_elf(&elf, None, None);
    let model = repo_root().join("core/examples/embed/tiny.charm");
    let params = Params {
        len: 120,
        temperature: 0.8,
        seed: 7,
        top_k: 0,
        prime: "the c",
    };
    assert_prints(&run, &cli_sample(&model, &params), "the embedding example");
}

// ------------------------------------------- GRU, LSTM and stacked layers
//
// Models of other cells or depths (format version 5) run on the firmware
// built with feature `cells` (`Machine::cells_elf`); the default build,
// which must fit the M4F's 16 KiB, refuses them with charm-core's sentence.

/// `model` (written to a scratch file) on the `cells` firmware against
/// `charm sample`, without a prime and with one, at two temperatures.
fn cells_match_charm_sample(m: &Machine, name: &str, model: &[u8]) {
    let path = scratch().join(format!("{name}-{}.charm", m.name));
    std::fs::write(&path, model).expect("write the model");
    let elf = m.cells_elf();
    for (temperature, seed, top_k, prime) in [(1.0, 3, 0, ""), (0.7, 9, 5, "the cab ")] {
        let params = Params {
            len: 150,
            temperature,
            seed,
            top_k,
            prime,
        };
        let record = params.to_bytes().expect("a valid record");
        let run = m.run_elf(&elf, Some(model), Some(&record));
        assert_prints(
            &run,
            &cli_sample(&path, &params),
            &format!("{name} T={temperature} prime={prime:?}"),
        );
    }
}

fn cells_gru_matches_charm_sample(m: &Machine) {
    let model = random_stacked_model(charm_core::Cell::Gru, 1, 24, &alphabet(28), 11, 0.6);
    cells_match_charm_sample(m, "gru", &model);
}

fn cells_lstm_matches_charm_sample(m: &Machine) {
    let model = random_stacked_model(charm_core::Cell::Lstm, 1, 24, &alphabet(28), 12, 0.6);
    cells_match_charm_sample(m, "lstm", &model);
}

fn cells_two_layers_match_charm_sample(m: &Machine) {
    for (cell, seed) in [(charm_core::Cell::Rnn, 13), (charm_core::Cell::Lstm, 14)] {
        let model = random_stacked_model(cell, 2, 16, &alphabet(28), seed, 0.6);
        cells_match_charm_sample(m, &format!("{}-2-layers", cell.name()), &model);
    }
}

/// The PyTorch fixtures of every cell (tests/fixtures/pytorch), imported
/// with `charm import` (once per run).
fn pytorch_cell_models() -> &'static [PathBuf] {
    static MODELS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    MODELS.get_or_init(|| {
        ["gru", "lstm", "rnn2", "emb_gru2"]
            .iter()
            .map(|name| {
                let out = scratch().join(format!("pytorch-tiny-{name}.charm"));
                let input =
                    repo_root().join(format!("tests/fixtures/pytorch/tiny_{name}.safetensors"));
                let args = ["import".as_ref(), "--model".as_ref(), input.as_os_str()];
                let out_args = ["--out".as_ref(), out.as_os_str(), "--force".as_ref()];
                qemu_support::host::charm(&[&args[..], &out_args[..]].concat());
                out
            })
            .collect()
    })
}

fn cells_imported_pytorch_models_match_charm_sample(m: &Machine) {
    let elf = m.cells_elf();
    for path in pytorch_cell_models() {
        let model = std::fs::read(path).expect("read the model");
        let params = Params {
            len: 150,
            temperature: 0.8,
            seed: 21,
            top_k: 0,
            prime: "we like ",
        };
        let record = params.to_bytes().expect("a valid record");
        let run = m.run_elf(&elf, Some(&model), Some(&record));
        assert_prints(
            &run,
            &cli_sample(path, &params),
            &path.display().to_string(),
        );
    }
}

fn cells_are_refused_by_the_default_firmware(m: &Machine) {
    let model = random_stacked_model(charm_core::Cell::Gru, 1, 8, &alphabet(28), 15, 0.6);
    let run = run_with(m, &model, &Params::default());
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at {} cannot be used: it has weight format version 5, \
             this build reads up to version 4",
            m.weights_address()
        ),
    );
}

/// The cells build's state buffers hold the board's `max_state` values of
/// every element type. Two LSTM layers of H 136 carry 544 f32 state values,
/// 816 as int8 row pairs (h over H rounded up to 8, and c in two Q15 slots
/// a unit) and 1,440 as int8 tiles (H rounded up to 16, 5 slots a unit) —
/// more than one layer of H 512 — and each form prints `charm sample`'s
/// bytes. The micro:bit's buffers hold 256 values (and its flash not such
/// a file): four LSTM layers whose 8·H values are one unit a layer over
/// them are refused in one line.
fn cells_state_up_to_the_boards_capacity(m: &Machine) {
    let capacity = m.board.max_state as usize;
    if capacity < 816 {
        let hidden = capacity / 8 + 1;
        let model = random_stacked_model(charm_core::Cell::Lstm, 4, hidden, &alphabet(28), 16, 0.6);
        let record = Params::default().to_bytes().expect("a valid record");
        let run = m.run_elf(&m.cells_elf(), Some(&model), Some(&record));
        assert_refused(
            &run,
            EXIT_CANNOT_GENERATE,
            &format!(
                "error: cannot generate: the model carries {} state values (layers x H, twice \
                 for an LSTM) and this board's state buffers hold {capacity}",
                8 * hidden
            ),
        );
        return;
    }
    let model = random_stacked_model(charm_core::Cell::Lstm, 2, 136, &alphabet(28), 16, 0.6);
    let path = scratch().join(format!("lstm2-h136-{}.charm", m.name));
    std::fs::write(&path, &model).expect("write the model");
    let (pairs_path, pairs) = cli_quantized_cells(m, "lstm2-h136", &model, "pairs");
    let mut forms = vec![("f32", path, model), ("int8", pairs_path, pairs)];
    if m.board.core.int8_helium {
        let (tiles_path, tiles) = cli_quantized_cells(m, "lstm2-h136", &forms[0].2, "tiles");
        forms.push(("tiles", tiles_path, tiles));
    }
    let params = Params {
        len: 30,
        temperature: 0.9,
        seed: 4,
        top_k: 0,
        prime: "the ",
    };
    let record = params.to_bytes().expect("a valid record");
    for (name, path, bytes) in forms {
        let run = m.run_elf(&m.cells_elf(), Some(&bytes), Some(&record));
        assert_prints(&run, &cli_sample(&path, &params), name);
    }
}

// ------------------------------ int8 GRU, LSTM and stacked layers
//
// `charm quantize` of the version-5 models above: int8 row pairs run on the
// `cells` firmware of every core, int8 tiles on the Cortex-M55's (the other
// cores refuse them in one line); each prints exactly `charm sample`'s bytes.

/// `model` (an f32 version-5 file) written to a scratch file, quantized
/// by `charm quantize --layout LAYOUT`; the int8 file's path and bytes.
fn cli_quantized_cells(m: &Machine, name: &str, model: &[u8], layout: &str) -> (PathBuf, Vec<u8>) {
    let path = scratch().join(format!("{name}-{}.charm", m.name));
    std::fs::write(&path, model).expect("write the model");
    let out = cli_quantize_layout(&path, layout);
    let bytes = std::fs::read(&out).expect("read the int8 model");
    assert_eq!(bytes[4], 5, "{name}: format version 5");
    (out, bytes)
}

/// The int8 (row pairs) and, on the M55, int8 tile forms of `model` on
/// the `cells` firmware against `charm sample`, with and without a prime
/// (`cells_match_charm_sample`'s runs); on other cores the tiles are
/// refused in one line.
fn cells_int8_match_charm_sample(m: &Machine, name: &str, model: &[u8]) {
    let (_, pairs) = cli_quantized_cells(m, &format!("{name}-f32"), model, "pairs");
    cells_match_charm_sample(m, &format!("{name}-int8"), &pairs);
    let (_, tiles) = cli_quantized_cells(m, &format!("{name}-f32"), model, "tiles");
    if m.board.core.int8_helium {
        cells_match_charm_sample(m, &format!("{name}-tiles"), &tiles);
    } else {
        let record = Params::default().to_bytes().expect("a valid record");
        let run = m.run_elf(&m.cells_elf(), Some(&tiles), Some(&record));
        assert_refused(&run, EXIT_BAD_WEIGHTS, "error: the weights are int8 tiles");
        assert_eq!(run.text(), TILES_REFUSED, "{name} tiles");
    }
}

fn cells_int8_gru_matches_charm_sample(m: &Machine) {
    let model = random_stacked_model(charm_core::Cell::Gru, 1, 24, &alphabet(28), 31, 0.6);
    cells_int8_match_charm_sample(m, "gru", &model);
}

fn cells_int8_lstm_matches_charm_sample(m: &Machine) {
    let model = random_stacked_model(charm_core::Cell::Lstm, 1, 24, &alphabet(28), 32, 0.6);
    cells_int8_match_charm_sample(m, "lstm", &model);
}

/// Two layers of each cell, H odd (the row pairs' half pair, the tiles'
/// padding) and H 1.
fn cells_int8_two_layers_match_charm_sample(m: &Machine) {
    let cases = [
        (charm_core::Cell::Rnn, 17, 33),
        (charm_core::Cell::Gru, 1, 34),
        (charm_core::Cell::Lstm, 13, 35),
    ];
    for (cell, hidden, seed) in cases {
        let model = random_stacked_model(cell, 2, hidden, &alphabet(28), seed, 0.6);
        let name = format!("{}-2-layers-h{hidden}", cell.name());
        cells_int8_match_charm_sample(m, &name, &model);
    }
}

/// Every int8 weight −128 and the gate scales at 1/64
/// (`extreme_stacked_int8`): the states saturate, on every core the same.
fn cells_int8_extreme_weights_match_charm_sample(m: &Machine) {
    for (cell, seed) in [(charm_core::Cell::Gru, 36), (charm_core::Cell::Lstm, 37)] {
        let f32_model = random_stacked_model(cell, 2, 20, &alphabet(28), seed, 0.6);
        let model = extreme_stacked_int8(&f32_model);
        cells_match_charm_sample(m, &format!("{}-extreme-int8", cell.name()), &model);
    }
}

// ------------------------------------------------- how fast a model writes

/// Estimated cycles per character of `model` on the machine: QEMU's trace
/// of runs of 2 and 12 characters priced by `table` (the cycle model of
/// `scripts/measure-cycles.sh`), their difference over the 10 characters.
fn cycles_per_char(m: &Machine, model: &[u8], table: &CycleTable, isa: Isa) -> f64 {
    cycles_per_char_of(m, &m.elf(), model, table, isa, (2, 12))
}

/// [`cycles_per_char`] of firmware `elf`, from runs of `short` and `long`
/// characters.
fn cycles_per_char_of(
    m: &Machine,
    elf: &Path,
    model: &[u8],
    table: &CycleTable,
    isa: Isa,
    (short, long): (u32, u32),
) -> f64 {
    let cycles = |len: u32| {
        let params = Params {
            len,
            temperature: 1.0,
            seed: 1,
            top_k: 0,
            prime: "",
        };
        let run = m.run_elf_traced(elf, model, &params.to_bytes().expect("a valid record"));
        assert_eq!(run.status, 0, "firmware failed; UART: {:?}", run.text());
        let counts = TraceCounts::read(&run.stderr[..], isa).expect("QEMU's trace");
        counts.cycles(table, isa) as f64
    };
    (cycles(long) - cycles(short)) / f64::from(long - short)
}

/// The f32 model of `hidden` (128 or 384) units the cost model was fitted
/// to: `charm train --data data/tinyshakespeare.txt --hidden H --steps 30
/// --batch 4 --seed 1 --engine plain --threads 1`; made once for all the
/// tests that use it.
fn speed_model(hidden: usize) -> &'static Path {
    static MODELS: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match hidden {
        128 => &MODELS[0],
        384 => &MODELS[1],
        _ => panic!("no speed model of H {hidden}"),
    };
    slot.get_or_init(|| {
        let f32_model = scratch().join(format!("speed-h{hidden}.charm"));
        let extra = ["--batch", "4", "--engine", "plain", "--threads", "1"];
        cli_train(&tinyshakespeare(), hidden, 30, 1, &f32_model, &extra);
        f32_model
    })
}

/// [`speed_model`] quantized by `charm quantize --layout LAYOUT` (`pairs`
/// or `fixed`), as the fit quantized it; made once per test process and
/// layout (the quantization is deterministic, so racing tests write the
/// same bytes).
fn speed_model_as(hidden: usize, layout: &str) -> PathBuf {
    static MADE: std::sync::Mutex<Vec<(usize, String, PathBuf)>> =
        std::sync::Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, path)) = made.iter().find(|(h, l, _)| *h == hidden && l == layout) {
        return path.clone();
    }
    let path = cli_quantize_layout(speed_model(hidden), layout);
    made.push((hidden, layout.to_string(), path.clone()));
    path
}

/// `charm info`'s characters per second for an int8 model of `hidden`
/// units over tinyshakespeare, quantized as `layout` (`pairs` or `fixed`),
/// on `board` (which runs the machine's code at its own clock) against the
/// clock over QEMU's estimate of the cycles per character: within
/// charm-boards' stated `FIT_ERROR_PERCENT`. The models are the ones the
/// cost model was fitted to (the same `charm train` command and seed), so
/// this checks the fit's constants, the arithmetic of `charm info` and the
/// firmware's cost together.
fn speed_estimate_within_fit_error(
    m: &Machine,
    board: &str,
    table: &CycleTable,
    hidden: usize,
    layout: &str,
) {
    let int8_model = &speed_model_as(hidden, layout);
    let info: serde_json::Value = serde_json::from_slice(&charm(&[
        "info".as_ref(),
        "--model".as_ref(),
        int8_model.as_os_str(),
        "--json".as_ref(),
    ]))
    .expect("charm info --json");
    let estimate = info["boards"]
        .as_array()
        .and_then(|boards| boards.iter().find(|b| b["board"] == board))
        .and_then(|b| b["int8_chars_per_second"].as_f64())
        .unwrap_or_else(|| panic!("charm info gives no int8 chars/s for {board}: {info}"));
    let clock = charm_boards::board(board)
        .and_then(|b| b.clock_hz)
        .expect("a clock");
    let isa = if m.board.core.rust_target.starts_with("riscv") {
        Isa::RiscV
    } else {
        Isa::Arm
    };
    let model = std::fs::read(int8_model).expect("read the int8 model");
    let measured = f64::from(clock) / cycles_per_char(m, &model, table, isa);
    let error = (estimate - measured).abs() / measured * 100.0;
    assert!(
        error <= f64::from(charm_boards::FIT_ERROR_PERCENT),
        "{board}, int8 {layout} H {hidden}: charm info says {estimate:.1} chars/s, QEMU's trace \
         {measured:.1}: {error:.2}% apart, over the stated {}%",
        charm_boards::FIT_ERROR_PERCENT
    );
}

/// The Raspberry Pi Pico 2 (Cortex-M33 at 150 MHz): the M33 code on the AN505.
#[test]
fn qemu_m33_speed_estimate_of_the_pico_2_int8_h128() {
    speed_estimate_within_fit_error(
        &qemu_support::M33,
        "rp2350",
        &cycle_model::CORTEX_M33,
        128,
        "pairs",
    );
}

/// As above, H 384.
#[test]
fn qemu_m33_speed_estimate_of_the_pico_2_int8_h384() {
    speed_estimate_within_fit_error(
        &qemu_support::M33,
        "rp2350",
        &cycle_model::CORTEX_M33,
        384,
        "pairs",
    );
}

/// The ESP32-C3 (RV32IMC at 160 MHz): its code on QEMU's RV32IMC hart.
#[test]
fn qemu_riscv32imc_speed_estimate_of_the_esp32_c3_int8_h128() {
    speed_estimate_within_fit_error(
        &qemu_support::RISCV32IMC,
        "esp32c3",
        &cycle_model::RV32IMAC,
        128,
        "pairs",
    );
}

/// As above, H 384.
#[test]
fn qemu_riscv32imc_speed_estimate_of_the_esp32_c3_int8_h384() {
    speed_estimate_within_fit_error(
        &qemu_support::RISCV32IMC,
        "esp32c3",
        &cycle_model::RV32IMAC,
        384,
        "pairs",
    );
}

/// The Raspberry Pi Pico (RP2040, Cortex-M0+ at 133 MHz) writing a fixed
/// int8 model: the micro:bit's Thumb-1 code priced by the M0+ table (its
/// firmware holds H up to 256: no H 384).
#[test]
fn qemu_m0_speed_estimate_of_the_pico_fixed_h128() {
    speed_estimate_within_fit_error(
        &qemu_support::M0,
        "rp2040",
        &cycle_model::CORTEX_M0_PLUS,
        128,
        "fixed",
    );
}

/// The ESP32-C3 writing a fixed int8 model, H 128.
#[test]
fn qemu_riscv32imc_speed_estimate_of_the_esp32_c3_fixed_h128() {
    speed_estimate_within_fit_error(
        &qemu_support::RISCV32IMC,
        "esp32c3",
        &cycle_model::RV32IMAC,
        128,
        "fixed",
    );
}

/// As above, H 384.
#[test]
fn qemu_riscv32imc_speed_estimate_of_the_esp32_c3_fixed_h384() {
    speed_estimate_within_fit_error(
        &qemu_support::RISCV32IMC,
        "esp32c3",
        &cycle_model::RV32IMAC,
        384,
        "fixed",
    );
}

// ------------------------- how fast a model of other cells and depths writes

/// The f32 model of `layers` layers of `cell` with `hidden` units that the
/// cells cost model was fitted to (`scripts/fit-speed.sh --cells`: `charm
/// train --data data/tinyshakespeare.txt --cell C --layers L --hidden H
/// --steps 30 --batch 4 --seed 1 --engine plain --threads 1`); made once
/// for all the tests that use it.
fn cells_speed_model(cell: &str, layers: usize, hidden: usize) -> PathBuf {
    static MODELS: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let name = format!("speed-{cell}{layers}-h{hidden}");
    let mut made = MODELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = made.iter().find(|(n, _)| *n == name) {
        return path.clone();
    }
    let path = scratch().join(format!("{name}.charm"));
    let layers_text = layers.to_string();
    let extra = [
        "--cell",
        cell,
        "--layers",
        &layers_text,
        "--batch",
        "4",
        "--engine",
        "plain",
        "--threads",
        "1",
    ];
    cli_train(&tinyshakespeare(), hidden, 30, 1, &path, &extra);
    made.push((name, path.clone()));
    path
}

/// `charm info`'s characters per second as `element` (`"f32"`, or
/// `"int8"`: the model quantized to int8 row pairs) for a model of `layers` layers
/// of `cell` with `hidden` units over tinyshakespeare on `board` (which
/// runs the machine's code at its own clock, with the firmware built with
/// `--features cells`) against the clock over QEMU's estimate of the cycles
/// per character of the machine's cells firmware: within charm-boards'
/// stated `CELLS_FIT_ERROR_PERCENT` (f32) or `CELLS_INT8_FIT_ERROR_PERCENT`
/// (int8). The models are ones the cost model was
/// fitted to, so this checks the fit's constants, the arithmetic of `charm
/// info` and the cells firmware's cost together. `lengths`: the two runs'
/// characters (1 and 3 where f32 is in software, as the fit measured).
fn cells_speed_estimate_within_fit_error(
    m: &Machine,
    board: &str,
    table: &CycleTable,
    (element, cell, layers, hidden): (&str, &str, usize, usize),
    lengths: (u32, u32),
) {
    let f32_path = cells_speed_model(cell, layers, hidden);
    let path = if element == "int8" {
        cli_quantize_layout(&f32_path, "pairs")
    } else {
        f32_path
    };
    let info: serde_json::Value = serde_json::from_slice(&charm(&[
        "info".as_ref(),
        "--model".as_ref(),
        path.as_os_str(),
        "--json".as_ref(),
    ]))
    .expect("charm info --json");
    let fit = info["boards"]
        .as_array()
        .and_then(|boards| boards.iter().find(|b| b["board"] == board))
        .unwrap_or_else(|| panic!("charm info lists no {board}: {info}"));
    assert_eq!(fit["firmware_features"], "cells", "{fit}");
    let estimate = fit[format!("{element}_chars_per_second")]
        .as_f64()
        .unwrap_or_else(|| panic!("charm info gives no {element} chars/s for {board}: {fit}"));
    let clock = charm_boards::board(board)
        .and_then(|b| b.clock_hz)
        .expect("a clock");
    let isa = if m.board.core.rust_target.starts_with("riscv") {
        Isa::RiscV
    } else {
        Isa::Arm
    };
    let model = std::fs::read(&path).expect("read the model");
    let cycles = cycles_per_char_of(m, &m.cells_elf(), &model, table, isa, lengths);
    let measured = f64::from(clock) / cycles;
    let error = (estimate - measured).abs() / measured * 100.0;
    let bound = if element == "int8" {
        charm_boards::CELLS_INT8_FIT_ERROR_PERCENT
    } else {
        charm_boards::CELLS_FIT_ERROR_PERCENT
    };
    assert!(
        error <= f64::from(bound),
        "{board}, {element} {cell}×{layers} H {hidden}: charm info says {estimate:.1} chars/s, QEMU's \
         trace {measured:.1}: {error:.2}% apart, over the stated {}%",
        bound
    );
}

/// The Raspberry Pi Pico 2 (Cortex-M33 at 150 MHz): a GRU of H 128.
#[test]
fn qemu_m33_cells_speed_estimate_of_the_pico_2_gru_h128() {
    cells_speed_estimate_within_fit_error(
        &qemu_support::M33,
        "rp2350",
        &cycle_model::CORTEX_M33,
        ("f32", "gru", 1, 128),
        (2, 12),
    );
}

/// The Raspberry Pi Pico 2 (Cortex-M33 at 150 MHz): the int8 row pairs of
/// two tanh layers of H 128.
#[test]
fn qemu_m33_cells_int8_speed_estimate_of_the_pico_2_rnn2_h128() {
    cells_speed_estimate_within_fit_error(
        &qemu_support::M33,
        "rp2350",
        &cycle_model::CORTEX_M33,
        ("int8", "rnn", 2, 128),
        (2, 12),
    );
}

/// The nRF52840 (Cortex-M4F at 64 MHz): an LSTM of H 128.
#[test]
fn qemu_m4_cells_speed_estimate_of_the_nrf52840_lstm_h128() {
    cells_speed_estimate_within_fit_error(
        &qemu_support::M4,
        "nrf52840",
        &cycle_model::CORTEX_M4,
        ("f32", "lstm", 1, 128),
        (2, 12),
    );
}

/// The nRF52840 (Cortex-M4F at 64 MHz): the int8 row pairs of a GRU of H 128.
#[test]
fn qemu_m4_cells_int8_speed_estimate_of_the_nrf52840_gru_h128() {
    cells_speed_estimate_within_fit_error(
        &qemu_support::M4,
        "nrf52840",
        &cycle_model::CORTEX_M4,
        ("int8", "gru", 1, 128),
        (2, 12),
    );
}

/// The ESP32-C3 (RV32IMC at 160 MHz, f32 in software): two tanh layers of
/// H 64.
#[test]
fn qemu_riscv32imc_cells_speed_estimate_of_the_esp32_c3_rnn2_h64() {
    cells_speed_estimate_within_fit_error(
        &qemu_support::RISCV32IMC,
        "esp32c3",
        &cycle_model::RV32IMAC,
        ("f32", "rnn", 2, 64),
        (1, 3),
    );
}

/// The ESP32-C3 (RV32IMC at 160 MHz): the int8 row pairs of an LSTM of H 64.
#[test]
fn qemu_riscv32imc_cells_int8_speed_estimate_of_the_esp32_c3_lstm_h64() {
    cells_speed_estimate_within_fit_error(
        &qemu_support::RISCV32IMC,
        "esp32c3",
        &cycle_model::RV32IMAC,
        ("int8", "lstm", 1, 64),
        (2, 12),
    );
}

// ------------------------------------------------------ one set per machine

/// `qemu_<machine>_<test>` for every test above, on each machine.
macro_rules! tests_on {
    ($($machine:ident => $constant:ident),* $(,)?) => {
        $(tests_on!(@one $machine, $constant,
            refuses_blank_flash,
            refuses_unwritten_flash,
            refuses_corrupted_weights,
            refuses_a_truncated_copy_as_truncated_like_the_host,
            refuses_a_file_that_is_not_a_model,
            refuses_hidden_size_over_capacity,
            refuses_vocabulary_over_capacity,
            refuses_corrupted_params_record,
            refuses_prime_outside_vocabulary,
            matches_core_generator_on_random_models,
            matches_core_generator_on_subnormal_models,
            matches_core_generator_on_sampling_corner_cases,
            uses_default_params_without_a_record,
            runs_a_model_linked_into_the_image,
            matches_charm_sample_shakespeare_h128_temperature_0_5,
            matches_charm_sample_shakespeare_h128_temperature_1_0,
            matches_charm_sample_shakespeare_h128_temperature_1_5,
            matches_charm_sample_defaults_without_a_record,
            matches_charm_sample_vocabulary_over_256_non_ascii,
            matches_charm_sample_imported_pytorch_model,
            int8_matches_core_generator_on_random_models,
            int8_matches_core_generator_on_extreme_weights,
            int8_matches_charm_sample_shakespeare_h128,
            int8_matches_charm_sample_vocabulary_over_256_non_ascii,
            fixed_matches_core_generator_on_random_models,
            fixed_matches_core_generator_on_sampling_corner_cases,
            fixed_matches_core_generator_on_extreme_weights,
            fixed_matches_charm_sample_shakespeare_h128,
            tiles_match_core_generator_on_random_models,
            tiles_match_charm_sample_shakespeare_h128,
            cells_gru_matches_charm_sample,
            cells_lstm_matches_charm_sample,
            cells_two_layers_match_charm_sample,
            cells_imported_pytorch_models_match_charm_sample,
            cells_are_refused_by_the_default_firmware,
            cells_state_up_to_the_boards_capacity,
            cells_int8_gru_matches_charm_sample,
            cells_int8_lstm_matches_charm_sample,
            cells_int8_two_layers_match_charm_sample,
            cells_int8_extreme_weights_match_charm_sample,
        );)*
    };
    (@one $machine:ident, $constant:ident, $($test:ident),* $(,)?) => {
        pastey::paste! {
            $(
                #[test]
                fn [<qemu_ $machine _ $test>]() {
                    $test(&qemu_support::$constant);
                }
            )*
        }
    };
}

// the DSP cores alone (the M55 for its Helium rows at the same sizes)
tests_on!(@one m4, M4, int8_matches_core_generator_at_every_turn_entry);
tests_on!(@one m7, M7, int8_matches_core_generator_at_every_turn_entry);
tests_on!(@one m33, M33, int8_matches_core_generator_at_every_turn_entry);
tests_on!(@one m55, M55, int8_matches_core_generator_at_every_turn_entry);

tests_on! {
    m0 => M0,
    m3 => M3,
    m4 => M4,
    m7 => M7,
    m33 => M33,
    m55 => M55,
    riscv32 => RISCV32,
    riscv32imc => RISCV32IMC,
}
