//! Property: whatever the combination of path flags, no charm command
//! changes a file that was there before, unless changing it is the
//! command's documented job: writing its own outputs, where they did not
//! exist, or with `--force`, or in place when resuming — and never an input.
//!
//! Each case builds a directory with a corpus, a trained model and its side
//! files, links (symbolic and hard) to them, an unrelated file, a FIFO, a
//! directory, (when not root) a read-only directory, a user's file at a
//! lock's name (`notes.lock`), the lock file of a run in progress
//! (`busy.lock`, locked by the test while the command runs) and that of a
//! killed run (`old.lock`), then runs `charm
//! train`, `quantize` or `sample --record` with paths drawn from that
//! directory (and /dev/null) for every path flag.
//! (`cargo test -p charm-tests --test cli_paths_property`)

mod cli_support;

use cli_support::{cmd, ok, small_text, write};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The paths a flag may name.
const PATHS: &[&str] = &[
    "c.txt",
    "link.txt",
    "hard.txt",
    "m.charm",
    "mlink.charm",
    "m.state",
    "m.csv",
    "notes.charm",
    "notes.csv",
    "notes.lock",
    "busy.charm",
    "busy.model",
    "old.charm",
    "new.charm",
    "fifo",
    "dir",
    "dir/x.charm",
    "sub/../c.txt",
    "/dev/null",
    "ro/x.charm",
    "missing/x.charm",
];

/// A trained model and its side files, made once.
fn template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "c.txt", small_text());
        let args = [
            "train",
            "--data",
            "c.txt",
            "--out",
            "m.charm",
            "--steps",
            "2",
            "--hidden",
            "8",
            "--seq-len",
            "8",
            "--batch",
            "2",
            "--quiet",
        ];
        ok(d, &args);
        dir
    })
    .path()
}

fn running_as_root() -> bool {
    std::fs::metadata(template().join("c.txt")).unwrap().uid() == 0
}

/// The case's directory: the template's files, links, a FIFO, directories.
fn setup(d: &Path) {
    for f in ["c.txt", "m.charm", "m.state", "m.csv", "m.svg"] {
        std::fs::copy(template().join(f), d.join(f)).unwrap();
    }
    write(d, "notes.csv", "my own spreadsheet, not charm's");
    write(d, "notes.lock", "my own notes, not charm's");
    write(d, "busy.lock", "charm train lock\nprocess 1\n");
    write(d, "old.lock", "charm train lock\nprocess 4000000000\n");
    std::os::unix::fs::symlink("c.txt", d.join("link.txt")).unwrap();
    std::os::unix::fs::symlink("m.charm", d.join("mlink.charm")).unwrap();
    std::fs::hard_link(d.join("c.txt"), d.join("hard.txt")).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(d.join("fifo"))
        .status()
        .unwrap()
        .success());
    std::fs::create_dir(d.join("dir")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::create_dir(d.join("ro")).unwrap();
    let mut perm = std::fs::metadata(d.join("ro")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o555);
    std::fs::set_permissions(d.join("ro"), perm).unwrap();
}

/// Every entry under `d` (recursively), by relative path: its kind and bytes.
fn snapshot(d: &Path) -> BTreeMap<PathBuf, (String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(d).unwrap().to_path_buf();
            let entry = if t.is_symlink() {
                (
                    "link".into(),
                    std::fs::read_link(e.path())
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else if t.is_file() {
                ("file".into(), std::fs::read(e.path()).unwrap())
            } else if t.is_dir() {
                stack.push(e.path());
                ("dir".into(), Vec::new())
            } else {
                ("special".into(), Vec::new())
            };
            out.insert(rel, entry);
        }
    }
    out
}

