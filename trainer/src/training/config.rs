//! The hyperparameters of a run: the presets, the values given on top of a
//! preset or a resumed checkpoint, and their checks.

use crate::error::Error;
use crate::files::corpus::split_point;
use crate::math::optim::{warmup_factor, OptimizerKind, Schedule};
use crate::math::params::Shape;
use crate::training::cadence::Budget;
use charm_core::{Cell, MAX_LAYERS};
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::path::Path;

/// Which forward/backward implementation trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EngineKind {
    /// Batched matrix-matrix products on all cores ([`crate::math::engine`]).
    Fast,
    /// `ModelView::step` per character and rank-1 updates ([`crate::math::reference`]): the reference.
    Plain,
}

impl Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Fast => "fast",
            EngineKind::Plain => "plain",
        })
    }
}

/// Warm-up steps of the default preset. Measured (3-minute-equivalent runs,
/// 4 seeds × 2 data cuts of tinyshakespeare): without it, Adam's first
/// steps at the full rate made 2 of 8 runs bad — a training loss that rose
/// by 0.09 after step 500, or a run 0.25 nats/char behind the others —;
/// with 500 steps every run's loss kept falling and the spread of the final
/// validation losses went from 0.27 to 0.02 nats/char.
pub const DEFAULT_WARMUP: u64 = 500;

/// The global-norm bound of the default preset (see [`TrainConfig::clip_norm`]).
pub const DEFAULT_CLIP_NORM: f32 = 50.0;

/// The default H for a corpus of `train_chars` training characters:
/// 384 · (n / 10⁶)^(1/3) down to a multiple of 32, from 128 to 384.
///
/// Chosen with the default 3 minutes on a 2-core machine: on tinyshakespeare
/// (1.0 M training characters) H 384 was best; on a 157,000-character corpus
/// (the built-in one of that time) H 192 beat 128, 256 and 384. A smaller H
/// takes more steps in the same time and overfits a small text later; its
/// file also fits more boards. The built-in corpus (charm's sources, which
/// grow) has about 207,000 training characters today: H 224, which the rule
/// keeps from about 198,500 to 296,300.
pub fn hidden_for_corpus(train_chars: usize) -> usize {
    let h = 384.0 * (train_chars as f64 / 1e6).cbrt();
    ((h / 32.0).floor() as usize * 32).clamp(128, 384)
}

/// Named sets of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// What trains best in a few minutes on two cores (see docs/training.md).
    Default,
    /// min-char-rnn exactly: H 100, seq-len 25, batch 1, Adagrad lr 0.1, clip 5,
    /// N(0, 0.01²) init, no dropout, no decay, constant rate, plain engine.
    MinCharRnn,
}

/// The hyperparameters of a run, fixed from its start (kept in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Hidden units H.
    pub hidden: usize,
    /// Window length T (steps of backpropagation through time).
    pub seq_len: usize,
    /// Parallel streams B.
    pub batch: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f32,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Steps over which the rate rises linearly from lr/warmup to lr (0: none).
    pub warmup: u64,
    /// Gradient entries are clipped to [-clip, clip].
    pub clip: f32,
    /// The whole gradient is scaled down to this L2 norm when above it (0: never).
    pub clip_norm: f32,
    /// Decoupled weight decay (Adam).
    pub weight_decay: f32,
    /// Dropout probability on the hidden-to-output path.
    pub dropout: f32,
    /// Standard deviation of the N(0, σ²) weight initialization.
    pub init_std: f64,
    /// Seed of initialization and dropout.
    pub seed: u64,
    /// Held-out fraction at the end of the corpus.
    pub val_fraction: f64,
    /// Shards of the batch (one thread each); part of the arithmetic, so kept.
    pub threads: usize,
    /// Implementation.
    pub engine: EngineKind,
    /// The recurrent cell of every layer (states of version 3 and before: rnn).
    #[serde(with = "cell_code")]
    pub cell: Cell,
    /// Layers L, 1 to [`MAX_LAYERS`] (states of version 3 and before: 1).
    pub layers: usize,
}

