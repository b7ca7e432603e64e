//! The flags of each subcommand as clap parses them, and their conversion
//! into the settings the commands take. clap's types stop here.

use crate::cli::values::{real, real_opt, whole, whole_opt, Real};
use crate::commands::bench::BenchSettings;
use crate::commands::export::{ExportFormat, ExportSettings};
use crate::commands::import::ImportSettings;
use crate::commands::sample::SampleSettings;
use crate::error::Error;
use crate::math::optim::{OptimizerKind, Schedule};
use crate::training::cadence::DEFAULT_MINUTES;
use crate::training::early_stopping::DEFAULT_PATIENCE;
use crate::training::{Budget, EngineKind, Overrides, Patience, Preset, TrainSettings};
use charm_core::SampleParams;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The documented ranges of the numeric flags (see each flag's help).
pub mod range {
    use super::Real;
    use std::ops::RangeInclusive;
    /// --steps.
    pub const STEPS: RangeInclusive<u64> = 1..=1_000_000_000_000;
    /// --minutes.
    pub const MINUTES: Real = Real::above(0.0, 1e6);
    /// --hidden (the weight format's limit).
    pub const HIDDEN: RangeInclusive<usize> = 1..=charm_core::MAX_HIDDEN;
    /// --seq-len.
    pub const SEQ_LEN: RangeInclusive<usize> = 1..=100_000;
    /// --batch.
    pub const BATCH: RangeInclusive<usize> = 1..=100_000;
    /// --lr (any positive f32).
    pub const LR: Real = Real::above(0.0, f32::MAX as f64);
    /// --warmup.
    pub const WARMUP: RangeInclusive<u64> = 0..=1_000_000_000;
    /// --clip (any positive f32).
    pub const CLIP: Real = Real::above(0.0, f32::MAX as f64);
    /// --clip-norm (0: off).
    pub const CLIP_NORM: Real = Real::closed(0.0, 1e6);
    /// --weight-decay.
    pub const WEIGHT_DECAY: Real = Real::closed(0.0, 10.0);
    /// --dropout.
    pub const DROPOUT: Real = Real::below(0.0, 1.0);
    /// --init-std.
    pub const INIT_STD: Real = Real::closed(0.0, 10.0);
    /// --val-fraction.
    pub const VAL_FRACTION: Real = Real::below(0.0, 1.0);
    /// --threads (and at most --batch).
    pub const THREADS: RangeInclusive<usize> = 1..=256;
    /// --checkpoint-every, seconds (up to a year; 0: after every step).
    pub const CHECKPOINT_EVERY: Real = Real::closed(0.0, 31_536_000.0);
    /// --seed.
    pub const SEED: RangeInclusive<u64> = 0..=u64::MAX;
    /// --len of charm sample (any: the text is written as it is made).
    pub const LEN: RangeInclusive<u64> = 0..=u64::MAX;
    /// --temperature.
    pub const TEMPERATURE: Real = Real::closed(0.0, 100.0);
    /// --top-k (0: all characters).
    pub const TOP_K: RangeInclusive<usize> = 0..=charm_core::MAX_VOCAB;
    /// --vocab of charm bench.
    pub const VOCAB: RangeInclusive<usize> = 1..=charm_core::MAX_VOCAB;
    /// --steps of charm bench.
    pub const BENCH_STEPS: RangeInclusive<usize> = 1..=1_000_000_000;
    /// --runs of charm bench.
    pub const RUNS: RangeInclusive<usize> = 1..=1000;
    /// --layers (charm-core's most layers).
    pub const LAYERS: RangeInclusive<usize> = 1..=charm_core::MAX_LAYERS;
    /// --patience, evaluations (0: off).
    pub const PATIENCE: RangeInclusive<u64> = 0..=1_000_000;
}

/// `--preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    /// What trains best in a few minutes on two cores (see docs/training.md).
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

/// `--cell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CellArg {
    /// PyTorch's `nn.RNN` with tanh: one gate.
    Rnn,
    /// PyTorch's `nn.GRU`: gates r, z, n.
    Gru,
    /// PyTorch's `nn.LSTM`: gates i, f, g, o and a cell state.
    Lstm,
}

