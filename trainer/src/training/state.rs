//! What a checkpoint's `.state` file holds: everything a resumed run needs
//! to continue bit-identically (framed by [`crate::files::checkpoint`]).
//!
//! Versions: 1 (until the best-validation snapshot existed), 2 (with it
//! and the warm-up), 3 (with the norm clipping bound) and 4 (with the cell
//! and the depth; the earlier ones are runs of one tanh layer). All are
//! read; version 4 is written.

use crate::error::Error;
use crate::files::checkpoint;
use crate::files::log::LogRow;
use crate::math::optim::Optimizer;
use crate::training::config::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The state format written.
pub const STATE_VERSION: u32 = 4;

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
    /// Carried states, B × (L · state vectors · H) (one tanh layer: B × H).
    pub h: Vec<f32>,
    /// The parameters, in the layout of `Params` (= `ModelView`).
    pub params: Vec<f32>,
    /// Optimizer moments.
    pub optimizer: Optimizer,
    /// The log so far (CSV rows).
    pub history: Vec<LogRow>,
    /// The weights of the lowest validation loss so far (what the model
    /// file holds), if there was a validation.
    pub best: Option<Snapshot>,
}

/// The weights at one evaluation, with what the model file says of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Optimizer steps done.
    pub step: u64,
    /// Training characters consumed.
    pub chars_seen: u64,
    /// Smoothed training loss, nats/char.
    pub smooth_loss: f64,
    /// Validation loss, nats/char.
    pub val_loss: f64,
    /// The parameters, in the layout of `Params`.
    pub params: Vec<f32>,
}

/// The fields of every version before 4, with that version's configuration `C`.
#[derive(Deserialize)]
struct Fields<C> {
    config: C,
    vocab: String,
    corpus_crc32: u32,
    corpus_chars: u64,
    step: u64,
    chars_seen: u64,
    elapsed: f64,
    smooth_loss: f64,
    val_loss: f64,
    h: Vec<f32>,
    params: Vec<f32>,
    optimizer: Optimizer,
    history: Vec<LogRow>,
}

/// Versions 2 and 3: [`TrainState`] with that version's configuration `C`.
/// Postcard writes a struct as its fields in order with no framing, so this
/// nesting reads the same bytes as the flat struct that wrote them.
#[derive(Deserialize)]
struct StateWithBest<C> {
    fields: Fields<C>,
    best: Option<Snapshot>,
}

/// [`TrainConfig`] of version 3: without `cell` and `layers`.
#[derive(Deserialize)]
struct ConfigV3 {
    hidden: usize,
    seq_len: usize,
    batch: usize,
    optimizer: crate::math::optim::OptimizerKind,
    lr: f32,
    schedule: crate::math::optim::Schedule,
    warmup: u64,
    clip: f32,
    clip_norm: f32,
    weight_decay: f32,
    dropout: f32,
    init_std: f64,
    seed: u64,
    val_fraction: f64,
    threads: usize,
    engine: crate::training::config::EngineKind,
}

/// [`TrainConfig`] of version 2: without `clip_norm`.
#[derive(Deserialize)]
struct ConfigV2 {
    hidden: usize,
    seq_len: usize,
    batch: usize,
    optimizer: crate::math::optim::OptimizerKind,
    lr: f32,
    schedule: crate::math::optim::Schedule,
    warmup: u64,
    clip: f32,
    weight_decay: f32,
    dropout: f32,
    init_std: f64,
    seed: u64,
    val_fraction: f64,
    threads: usize,
    engine: crate::training::config::EngineKind,
}

/// [`TrainConfig`] of version 1: without `warmup` and `clip_norm`.
#[derive(Deserialize)]
struct ConfigV1 {
    hidden: usize,
    seq_len: usize,
    batch: usize,
    optimizer: crate::math::optim::OptimizerKind,
    lr: f32,
    schedule: crate::math::optim::Schedule,
    clip: f32,
    weight_decay: f32,
    dropout: f32,
    init_std: f64,
    seed: u64,
    val_fraction: f64,
    threads: usize,
    engine: crate::training::config::EngineKind,
}

impl From<ConfigV3> for TrainConfig {
    /// A run of version 3 trained one tanh layer.
    fn from(c: ConfigV3) -> Self {
        Self {
            hidden: c.hidden,
            seq_len: c.seq_len,
            batch: c.batch,
            optimizer: c.optimizer,
            lr: c.lr,
            schedule: c.schedule,
            warmup: c.warmup,
            clip: c.clip,
            clip_norm: c.clip_norm,
            weight_decay: c.weight_decay,
            dropout: c.dropout,
            init_std: c.init_std,
            seed: c.seed,
            val_fraction: c.val_fraction,
            threads: c.threads,
            engine: c.engine,
            cell: charm_core::Cell::Rnn,
            layers: 1,
        }
    }
}

impl From<ConfigV2> for TrainConfig {
    /// A run of version 2 had no norm clipping.
    fn from(c: ConfigV2) -> Self {
        ConfigV3 {
            hidden: c.hidden,
            seq_len: c.seq_len,
            batch: c.batch,
            optimizer: c.optimizer,
            lr: c.lr,
            schedule: c.schedule,
            warmup: c.warmup,
            clip: c.clip,
            clip_norm: 0.0,
            weight_decay: c.weight_decay,
            dropout: c.dropout,
            init_std: c.init_std,
            seed: c.seed,
            val_fraction: c.val_fraction,
            threads: c.threads,
            engine: c.engine,
        }
        .into()
    }
}

