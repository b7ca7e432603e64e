//! The flags of each subcommand as clap parses them, and their conversion
//! into the settings the commands take. clap's types stop here.

use crate::commands::bench::BenchSettings;
use crate::error::Error;
use crate::math::optim::{OptimizerKind, Schedule};
use crate::training::cadence::DEFAULT_MINUTES;
use crate::training::{Budget, EngineKind, Overrides, Preset, TrainSettings};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `--preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    /// What trains best in a few minutes on two cores (see README).
    Default,
    /// min-char-rnn exactly: H 100, seq-len 25, batch 1, Adagrad lr 0.1, clip 5,
    /// N(0, 0.01²) init, no dropout, no decay, constant rate, plain engine.
    MinCharRnn,
}

/// `--optimizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// min-char-rnn's: mem += g²; w -= lr · g / sqrt(mem + 1e-8).
    Adagrad,
    /// Adam (Kingma & Ba 2015) with bias correction; weight decay is decoupled (AdamW).
    Adam,
}

/// `--schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// The same rate throughout (min-char-rnn).
    Constant,
    /// Cosine decay from --lr to 2% of it over the run.
    Cosine,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Batched matrix-matrix products on all cores.
    Fast,
    /// charm-core's step per character and rank-1 updates: the reference.
    Plain,
}

impl From<PresetArg> for Preset {
    fn from(a: PresetArg) -> Self {
        match a {
            PresetArg::Default => Preset::Default,
            PresetArg::MinCharRnn => Preset::MinCharRnn,
        }
    }
}

impl From<OptimizerArg> for OptimizerKind {
    fn from(a: OptimizerArg) -> Self {
        match a {
            OptimizerArg::Adagrad => OptimizerKind::Adagrad,
            OptimizerArg::Adam => OptimizerKind::Adam,
        }
    }
}

impl From<ScheduleArg> for Schedule {
    fn from(a: ScheduleArg) -> Self {
        match a {
            ScheduleArg::Constant => Schedule::Constant,
            ScheduleArg::Cosine => Schedule::Cosine,
        }
    }
}

impl From<EngineArg> for EngineKind {
    fn from(a: EngineArg) -> Self {
        match a {
            EngineArg::Fast => EngineKind::Fast,
            EngineArg::Plain => EngineKind::Plain,
        }
    }
}

