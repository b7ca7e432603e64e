//! No charm command loses a user's file: output paths against inputs and
//! each other, links and devices, existing files, a second run on the same
//! output, temporary files of a killed run, stdout failures, and bounds on
//! every numeric flag. Each case: the exact command, its exit status, its
//! sentence, and every file that was there before, byte for byte after.
//! (`cargo test -p charm-tests --test cli_safety`)

mod cli_support;

use cli_support::{cmd, ok, run, small_text, write, TINY};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Output, Stdio};

/// What a directory entry is, and its bytes (a symlink: its target).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Link(std::path::PathBuf),
    Dir,
    Other(&'static str),
}

/// Every entry of `dir` (not recursive), by name.
fn snapshot(dir: &Path) -> BTreeMap<String, Entry> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let t = e.file_type().unwrap();
            let entry = if t.is_symlink() {
                Entry::Link(std::fs::read_link(e.path()).unwrap())
            } else if t.is_file() {
                Entry::File(std::fs::read(e.path()).unwrap())
            } else if t.is_dir() {
                Entry::Dir
            } else {
                Entry::Other("special")
            };
            (name, entry)
        })
        .collect()
}

/// Asserts that the command failed with status 1 and one `error:` line with
/// every needle, and that `dir` is exactly as `before`.
fn refused(
    dir: &Path,
    args: &[&str],
    before: &BTreeMap<String, Entry>,
    needles: &[&str],
) -> String {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "charm {args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "charm {args:?}: one line expected: {stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not in: {stderr}");
    }
    assert_eq!(
        &snapshot(dir),
        before,
        "charm {args:?} changed the directory"
    );
    lines[0].to_string()
}

/// `charm train --data DATA --out OUT --quiet` with a tiny model, each
/// default flag replaced by the one in `extra` when `extra` gives it.
fn train_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["train", "--data", data, "--out", out, "--quiet"];
    for (flag, value) in [
        ("--hidden", "32"),
        ("--seq-len", "16"),
        ("--batch", "4"),
        ("--steps", "3"),
    ] {
        if !extra.contains(&flag) {
            a.extend_from_slice(&[flag, value]);
        }
    }
    a.extend_from_slice(extra);
    a
}

/// A directory with a corpus `small.txt` and a trained model `m.charm` (with
/// its side files).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.txt", small_text());
    ok(dir.path(), &train_args("small.txt", "m.charm", &[]));
    dir
}

// 1. The corpus as the model.
#[test]
fn cli_safety_1_train_out_is_the_corpus() {
    let dir = workspace();
    let d = dir.path();
    let before = snapshot(d);
    refused(
        d,
        &train_args("small.txt", "small.txt", &[]),
        &before,
        &[
            "small.txt is the corpus this command reads",
            "choose another --out",
        ],
    );
    // The same file under another name, through a symlink or a hard link, too.
    std::os::unix::fs::symlink("small.txt", d.join("alias.txt")).unwrap();
    std::fs::hard_link(d.join("small.txt"), d.join("hard.charm")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    let before = snapshot(d);
    refused(
        d,
        &train_args("alias.txt", "hard.charm", &["--force"]),
        &before,
        &["is the corpus"],
    );
    refused(
        d,
        &train_args("small.txt", "./sub/../hard.charm", &["--force"]),
        &before,
        &["hard.charm is the corpus"],
    );
}

// 2. A side file (.csv, .state, .svg) on the corpus.
#[test]
fn cli_safety_2_side_files_are_not_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for corpus in ["notes.csv", "notes.state", "notes.svg"] {
        write(d, corpus, small_text());
        let before = snapshot(d);
        refused(
            d,
            &train_args(corpus, "notes.charm", &["--force"]),
            &before,
            &[&format!("{corpus} is the corpus this command reads")],
        );
        std::fs::remove_file(d.join(corpus)).unwrap();
    }
    // --out whose side file is the model itself.
    write(d, "small.txt", small_text());
    let before = snapshot(d);
    refused(
        d,
        &train_args("small.txt", "m.state", &[]),
        &before,
        &["would both be written to"],
    );
}

// 3. quantize onto its own input.
#[test]
fn cli_safety_3_quantize_never_replaces_its_input() {
    let dir = workspace();
    let d = dir.path();
    let before = snapshot(d);
    refused(
        d,
        &[
            "quantize", "--model", "m.charm", "--out", "m.charm", "--force",
        ],
        &before,
        &[
            "m.charm is the f32 model this command reads",
            "choose another --out",
        ],
    );
    ok(d, &["quantize", "--model", "m.charm", "--out", "q.charm"]);
    let before = snapshot(d);
    refused(
        d,
        &["quantize", "--model", "m.charm", "--out", "q.charm"],
        &before,
        &["q.charm exists", "--force"],
    );
    ok(
        d,
        &[
            "quantize", "--model", "m.charm", "--out", "q.charm", "--force",
        ],
    );
}

