//! One training run per set of output files: a lock held for the whole run.
//!
//! The lock is `OUT.lock` beside the model (`m.charm.lock`), locked with the
//! operating system's advisory file lock (`flock` on Linux), which the
//! kernel releases when the process ends however it ends, `kill -9`
//! included: a lock file left behind by a killed run does not block the
//! next one, which takes it over. It holds the owner's process id, for the
//! message a second run gets. The file is removed when the run ends.

use crate::error::Error;
use crate::files::atomic::refuse_non_regular;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock of one output set, released (and its file removed) on drop.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    file: File,
}

/// The lock file of the outputs of the model at `model`.
pub fn lock_path(model: &Path) -> PathBuf {
    let mut name = model.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    model.with_file_name(name)
}

impl OutputLock {
    /// Takes the lock of the outputs of `model`, or says which process holds it.
    pub fn acquire(model: &Path) -> Result<Self, Error> {
        let path = lock_path(model);
        let write_err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        refuse_non_regular(&path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(write_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                return Err(Error::Locked {
                    model: model.into(),
                    owner: owner.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(write_err(e)),
        }
        // Ours now (a lock file a killed run left is taken over): say who holds it.
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| write!(file, "{}", std::process::id()))
            .map_err(write_err)?;
        Ok(Self { path, file })
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so no other run can have taken it meanwhile.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_owner_and_the_file_goes_at_the_end() {
        let dir = std::env::temp_dir().join(format!("charm-lock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let model = dir.join("m.charm");
        let first = OutputLock::acquire(&model).unwrap();
        assert!(lock_path(&model).is_file());
        match OutputLock::acquire(&model) {
            Err(Error::Locked { owner, .. }) => assert_eq!(owner, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        assert!(!lock_path(&model).exists());
        // A lock file left behind (a killed run) is taken over.
        std::fs::write(lock_path(&model), "999999").unwrap();
        let again = OutputLock::acquire(&model).unwrap();
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