/// A [`Cell`] in a state file: its code in weight files (0 rnn, 1 gru, 2 lstm).
mod cell_code {
    use charm_core::Cell;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cell: &Cell, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(cell.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        let code = u8::deserialize(d)?;
        Cell::from_code(code).ok_or_else(|| D::Error::custom(format!("unknown cell code {code}")))
    }
}

/// Hyperparameters given explicitly (`None`: take the preset's, or the
/// resumed checkpoint's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// H.
    pub hidden: Option<usize>,
    /// T.
    pub seq_len: Option<usize>,
    /// B.
    pub batch: Option<usize>,
    /// Update rule.
    pub optimizer: Option<OptimizerKind>,
    /// Base learning rate.
    pub lr: Option<f32>,
    /// Schedule.
    pub schedule: Option<Schedule>,
    /// Warm-up steps.
    pub warmup: Option<u64>,
    /// Clipping bound.
    pub clip: Option<f32>,
    /// Norm clipping bound.
    pub clip_norm: Option<f32>,
    /// Weight decay.
    pub weight_decay: Option<f32>,
    /// Dropout probability.
    pub dropout: Option<f32>,
    /// Initialization standard deviation.
    pub init_std: Option<f64>,
    /// Seed.
    pub seed: Option<u64>,
    /// Held-out fraction.
    pub val_fraction: Option<f64>,
    /// Shards (threads).
    pub threads: Option<usize>,
    /// Implementation.
    pub engine: Option<EngineKind>,
    /// The cell.
    pub cell: Option<Cell>,
    /// Layers.
    pub layers: Option<usize>,
}

impl TrainConfig {
    /// The shape of the model over a vocabulary of `vocab` characters.
    pub fn shape(&self, vocab: usize) -> Shape {
        Shape {
            cell: self.cell,
            layers: self.layers,
            hidden: self.hidden,
            vocab,
        }
    }

    /// The rate multiplier at `progress` ∈ [0, 1] of the run, before step
    /// `step`: the schedule's, times the linear warm-up.
    pub fn rate_factor(&self, progress: f64, step: u64) -> f64 {
        self.schedule.factor(progress) * warmup_factor(step, self.warmup)
    }

    /// The defaults of a preset.
    pub fn preset(p: Preset) -> Self {
        match p {
            Preset::Default => Self {
                hidden: 384,
                seq_len: 50,
                batch: 64,
                optimizer: OptimizerKind::Adam,
                lr: 4e-3,
                schedule: Schedule::Cosine,
                warmup: DEFAULT_WARMUP,
                clip: 5.0,
                clip_norm: DEFAULT_CLIP_NORM,
                weight_decay: 0.0,
                dropout: 0.25,
                init_std: 0.05,
                seed: 1,
                val_fraction: 0.1,
                threads: 0,
                engine: EngineKind::Fast,
                cell: Cell::Rnn,
                layers: 1,
            },
            Preset::MinCharRnn => Self {
                hidden: 100,
                seq_len: 25,
                batch: 1,
                optimizer: OptimizerKind::Adagrad,
                lr: 0.1,
                schedule: Schedule::Constant,
                warmup: 0,
                clip: 5.0,
                clip_norm: 0.0,
                weight_decay: 0.0,
                dropout: 0.0,
                init_std: 0.01,
                seed: 1,
                val_fraction: 0.1,
                threads: 1,
                engine: EngineKind::Plain,
                cell: Cell::Rnn,
                layers: 1,
            },
        }
    }

