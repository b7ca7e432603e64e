//! The firmware under QEMU (mps2-an386, Cortex-M4F) against the host.
//!
//! Every test here has `qemu` in its name: `cargo test -p charm-tests qemu`
//! runs them. They need `qemu-system-arm` and the firmware ELF
//! (`scripts/build-firmware.sh`; `./scripts/test.sh` provides both) and fail,
//! never skip, without them. Each QEMU run is killed and failed after 60 s.
//!
//! Weights and the parameters record are written to the firmware's flash
//! regions with QEMU's `-device loader,...,force-raw=on`, as
//! `probe-rs download --binary-format bin --base-address ...` writes them on a
//! board; one firmware image serves every test.

mod qemu_support;

use charm_params::Params;
use qemu_support::host::{cli_sample, cli_train, core_sample};
use qemu_support::models::{alphabet, corpus, quantized, random_model, tinyshakespeare};
use qemu_support::{assert_refused, firmware_elf, repo_root, run_firmware, Run};
use qemu_support::{EXIT_BAD_PARAMS, EXIT_BAD_WEIGHTS, EXIT_CANNOT_GENERATE};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Runs the firmware with `model` in flash and `params` as a record.
fn run_with(model: &[u8], params: &Params<'_>) -> Run {
    let record = params.to_bytes().expect("a valid record");
    run_firmware(&firmware_elf(), Some(model), Some(&record))
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

// ---------------------------------------------------------------- refusals

#[test]
fn qemu_refuses_blank_flash() {
    let erased = vec![0xFFu8; 64 * 1024];
    let run = run_firmware(&firmware_elf(), Some(&erased), None);
    assert_refused(&run, EXIT_BAD_WEIGHTS, "error: no weights in flash (blank)");
    assert_eq!(
        run.text(),
        "error: no weights in flash (blank): write a .charm file to 0x00100000\n"
    );
}

#[test]
fn qemu_refuses_unwritten_flash() {
    let run = run_firmware(&firmware_elf(), None, None);
    assert_refused(&run, EXIT_BAD_WEIGHTS, "error: no weights in flash (blank)");
}

#[test]
fn qemu_refuses_corrupted_weights() {
    let mut model = small_model();
    let at = model.len() / 2;
    model[at] ^= 0x10;
    let run = run_firmware(&firmware_elf(), Some(&model), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        "error: the weights in flash at 0x00100000 cannot be used: it is corrupted: CRC-32 is ",
    );
}

/// A partial copy: the device sees the rest of the region (zeros under
/// QEMU), the host sees the file end; both say it is truncated, at the same byte.
#[test]
fn qemu_refuses_a_truncated_copy_as_truncated_like_the_host() {
    let model = small_model();
    let cut = model.len() * 2 / 3;
    let partial = &model[..cut];
    let host = charm_core::decode_any(&charm_core::AlignedBytes::from(partial)).unwrap_err();
    let device = charm_core::decode_any(&charm_core::AlignedBytes::from(
        &[partial, &vec![0u8; 4096][..]].concat()[..],
    ))
    .unwrap_err();
    assert_eq!(host, device);
    let run = run_firmware(&firmware_elf(), Some(partial), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at 0x00100000 cannot be used: it is truncated: {cut} \
             bytes of {}",
            model.len()
        ),
    );
}

#[test]
fn qemu_refuses_a_file_that_is_not_a_model() {
    let run = run_firmware(
        &firmware_elf(),
        Some(b"\x89PNG\r\n\x1a\n not a model"),
        None,
    );
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        "error: the weights in flash at 0x00100000 cannot be used: it is not a charm weight file",
    );
}

/// The capacity of the firmware the QEMU tests run (charm-boards' table).
const BOARD: charm_boards::Board = charm_boards::MPS2_AN386;
const MAX_HIDDEN: usize = BOARD.max_hidden as usize;
const MAX_VOCAB: usize = BOARD.max_vocab as usize;

#[test]
fn qemu_refuses_hidden_size_over_capacity() {
    let model = random_model(MAX_HIDDEN + 1, &alphabet(28), 5, 0.1);
    let run = run_firmware(&firmware_elf(), Some(&model), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at 0x00100000 cannot be used: its model (hidden {}, \
             vocabulary 28) exceeds the capacity of this build (hidden {MAX_HIDDEN}, vocabulary \
             {MAX_VOCAB})",
            MAX_HIDDEN + 1
        ),
    );
}

