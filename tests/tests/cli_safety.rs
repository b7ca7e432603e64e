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

/// [`snapshot`] without the files of a run in progress (names starting with
/// `busy`), which it may write at any time.
fn snapshot_except(dir: &Path, busy: &str) -> BTreeMap<String, Entry> {
    let mut s = snapshot(dir);
    s.retain(|name, _| !name.starts_with(busy));
    s
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
    let lock = d.join("busy.lock");
    for _ in 0..200 {
        if lock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(lock.exists(), "the first run holds busy.lock");
    // Its output set, under any model name that shares its side files
    // (busy.state, busy.csv, busy.svg): refused, nothing changed.
    for out in ["busy.charm", "busy.model", "busy"] {
        let before = snapshot_except(d, "busy");
        let second = run(d, &train_args("small.txt", out, &["--force"]));
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert_eq!(second.status.code(), Some(1), "{out}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "error: another charm train (process {}) is writing {out} and its side files; \
                 wait for it to end, or choose another --out",
                first.id()
            )
        );
        assert_eq!(snapshot_except(d, "busy"), before, "{out}");
    }
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

/// `charm ARGS` in `dir` under the shell limits `limits` (e.g. `ulimit -v
/// 3000000`: setrlimit in the child, before charm starts), SIGXFSZ ignored
/// so that a file-size limit fails a write with EFBIG, as a full disk does.
fn run_limited(dir: &Path, limits: &str, args: &[&str]) -> Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{limits}; trap '' XFSZ; exec \"$0\" \"$@\""))
        .arg(charm_tests::charm_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Asserts status 1 and exactly the one line `error: SENTENCE`.
fn one_error(out: &Output, sentence: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, format!("error: {sentence}\n"));
}

// 9. The lock file is an output like the others: never an input, never a
//    file charm did not create, never left half-written.
#[test]
fn cli_safety_9_the_lock_file_is_an_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = small_text().repeat(12); // ~100 KB, a user's notes
    write(d, "notes.charm.lock", &corpus);
    write(d, "notes.lock", &corpus);
    let before = snapshot(d);
    // The corpus at the lock's name (notes.charm -> notes.lock).
    let line = refused(
        d,
        &[
            "train",
            "--data",
            "notes.lock",
            "--hidden",
            "32",
            "--steps",
            "20",
            "-q",
            "--out",
            "notes.charm",
        ],
        &before,
        &[],
    );
    assert_eq!(
        line,
        "error: notes.lock is the corpus this command reads; writing the lock file there would \
         destroy it: choose another --out"
    );
    // A file of the user's at the lock's name, with --force: refused, kept.
    write(d, "mine.lock", "my notes\n");
    let before = snapshot(d);
    let line = refused(
        d,
        &[
            "train",
            "--data",
            "notes.charm.lock",
            "--hidden",
            "32",
            "--steps",
            "20",
            "-q",
            "--out",
            "mine.charm",
            "--force",
        ],
        &before,
        &[],
    );
    assert_eq!(
        line,
        "error: mine.lock exists and is not a charm lock file, but charm train locks the run \
         writing mine.charm and its side files with a file of that name; move it away, or choose \
         another --out"
    );
    // The old name of the lock is any file now: a run on essay.charm reads
    // essay.charm.lock as its corpus and keeps it.
    write(d, "essay.charm.lock", &corpus);
    ok(
        d,
        &[
            "train",
            "--data",
            "essay.charm.lock",
            "--hidden",
            "32",
            "--steps",
            "20",
            "-q",
            "--out",
            "essay.charm",
        ],
    );
    assert_eq!(
        std::fs::read(d.join("essay.charm.lock")).unwrap(),
        corpus.as_bytes()
    );
    assert!(!d.join("essay.lock").exists(), "the lock goes with the run");
    // --resume with the corpus at the lock's name: refused before anything.
    std::fs::copy(d.join("essay.charm.lock"), d.join("more.txt")).unwrap();
    write(d, "essay.lock", &corpus);
    let before = snapshot(d);
    refused(
        d,
        &[
            "train",
            "--resume",
            "essay.state",
            "--data",
            "essay.lock",
            "--steps",
            "30",
            "-q",
        ],
        &before,
        &["essay.lock is the corpus this command reads; writing the lock file there"],
    );
    // A killed run's lock file (charm's, no process holds it) is taken over and removed.
    write(d, "stale.lock", "charm train lock\nprocess 4000000000\n");
    ok(
        d,
        &[
            "train",
            "--data",
            "more.txt",
            "--hidden",
            "32",
            "--steps",
            "3",
            "-q",
            "--out",
            "stale.charm",
        ],
    );
    assert!(!d.join("stale.lock").exists());
    // The lock cannot be written (a 0-block file-size limit fails every
    // write, as a full disk does): one sentence, nothing left behind.
    let before = snapshot(d);
    let out = run_limited(
        d,
        "ulimit -f 0",
        &[
            "train",
            "--data",
            "more.txt",
            "--hidden",
            "32",
            "--steps",
            "3",
            "-q",
            "--out",
            "full.charm",
        ],
    );
    one_error(&out, "cannot write full.lock: File too large (os error 27)");
    assert_eq!(snapshot(d), before);
    // Every file that was there before is byte-identical.
    assert_eq!(
        std::fs::read(d.join("notes.lock")).unwrap(),
        corpus.as_bytes()
    );
    assert_eq!(std::fs::read(d.join("mine.lock")).unwrap(), b"my notes\n");
}

