//! What a checkpoint's `.state` file holds: everything a resumed run needs
//! to continue bit-identically (framed by [`crate::files::checkpoint`]).

use crate::error::Error;
use crate::files::checkpoint;
use crate::files::log::LogRow;
use crate::math::optim::Optimizer;
use crate::training::config::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

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
        checkpoint::encode_state(self)
    }

    /// Parses and checks a state file's bytes; the error is the reason in words.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        checkpoint::decode_state(bytes)
    }

    /// Reads a state file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        checkpoint::load_state(path)
    }
}
