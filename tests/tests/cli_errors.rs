//! Bad input through the `charm` CLI: each case gives one `error: ...` line on
//! stderr naming the file and what to do, a non-zero exit status, no panic, and
//! no output file left behind. (`cargo test -p charm-tests cli_errors`)

mod cli_support;

use cli_support::{files, info_json, ok, run, small_text, write};
use std::path::Path;

/// Runs `charm ARGS` in `dir`; asserts failure with exactly one stderr line that
/// starts with `error: ` and contains every one of `needles`; returns the line.
fn fails(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "charm {args:?} succeeded; stderr: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "charm {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not in: {stderr}");
    }
    lines[0].to_string()
}

/// Asserts that `dir` holds exactly `expected` (the inputs the test made).
fn only(dir: &Path, expected: &[&str]) {
    let mut e: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    e.sort();
    assert_eq!(files(dir), e, "unexpected files left behind");
}

/// `charm train --data DATA --out out.charm` with small-model flags, each
/// replaced by the value in `extra` when `extra` gives the same flag.
fn train_args<'a>(data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["train", "--data", data, "--out", "out.charm", "--quiet"];
    let defaults = [
        ("--hidden", "32"),
        ("--seq-len", "16"),
        ("--batch", "4"),
        ("--steps", "20"),
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            a.extend_from_slice(&[flag, value]);
        }
    }
    a.extend_from_slice(extra);
    a
}

#[test]
fn cli_errors_missing_corpus_file() {
    let dir = tempfile::tempdir().unwrap();
    fails(
        dir.path(),
        &train_args("nope.txt", &[]),
        &["nope.txt", "no such file"],
    );
    only(dir.path(), &[]);
}

#[test]
fn cli_errors_empty_corpus() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.txt", "");
    fails(
        dir.path(),
        &train_args("empty.txt", &[]),
        &["empty.txt", "is empty"],
    );
    only(dir.path(), &["empty.txt"]);
}

#[test]
fn cli_errors_corpus_shorter_than_seq_len_plus_one() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "short.txt", "0123456789abcdef"); // 16 chars; seq-len 16 needs 17
    fails(
        dir.path(),
        &train_args("short.txt", &["--batch", "1", "--val-fraction", "0"]),
        &["short.txt", "too short", "--seq-len 16", "17"],
    );
    only(dir.path(), &["short.txt"]);
}

#[test]
fn cli_errors_invalid_utf8_gives_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = small_text().into_bytes();
    bytes[1234] = 0xff;
    write(dir.path(), "bad.txt", &bytes);
    fails(
        dir.path(),
        &train_args("bad.txt", &[]),
        &["bad.txt", "not valid UTF-8", "offset 1234"],
    );
    fails(
        dir.path(),
        &["eval", "--model", "x.charm", "--data", "bad.txt"],
        &["x.charm"],
    );
    only(dir.path(), &["bad.txt"]);
}

#[test]
fn cli_errors_vocabulary_too_large() {
    let dir = tempfile::tempdir().unwrap();
    // 70,000 distinct characters (code points from U+4E00 on, skipping surrogates).
    let text: String = (0x4E00u32..)
        .filter_map(char::from_u32)
        .take(70_000)
        .collect();
    write(dir.path(), "huge.txt", text);
    fails(
        dir.path(),
        &train_args("huge.txt", &[]),
        &["huge.txt", "70000 distinct characters", "65536"],
    );
    only(dir.path(), &["huge.txt"]);
}

/// A valid tiny model to corrupt.
fn model_bytes(dir: &Path) -> Vec<u8> {
    write(dir, "small.txt", small_text());
    ok(dir, &train_args("small.txt", &["--steps", "2"]));
    let b = std::fs::read(dir.join("out.charm")).unwrap();
    for f in ["small.txt", "out.charm", "out.state", "out.csv", "out.svg"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    b
}

/// Every model-reading command refuses `name` with the same sentence.
fn refused_by_all(dir: &Path, name: &str, needles: &[&str]) {
    write(dir, "t.txt", "the cat");
    let mut lines = Vec::new();
    for args in [
        vec!["sample", "--model", name],
        vec!["eval", "--model", name, "--data", "t.txt"],
        vec!["info", "--model", name],
        vec!["info", "--model", name, "--json"],
    ] {
        lines.push(fails(dir, &args, needles));
    }
    assert!(lines.windows(2).all(|w| w[0] == w[1]), "{lines:?}");
    only(dir, &[name, "t.txt"]);
}

#[test]
fn cli_errors_model_not_a_charm_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.charm", "just some text, not weights");
    refused_by_all(
        dir.path(),
        "notes.charm",
        &["notes.charm", "not a charm model file"],
    );
}

#[test]
fn cli_errors_model_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let b = model_bytes(dir.path());
    write(dir.path(), "cut.charm", &b[..b.len() / 2]);
    refused_by_all(
        dir.path(),
        "cut.charm",
        &["cut.charm", "truncated", "copy it again"],
    );
}

#[test]
fn cli_errors_model_crc_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = model_bytes(dir.path());
    let n = b.len();
    b[n - 20] ^= 0x40; // a weight bit
    write(dir.path(), "flip.charm", &b);
    refused_by_all(
        dir.path(),
        "flip.charm",
        &["flip.charm", "corrupted", "CRC-32"],
    );
}

