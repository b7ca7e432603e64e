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
