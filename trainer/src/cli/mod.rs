//! The `charm` command line: parses the flags ([`args`]), turns them into
//! each command's settings, runs the command and reports — its output on
//! stdout, or one `error: ...` line on stderr with exit status 1 (clap's own
//! usage errors exit 2).

pub mod args;

use crate::commands;
use crate::error::Error;
use crate::training::Outcome;
use args::{BenchArgs, EvalArgs, InfoArgs, QuantizeArgs, SampleArgs, TrainArgs};
use charm_core::SampleParams;
use clap::{Parser, Subcommand};

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
    Bench(BenchArgs),
    /// Convert an f32 model to int8 weights (4x smaller; runs on the DSP path of a Cortex-M4).
    Quantize(QuantizeArgs),
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Usage(format!("internal error: {e}")))
}

/// Runs a parsed command; `Ok` carries the exit status.
pub fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Train(a) => Ok(match commands::train::run(&a.settings()?)? {
            Outcome::Finished => 0,
            Outcome::Interrupted => 130,
        }),
        Command::Sample(a) => {
            let p = SampleParams {
                temperature: a.temperature,
                top_k: a.top_k,
            };
            commands::sample::run(&a.model, a.len, p, a.seed, &a.prime)?;
            Ok(0)
        }
        Command::Eval(a) => {
            let r = commands::eval::run(&a.model, &a.data)?;
            println!("{}", if a.json { json(&r)? } else { r.text() });
            Ok(0)
        }
        Command::Bench(a) => {
            println!("{}", commands::bench::run(&a.settings())?);
            Ok(0)
        }
        Command::Quantize(a) => {
            let r = commands::quantize::run(&a.model, &a.out)?;
            println!("{}", r.text(&a.model, &a.out));
            Ok(0)
        }
        Command::Info(a) => {
            let r = commands::info::run(&a.model)?;
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