#[test]
fn cli_errors_model_newer_format_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = model_bytes(dir.path());
    b[4..6].copy_from_slice(&99u16.to_le_bytes());
    write(dir.path(), "new.charm", &b);
    refused_by_all(
        dir.path(),
        "new.charm",
        &["new.charm", "version 99", "upgrade charm"],
    );
}

#[test]
fn cli_errors_model_retired_int8_layout() {
    // An int8 file as the first int8 release wrote it: format version 2.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.charm", model_bytes(dir.path()));
    ok(
        dir.path(),
        &["quantize", "--model", "m.charm", "--out", "q.charm"],
    );
    let mut b = std::fs::read(dir.path().join("q.charm")).unwrap();
    std::fs::remove_file(dir.path().join("m.charm")).unwrap();
    std::fs::remove_file(dir.path().join("q.charm")).unwrap();
    b[4..6].copy_from_slice(&2u16.to_le_bytes());
    let n = b.len() - 4;
    let crc = charm_core::crc32(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    write(dir.path(), "old.charm", &b);
    refused_by_all(
        dir.path(),
        "old.charm",
        &[
            "old.charm",
            "format version 2",
            "quantize its f32 model again",
        ],
    );
}

#[test]
fn cli_errors_missing_model_file() {
    let dir = tempfile::tempdir().unwrap();
    fails(
        dir.path(),
        &["sample", "--model", "gone.charm"],
        &["gone.charm", "no such file"],
    );
    only(dir.path(), &[]);
}

#[test]
fn cli_errors_resume_with_a_different_shape() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    ok(d, &train_args("small.txt", &[]));
    let before = std::fs::read(d.join("out.charm")).unwrap();
    let mut a = vec![
        "train",
        "--data",
        "small.txt",
        "--out",
        "out.charm",
        "--resume",
        "out.state",
        "--steps",
        "40",
        "--hidden",
        "48",
    ];
    a.push("--quiet");
    fails(
        d,
        &a,
        &["out.state", "--hidden 32", "--hidden 48", "drop --hidden"],
    );
    assert_eq!(
        std::fs::read(d.join("out.charm")).unwrap(),
        before,
        "the checkpoint was touched"
    );
    // Resuming from something that is not a checkpoint.
    fails(
        d,
        &[
            "train",
            "--data",
            "small.txt",
            "--out",
            "o2.charm",
            "--resume",
            "small.txt",
            "-q",
        ],
        &["small.txt", "missing"],
    );
    write(d, "junk.state", "junk");
    fails(
        d,
        &[
            "train",
            "--data",
            "small.txt",
            "--out",
            "o2.charm",
            "--resume",
            "junk.state",
            "-q",
        ],
        &["junk.state", "not a usable charm training checkpoint"],
    );
    only(
        d,
        &[
            "junk.state",
            "out.charm",
            "out.csv",
            "out.state",
            "out.svg",
            "small.txt",
        ],
    );
}

#[test]
fn cli_errors_output_directory_missing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.txt", small_text());
    let mut a = train_args("small.txt", &[]);
    a[4] = "no/such/dir/m.charm";
    fails(dir.path(), &a, &["no/such/dir", "does not exist", "--out"]);
    only(dir.path(), &["small.txt"]);
}

#[test]
fn cli_errors_non_finite_loss_stops_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    // A huge learning rate overflows the weights within a few steps. No
    // checkpoint yet (the default period is 60 s): nothing is left behind.
    let line = fails(
        d,
        &train_args("small.txt", &["--lr", "1e38"]),
        &["diverged", "lower --lr", "no checkpoint"],
    );
    assert!(line.contains("NaN") || line.contains("infinity"), "{line}");
    only(d, &["small.txt"]);
    // With a checkpoint after every step, the last good one stays and decodes.
    let line = fails(
        d,
        &train_args("small.txt", &["--lr", "1e37", "--checkpoint-every", "0"]),
        &["diverged", "out.charm"],
    );
    let step: u64 = line
        .split("at step ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let info = info_json(d, "out.charm");
    assert_eq!(
        info["steps"].as_u64(),
        Some(step),
        "the kept checkpoint is the last one before step {step}"
    );
    only(
        d,
        &["out.charm", "out.csv", "out.state", "out.svg", "small.txt"],
    );
}

#[test]
fn cli_errors_prime_text_outside_the_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    ok(d, &train_args("small.txt", &["--steps", "2"]));
    fails(
        d,
        &["sample", "--model", "out.charm", "--prime", "the Zebra"],
        &["'Z'", "out.charm", "charm info"],
    );
}

#[test]
fn cli_errors_bad_flag_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    fails(
        d,
        &train_args("small.txt", &["--dropout", "1.5"]),
        &["--dropout"],
    );
    fails(d, &train_args("small.txt", &["--lr=-1"]), &["--lr"]);
    fails(
        d,
        &train_args("small.txt", &["--val-fraction", "1"]),
        &["--val-fraction"],
    );
    only(d, &["small.txt"]);
}