    /// The defaults of a fresh run of `preset` for `budget` on a corpus of
    /// `corpus_chars` characters, before the explicit values `o` are
    /// applied: [`Self::for_budget`], and for the default preset
    /// [`Self::for_corpus`] on the training part `o`'s (or the preset's)
    /// validation fraction leaves.
    pub fn fresh(preset: Preset, budget: Budget, corpus_chars: usize, o: &Overrides) -> Self {
        let base = Self::preset(preset).for_budget(budget);
        if preset != Preset::Default {
            return base;
        }
        let fraction = o.val_fraction.unwrap_or(base.val_fraction);
        let seq_len = o.seq_len.unwrap_or(base.seq_len);
        base.for_corpus(split_point(corpus_chars, fraction), seq_len)
    }

    /// The default preset sized to a training part of `train_chars`
    /// characters: H from [`hidden_for_corpus`], and the batch lowered to
    /// the windows of `seq_len` + 1 characters the part holds (at least 1),
    /// so a short text trains instead of being refused.
    pub fn for_corpus(mut self, train_chars: usize, seq_len: usize) -> Self {
        self.hidden = self.hidden.min(hidden_for_corpus(train_chars));
        self.batch = self.batch.min(train_chars / (seq_len + 1)).max(1);
        self
    }

    /// The preset's defaults for a run of `budget`: a warm-up of at most a
    /// tenth of a budget in steps (a 300-step run would otherwise never reach
    /// its rate). Explicit values are applied after this, and win.
    pub fn for_budget(mut self, budget: Budget) -> Self {
        if let Budget::Steps(steps) = budget {
            self.warmup = self.warmup.min(steps / 10);
        }
        self
    }

    /// `self` with the given values applied. With a resumed checkpoint
    /// (`resumed` names it), a value that contradicts it is an error. Threads
    /// 0 means the machine's cores, at most B.
    pub fn with(mut self, o: &Overrides, resumed: Option<&Path>) -> Result<Self, Error> {
        set(&mut self.hidden, o.hidden, "--hidden", resumed)?;
        set(&mut self.seq_len, o.seq_len, "--seq-len", resumed)?;
        set(&mut self.batch, o.batch, "--batch", resumed)?;
        set(&mut self.optimizer, o.optimizer, "--optimizer", resumed)?;
        set(&mut self.lr, o.lr, "--lr", resumed)?;
        set(&mut self.schedule, o.schedule, "--schedule", resumed)?;
        set(&mut self.warmup, o.warmup, "--warmup", resumed)?;
        set(&mut self.clip, o.clip, "--clip", resumed)?;
        set(&mut self.clip_norm, o.clip_norm, "--clip-norm", resumed)?;
        set(
            &mut self.weight_decay,
            o.weight_decay,
            "--weight-decay",
            resumed,
        )?;
        set(&mut self.dropout, o.dropout, "--dropout", resumed)?;
        set(&mut self.init_std, o.init_std, "--init-std", resumed)?;
        set(&mut self.seed, o.seed, "--seed", resumed)?;
        set(
            &mut self.val_fraction,
            o.val_fraction,
            "--val-fraction",
            resumed,
        )?;
        set(&mut self.threads, o.threads, "--threads", resumed)?;
        set(&mut self.engine, o.engine, "--engine", resumed)?;
        if let (Some(cell), Some(path)) = (o.cell, resumed) {
            if cell != self.cell {
                return Err(Error::ResumeMismatch {
                    path: path.into(),
                    flag: "--cell",
                    stored: self.cell.name().into(),
                    given: cell.name().into(),
                });
            }
        }
        self.cell = o.cell.unwrap_or(self.cell);
        set(&mut self.layers, o.layers, "--layers", resumed)?;
        if self.threads == 0 {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            self.threads = cores.min(self.batch).max(1);
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.hidden == 0 || self.hidden > charm_core::MAX_HIDDEN {
            return bad(format!(
                "--hidden must be between 1 and {}",
                charm_core::MAX_HIDDEN
            ));
        }
        if !(1..=MAX_LAYERS).contains(&self.layers) {
            return bad(format!(
                "--layers must be between 1 and {MAX_LAYERS}, not {}",
                self.layers
            ));
        }
        if self.seq_len == 0 || self.batch == 0 || self.threads == 0 {
            return bad("--seq-len, --batch and --threads must be at least 1".into());
        }
        if self.threads > self.batch {
            return bad(format!(
                "--threads {} is more than --batch {}: each thread takes a shard of at least one \
                 stream; give at most {} threads",
                self.threads, self.batch, self.batch
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr must be a positive number, not {}", self.lr));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad(format!(
                "--clip must be a positive number, not {}",
                self.clip
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("--dropout must be in [0, 1), not {}", self.dropout));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "--weight-decay must be >= 0, not {}",
                self.weight_decay
            ));
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return bad(format!(
                "--val-fraction must be in [0, 1), not {}",
                self.val_fraction
            ));
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return bad(format!("--init-std must be >= 0, not {}", self.init_std));
        }
        Ok(())
    }
}