/// (device, inode) of what `p` names, following links.
fn id(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// `p` (relative to `d`, or absolute) as a path relative to `d`, `..` resolved.
fn relative(d: &Path, p: &str) -> Option<PathBuf> {
    let full = d.join(p);
    let parent = full.parent()?.canonicalize().ok()?;
    let full = parent.join(full.file_name()?);
    full.strip_prefix(d.canonicalize().ok()?)
        .ok()
        .map(Path::to_path_buf)
}

#[derive(Debug, Clone)]
struct Case {
    command: usize,
    input: &'static str,
    output: &'static str,
    force: bool,
    resume: bool,
}

/// Inputs of the right kind for each command (a text for train, a model
/// for quantize and sample), by several names.
const TEXTS: &[&str] = &["c.txt", "link.txt", "hard.txt", "notes.csv", "m.csv"];
const MODELS: &[&str] = &["m.charm", "mlink.charm"];

fn case() -> impl Strategy<Value = Case> {
    // Four cases in five get an input of the right kind, so that most runs
    // get as far as their outputs; the rest any path at all.
    let pick = (0..5usize, 0..PATHS.len());
    (
        0..3usize,
        pick,
        0..PATHS.len(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(command, (dice, i), o, force, resume)| {
            let right = if command == 0 { TEXTS } else { MODELS };
            Case {
                command,
                input: if dice < 4 {
                    right[i % right.len()]
                } else {
                    PATHS[i]
                },
                output: PATHS[o],
                force,
                resume,
            }
        })
}

/// The command's arguments, the paths it reads, and the paths it writes
/// (for train: the model and its three side files).
fn command(c: &Case) -> (Vec<String>, Vec<String>, Vec<String>) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut args;
    let (mut inputs, mut outputs) = (vec![c.input.to_string()], vec![c.output.to_string()]);
    match c.command {
        0 => {
            args = s(&[
                "train", "--data", c.input, "--out", c.output, "--steps", "3",
            ]);
            args.extend(s(&[
                "--hidden",
                "8",
                "--seq-len",
                "8",
                "--batch",
                "2",
                "--quiet",
            ]));
            if c.resume {
                args.extend(s(&["--resume", "m.state"]));
                inputs.push("m.state".into());
            }
            let stem = c.output.rsplit_once('.').map_or(c.output, |(a, _)| a);
            for ext in ["state", "csv", "svg"] {
                outputs.push(format!("{stem}.{ext}"));
            }
        }
        1 => args = s(&["quantize", "--model", c.input, "--out", c.output]),
        _ => {
            args = s(&[
                "sample", "--model", c.input, "--record", c.output, "--len", "5",
            ])
        }
    }
    if c.force {
        args.push("--force".into());
    }
    (args, inputs, outputs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn no_command_changes_a_file_it_was_not_asked_to(c in case()) {
        if running_as_root() && c.output.starts_with("ro/") {
            // Root writes into a read-only directory: no refusal to check.
            return Ok(());
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        setup(d);
        let before = snapshot(d);
        let (args, inputs, outputs) = command(&c);
        let input_ids: BTreeSet<_> = inputs.iter().filter_map(|p| id(&d.join(p))).collect();
        // Identities before the run (a rename frees an inode the next file may reuse).
        let output_ids: Vec<_> = outputs.iter().map(|o| id(&d.join(o))).collect();
        // A run in progress holds busy.lock: its output set (busy.*) is taken.
        let busy = std::fs::File::open(d.join("busy.lock")).unwrap();
        busy.try_lock().unwrap();
        let out = cmd(d, &args).output().unwrap();
        drop(busy);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        prop_assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{args:?}: {stderr}");
        if !out.status.success() {
            prop_assert_eq!(stderr.lines().count(), 1, "{:?}: {}", args, stderr);
        }
        // What the command may have changed: its outputs, when it succeeded,
        // if each was absent, or --force, or the state it resumed; never a
        // file that is one of its inputs.
        let mut allowed = BTreeSet::new();
        // Resuming in place: the run's own files (model, state, log) are the
        // ones it continues, m.state among them.
        let in_place = c.resume
            && outputs
                .get(1)
                .and_then(|s| relative(d, s))
                .is_some_and(|s| s == Path::new("m.state"));
        if out.status.success() {
            for (o, oid) in outputs.iter().zip(&output_ids) {
                let Some(rel) = relative(d, o) else { continue };
                let existed = before.contains_key(&rel);
                let own_state = in_place && rel == Path::new("m.state");
                let is_input = oid.is_some_and(|i| input_ids.contains(&i)) && !own_state;
                if !is_input && (!existed || c.force || in_place) {
                    allowed.insert(rel);
                }
            }
        }
        let stem = c.output.rsplit_once('.').map_or(c.output, |(a, _)| a);
        if c.command == 0 {
            // The overlapping output set of the run in progress is refused,
            // and so is a user's file at the lock's name.
            prop_assert!(
                !(out.status.success() && (stem == "busy" || stem == "notes")),
                "{:?} ran on an output set it does not own",
                args
            );
            // A killed run's lock file is charm's: taken over and removed
            // by a run on its output set (also one that fails after taking
            // the lock), never rewritten.
            if stem == "old" {
                let after = std::fs::read(d.join("old.lock")).ok();
                prop_assert!(after.is_none_or(|b| b == b"charm train lock\nprocess 4000000000\n"));
                allowed.insert(PathBuf::from("old.lock"));
            }
        }
        let after = snapshot(d);
        for (path, entry) in &before {
            if !allowed.contains(path) {
                prop_assert_eq!(after.get(path), Some(entry), "{:?} changed {:?}", args, path);
            }
        }
        for path in after.keys() {
            prop_assert!(before.contains_key(path) || allowed.contains(path), "{:?} left {:?}", args, path);
            let name = path.to_string_lossy();
            let new_lock = name.ends_with(".lock") && !before.contains_key(path);
            prop_assert!(!name.contains(".charm-tmp.") && !new_lock, "{:?} left {:?}", args, path);
        }
        // /dev/null is still a character device.
        prop_assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &std::fs::metadata("/dev/null").unwrap().file_type()
        ));
    }
}
