//! One training run per set of output files: a lock held for the whole run.
//!
//! A run writes the model `NAME.EXT` and its side files `NAME.state`,
//! `NAME.csv` and `NAME.svg` (the `Outputs` of the outputs module); two
//! runs share a side file exactly when they share `NAME`, whatever the
//! model's extension. So the lock is `NAME.lock` beside them, one per output
//! set: `--out o.charm` and `--out o.model` take the same lock, and the
//! second run is refused while the first holds it.
//!
//! The lock file is an output like the others, and charm's own: it holds
//! the line [`MAGIC`] and the owner's process id. It is
//! - created whole: written to a temporary file of this process, then
//!   linked to `NAME.lock`, which fails if anything has that name (a full
//!   disk leaves nothing behind, and nothing is ever replaced);
//! - locked with the operating system's advisory lock (`flock` on Linux),
//!   which the kernel releases when the process ends however it ends,
//!   `kill -9` included;
//! - taken over only when it is charm's (its first line is [`MAGIC`]) and
//!   no live process holds its lock: a killed run's lock file does not block
//!   the next run; any other file at that name is refused, never touched;
//! - removed when the run ends, while still locked.

use crate::error::Error;
use crate::files::atomic::{refuse_non_regular, temp_path};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The first line of every lock file charm writes.
pub const MAGIC: &str = "charm train lock";

/// Bytes read of an existing file at the lock's name: a lock file is
/// [`MAGIC`], a newline and `process N`, well under this.
const MAX_LOCK_BYTES: u64 = 256;

/// The lock path of the run being written, for [`remove_on_abort`].
static HELD: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The lock of one output set, released (and its file removed) on drop.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    file: File,
}

/// The lock file of the output set of the model at `model`: the model's
/// name with the extension `lock` (`o.charm` → `o.lock`), the name its side
/// files share.
pub fn lock_path(model: &Path) -> PathBuf {
    model.with_extension("lock")
}

/// What a lock file holds for process `pid`.
fn contents(pid: u32) -> String {
    format!("{MAGIC}\nprocess {pid}\n")
}

/// The owner's process id written in a lock file's text, if it is one.
fn owner_of(text: &str) -> Option<u32> {
    text.lines().nth(1)?.strip_prefix("process ")?.parse().ok()
}

/// Whether `text`, the start of a file, is a lock file charm wrote.
fn is_charm_lock(text: &str) -> bool {
    text.lines().next() == Some(MAGIC)
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.is_file()
}

/// What one attempt at the lock found.
enum Attempt {
    Held(OutputLock),
    /// The name changed under us (another run removed or created it): look again.
    Again,
}

