//! Atomic file writes and the resumable training state.
//!
//! A checkpoint is two files:
//! - the model, `OUT` (a `.charm` file: sample, eval and flash it as is);
//! - the training state, `OUT` with extension `.state`: everything a resumed run
//!   needs to continue bit-identically (configuration, step, carried hidden
//!   states, the parameters themselves, optimizer moments, the log so far).
//!
//! State file layout: `b"CHRMSTAT"`, format version (u32 LE), the postcard
//! encoding of [`TrainState`], CRC-32 (IEEE, LE) of everything before it.
//!
//! Every file is written to a temporary file in the same directory, flushed to
//! disk, then renamed over the target, so a crash or `kill -9` at any moment
//! leaves either the old file or the new one. The state is renamed first: if
//! the process dies between the two renames, each file is still whole (the model
//! is one checkpoint older than the state).

use crate::error::CliError;
use crate::optim::Optimizer;
use crate::plot::LogRow;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// First bytes of a training state file.
pub const STATE_MAGIC: [u8; 8] = *b"CHRMSTAT";
/// Version of the state format written.
pub const STATE_VERSION: u32 = 1;

/// Everything needed to resume training exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The hyperparameters (fixed for the whole run).
    pub config: TrainConfig,
    /// The vocabulary, as UTF-8 in index order.
    pub vocab: String,
    /// CRC-32 of the corpus bytes.
    pub corpus_crc32: u32,
    /// Characters in the corpus.
    pub corpus_chars: u64,
    /// Optimizer steps done.
    pub step: u64,
    /// Training characters consumed.
    pub chars_seen: u64,
    /// Seconds of training so far (over all resumed runs).
    pub elapsed: f64,
    /// Smoothed training loss, nats/char.
    pub smooth_loss: f64,
    /// Last validation loss, nats/char (NaN if none).
    pub val_loss: f64,
    /// Carried hidden states, B × H.
    pub h: Vec<f32>,
    /// The parameters, in the layout of `Params` (= `ModelView`).
    pub params: Vec<f32>,
    /// Optimizer moments.
    pub optimizer: Optimizer,
    /// The log so far (CSV rows).
    pub history: Vec<LogRow>,
}

impl TrainState {
    /// Serializes with magic, version and CRC.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = STATE_MAGIC.to_vec();
        out.extend_from_slice(&STATE_VERSION.to_le_bytes());
        // Serializing plain data into a Vec cannot fail.
        out.extend(postcard::to_allocvec(self).expect("serializing a TrainState"));
        let crc = charm_core::crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks a state file's bytes; the error is the reason in words.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < 16 || bytes[..8] != STATE_MAGIC {
            return Err("it does not start with CHRMSTAT".into());
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if charm_core::crc32(body) != stored {
            return Err("CRC-32 mismatch: the file is truncated or corrupted".into());
        }
        let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
        if version != STATE_VERSION {
            return Err(format!(
                "state format version {version}, this charm reads version {STATE_VERSION}"
            ));
        }
        postcard::from_bytes(&body[12..]).map_err(|e| format!("undecodable contents: {e}"))
    }

    /// Reads a state file.
    pub fn load(path: &Path) -> Result<Self, CliError> {
        let bytes = std::fs::read(path).map_err(|source| CliError::Read {
            path: path.into(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|reason| CliError::BadCheckpoint {
            path: path.into(),
            reason,
        })
    }
}

/// The state file that belongs to a model path: same name, extension `.state`.
pub fn state_path(model: &Path) -> PathBuf {
    model.with_extension("state")
}

/// The directory a file will be written in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.into(),
        _ => PathBuf::from("."),
    }
}

/// Checks, before any work, that `path` can be written: its directory exists
/// and accepts a new file (probed with a temporary file that is removed again).
pub fn check_writable(path: &Path) -> Result<(), CliError> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::OutDirMissing {
            path: path.into(),
            dir,
        });
    }
    if path.is_dir() {
        return Err(CliError::Usage(format!(
            "the output path {} is a directory; give a file name, e.g. {}/model.charm",
            path.display(),
            path.display()
        )));
    }
    let probe = temp_path(path);
    std::fs::File::create(&probe).map_err(|source| CliError::Write {
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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
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
        CliError::Write {
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