// 4. Devices, FIFOs, directories and symlinks at an output path.
#[test]
fn cli_safety_4_special_files_and_links_are_never_replaced() {
    let dir = workspace();
    let d = dir.path();
    write(d, "target.txt", "keep me");
    std::os::unix::fs::symlink("target.txt", d.join("link.charm")).unwrap();
    std::fs::create_dir(d.join("dir.charm")).unwrap();
    let fifo = d.join("fifo.charm");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let before = snapshot(d);
    for (out, kind) in [
        ("link.charm", "symbolic link"),
        ("fifo.charm", "named pipe"),
        ("/dev/null", "character device"),
    ] {
        for args in [
            vec!["quantize", "--model", "m.charm", "--out", out, "--force"],
            vec!["sample", "--model", "m.charm", "--record", out, "--force"],
        ] {
            refused(d, &args, &before, &[out, kind, "not a regular file"]);
        }
        refused(
            d,
            &train_args("small.txt", out, &["--force"]),
            &before,
            &["not a regular file"],
        );
    }
    refused(
        d,
        &[
            "quantize",
            "--model",
            "m.charm",
            "--out",
            "dir.charm",
            "--force",
        ],
        &before,
        &["directory"],
    );
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &null.file_type()
    ));
}

// 5. A fresh run onto an earlier one's files; two runs at once.
#[test]
fn cli_safety_5_existing_runs_are_kept_and_one_run_holds_the_outputs() {
    let dir = workspace();
    let d = dir.path();
    let before = snapshot(d);
    refused(
        d,
        &train_args("small.txt", "m.charm", &[]),
        &before,
        &[
            "m.state holds the training state of an earlier run",
            "--resume m.state",
            "--force",
        ],
    );
    // An unrelated file where a side file would go.
    write(d, "n.csv", "my spreadsheet");
    let before = snapshot(d);
    refused(
        d,
        &train_args("small.txt", "n.charm", &[]),
        &before,
        &["n.csv exists", "--force"],
    );
    // A second run on the same --out while the first runs.
    let mut long = vec![
        "train",
        "--data",
        "small.txt",
        "--out",
        "busy.charm",
        "--minutes",
        "1",
    ];
    long.extend_from_slice(TINY);
    let mut first = cmd(d, &long)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = d.join("busy.charm.lock");
    for _ in 0..200 {
        if lock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(lock.exists(), "the first run holds busy.charm.lock");
    let second = run(d, &train_args("small.txt", "busy.charm", &["--force"]));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another charm train") && stderr.contains(&first.id().to_string()),
        "{stderr}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The killed run's lock does not block the next one.
    ok(d, &train_args("small.txt", "busy.charm", &["--force"]));
    assert!(!lock.exists(), "the lock file goes with the run");
}

// 6. A failed first checkpoint leaves nothing; a killed run's temporary
//    files are removed by the next start.
#[test]
fn cli_safety_6_failed_first_checkpoint_and_stale_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    let before = snapshot(d);
    // A 4 KiB file-size limit (ulimit -f 4; SIGXFSZ ignored, so the write
    // fails with EFBIG, as on a full disk): the state file cannot be written.
    let args = train_args("small.txt", "m.charm", &[]);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 4; trap '' XFSZ; exec \"$0\" \"$@\"")
        .arg(charm_tests::charm_bin())
        .args(&args)
        .current_dir(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: cannot write"), "{stderr}");
    assert_eq!(snapshot(d), before, "nothing left behind");
    // Temporary files of a dead process are removed; a live one's stay.
    let dead = "m.charm.charm-tmp.4000000000";
    let live = format!("m.state.charm-tmp.{}", std::process::id());
    write(d, dead, "partial");
    write(d, &live, "being written");
    ok(d, &args);
    assert!(!d.join(dead).exists());
    assert!(d.join(&live).exists());
}

/// Runs `charm ARGS` in `dir` with stdout going to `stdout`.
fn with_stdout(dir: &Path, args: &[&str], stdout: Stdio) -> Output {
    cmd(dir, args).stdout(stdout).output().unwrap()
}