impl From<CellArg> for charm_core::Cell {
    fn from(a: CellArg) -> Self {
        match a {
            CellArg::Rnn => charm_core::Cell::Rnn,
            CellArg::Gru => charm_core::Cell::Gru,
            CellArg::Lstm => charm_core::Cell::Lstm,
        }
    }
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
    /// Training text (UTF-8, a regular file of at most 1 GiB). Default: a small built-in corpus (charm's own source code).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Where to write the model; the training state (.state), CSV log (.csv) and loss curve (.svg) go beside it
    /// [default: charm.charm; with --resume: the resumed model, i.e. the .state file's name with extension .charm].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Continue from a checkpoint (the .state file beside a model, or the model itself).
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Replace existing output files (the model and its side files; never an input).
    #[arg(long)]
    pub force: bool,
    /// Set of defaults: `default` (best in a few minutes on 2 cores) or `min-char-rnn` (the seed's exact baseline).
    #[arg(long, value_enum, default_value = "default")]
    pub preset: PresetArg,
    /// Stop after this many optimizer steps in total [1 to 10^12].
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "minutes",
        allow_negative_numbers = true
    )]
    pub steps: Option<String>,
    /// Stop after this many minutes of training in total [greater than 0, at most 10^6; default: 3 when --steps is not given].
    #[arg(long, value_name = "M", allow_negative_numbers = true)]
    pub minutes: Option<String>,
    /// Stop early when the validation loss has not improved on its best for N evaluations in a row
    /// (there are 20 a run, one every 1/20 of --steps or --minutes); the model file keeps the best
    /// weights, and --resume with a larger N or `off` trains on [0 to 10^6; 0 or off: train to
    /// the end of the budget; default: 5].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub patience: Option<String>,
    /// Hidden units H [1 to 16384; default: 384; min-char-rnn: 100].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub hidden: Option<String>,
    /// The recurrent cell of every layer: `rnn` (tanh), `gru` or `lstm`, with PyTorch's
    /// equations; anything but one rnn layer is written as format version 5 [default: rnn].
    #[arg(long, value_enum)]
    pub cell: Option<CellArg>,
    /// Layers of the cell, each reading the h of the one below [1 to 4; default: 1].
    #[arg(long, value_name = "L", allow_negative_numbers = true)]
    pub layers: Option<String>,
    /// Characters per window of backpropagation through time [1 to 100000; default: 50; min-char-rnn: 25].
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    pub seq_len: Option<String>,
    /// Parallel streams over the corpus [1 to 100000; default: 64; min-char-rnn: 1].
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub batch: Option<String>,
    /// Base learning rate [a positive number; default: 0.004; min-char-rnn: 0.1].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub lr: Option<String>,
    /// Update rule [default: adam; min-char-rnn: adagrad].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning-rate schedule [default: cosine; min-char-rnn: constant].
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleArg>,
    /// Steps over which the rate rises linearly to --lr at the start [0 to 10^9; default:
    /// 500, at most a tenth of --steps; min-char-rnn: 0].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub warmup: Option<String>,
    /// Clip every gradient entry to [-F, F] [a positive number; default: 5].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub clip: Option<String>,
    /// Scale the whole gradient down to this L2 norm when it is larger, before
    /// the clip of each entry [0 to 10^6; 0: off; default: 50; min-char-rnn: 0].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub clip_norm: Option<String>,
    /// Decoupled weight decay of the weight matrices (Adam) [0 to 10; default: 0].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub weight_decay: Option<String>,
    /// Dropout probability on the hidden-to-output path and, with --layers above 1, on the
    /// input of every layer above the first; training only [0 to below 1; default: 0.25; min-char-rnn: 0].
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub dropout: Option<String>,
    /// Standard deviation of the N(0, σ²) weight initialization of one rnn layer (other cells
    /// and depths start as PyTorch's do, U(-1/√H, 1/√H)) [0 to 10; default: 0.05; min-char-rnn: 0.01].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub init_std: Option<String>,
    /// Seed of initialization and dropout [0 to 2^64-1; default: 1].
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub seed: Option<String>,
    /// Fraction of the corpus held out for validation, taken from its end [0 to below 1; default: 0.1].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub val_fraction: Option<String>,
    /// Threads; the batch is cut into this many shards, which fixes the arithmetic,
    /// so it is kept in checkpoints [1 to 256 and at most --batch; default: cores, at most --batch].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<String>,
    /// Implementation: `fast` (batched matrix products) or `plain` (charm-core's step, the reference) [default: fast; min-char-rnn: plain].
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// Seconds between checkpoints, also written at the end and on Ctrl-C [0 to 31536000; 0: after every step].
    #[arg(
        long,
        value_name = "SECS",
        default_value = "60",
        allow_negative_numbers = true
    )]
    pub checkpoint_every: String,
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
        let budget = match (&self.steps, &self.minutes) {
            (Some(s), _) => Budget::Steps(whole("--steps", s, range::STEPS)?),
            (None, Some(m)) => Budget::Minutes(real("--minutes", m, range::MINUTES)?),
            (None, None) => Budget::Minutes(DEFAULT_MINUTES),
        };
        let f32_opt = |flag, raw, r| -> Result<Option<f32>, Error> {
            Ok(real_opt(flag, raw, r)?.map(|v| v as f32))
        };
        Ok(TrainSettings {
            data: self.data.clone(),
            out: self.out.clone(),
            resume: self.resume.clone(),
            preset: self.preset.into(),
            overrides: Overrides {
                hidden: whole_opt("--hidden", &self.hidden, range::HIDDEN)?,
                seq_len: whole_opt("--seq-len", &self.seq_len, range::SEQ_LEN)?,
                batch: whole_opt("--batch", &self.batch, range::BATCH)?,
                optimizer: self.optimizer.map(Into::into),
                lr: f32_opt("--lr", &self.lr, range::LR)?,
                schedule: self.schedule.map(Into::into),
                warmup: whole_opt("--warmup", &self.warmup, range::WARMUP)?,
                clip: f32_opt("--clip", &self.clip, range::CLIP)?,
                clip_norm: f32_opt("--clip-norm", &self.clip_norm, range::CLIP_NORM)?,
                weight_decay: f32_opt("--weight-decay", &self.weight_decay, range::WEIGHT_DECAY)?,
                dropout: f32_opt("--dropout", &self.dropout, range::DROPOUT)?,
                init_std: real_opt("--init-std", &self.init_std, range::INIT_STD)?,
                seed: whole_opt("--seed", &self.seed, range::SEED)?,
                val_fraction: real_opt("--val-fraction", &self.val_fraction, range::VAL_FRACTION)?,
                threads: whole_opt("--threads", &self.threads, range::THREADS)?,
                engine: self.engine.map(Into::into),
                cell: self.cell.map(Into::into),
                layers: whole_opt("--layers", &self.layers, range::LAYERS)?,
            },
            budget,
            patience: patience(self.patience.as_deref())?,
            checkpoint_every: real(
                "--checkpoint-every",
                &self.checkpoint_every,
                range::CHECKPOINT_EVERY,
            )?,
            quiet: self.quiet,
            force: self.force,
            interrupt_at: self.interrupt_at,
        })
    }
}

