//! Reading `.charm` files: a regular file of at most 4 GiB, read into
//! [`charm_core::AlignedBytes`], then
//! [`charm_core::decode_any`] (f32 or int8 weights; [`charm_core::decode`] for
//! f32 only), with every failure turned into one sentence.

use crate::error::Error;
use charm_core::{AlignedBytes, AnyCharmFile};
use std::path::{Path, PathBuf};

/// A model file read into aligned memory and checked once.
#[derive(Debug)]
pub struct ModelBytes {
    /// Where it was read from.
    pub path: PathBuf,
    bytes: AlignedBytes,
}

impl ModelBytes {
    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        // A .charm file states its length in a u32.
        let raw = crate::files::input::read_regular(path, u64::from(u32::MAX), "model")?;
        if raw.starts_with(&crate::files::checkpoint::STATE_MAGIC) {
            return Err(Error::StateNotModel {
                path: path.into(),
                model: path.with_extension("charm"),
            });
        }
        let m = Self {
            path: path.into(),
            bytes: AlignedBytes::from(&raw[..]),
        };
        m.file()?;
        Ok(m)
    }

    /// The decoded file, borrowing the bytes (zero-copy).
    pub fn file(&self) -> Result<AnyCharmFile<'_>, Error> {
        charm_core::decode_any(&self.bytes).map_err(|error| Error::Model {
            path: self.path.clone(),
            error,
        })
    }

    /// Size of the file in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
}