impl OutputLock {
    /// Takes the lock of the output set of `model`, or says why not: another
    /// run holds it ([`Error::Locked`]), or a file that is not charm's has
    /// its name ([`Error::LockNameTaken`], the file untouched).
    pub fn acquire(model: &Path) -> Result<Self, Error> {
        let path = lock_path(model);
        // Each round that finds the name changed under it means another run
        // took or left the lock meanwhile; a few rounds settle it.
        for _ in 0..8 {
            refuse_non_regular(&path)?;
            let attempt = if std::fs::symlink_metadata(&path).is_ok() {
                Self::take_over(model, &path)?
            } else {
                Self::create(&path)?
            };
            if let Attempt::Held(lock) = attempt {
                *HELD.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock.path.clone());
                return Ok(lock);
            }
        }
        Err(Error::Locked {
            model: model.into(),
            owner: None,
        })
    }

    /// A new lock file: written whole to a temporary file, locked, then
    /// linked to `path`, which fails if something has that name meanwhile.
    fn create(path: &Path) -> Result<Attempt, Error> {
        let tmp = temp_path(path);
        let write_err = |source| Error::Write {
            path: path.into(),
            source,
        };
        let _ = std::fs::remove_file(&tmp); // left by an earlier process with this PID
        let made = (|| {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            file.write_all(contents(std::process::id()).as_bytes())?;
            file.sync_all()?;
            file.try_lock().map_err(std::io::Error::from)?;
            Ok(file)
        })();
        let file = match made {
            Ok(file) => file,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(write_err(e));
            }
        };
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Attempt::Held(Self {
                path: path.into(),
                file,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Attempt::Again),
            // A file system without hard links: create the name itself, never
            // over an existing file, and remove it again if it cannot be filled.
            Err(_) => Self::create_in_place(path),
        }
    }

    /// [`Self::create`] where hard links are not available.
    fn create_in_place(path: &Path) -> Result<Attempt, Error> {
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Attempt::Again),
            Err(source) => {
                return Err(Error::Write {
                    path: path.into(),
                    source,
                })
            }
        };
        let filled = file
            .try_lock()
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(contents(std::process::id()).as_bytes()))
            .and_then(|()| file.sync_all());
        match filled {
            Ok(()) => Ok(Attempt::Held(Self {
                path: path.into(),
                file,
            })),
            Err(source) => {
                let _ = std::fs::remove_file(path);
                Err(Error::Write {
                    path: path.into(),
                    source,
                })
            }
        }
    }

    /// An existing file at the lock's name: refused unless it is charm's
    /// lock file; a live run's is [`Error::Locked`]; a dead run's is removed
    /// (while we hold its lock) and made anew.
    fn take_over(model: &Path, path: &Path) -> Result<Attempt, Error> {
        // Opened for reading only: nothing is written to a file found here.
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Attempt::Again),
            Err(source) => {
                return Err(Error::Read {
                    path: path.into(),
                    source,
                })
            }
        };
        let mut head = String::new();
        let text = (&mut file)
            .take(MAX_LOCK_BYTES)
            .read_to_string(&mut head)
            .is_ok()
            && file.metadata().is_ok_and(|m| m.len() <= MAX_LOCK_BYTES);
        let name_taken = || Error::LockNameTaken {
            path: path.into(),
            model: model.into(),
        };
        if !text || !is_charm_lock(&head) {
            return Err(name_taken());
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    model: model.into(),
                    owner: owner_of(&head),
                })
            }
            Err(TryLockError::Error(source)) => {
                return Err(Error::Write {
                    path: path.into(),
                    source,
                })
            }
        }
        // Ours to remove: charm's lock file, and no process holds it. Unless
        // another run replaced it since we opened it.
        if same_file(&file, path) {
            std::fs::remove_file(path).map_err(|source| Error::Write {
                path: path.into(),
                source,
            })?;
        }
        let _ = file.unlock();
        Ok(Attempt::Again)
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so no other run can have taken it
        // meanwhile; and only if the name is still our file.
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_deref() == Some(self.path.as_path()) {
            *held = None;
        }
    }
}

/// Removes the lock file of the run in progress, for a process about to end
/// without unwinding (an allocation that failed). Never blocks: a lock
/// that is busy is left, and the next run takes it over.
pub fn remove_on_abort() {
    if let Ok(held) = HELD.try_lock() {
        if let Some(path) = held.as_deref() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("charm-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_second_lock_is_refused_with_the_owner_and_the_file_goes_at_the_end() {
        let dir = temp_dir("second");
        let model = dir.join("m.charm");
        let first = OutputLock::acquire(&model).unwrap();
        assert_eq!(first.path(), dir.join("m.lock"));
        assert_eq!(
            std::fs::read_to_string(lock_path(&model)).unwrap(),
            format!("charm train lock\nprocess {}\n", std::process::id())
        );
        // Any model name of the same output set: the same lock.
        for other in ["m.charm", "m.model", "m"] {
            match OutputLock::acquire(&dir.join(other)) {
                Err(Error::Locked { owner, .. }) => assert_eq!(owner, Some(std::process::id())),
                e => panic!("{other}: expected Locked, got {e:?}"),
            }
        }
        drop(first);
        assert!(!lock_path(&model).exists());
        // A killed run's lock file is taken over.
        std::fs::write(lock_path(&model), "charm train lock\nprocess 999999\n").unwrap();
        let again = OutputLock::acquire(&model).unwrap();
        drop(again);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_charms_lock_is_refused_and_kept() {
        let dir = temp_dir("foreign");
        let model = dir.join("notes.charm");
        let big = "charm train lock\n".repeat(100);
        for text in ["", "12345", "my notes\n", big.as_str()] {
            std::fs::write(lock_path(&model), text).unwrap();
            match OutputLock::acquire(&model) {
                Err(Error::LockNameTaken { path, .. }) => assert_eq!(path, lock_path(&model)),
                e => panic!("{text:?}: expected LockNameTaken, got {e:?}"),
            }
            assert_eq!(std::fs::read_to_string(lock_path(&model)).unwrap(), text);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn owner_and_magic_are_read_from_the_text() {
        assert_eq!(owner_of(&contents(42)), Some(42));
        assert!(is_charm_lock(&contents(42)));
        assert_eq!(owner_of("charm train lock\n"), None);
        assert!(!is_charm_lock("charm train lock!\nprocess 1\n"));
    }
}
