//! The `charm` command line: clap definitions, dispatch, and error reporting
//! (one `error: ...` line on stderr, exit status 1; clap's usage errors exit 2).

use crate::error::CliError;
use crate::optim::{OptimizerKind, Schedule};
use crate::train::{EngineKind, Outcome, Preset};
use charm_core::SampleParams;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// charm: a character-level recurrent network, trained here, run on a microcontroller.
#[derive(Debug, Parser)]
#[command(name = "charm", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model (full backpropagation through time) and write a .charm file.
    Train(TrainArgs),
    /// Generate text from a model, exactly as the firmware does.
    Sample(SampleArgs),
    /// Score a model on a text: loss in nats/char and bits/char.
    Eval(EvalArgs),
    /// Show what a model file contains.
    Info(InfoArgs),
    /// Measure training speed (characters per second) on random data.
    Bench(crate::bench::BenchArgs),
    /// Convert an f32 model to int8 weights (4x smaller; runs on the DSP path of a Cortex-M4).
    Quantize(QuantizeArgs),
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
    pub preset: Preset,
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
    pub optimizer: Option<OptimizerKind>,
    /// Learning-rate schedule [default: cosine; min-char-rnn: constant].
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
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
    pub engine: Option<EngineKind>,
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

fn json<T: serde::Serialize>(v: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(v).map_err(|e| CliError::Usage(format!("internal error: {e}")))
}

/// Runs a parsed command; `Ok` carries the exit status.
pub fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Train(a) => Ok(match crate::train::run(&a)? {
            Outcome::Finished => 0,
            Outcome::Interrupted => 130,
        }),
        Command::Sample(a) => {
            let p = SampleParams {
                temperature: a.temperature,
                top_k: a.top_k,
            };
            crate::sample::run(&a.model, a.len, p, a.seed, &a.prime)?;
            Ok(0)
        }
        Command::Eval(a) => {
            let r = crate::evaluate::run(&a.model, &a.data)?;
            println!("{}", if a.json { json(&r)? } else { r.text() });
            Ok(0)
        }
        Command::Bench(a) => {
            println!("{}", crate::bench::run(&a)?);
            Ok(0)
        }
        Command::Quantize(a) => {
            let r = crate::quantize::run(&a.model, &a.out)?;
            println!("{}", r.text(&a.model, &a.out));
            Ok(0)
        }
        Command::Info(a) => {
            let r = crate::info::run(&a.model)?;
            println!("{}", if a.json { json(&r)? } else { r.text() });
            Ok(0)
        }
    }
}

/// The entry point of the binary: parses, runs, prints `error: ...`, returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
