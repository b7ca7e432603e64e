//! The training-state file of a checkpoint.
//!
//! A checkpoint is two files:
//! - the model, `OUT` (a `.charm` file: sample, eval and flash it as is);
//! - the training state, `OUT` with extension `.state`: everything a resumed run
//!   needs to continue bit-identically, as the training layer defines it
//!   (the training layer's `TrainState`); this module frames it and knows nothing
//!   of what is inside.
//!
//! State file layout: `b"CHRMSTAT"`, format version (u32 LE), the postcard
//! encoding of the state, CRC-32 (IEEE, LE) of everything before it.
//!
//! Both are written with [`crate::files::atomic::write_atomic`]; the state is
//! renamed first, so if the process dies between the two renames each file is
//! still whole (the model is one checkpoint older than the state).

use crate::error::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// First bytes of a training state file.
pub const STATE_MAGIC: [u8; 8] = *b"CHRMSTAT";
/// Version of the state format written.
pub const STATE_VERSION: u32 = 1;

/// The state file that belongs to a model path: same name, extension `.state`.
pub fn state_path(model: &Path) -> PathBuf {
    model.with_extension("state")
}

/// Serializes a state with magic, version and CRC.
pub fn encode_state<T: Serialize>(state: &T) -> Vec<u8> {
    let mut out = STATE_MAGIC.to_vec();
    out.extend_from_slice(&STATE_VERSION.to_le_bytes());
    // Serializing plain data into a Vec cannot fail.
    out.extend(postcard::to_allocvec(state).expect("serializing a training state"));
    let crc = charm_core::crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses and checks a state file's bytes; the error is the reason in words.
pub fn decode_state<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
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
pub fn load_state<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })?;
    decode_state(&bytes).map_err(|reason| Error::BadCheckpoint {
        path: path.into(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_every_corruption_is_refused() {
        let state = (7u64, vec![1.5f32, -2.0], String::from("abc"));
        let bytes = encode_state(&state);
        assert_eq!(&bytes[..8], b"CHRMSTAT");
        assert_eq!(decode_state::<(u64, Vec<f32>, String)>(&bytes), Ok(state));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(
                decode_state::<(u64, Vec<f32>, String)>(&bad).is_err(),
                "byte {i}"
            );
        }
        let r = decode_state::<(u64, Vec<f32>, String)>(&bytes[..bytes.len() - 1]);
        assert!(r.is_err());
    }
}