#[test]
fn qemu_refuses_vocabulary_over_capacity() {
    // V + 1 is within the format's limit (charm_core::MAX_VOCAB), over the build's.
    const { assert!(MAX_VOCAB < charm_core::MAX_VOCAB) };
    let model = random_model(8, &alphabet(MAX_VOCAB + 1), 6, 0.1);
    let run = run_firmware(&firmware_elf(), Some(&model), None);
    assert_refused(
        &run,
        EXIT_BAD_WEIGHTS,
        &format!(
            "error: the weights in flash at 0x00100000 cannot be used: its model (hidden 8, \
             vocabulary {}) exceeds the capacity of this build (hidden {MAX_HIDDEN}, vocabulary \
             {MAX_VOCAB})",
            MAX_VOCAB + 1
        ),
    );
}

#[test]
fn qemu_refuses_corrupted_params_record() {
    let mut record = Params {
        len: 10,
        ..Params::default()
    }
    .to_bytes()
    .expect("record");
    record[9] ^= 0x01; // len 10 -> 266: caught by the CRC
    let run = run_firmware(&firmware_elf(), Some(&small_model()), Some(&record));
    assert_refused(
        &run,
        EXIT_BAD_PARAMS,
        "error: the sampling parameters record in flash at 0x000ff000 cannot be used: it is \
         corrupted: CRC-32 is ",
    );
}

#[test]
fn qemu_refuses_prime_outside_vocabulary() {
    let params = Params {
        prime: "abc!",
        ..Params::default()
    };
    let run = run_with(&small_model(), &params);
    assert_refused(
        &run,
        EXIT_CANNOT_GENERATE,
        "error: cannot generate: the character '!' does not occur in the model's vocabulary",
    );
}

// ------------------------------------------------- against charm-core directly

#[test]
fn qemu_matches_core_generator_on_random_models() {
    let cases: [(usize, usize, f32, u32, &str, u32); 7] = [
        // (hidden, vocab, temperature, top_k, prime, len)
        (1, 2, 1.0, 0, "", 40),
        (7, 28, 0.0, 0, "abc", 60),
        (64, 90, 0.7, 5, "", 120),
        (100, 300, 1.3, 0, "Αβγ", 120),
        (128, 65, 1.0, 0, "hello world", 200),
        // The capacity of the build, as far as the 3 MiB WEIGHTS region holds
        // the f32 file (H 512 and V 1024 together would be 5.2 MB).
        (MAX_HIDDEN, 500, 1.0, 3, "", 25),
        (64, MAX_VOCAB, 0.9, 0, "", 25),
    ];
    for (i, &(hidden, vocab, temperature, top_k, prime, len)) in cases.iter().enumerate() {
        let model = random_model(hidden, &alphabet(vocab), 100 + i as u64, 0.4);
        let fits = BOARD.fits(hidden as u32, vocab as u32, model.len() as u64);
        assert_eq!(fits, Ok(()), "H {hidden} V {vocab}");
        let params = Params {
            len,
            temperature,
            seed: 42 + i as u64,
            top_k,
            prime,
        };
        let run = run_with(&model, &params);
        let what = format!("H={hidden} V={vocab} T={temperature} top_k={top_k} prime={prime:?}");
        assert_prints(&run, &core_sample(&model, &params), &what);
    }
}

#[test]
fn qemu_uses_default_params_without_a_record() {
    let model = random_model(32, &alphabet(40), 9, 0.5);
    let run = run_firmware(&firmware_elf(), Some(&model), None);
    let defaults = Params::default();
    assert_eq!(
        (defaults.len, defaults.temperature, defaults.seed),
        (200, 1.0, 1)
    );
    assert_prints(&run, &core_sample(&model, &defaults), "no record: defaults");
}

#[test]
fn qemu_runs_a_model_linked_into_the_image() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let model = random_model(24, &alphabet(50), 11, 0.5);
    let model_path = dir.path().join("linked.charm");
    std::fs::write(&model_path, &model).expect("write the model");
    let elf = dir.path().join("linked.elf");
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/build-firmware.sh"))
        .arg("--model")
        .arg(&model_path)
        .arg("--out")
        .arg(&elf)
        .status()
        .expect("run scripts/build-firmware.sh");
    assert!(status.success(), "scripts/build-firmware.sh --model failed");
    // Nothing is written to the WEIGHTS region: the model comes with the image.
    let run = run_firmware(&elf, None, None);
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
    let run = run_firmware(&elf, None, Some(&record));
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
fn shakespeare_at(temperature: f32, seed: u64) {
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
        let run = run_with(&model, &params);
        let host = cli_sample(path, &params);
        assert_prints(
            &run,
            &host,
            &format!("shakespeare T={temperature} prime={prime:?}"),
        );
    }
}

