//! Writing a file so that a crash never leaves half of it: every file is
//! written to a temporary file in the same directory, flushed to disk, then
//! renamed over the target, so a crash or `kill -9` at any moment leaves
//! either the old file or the new one.

use crate::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory a file will be written in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.into(),
        _ => PathBuf::from("."),
    }
}

/// Checks, before any work, that `path` can be written: its directory exists
/// and accepts a new file (probed with a temporary file that is removed again).
pub fn check_writable(path: &Path) -> Result<(), Error> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::OutDirMissing {
            path: path.into(),
            dir,
        });
    }
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "the output path {} is a directory; give a file name, e.g. {}/model.charm",
            path.display(),
            path.display()
        )));
    }
    let probe = temp_path(path);
    std::fs::File::create(&probe).map_err(|source| Error::Write {
        path: path.into(),
        source,
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_dir(path).join(format!("{name}.tmp{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory,
/// `fsync`, rename. On failure the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Write {
            path: path.into(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("charm-ckpt-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.charm");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_is_reported_before_writing() {
        let e = check_writable(Path::new("/nonexistent-charm-dir/x.charm")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
