//! Shared helpers of the `cli_*` tests: the `charm` binary, small corpora,
//! running commands and listing the files a command left behind.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use charm_tests::charm_bin;

/// A command for `charm ARGS` run in `dir`.
pub fn cmd<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Command {
    let mut c = Command::new(charm_bin());
    c.args(args).current_dir(dir);
    c
}

/// Runs `charm ARGS` in `dir` and returns its output.
pub fn run<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Output {
    cmd(dir, args).output().expect("run charm")
}

/// Runs `charm ARGS` in `dir`, asserts success, returns stdout.
pub fn ok<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Vec<u8> {
    charm_tests::succeeded(run(dir, args), args)
}

/// `charm eval --model MODEL --data DATA --json` in `dir`, parsed.
pub fn eval_json(dir: &Path, model: &str, data: &Path) -> serde_json::Value {
    let data = data.to_str().expect("a UTF-8 path");
    let out = ok(dir, &["eval", "--model", model, "--data", data, "--json"]);
    serde_json::from_slice(&out).expect("charm eval --json prints JSON")
}

/// `charm info --model MODEL --json` in `dir`, parsed.
pub fn info_json(dir: &Path, model: &str) -> serde_json::Value {
    let out = ok(dir, &["info", "--model", model, "--json"]);
    serde_json::from_slice(&out).expect("charm info --json prints JSON")
}

/// A small, learnable text: a few sentences repeated with variations (~8 kB, V ≈ 30).
pub fn small_text() -> String {
    let words = [
        "the cat sat on the mat. ",
        "a dog ran in the fog. ",
        "we like tea and jam. ",
        "it is a big red box. ",
    ];
    let mut s = String::new();
    for i in 0..100 {
        s.push_str(words[i % 4]);
        s.push_str(words[(i * 3 + 1) % 4]);
        if i % 5 == 4 {
            s.push('\n');
        }
    }
    s
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a test file");
    p
}

/// The file names in `dir`, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("list the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Standard small-model flags: fast to train in a test.
pub const TINY: &[&str] = &[
    "--hidden",
    "32",
    "--seq-len",
    "16",
    "--batch",
    "4",
    "--quiet",
];

/// `charm train --data DATA --out OUT` with [`TINY`] and `extra`, in `dir`; asserts success.
pub fn train(dir: &Path, data: &Path, out: &str, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().expect("a UTF-8 path"),
        "--out",
        out,
    ];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    ok(dir, &args);
}

/// `charm train … --out part.charm --interrupt-at STEP` with [`TINY`] and
/// `extra`, in `dir`: asserts that it stopped as an interrupted run does
/// (status 130) and returns its standard error and the training state it
/// left in `part.state`.
pub fn train_interrupted(
    dir: &Path,
    data: &Path,
    extra: &[&str],
    step: usize,
) -> (String, charm_trainer::training::TrainState) {
    let step = step.to_string();
    let mut args = vec![
        "train",
        "--data",
        data.to_str().expect("a UTF-8 path"),
        "--out",
        "part.charm",
        "--interrupt-at",
        &step,
    ];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{err}");
    let bytes =
        std::fs::read(dir.join("part.state")).expect("an interrupted run leaves part.state");
    let state = charm_trainer::training::TrainState::from_bytes(&bytes).expect("a training state");
    (err, state)
}

/// Resumes `part.state` to the end (`extra` as the interrupted run had it)
/// and asserts that `part.charm` is byte for byte the `full.charm` of an
/// uninterrupted run.
pub fn assert_resume_completes_the_run(dir: &Path, data: &Path, extra: &[&str], engine: &str) {
    train(
        dir,
        data,
        "part.charm",
        &[extra, &["--resume", "part.state"]].concat(),
    );
    assert_eq!(
        std::fs::read(dir.join("full.charm")).expect("full.charm"),
        std::fs::read(dir.join("part.charm")).expect("part.charm"),
        "{engine}: the resumed model differs from the uninterrupted one"
    );
}