/// `--patience N|off`: 0 and `off` turn early stopping off.
fn patience(raw: Option<&str>) -> Result<Patience, Error> {
    match raw.map(str::trim) {
        None => Ok(Patience::Evaluations(DEFAULT_PATIENCE)),
        Some("off") => Ok(Patience::Off),
        Some(n) => match whole("--patience", n, range::PATIENCE) {
            Ok(0) => Ok(Patience::Off),
            Ok(n) => Ok(Patience::Evaluations(n)),
            Err(_) => Err(Error::Usage(format!(
                "--patience must be a whole number from 0 to {} or `off`, not {n:?}",
                range::PATIENCE.end()
            ))),
        },
    }
}

/// `charm sample`.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// The .charm model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Characters to generate after the prime text [0 to 2^64-1; they are written as they are made].
    #[arg(
        long,
        value_name = "N",
        default_value = "200",
        allow_negative_numbers = true
    )]
    pub len: String,
    /// Softmax temperature: < 1 sharper, > 1 more random, 0 greedy [0 to 100].
    #[arg(
        long,
        value_name = "F",
        default_value = "1",
        allow_negative_numbers = true
    )]
    pub temperature: String,
    /// Seed of the sampler's random numbers [0 to 2^64-1].
    #[arg(
        long,
        value_name = "S",
        default_value = "1",
        allow_negative_numbers = true
    )]
    pub seed: String,
    /// Text fed to the model first (and printed first).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "",
        allow_hyphen_values = true
    )]
    pub prime: String,
    /// Sample only among the K most likely characters [0 to 65536; 0: all].
    #[arg(
        long,
        value_name = "K",
        default_value = "0",
        allow_negative_numbers = true
    )]
    pub top_k: String,
    /// Also write the firmware's sampling-parameters record for exactly these
    /// flags to FILE (flash it to the PARAMS region: the device then prints
    /// what this command prints).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Replace an existing --record file.
    #[arg(long)]
    pub force: bool,
}

