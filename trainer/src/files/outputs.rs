//! Where a command may write: every output path checked, before any work,
//! against the command's inputs and its other outputs.
//!
//! The rules (each refusal is one sentence naming the path and what to do):
//! - an output is never an input: same file by identity (device and inode,
//!   after following links — a hard link or a symlink to the corpus is the
//!   corpus), not by the spelling of the path;
//! - two outputs of one command are never the same file;
//! - an output path holds nothing, or a regular file: a symbolic link, a
//!   device, a FIFO or a directory there is refused, never replaced;
//! - an existing file is replaced only when the command was asked to
//!   (`--force`) or the file belongs to the run it continues (`--resume`);
//! - its directory exists and takes a new file.
//!
//! [`Outputs`] is the set of files one training run writes, its lock file
//! included.

use crate::error::Error;
use crate::files::atomic::{check_writable, parent_dir, refuse_non_regular};
use crate::files::checkpoint::state_path;
use crate::files::lock::lock_path;
use std::path::{Path, PathBuf};

/// A file a command reads.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Its path.
    pub path: &'a Path,
    /// What it is, for messages ("corpus", "model", ...).
    pub what: &'static str,
}

/// A file a command writes.
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    /// Its path.
    pub path: &'a Path,
    /// What it is, for messages ("model", "CSV log", ...).
    pub what: &'static str,
    /// The flag that names it (or from whose value it is derived).
    pub flag: &'static str,
    /// Whether an existing file there may be replaced.
    pub replace: bool,
}

/// The identity of an existing file: (device, inode) where the platform has
/// them, else its canonical path. `follow` follows a symbolic link.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileId::Inode(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::canonicalize(path).ok().map(FileId::Path)
    }
}

/// `path` with its directory made canonical (the directory must exist): two
/// spellings of one place give the same result.
pub fn place(path: &Path) -> PathBuf {
    let dir = parent_dir(path);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

/// Checks `outputs` against `inputs`, each other and what is at their paths
/// (see the module docs).
pub fn check(outputs: &[Output<'_>], inputs: &[Input<'_>]) -> Result<(), Error> {
    for (i, out) in outputs.iter().enumerate() {
        // A directory where a side file goes: its name comes from --out, so
        // that is what to change (check_writable's "give a file name, e.g.
        // DIR/model.charm" fits only the path the user typed).
        if out.path.is_dir() && out.what != "model" {
            return Err(Error::SideFileIsDirectory {
                path: out.path.into(),
                what: out.what,
                flag: out.flag,
            });
        }
        check_writable(out.path)?;
        refuse_non_regular(out.path)?;
        let existing = std::fs::symlink_metadata(out.path).ok();
        let id = file_id(out.path);
        for input in inputs {
            if id.is_some() && id == file_id(input.path) {
                return Err(Error::OutputIsInput {
                    path: out.path.into(),
                    what: out.what,
                    input: input.what,
                    flag: out.flag,
                });
            }
        }
        for other in &outputs[..i] {
            if place(other.path) == place(out.path) || (id.is_some() && id == file_id(other.path)) {
                return Err(Error::OutputsCollide {
                    path: out.path.into(),
                    first: other.what,
                    second: out.what,
                    flag: out.flag,
                });
            }
        }
        if existing.is_some() && !out.replace {
            return Err(Error::OutputExists {
                path: out.path.into(),
                what: out.what,
                flag: out.flag,
            });
        }
    }
    Ok(())
}

/// Paths of everything a training run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// The model (`.charm`).
    pub model: PathBuf,
    /// The training state (`.state`), for `--resume`.
    pub state: PathBuf,
    /// The log (`.csv`).
    pub csv: PathBuf,
    /// The loss curve (`.svg`).
    pub svg: PathBuf,
    /// The lock held while the run writes the others (`.lock`, see
    /// [`crate::files::lock`]).
    pub lock: PathBuf,
}

impl Outputs {
    /// The model at `model` and its side files, same name with other extensions.
    pub fn beside(model: &Path) -> Self {
        Self {
            model: model.into(),
            state: state_path(model),
            csv: model.with_extension("csv"),
            svg: model.with_extension("svg"),
            lock: lock_path(model),
        }
    }

    /// The five files as [`Output`]s named by `--out`; the first four may
    /// replace existing files when `replace` is set. The lock file is
    /// checked like the others (never an input, never another output), but
    /// an existing one is for [`crate::files::lock::OutputLock`] to judge:
    /// it takes over only charm's own lock file of a run that has ended.
    pub fn as_outputs(&self, replace: bool) -> [Output<'_>; 5] {
        let whats = [
            "model",
            "training state",
            "CSV log",
            "loss curve",
            "lock file",
        ];
        let [a, b, c, d, e] = self.paths();
        [
            (a, whats[0]),
            (b, whats[1]),
            (c, whats[2]),
            (d, whats[3]),
            (e, whats[4]),
        ]
        .map(|(path, what)| Output {
            path,
            what,
            flag: "--out",
            replace: replace || path == self.lock.as_path(),
        })
    }

    /// The five paths, the lock last.
    pub fn paths(&self) -> [&Path; 5] {
        [&self.model, &self.state, &self.csv, &self.svg, &self.lock]
    }
}
