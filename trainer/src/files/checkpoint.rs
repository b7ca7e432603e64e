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
//! encoding of the state, CRC-32 (IEEE, LE) of everything before it. The
//! version says which layout the postcard bytes have; the training layer
//! reads every version it ever wrote.
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

/// The state file that belongs to a model path: same name, extension `.state`.
pub fn state_path(model: &Path) -> PathBuf {
    model.with_extension("state")
}

/// Whether the file at `path` starts as a training state does
/// ([`STATE_MAGIC`]): a file of that name that does not is someone else's.
pub fn is_state_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == STATE_MAGIC)
}

/// Frames a state: magic, `version`, the postcard encoding of `state`, CRC.
pub fn encode_state<T: Serialize>(version: u32, state: &T) -> Vec<u8> {
    let mut out = STATE_MAGIC.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    // Serializing plain data into a Vec cannot fail.
    out.extend(postcard::to_allocvec(state).expect("serializing a training state"));
    let crc = charm_core::crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a state file's magic and CRC; returns its version and the
/// postcard bytes of the state, or the reason in words.
pub fn unframe_state(bytes: &[u8]) -> Result<(u32, &[u8]), String> {
    if bytes.len() < 16 || bytes[..8] != STATE_MAGIC {
        return Err("it does not start with CHRMSTAT".into());
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if charm_core::crc32(body) != stored {
        return Err("CRC-32 mismatch: the file is truncated or corrupted".into());
    }
    let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
    Ok((version, &body[12..]))
}

/// The state in postcard bytes, as a `T`.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    postcard::from_bytes(payload).map_err(|e| format!("undecodable contents: {e}"))
}

/// Reads a state file's bytes.
pub fn read_state(path: &Path) -> Result<Vec<u8>, Error> {
    crate::files::input::read_regular(path, 1 << 40, "training state")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_every_corruption_is_refused() {
        type S = (u64, Vec<f32>, String);
        let state: S = (7, vec![1.5, -2.0], String::from("abc"));
        let bytes = encode_state(3, &state);
        assert_eq!(&bytes[..8], b"CHRMSTAT");
        let (version, payload) = unframe_state(&bytes).unwrap();
        assert_eq!(version, 3);
        assert_eq!(decode_payload::<S>(payload), Ok(state));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(unframe_state(&bad).is_err(), "byte {i}");
        }
        assert!(unframe_state(&bytes[..bytes.len() - 1]).is_err());
    }
}
