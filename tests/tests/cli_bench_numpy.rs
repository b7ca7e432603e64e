//! `charm bench --suite --numpy CORPUS`: everything the numpy reference needs
//! (its corpus, an interpreter, numpy) is checked before the first
//! configuration is timed, and each missing piece is one `error:` sentence
//! saying what to install or give, exit status 1, never a Python traceback.
//! (`cargo test -p charm-tests --test cli_bench_numpy`)

mod cli_support;

use cli_support::{cmd, write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The one line of stderr of a failed command, asserting exit status 1,
/// nothing on stdout (no table: nothing was timed) and no traceback.
fn one_error_line(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(!stderr.contains("Traceback"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    lines[0].to_string()
}

/// A stand-in interpreter: an executable shell script that answers every
/// command as Python without numpy does (a traceback, exit status 1).
fn python_without_numpy(dir: &Path, name: &str) -> PathBuf {
    let path = write(
        dir,
        name,
        "#!/bin/sh\n\
         echo 'Traceback (most recent call last):' >&2\n\
         echo \"ModuleNotFoundError: No module named 'numpy'\" >&2\n\
         exit 1\n",
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A corpus long enough for the reference's window of 26 characters.
fn corpus(dir: &Path) -> PathBuf {
    write(dir, "corpus.txt", "the cat sat on the mat. ".repeat(10))
}

#[test]
fn cli_bench_numpy_missing_corpus_fails_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path(), &["bench", "--suite", "--numpy", "nonexist.txt"])
        .output()
        .unwrap();
    assert_eq!(
        one_error_line(out),
        "error: cannot read nonexist.txt: no such file; check the path"
    );
}

#[test]
fn cli_bench_numpy_corpus_shorter_than_a_window() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "short.txt", "abc");
    let out = cmd(dir.path(), &["bench", "--suite", "--numpy", "short.txt"])
        .output()
        .unwrap();
    assert_eq!(
        one_error_line(out),
        "error: short.txt has 3 characters, fewer than the 26 of one window of the numpy \
         reference; give a longer text"
    );
}

#[test]
fn cli_bench_numpy_without_python_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    // No python3 on PATH: an empty folder is the whole PATH.
    let empty = tempfile::tempdir().unwrap();
    let out = cmd(dir.path(), &["bench", "--suite", "--numpy", "corpus.txt"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(
        one_error_line(out),
        "error: charm bench --numpy runs its numpy reference with python3, which cannot be run \
         (not found); install Python 3 and numpy (for example `apt install python3-numpy`), or \
         name an interpreter with --python"
    );
}

#[test]
fn cli_bench_numpy_without_numpy_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    // The default interpreter, python3, found on PATH, without numpy.
    let bin = tempfile::tempdir().unwrap();
    python_without_numpy(bin.path(), "python3");
    let out = cmd(dir.path(), &["bench", "--suite", "--numpy", "corpus.txt"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert_eq!(
        one_error_line(out),
        "error: charm bench --numpy needs numpy, which python3 cannot import; install it \
         (`python3 -m pip install numpy`, or the python3-numpy package of your system), or name \
         an interpreter that has it with --python"
    );
    // The same with the interpreter named by --python.
    let python = python_without_numpy(dir.path(), "py");
    let python = python.to_str().unwrap();
    let args = [
        "bench",
        "--suite",
        "--numpy",
        "corpus.txt",
        "--python",
        python,
    ];
    let out = cmd(dir.path(), &args).output().unwrap();
    assert_eq!(
        one_error_line(out),
        format!(
            "error: charm bench --numpy needs numpy, which {python} cannot import; install it \
             (`{python} -m pip install numpy`, or the python3-numpy package of your system), or \
             name an interpreter that has it with --python"
        )
    );
}

#[test]
fn cli_bench_numpy_missing_script_fails_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let args = [
        "bench",
        "--suite",
        "--numpy",
        "corpus.txt",
        "--numpy-script",
        "nonexist.py",
    ];
    let out = cmd(dir.path(), &args).output().unwrap();
    assert_eq!(
        one_error_line(out),
        "error: cannot read nonexist.py: no such file; check the path"
    );
}