impl SampleArgs {
    /// The settings of `charm sample`.
    pub fn settings(&self) -> Result<SampleSettings, Error> {
        Ok(SampleSettings {
            model: self.model.clone(),
            len: whole("--len", &self.len, range::LEN)?,
            params: SampleParams {
                temperature: real("--temperature", &self.temperature, range::TEMPERATURE)? as f32,
                top_k: whole("--top-k", &self.top_k, range::TOP_K)?,
            },
            seed: whole("--seed", &self.seed, range::SEED)?,
            prime: self.prime.clone(),
            record: self.record.clone(),
            force: self.force,
        })
    }
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
    /// Where to write the int8 model (never the f32 model itself).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How the int8 weights are laid out, for the core that runs them.
    #[arg(long, value_enum, default_value = "pairs")]
    pub layout: LayoutArg,
    /// Replace an existing file at --out.
    #[arg(long)]
    pub force: bool,
}

/// `--layout` of `charm quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// Row pairs and a Q15 state (format version 3): the fastest on
    /// Cortex-M4/M7/M33 (SMLAD) and the layout every firmware runs.
    Pairs,
    /// 4×16 tiles and an int8 state (format version 4): the fastest on the
    /// Cortex-M55 (Helium VMLADAVA.S8); run by the host and the M55 firmware.
    Tiles,
    /// Row pairs (the same int8 bytes) with integer multipliers and biases
    /// (format version 4, element type int8 fixed): step and sampler in
    /// integer arithmetic, the fastest on cores without an FPU.
    Fixed,
}

impl From<LayoutArg> for crate::commands::quantize::Layout {
    fn from(a: LayoutArg) -> Self {
        match a {
            LayoutArg::Pairs => Self::RowPairs,
            LayoutArg::Tiles => Self::Tiles,
            LayoutArg::Fixed => Self::Fixed,
        }
    }
}

/// `charm import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The safetensors file of a PyTorch nn.RNN(V, H, nonlinearity="tanh",
    /// num_layers=1) followed by nn.Linear(H, V), float32 (tensors found by
    /// name suffix: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
    /// .weight, .bias).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// A UTF-8 file holding the V characters in the model's index order
    /// (every character counts, a final newline too); default: the file's
    /// __metadata__ entry charm.vocab.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// Where to write the .charm model (never an input).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file at --out.
    #[arg(long)]
    pub force: bool,
}

impl ImportArgs {
    /// The settings of `charm import`.
    pub fn settings(&self) -> ImportSettings {
        ImportSettings {
            input: self.model.clone(),
            vocab: self.vocab.clone(),
            output: self.out.clone(),
            force: self.force,
        }
    }
}

/// `--format` of `charm export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// PyTorch: rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
    /// rnn.bias_hh_l0 (zeros), fc.weight, fc.bias; the vocabulary in the
    /// metadata entry charm.vocab.
    Safetensors,
}