#[test]
fn qemu_matches_charm_sample_shakespeare_h128_temperature_0_5() {
    shakespeare_at(0.5, 1);
}

#[test]
fn qemu_matches_charm_sample_shakespeare_h128_temperature_1_0() {
    shakespeare_at(1.0, 2);
}

#[test]
fn qemu_matches_charm_sample_shakespeare_h128_temperature_1_5() {
    shakespeare_at(1.5, 3);
}

#[test]
fn qemu_matches_charm_sample_defaults_without_a_record() {
    let path = shakespeare_model();
    let model = std::fs::read(path).expect("read the model");
    let run = run_firmware(&firmware_elf(), Some(&model), None);
    let host =
        qemu_support::host::charm(&["sample".as_ref(), "--model".as_ref(), path.as_os_str()]);
    assert_prints(&run, &host, "no record vs `charm sample --model M`");
}

#[test]
fn qemu_matches_charm_sample_vocabulary_over_256_non_ascii() {
    let letters = alphabet(300);
    let data = scratch().join("non-ascii.txt");
    std::fs::write(&data, corpus(&letters, 20_000, 5)).expect("write the corpus");
    let path = scratch().join("non-ascii.charm");
    cli_train(&data, 48, 30, 5, &path, &[]);
    let model = std::fs::read(&path).expect("read the model");
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
        let run = run_with(&model, &params);
        let host = cli_sample(&path, &params);
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
    let stem = f32_model
        .file_stem()
        .expect("a file name")
        .to_string_lossy();
    let out = f32_model.with_file_name(format!("{stem}-int8.charm"));
    qemu_support::host::charm(&[
        "quantize".as_ref(),
        "--model".as_ref(),
        f32_model.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--force".as_ref(), // the scratch directory keeps earlier runs' files
    ]);
    out
}

#[test]
fn qemu_int8_matches_core_generator_on_random_models() {
    // Hidden sizes that are not multiples of 8 or of 2 exercise the padding
    // and the odd last row of the two-rows-at-a-time DSP kernel.
    let cases: [(usize, usize, f32, &str, u32); 4] = [
        (1, 2, 1.0, "", 40),
        (13, 28, 0.8, "abc", 100),
        (100, 300, 1.2, "Αβγ", 120),
        (MAX_HIDDEN, MAX_VOCAB, 1.0, "", 25),
    ];
    for (i, &(hidden, vocab, temperature, prime, len)) in cases.iter().enumerate() {
        let model = quantized(&random_model(hidden, &alphabet(vocab), 200 + i as u64, 0.4));
        let params = Params {
            len,
            temperature,
            seed: 5 + i as u64,
            top_k: 0,
            prime,
        };
        let run = run_with(&model, &params);
        let what = format!("int8 H={hidden} V={vocab} T={temperature} prime={prime:?}");
        assert_prints(&run, &core_sample(&model, &params), &what);
    }
}

#[test]
fn qemu_int8_matches_charm_sample_shakespeare_h128() {
    let path = cli_quantize(shakespeare_model());
    let model = std::fs::read(&path).expect("read the int8 model");
    assert_eq!(model[4], 3, "charm quantize writes format version 3");
    for (temperature, seed) in [(0.5, 1), (1.0, 2), (1.5, 3)] {
        for prime in ["", "ROMEO:\nWhat say"] {
            let params = Params {
                len: 300,
                temperature,
                seed,
                top_k: 0,
                prime,
            };
            let run = run_with(&model, &params);
            let host = cli_sample(&path, &params);
            assert_prints(
                &run,
                &host,
                &format!("int8 shakespeare T={temperature} prime={prime:?}"),
            );
        }
    }
}

#[test]
fn qemu_int8_matches_charm_sample_vocabulary_over_256_non_ascii() {
    let letters = alphabet(300);
    let data = scratch().join("non-ascii-int8.txt");
    std::fs::write(&data, corpus(&letters, 20_000, 6)).expect("write the corpus");
    let f32_path = scratch().join("non-ascii-q.charm");
    cli_train(&data, 48, 30, 6, &f32_path, &[]);
    let path = cli_quantize(&f32_path);
    let model = std::fs::read(&path).expect("read the int8 model");
    let params = Params {
        len: 200,
        temperature: 1.0,
        seed: 23,
        top_k: 0,
        prime: "Жж ぁ",
    };
    let run = run_with(&model, &params);
    let host = cli_sample(&path, &params);
    assert!(
        !host.is_ascii(),
        "the sample should have non-ASCII characters"
    );
    assert_prints(&run, &host, "int8 V>256");
}