// 10. A run that needs more memory than the process's own limits allow is
//     refused before it allocates, with the numbers.
#[test]
fn cli_safety_10_memory_limits_of_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    let before = snapshot(d);
    // RLIMIT_AS 8,000,000 KiB: H 16384's θ alone (W_hh: 2^28 f32, 1 GiB)
    // with its gradient, moments and snapshot is ~15 GiB.
    let out = run_limited(
        d,
        "ulimit -v 8000000",
        &[
            "train",
            "--data",
            "small.txt",
            "--hidden",
            "16384",
            "--batch",
            "1",
            "--seq-len",
            "2",
            "--steps",
            "1",
            "-q",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: this run needs about 15.")
            && stderr.contains(" GiB of memory, more than the 7.")
            && stderr.ends_with(
                " GiB this process's address-space limit (ulimit -v) leaves it; lower --hidden, \
                 --batch or --seq-len\n"
            ),
        "{stderr}"
    );
    assert_eq!(snapshot(d), before, "no lock or output left");
    let out = run_limited(
        d,
        "ulimit -v 3000000",
        &[
            "bench",
            "--hidden",
            "16384",
            "--batch",
            "1",
            "--seq-len",
            "1",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: this benchmark needs about 7.0 GiB of memory, more than the 2.")
            && stderr.contains("ulimit -v"),
        "{stderr}"
    );
    // An allocation that fails all the same (the estimate, ~1 GiB for H
    // 4096 with batch 1, is under this 1.19 GiB limit; the run's first
    // large buffers are not): charm's one line and status 1, not an abort,
    // and its lock file removed.
    let out = run_limited(
        d,
        "ulimit -v 1250000",
        &[
            "train",
            "--data",
            "small.txt",
            "--hidden",
            "4096",
            "--batch",
            "1",
            "--seq-len",
            "2",
            "--steps",
            "1",
            "-q",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: out of memory: an allocation of ")
            && stderr.ends_with(
                " bytes failed (the machine's memory, or this process's limit: ulimit -v, ulimit \
                 -d or its cgroup's); lower --hidden, --batch or --seq-len, or give the run more \
                 memory\n"
            )
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(snapshot(d), before, "no lock or output left");
}

/// `file` (a safetensors file) with its JSON header replaced by `edit` of it.
fn edit_header(file: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&file[8..8 + len]).unwrap();
    let new = edit(header);
    let mut out = (new.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&file[8 + len..]);
    out
}

// 11. charm import refuses losses that are no loss and names given twice.
#[test]
fn cli_safety_11_import_refuses_nonsense_metadata_and_duplicate_names() {
    let dir = workspace();
    let d = dir.path();
    ok(
        d,
        &[
            "export",
            "--model",
            "m.charm",
            "--format",
            "safetensors",
            "--out",
            "m.safetensors",
        ],
    );
    let good = std::fs::read(d.join("m.safetensors")).unwrap();
    let text = String::from_utf8_lossy(&good).into_owned();
    let val = text
        .split("\"charm.val_loss\":\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("charm export writes charm.val_loss")
        .to_string();
    for bad in ["-1", "inf", "1e400", "-0.5"] {
        let f = edit_header(&good, |h| {
            h.replace(
                &format!("\"charm.val_loss\":\"{val}\""),
                &format!("\"charm.val_loss\":\"{bad}\""),
            )
        });
        write(d, "bad.safetensors", &f);
        let before = snapshot(d);
        let line = refused(
            d,
            &["import", "--model", "bad.safetensors", "--out", "i.charm"],
            &before,
            &[],
        );
        assert!(
            line.ends_with(&format!(
                "the metadata entry charm.val_loss = \"{bad}\" is no loss: a loss in nats/char \
                 is a finite number of at least 0 (or NaN, unknown); remove it or write what \
                 charm export writes"
            )),
            "{line}"
        );
    }
    // A metadata entry, then a tensor, named twice.
    let twice = edit_header(&good, |h| {
        h.replace(
            "\"__metadata__\":{",
            "\"__metadata__\":{\"charm.seed\":\"1\",",
        )
    });
    let tensor = edit_header(&good, |h| {
        let fc_bias = h.split("\"fc.bias\":").nth(1).unwrap();
        let value = &fc_bias[..=fc_bias.find('}').unwrap()];
        format!("{{\"fc.bias\":{value},{}", &h[1..])
    });
    for (file, key) in [(twice, "charm.seed"), (tensor, "fc.bias")] {
        write(d, "twice.safetensors", &file);
        let before = snapshot(d);
        let line = refused(
            d,
            &["import", "--model", "twice.safetensors", "--out", "i.charm"],
            &before,
            &[],
        );
        assert!(
            line.ends_with(&format!(
                "the header names \"{key}\" twice, and readers keep different ones of the two; \
                 write the file again with safetensors.torch.save_file, which writes each name once"
            )),
            "{line}"
        );
    }
}

// 12. Help and version are output like any other: a full stdout is an error.
#[test]
fn cli_safety_12_help_and_version_to_a_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["--version"],
        &["sample", "--help"],
        &["help"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = with_stdout(dir.path(), args, Stdio::from(full));
        one_error(
            &out,
            "cannot write to standard output: No space left on device (os error 28)",
        );
    }
    let out = with_stdout(dir.path(), &["--version"], Stdio::piped());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        out.stdout,
        format!("charm {}\n", env!("CARGO_PKG_VERSION")).into_bytes()
    );
}

// 13. Sentences that say what is there: a text file with a state's name, a
//     directory with a side file's name, a later checkpoint that fails.
#[test]
fn cli_safety_13_messages_name_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    write(d, "c.state", "a text of mine\n");
    std::fs::create_dir(d.join("x.state")).unwrap();
    let before = snapshot(d);
    let line = refused(d, &train_args("small.txt", "c.charm", &[]), &before, &[]);
    assert_eq!(
        line,
        "error: c.state exists and charm replaces a file only when asked: choose another --out, \
         or add --force to replace it with the training state"
    );
    let line = refused(
        d,
        &train_args("small.txt", "x.charm", &["--force"]),
        &before,
        &[],
    );
    assert_eq!(
        line,
        "error: x.state is a directory, and this run would write its training state there; charm \
         never replaces a directory: choose another --out"
    );
    // A checkpoint after the first fails (a 1 KiB file-size limit: the
    // state, some KB, cannot be written): the earlier one is whole.
    ok(d, &train_args("small.txt", "m.charm", &[]));
    let before = snapshot(d);
    let out = run_limited(
        d,
        "ulimit -f 1",
        &train_args(
            "small.txt",
            "m.charm",
            &["--resume", "m.state", "--steps", "6"],
        ),
    );
    one_error(
        &out,
        "cannot write m.state: File too large (os error 27); the checkpoint of step 3 in m.state \
         is whole and nothing was lost: free some space (or mend the cause) and continue with the \
         same flags and --resume m.state",
    );
    assert_eq!(snapshot(d), before);
    ok(
        d,
        &train_args(
            "small.txt",
            "m.charm",
            &["--resume", "m.state", "--steps", "6"],
        ),
    );
}