impl From<ConfigV1> for TrainConfig {
    /// A run of version 1 had no warm-up and no norm clipping.
    fn from(c: ConfigV1) -> Self {
        ConfigV2 {
            hidden: c.hidden,
            seq_len: c.seq_len,
            batch: c.batch,
            optimizer: c.optimizer,
            lr: c.lr,
            schedule: c.schedule,
            warmup: 0,
            clip: c.clip,
            weight_decay: c.weight_decay,
            dropout: c.dropout,
            init_std: c.init_std,
            seed: c.seed,
            val_fraction: c.val_fraction,
            threads: c.threads,
            engine: c.engine,
        }
        .into()
    }
}

impl<C: Into<TrainConfig>> Fields<C> {
    /// The state of today's format, with `best` (none before version 2).
    fn upgrade(self, best: Option<Snapshot>) -> TrainState {
        TrainState {
            config: self.config.into(),
            vocab: self.vocab,
            corpus_crc32: self.corpus_crc32,
            corpus_chars: self.corpus_chars,
            step: self.step,
            chars_seen: self.chars_seen,
            elapsed: self.elapsed,
            smooth_loss: self.smooth_loss,
            val_loss: self.val_loss,
            h: self.h,
            params: self.params,
            optimizer: self.optimizer,
            history: self.history,
            best,
        }
    }
}

impl TrainState {
    /// Serializes with magic, version and CRC.
    pub fn to_bytes(&self) -> Vec<u8> {
        checkpoint::encode_state(STATE_VERSION, self)
    }

    /// Parses and checks a state file's bytes (either version); the error is
    /// the reason in words.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        match checkpoint::unframe_state(bytes)? {
            (1, payload) => checkpoint::decode_payload::<Fields<ConfigV1>>(payload)
                .map(|fields| fields.upgrade(None)),
            (2, payload) => checkpoint::decode_payload::<StateWithBest<ConfigV2>>(payload)
                .map(|v2| v2.fields.upgrade(v2.best)),
            (3, payload) => checkpoint::decode_payload::<StateWithBest<ConfigV3>>(payload)
                .map(|v3| v3.fields.upgrade(v3.best)),
            (STATE_VERSION, payload) => checkpoint::decode_payload(payload),
            (version, _) => Err(format!(
                "state format version {version}, this charm reads versions 1 to {STATE_VERSION}"
            )),
        }
    }

    /// Reads a state file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = checkpoint::read_state(path)?;
        Self::from_bytes(&bytes).map_err(|reason| Error::BadCheckpoint {
            path: path.into(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::optim::OptimizerKind;
    use crate::training::config::Preset;

    fn state(best: Option<Snapshot>) -> TrainState {
        TrainState {
            config: TrainConfig::preset(Preset::Default),
            vocab: "ab".into(),
            corpus_crc32: 7,
            corpus_chars: 99,
            step: 12,
            chars_seen: 1200,
            elapsed: 3.5,
            smooth_loss: 1.25,
            val_loss: 1.5,
            h: vec![0.5, -0.25],
            params: vec![1.0, 2.0, 3.0],
            optimizer: Optimizer::new(OptimizerKind::Adam, 3),
            history: vec![],
            best,
        }
    }

    #[test]
    fn version_4_round_trips_and_versions_1_to_3_still_read() {
        let best = Snapshot {
            step: 10,
            chars_seen: 1000,
            smooth_loss: 1.3,
            val_loss: 1.4,
            params: vec![0.5, 0.25, 0.125],
        };
        let mut gru = state(Some(best.clone()));
        gru.config.cell = charm_core::Cell::Gru;
        gru.config.layers = 3;
        assert_eq!(TrainState::from_bytes(&gru.to_bytes()), Ok(gru));
        let s = state(Some(best));
        assert_eq!(TrainState::from_bytes(&s.to_bytes()), Ok(s.clone()));
        // Older files: the same fields in the same order, less what each
        // version did not have; they read as runs without those features.
        let c = &s.config;
        let head = (c.hidden, c.seq_len, c.batch, c.optimizer, c.lr, c.schedule);
        let tail = (
            c.weight_decay,
            c.dropout,
            c.init_std,
            c.seed,
            c.val_fraction,
            c.threads,
            c.engine,
        );
        let fields = (
            &s.vocab,
            s.corpus_crc32,
            s.corpus_chars,
            s.step,
            s.chars_seen,
            s.elapsed,
            s.smooth_loss,
            s.val_loss,
            &s.h,
            &s.params,
            &s.optimizer,
            &s.history,
        );
        // Version 3: no `cell` and `layers` (one tanh layer, as the preset's).
        let v3 = ((head, c.warmup, c.clip, c.clip_norm, tail), fields, &s.best);
        let read = TrainState::from_bytes(&checkpoint::encode_state(3, &v3));
        assert_eq!(read, Ok(s.clone()));
        // Version 2: no `clip_norm`.
        let v2 = ((head, c.warmup, c.clip, tail), fields, &s.best);
        let mut expected = s.clone();
        expected.config.clip_norm = 0.0;
        let read = TrainState::from_bytes(&checkpoint::encode_state(2, &v2));
        assert_eq!(read, Ok(expected.clone()));
        // Version 1: no `warmup`, no `clip_norm`, no `best`.
        let v1 = ((head, c.clip, tail), fields);
        expected.config.warmup = 0;
        expected.best = None;
        let read = TrainState::from_bytes(&checkpoint::encode_state(1, &v1));
        assert_eq!(read, Ok(expected));
        // A newer charm's file is refused with the versions this one reads.
        let newer = checkpoint::encode_state(5, &v1);
        assert!(TrainState::from_bytes(&newer)
            .unwrap_err()
            .contains("version 5, this charm reads versions 1 to 4"));
    }
}