/// `charm export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The f32 .charm model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The format to write.
    #[arg(long, value_enum)]
    pub format: ExportFormatArg,
    /// Where to write it (never the model itself).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file at --out.
    #[arg(long)]
    pub force: bool,
}

impl ExportArgs {
    /// The settings of `charm export`.
    pub fn settings(&self) -> ExportSettings {
        ExportSettings {
            model: self.model.clone(),
            format: match self.format {
                ExportFormatArg::Safetensors => ExportFormat::Safetensors,
            },
            output: self.out.clone(),
            force: self.force,
        }
    }
}

/// `charm bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The recurrent cell of every layer.
    #[arg(long, value_enum, default_value = "rnn")]
    pub cell: CellArg,
    /// Layers [1 to 4].
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    pub layers: String,
    /// Hidden units H [1 to 16384].
    #[arg(long, default_value = "384", allow_negative_numbers = true)]
    pub hidden: String,
    /// Vocabulary size V [1 to 65536].
    #[arg(long, default_value = "65", allow_negative_numbers = true)]
    pub vocab: String,
    /// Window length T [1 to 100000].
    #[arg(long, default_value = "50", allow_negative_numbers = true)]
    pub seq_len: String,
    /// Streams B [1 to 100000].
    #[arg(long, default_value = "32", allow_negative_numbers = true)]
    pub batch: String,
    /// Update rule.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerArg,
    /// Implementation.
    #[arg(long, value_enum, default_value = "fast")]
    pub engine: EngineArg,
    /// Threads (shards of the batch) [1 to 256; default: cores, at most --batch].
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<String>,
    /// Optimizer steps per timed run [1 to 10^9].
    #[arg(long, default_value = "20", allow_negative_numbers = true)]
    pub steps: String,
    /// Timed runs; the median is reported [1 to 1000].
    #[arg(long, default_value = "5", allow_negative_numbers = true)]
    pub runs: String,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Measure the standard table (batch 1 and 32 at H 100; H 100 to 1024 at
    /// seq-len 100, batch 32), each configuration in a process of its own;
    /// the size flags are then ignored.
    #[arg(long)]
    pub suite: bool,
    /// With --suite: also time min-char-rnn's training in numpy (H 100, seq-len 25, batch 1,
    /// Adagrad) on this UTF-8 text, e.g. data/tinyshakespeare.txt of the repository, and print
    /// each configuration's ratio to it. Needs Python 3 with numpy (see --python).
    #[arg(long, value_name = "CORPUS")]
    pub numpy: Option<PathBuf>,
    /// The numpy reference to run instead of the one built into charm (scripts/numpy_rnn.py of
    /// the repository): `PYTHON SCRIPT CORPUS` must print one JSON line with `chars_per_s`.
    #[arg(long, value_name = "FILE")]
    pub numpy_script: Option<PathBuf>,
    /// The Python 3 interpreter, with numpy, that runs the numpy reference.
    #[arg(long, value_name = "PROGRAM", default_value = "python3")]
    pub python: String,
}

impl BenchArgs {
    /// The settings of `charm bench`.
    pub fn settings(&self) -> Result<BenchSettings, Error> {
        Ok(BenchSettings {
            cell: self.cell.into(),
            layers: whole("--layers", &self.layers, range::LAYERS)?,
            hidden: whole("--hidden", &self.hidden, range::HIDDEN)?,
            vocab: whole("--vocab", &self.vocab, range::VOCAB)?,
            seq_len: whole("--seq-len", &self.seq_len, range::SEQ_LEN)?,
            batch: whole("--batch", &self.batch, range::BATCH)?,
            optimizer: self.optimizer.into(),
            engine: self.engine.into(),
            threads: whole_opt("--threads", &self.threads, range::THREADS)?,
            steps: whole("--steps", &self.steps, range::BENCH_STEPS)?,
            runs: whole("--runs", &self.runs, range::RUNS)?,
            json: self.json,
            suite: self.suite,
            numpy: self.numpy.clone(),
            numpy_script: self.numpy_script.clone(),
            python: self.python.clone(),
        })
    }
}