// 7. stdout: a closed pipe is a normal end; a full disk is an error.
#[test]
fn cli_safety_7_stdout_failures() {
    let dir = workspace();
    let d = dir.path();
    ok(d, &["quantize", "--model", "m.charm", "--out", "q.charm"]);
    let commands: Vec<Vec<&str>> = vec![
        vec!["info", "--model", "m.charm"],
        vec!["info", "--model", "m.charm", "--json"],
        vec!["eval", "--model", "m.charm", "--data", "small.txt"],
        vec!["sample", "--model", "m.charm", "--len", "100000"],
        vec![
            "quantize", "--model", "m.charm", "--out", "q.charm", "--force",
        ],
        vec![
            "bench",
            "--hidden",
            "8",
            "--seq-len",
            "4",
            "--batch",
            "2",
            "--steps",
            "2",
            "--runs",
            "1",
        ],
        // Not quiet: the progress lines go to stdout.
        train_args("small.txt", "t.charm", &["--force"])
            .into_iter()
            .filter(|a| *a != "--quiet")
            .collect(),
    ];
    for args in &commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // a pipe nobody reads: `| head` after it has ended
        let out = with_stdout(d, args, writer.into());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "closed pipe: charm {args:?}: {stderr}"
        );
        assert!(stderr.is_empty(), "closed pipe: charm {args:?}: {stderr}");
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = with_stdout(d, args, full.into());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "/dev/full: charm {args:?}: {stderr}"
        );
        assert_eq!(
            stderr.trim(),
            "error: cannot write to standard output: No space left on device (os error 28)",
            "charm {args:?}"
        );
    }
    // The model a closed-pipe training run wrote is whole.
    ok(d, &["info", "--model", "t.charm"]);
}

// 8. Unbounded inputs.
#[test]
fn cli_safety_8_every_number_and_input_is_bounded() {
    let dir = workspace();
    let d = dir.path();
    // 1.2 MB: long enough for 10 streams of 100,000-character windows.
    write(d, "big.txt", small_text().repeat(300));
    let before = snapshot(d);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["sample", "--model", "m.charm", "--len", "-5"],
            r#"--len must be a whole number from 0 to 18446744073709551615, not "-5""#,
        ),
        (
            vec!["sample", "--model", "m.charm", "--temperature", "-1"],
            r#"--temperature must be a number from 0 to 100, not "-1""#,
        ),
        (
            vec!["sample", "--model", "m.charm", "--top-k", "x"],
            "--top-k must be a whole number from 0 to 65536",
        ),
        (
            vec!["bench", "--hidden", "100000"],
            r#"--hidden must be a whole number from 1 to 16384, not "100000""#,
        ),
        (
            vec!["bench", "--seq-len", "100000000"],
            r#"--seq-len must be a whole number from 1 to 100000, not "100000000""#,
        ),
        (
            vec![
                "bench",
                "--hidden",
                "16384",
                "--seq-len",
                "100000",
                "--batch",
                "100000",
            ],
            "this benchmark needs about",
        ),
        (
            train_args("/dev/zero", "z.charm", &[]),
            "/dev/zero is a character device, not a regular file",
        ),
        (
            train_args("small.txt", "z.charm", &["--checkpoint-every", "NaN"]),
            "--checkpoint-every must be a number from 0 to 31536000",
        ),
        (
            train_args("small.txt", "z.charm", &["--steps", "0"]),
            r#"--steps must be a whole number from 1 to 1000000000000, not "0""#,
        ),
        (
            train_args(
                "small.txt",
                "z.charm",
                &["--threads", "1000", "--batch", "16"],
            ),
            r#"--threads must be a whole number from 1 to 256, not "1000""#,
        ),
        (
            train_args("small.txt", "z.charm", &["--threads", "8", "--batch", "4"]),
            "--threads 8 is more than --batch 4",
        ),
        (
            train_args(
                "big.txt",
                "z.charm",
                &["--hidden", "16384", "--seq-len", "100000", "--batch", "10"],
            ),
            "this run needs about",
        ),
        (
            vec!["sample", "--model", "m.state"],
            "m.state is a training state (what --resume continues), not a model; the model is \
             the .charm file beside it: m.charm",
        ),
        (
            vec![
                "sample",
                "--model",
                "m.charm",
                "--len",
                "4294967296",
                "--record",
                "p.bin",
            ],
            "--len 4294967296 is more than the 4294967295 characters a parameters record holds",
        ),
    ];
    for (args, sentence) in cases {
        refused(d, &args, &before, &[sentence]);
    }
    // Any --len works in constant memory: the text is written as it is made.
    for len in ["18446744073709551615", "4611686018427387904"] {
        let (reader, writer) = std::io::pipe().unwrap();
        let mut child = cmd(d, &["sample", "--model", "m.charm", "--len", len])
            .stdout(writer)
            .spawn()
            .unwrap();
        let mut head = vec![0u8; 100_000];
        std::io::Read::read_exact(&mut { reader }, &mut head).unwrap();
        // The reader is gone now: `| head -c 100000`.
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "--len {len}");
    }
}
