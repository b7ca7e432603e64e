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
    let _ = std::fs::remove_file(&probe);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|source| Error::Write {
            path: path.into(),
            source,
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// What marks charm's temporary files: `NAME.charm-tmp.PID` beside the
/// file `NAME` that process `PID` is writing.
pub const TEMP_MARK: &str = ".charm-tmp.";

/// The temporary file this process writes `path` through.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_dir(path).join(format!("{name}{TEMP_MARK}{}", std::process::id()))
}

/// Removes the temporary files of `path` left by processes that are gone
/// (a `kill -9` during a write): every `NAME.charm-tmp.PID` beside it whose
/// process `is_alive` denies. Returns how many it removed.
pub fn remove_stale_temps(path: &Path, is_alive: impl Fn(u32) -> bool) -> usize {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return 0;
    };
    let prefix = format!("{name}{TEMP_MARK}");
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular && !is_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` is running (Linux: `/proc/PID` exists; elsewhere,
/// and for this process, assumed so).
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() || !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Refuses a path that holds something other than a regular file (a link,
/// a device, a FIFO, a directory): charm never writes over one.
pub fn refuse_non_regular(path: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(Error::NotRegular {
            path: path.into(),
            kind: file_kind(&m.file_type()),
        }),
        _ => Ok(()),
    }
}

/// Writes the one output file of a command (`quantize`, `import`, `export`,
/// `sample --record`): removes the temporary files dead charm processes
/// left beside `path`, then [`write_atomic`].
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    remove_stale_temps(path, process_alive);
    write_atomic(path, bytes)
}

/// Writes `bytes` to `path` atomically: a temporary file of its own in the
/// same directory (created new, never through a link), `fsync`, rename,
/// `fsync` of the directory. It replaces only a regular file: a link, a
/// device, a FIFO or a directory at `path` is an error and stays as it was.
/// On failure the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    refuse_non_regular(path)?;
    let tmp = temp_path(path);
    let result = (|| {
        let _ = std::fs::remove_file(&tmp); // left by an earlier process with this PID
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself reaches the disk with the directory.
        if let Ok(dir) = std::fs::File::open(parent_dir(path)) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Write {
            path: path.into(),
            source,
        }
    })
}

/// Writes each file with [`write_atomic`], in order. If one fails and
/// `all_or_none` is set, the files of the set written before it are removed
/// again (a first checkpoint leaves all its files or none); otherwise they
/// stay (a later checkpoint: each file is whole, old or new). The error
/// comes with the index of the file that failed: the files before it are
/// new, it and those after it are as they were.
pub fn write_set(files: &[(&Path, &[u8])], all_or_none: bool) -> Result<(), (usize, Error)> {
    for (i, &(path, bytes)) in files.iter().enumerate() {
        if let Err(e) = write_atomic(path, bytes) {
            if all_or_none {
                for &(written, _) in &files[..i] {
                    let _ = std::fs::remove_file(written);
                }
            }
            return Err((i, e));
        }
    }
    Ok(())
}

/// What a file that is not a regular file is, in words.
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_fifo() {
            return "named pipe (FIFO)";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_symlink() {
        "symbolic link"
    } else if t.is_dir() {
        "directory"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    }
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
    fn a_set_written_all_or_none_leaves_nothing_when_a_later_file_fails() {
        let dir = std::env::temp_dir().join(format!("charm-set-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.state"), dir.join("missing-dir").join("b.charm"));
        let files: [(&Path, &[u8]); 2] = [(&a, b"state"), (&b, b"model")];
        assert!(write_set(&files, true).is_err());
        assert!(
            !a.exists(),
            "the first file of a failed first set is removed"
        );
        assert!(write_set(&files, false).is_err());
        assert_eq!(
            std::fs::read(&a).unwrap(),
            b"state",
            "a later set keeps what it wrote"
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn only_a_regular_file_is_replaced_and_stale_temps_go() {
        let dir = std::env::temp_dir().join(format!("charm-reg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("t.txt");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.join("link.charm");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            write_atomic(&link, b"x"),
            Err(Error::NotRegular {
                kind: "symbolic link",
                ..
            })
        ));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let m = dir.join("m.charm");
        let dead = dir.join(format!("m.charm{TEMP_MARK}4000000000"));
        let live = dir.join(format!("m.charm{TEMP_MARK}{}", std::process::id()));
        std::fs::write(&dead, "").unwrap();
        std::fs::write(&live, "").unwrap();
        assert_eq!(remove_stale_temps(&m, |pid| pid != 4_000_000_000), 1);
        assert!(!dead.exists() && live.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_is_reported_before_writing() {
        let e = check_writable(Path::new("/nonexistent-charm-dir/x.charm")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