/// Applies one given value; with a resumed checkpoint it must equal the stored one.
fn set<T: PartialEq + Display + Copy>(
    field: &mut T,
    given: Option<T>,
    flag: &'static str,
    resumed: Option<&Path>,
) -> Result<(), Error> {
    if let Some(v) = given {
        if let Some(path) = resumed {
            if *field != v {
                return Err(Error::ResumeMismatch {
                    path: path.into(),
                    flag,
                    stored: field.to_string(),
                    given: v.to_string(),
                });
            }
        }
        *field = v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_step_budget_shortens_the_default_warm_up_and_an_explicit_one_wins() {
        let default = || TrainConfig::preset(Preset::Default);
        assert_eq!(default().for_budget(Budget::Steps(300)).warmup, 30);
        assert_eq!(default().for_budget(Budget::Steps(9)).warmup, 0);
        let long = default().for_budget(Budget::Steps(1_000_000));
        assert_eq!(long.warmup, DEFAULT_WARMUP);
        let timed = default().for_budget(Budget::Minutes(0.5));
        assert_eq!(timed.warmup, DEFAULT_WARMUP);
        let asked = Overrides {
            warmup: Some(200),
            ..Overrides::default()
        };
        let cfg = default().for_budget(Budget::Steps(300)).with(&asked, None);
        assert_eq!(cfg.ok().map(|c| c.warmup), Some(200));
    }

    #[test]
    fn the_default_preset_is_sized_to_the_corpus_and_explicit_values_win() {
        // The rule's values at the corpora it was measured on, and its ends.
        assert_eq!(hidden_for_corpus(1_003_854), 384); // tinyshakespeare
        assert_eq!(hidden_for_corpus(156_509), 192); // the built-in corpus
        assert_eq!(hidden_for_corpus(164_687), 192); // ... as it grew
        assert_eq!(hidden_for_corpus(500_000), 288);
        assert_eq!(hidden_for_corpus(999_999), 352);
        assert_eq!(hidden_for_corpus(1_000), 128);
        assert_eq!(hidden_for_corpus(100_000_000), 384);
        let none = Overrides::default();
        let fresh = |chars, o: &Overrides| {
            TrainConfig::fresh(Preset::Default, Budget::Minutes(3.0), chars, o)
        };
        let c = fresh(173_899, &none);
        assert_eq!((c.hidden, c.batch), (192, 64));
        // A short text: as many streams as windows of 51 characters.
        let c = fresh(2_000, &none); // 1,800 training characters
        assert_eq!((c.hidden, c.batch), (128, 35));
        let asked = Overrides {
            hidden: Some(384),
            batch: Some(8),
            ..Overrides::default()
        };
        let c = fresh(2_000, &asked).with(&asked, None).ok().unwrap();
        assert_eq!((c.hidden, c.batch), (384, 8));
        // The min-char-rnn preset is the seed's, whatever the corpus.
        let m = TrainConfig::fresh(Preset::MinCharRnn, Budget::Steps(10), 2_000, &none);
        assert_eq!(
            m,
            TrainConfig::preset(Preset::MinCharRnn).for_budget(Budget::Steps(10))
        );
    }
}