/// `charm train`. Hyperparameters not given come from --preset (or, with
/// --resume, from the checkpoint, which they must then agree with).
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Training text (UTF-8). Default: a small built-in corpus (charm's own source code).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Where to write the model; the training state (.state), CSV log (.csv) and loss curve (.svg) go beside it
    /// [default: charm.charm; with --resume: the resumed model, i.e. the .state file's name with extension .charm].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Continue from a checkpoint (the .state file beside a model, or the model itself).
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Set of defaults: `default` (best in a few minutes on 2 cores) or `min-char-rnn` (the seed's exact baseline).
    #[arg(long, value_enum, default_value = "default")]
    pub preset: PresetArg,
    /// Stop after this many optimizer steps in total.
    #[arg(long, value_name = "N", conflicts_with = "minutes")]
    pub steps: Option<u64>,
    /// Stop after this many minutes of training in total [default: 3 when --steps is not given].
    #[arg(long, value_name = "M")]
    pub minutes: Option<f64>,
    /// Hidden units H [default: 384; min-char-rnn: 100].
    #[arg(long, value_name = "N")]
    pub hidden: Option<usize>,
    /// Characters per window of backpropagation through time [default: 50; min-char-rnn: 25].
    #[arg(long, value_name = "T")]
    pub seq_len: Option<usize>,
    /// Parallel streams over the corpus [default: 64; min-char-rnn: 1].
    #[arg(long, value_name = "B")]
    pub batch: Option<usize>,
    /// Base learning rate [default: 0.004; min-char-rnn: 0.1].
    #[arg(long, value_name = "F")]
    pub lr: Option<f32>,
    /// Update rule [default: adam; min-char-rnn: adagrad].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning-rate schedule [default: cosine; min-char-rnn: constant].
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleArg>,
    /// Clip every gradient entry to [-F, F] [default: 5].
    #[arg(long, value_name = "F")]
    pub clip: Option<f32>,
    /// Decoupled weight decay of the weight matrices (Adam) [default: 0].
    #[arg(long, value_name = "F")]
    pub weight_decay: Option<f32>,
    /// Dropout probability on the hidden-to-output path, training only [default: 0.25; min-char-rnn: 0].
    #[arg(long, value_name = "P")]
    pub dropout: Option<f32>,
    /// Standard deviation of the N(0, σ²) weight initialization [default: 0.05; min-char-rnn: 0.01].
    #[arg(long, value_name = "F")]
    pub init_std: Option<f64>,
    /// Seed of initialization and dropout [default: 1].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Fraction of the corpus held out for validation, taken from its end [default: 0.1].
    #[arg(long, value_name = "F")]
    pub val_fraction: Option<f64>,
    /// Threads; the batch is cut into this many shards, which fixes the arithmetic,
    /// so it is kept in checkpoints [default: cores, at most --batch].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Implementation: `fast` (batched matrix products) or `plain` (charm-core's step, the reference) [default: fast; min-char-rnn: plain].
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// Seconds between checkpoints (also written at the end and on Ctrl-C).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub checkpoint_every: f64,
    /// No progress bar, samples or log lines; errors still go to stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Testing aid: behave as if Ctrl-C was pressed just before step N.
    #[arg(long, value_name = "N", hide = true)]
    pub interrupt_at: Option<u64>,
}

impl TrainArgs {
    /// The settings of `charm train`.
    pub fn settings(&self) -> Result<TrainSettings, Error> {
        let budget = match (self.steps, self.minutes) {
            (Some(s), _) => Budget::Steps(s),
            (None, Some(m)) if m.is_finite() && m > 0.0 => Budget::Minutes(m),
            (None, Some(m)) => {
                return Err(Error::Usage(format!(
                    "--minutes must be a positive number, not {m}"
                )))
            }
            (None, None) => Budget::Minutes(DEFAULT_MINUTES),
        };
        Ok(TrainSettings {
            data: self.data.clone(),
            out: self.out.clone(),
            resume: self.resume.clone(),
            preset: self.preset.into(),
            overrides: Overrides {
                hidden: self.hidden,
                seq_len: self.seq_len,
                batch: self.batch,
                optimizer: self.optimizer.map(Into::into),
                lr: self.lr,
                schedule: self.schedule.map(Into::into),
                clip: self.clip,
                weight_decay: self.weight_decay,
                dropout: self.dropout,
                init_std: self.init_std,
                seed: self.seed,
                val_fraction: self.val_fraction,
                threads: self.threads,
                engine: self.engine.map(Into::into),
            },
            budget,
            checkpoint_every: self.checkpoint_every,
            quiet: self.quiet,
            interrupt_at: self.interrupt_at,
        })
    }
}

/// `charm sample`.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// The .charm model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Characters to generate after the prime text.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub len: usize,
    /// Softmax temperature: < 1 sharper, > 1 more random, 0 greedy.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub temperature: f32,
    /// Seed of the sampler's random numbers.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Text fed to the model first (and printed first).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub prime: String,
    /// Sample only among the K most likely characters (0: all).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub top_k: usize,
}

/// `charm eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The .charm model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The text to score, as one stream from a zero state. Characters outside
    /// the model's vocabulary are skipped and counted.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Print one JSON object (keys loss_nats_per_char, loss_bits_per_char, chars, unknown_chars, ...).
    #[arg(long)]
    pub json: bool,
}

/// `charm info`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// The .charm model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `charm quantize`.
#[derive(Debug, Clone, Args)]
pub struct QuantizeArgs {
    /// The f32 .charm model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Where to write the int8 model.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `charm bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Hidden units H.
    #[arg(long, default_value_t = 384)]
    pub hidden: usize,
    /// Vocabulary size V.
    #[arg(long, default_value_t = 65)]
    pub vocab: usize,
    /// Window length T.
    #[arg(long, default_value_t = 50)]
    pub seq_len: usize,
    /// Streams B.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Update rule.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerArg,
    /// Implementation.
    #[arg(long, value_enum, default_value = "fast")]
    pub engine: EngineArg,
    /// Threads (shards of the batch) [default: cores, at most --batch].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Optimizer steps per timed run.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Measure the standard table (batch 1 and 32 at H 100; H 100 to 1024 at
    /// seq-len 100, batch 32), each configuration in a process of its own;
    /// the size flags are then ignored.
    #[arg(long)]
    pub suite: bool,
    /// With --suite: also run the numpy reference on this corpus (e.g.
    /// ../shared/data/tinyshakespeare.txt) and print the ratios.
    #[arg(long, value_name = "CORPUS")]
    pub numpy: Option<PathBuf>,
    /// The numpy reference script.
    #[arg(long, default_value = "../shared/bench/ref_numpy_rnn.py")]
    pub numpy_script: PathBuf,
}

impl BenchArgs {
    /// The settings of `charm bench`.
    pub fn settings(&self) -> BenchSettings {
        BenchSettings {
            hidden: self.hidden,
            vocab: self.vocab,
            seq_len: self.seq_len,
            batch: self.batch,
            optimizer: self.optimizer.into(),
            engine: self.engine.into(),
            threads: self.threads,
            steps: self.steps,
            runs: self.runs,
            json: self.json,
            suite: self.suite,
            numpy: self.numpy.clone(),
            numpy_script: self.numpy_script.clone(),
        }
    }
}
