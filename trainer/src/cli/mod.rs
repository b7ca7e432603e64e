//! The `charm` command line: parses the flags ([`args`]), turns them into
//! each command's settings, runs the command and reports — its output on
//! stdout, or one `error: ...` line on stderr with exit status 1 (clap's own
//! usage errors exit 2).

pub mod args;
pub mod out_of_memory;
pub mod values;

use crate::commands;
use crate::error::Error;
use crate::files::console::{print_error_line, print_line};
use crate::training::Outcome;
use args::{
    BenchArgs, EvalArgs, ExportArgs, ImportArgs, InfoArgs, QuantizeArgs, SampleArgs, TrainArgs,
};
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
    Train(Box<TrainArgs>),
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
    /// Read a PyTorch nn.RNN + nn.Linear model (safetensors) into a .charm file.
    Import(ImportArgs),
    /// Write a .charm model in another format (safetensors, for PyTorch).
    Export(ExportArgs),
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Usage(format!("internal error: {e}")))
}

/// Runs a parsed command; `Ok` carries the exit status.
pub fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Train(a) => Ok(match commands::train::run(&a.settings()?)? {
            Outcome::Finished
            | Outcome::StoppedEarly
            | Outcome::AlreadyDone
            | Outcome::AlreadyStopped => 0,
            Outcome::Interrupted => 130,
        }),
        Command::Sample(a) => {
            commands::sample::run(&a.settings()?)?;
            Ok(0)
        }
        Command::Eval(a) => {
            let r = commands::eval::run(&a.model, &a.data)?;
            print_line(&if a.json { json(&r)? } else { r.text() })?;
            Ok(0)
        }
        Command::Bench(a) => {
            print_line(&commands::bench::run(&a.settings()?)?)?;
            Ok(0)
        }
        Command::Quantize(a) => {
            let r = commands::quantize::run(&a.model, &a.out, a.layout.into(), a.force)?;
            print_line(&r.text(&a.model, &a.out))?;
            Ok(0)
        }
        Command::Import(a) => {
            let s = a.settings();
            print_line(&commands::import::run(&s)?.text(&s))?;
            Ok(0)
        }
        Command::Export(a) => {
            let s = a.settings();
            print_line(&commands::export::run(&s)?.text(&s))?;
            Ok(0)
        }
        Command::Info(a) => {
            let r = commands::info::run(&a.model)?;
            print_line(&if a.json { json(&r)? } else { r.text() })?;
            Ok(0)
        }
    }
}

/// The entry point of the binary: parses, runs, prints `error: ...`, returns
/// the exit status. A closed stdout pipe ends a command normally (status 0).
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(e),
    };
    match run(cli) {
        Ok(code) => code,
        Err(Error::ClosedPipe) => 0,
        Err(e) => {
            print_error_line(&format!("error: {e}"));
            1
        }
    }
}

/// What clap's parse "error" means: `--help` and `--version` are output
/// like any other, so a failure to write them (`charm --help > /dev/full`)
/// is an `error:` line and status 1, not a silent 0; a usage error is
/// clap's message on stderr and status 2.
fn parse_failure(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let text = e.render().to_string();
            match print_line(text.trim_end_matches('\n')) {
                Ok(()) | Err(Error::ClosedPipe) => 0,
                Err(e) => {
                    print_error_line(&format!("error: {e}"));
                    1
                }
            }
        }
        _ => {
            let _ = e.print();
            e.exit_code()
        }
    }
}
