//! `charm sample`: text from a model through [`charm_core::Generator`], exactly
//! as the firmware generates it: h_0 = 0, the prime text fed, then N characters
//! from `next_char()`. stdout gets the prime, the N characters and one newline,
//! nothing else (a test compares it byte for byte with the firmware's output).
//! The text is written as it is made, so any `--len` runs in constant memory.
//!
//! With `--record FILE` it also writes the firmware's sampling-parameters
//! record for exactly these settings (format: the charm-params crate), first,
//! so that a record that cannot hold them is refused before any output.

use crate::error::Error;
use crate::files::atomic::write_output;
use crate::files::console::stdout_error;
use crate::files::model_file::ModelBytes;
use crate::files::outputs::{self, Input, Output};
use crate::math::generate::{generate_each, Stop};
use charm_core::{GenerateError, SampleParams, Vocab, Weights};
use std::io::Write;
use std::path::PathBuf;

/// What `charm sample` was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSettings {
    /// The model file.
    pub model: PathBuf,
    /// Characters to generate after the prime.
    pub len: u64,
    /// Temperature and top-k.
    pub params: SampleParams,
    /// The sampler's seed.
    pub seed: u64,
    /// Text fed first (and printed first).
    pub prime: String,
    /// Where to write the parameters record, if anywhere.
    pub record: Option<PathBuf>,
    /// Replace an existing record file.
    pub force: bool,
}

/// Runs `charm sample`, writing the text to stdout.
pub fn run(s: &SampleSettings) -> Result<(), Error> {
    let m = ModelBytes::load(&s.model)?;
    let file = m.file()?;
    let unknown: Vec<char> = unknown_chars(&s.prime, &file.vocab);
    if !unknown.is_empty() {
        return Err(Error::PrimeChars {
            path: s.model.clone(),
            chars: unknown,
        });
    }
    if let Some(path) = &s.record {
        write_record(path, s)?;
    }
    let err = |e: GenerateError| match e {
        GenerateError::Sample(e) => Error::Usage(format!("--temperature: {e}")),
        other => Error::Usage(format!("cannot sample from {}: {other}", s.model.display())),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut emit = |text: &str| out.write_all(text.as_bytes());
    let streamed = match file.weights {
        Weights::F32(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
        Weights::Int8(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
        Weights::Int8Fixed(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
        Weights::Int8Tiles(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
        Weights::Stacked(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
        Weights::StackedInt8(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
        Weights::StackedTiles(w) => generate_each(
            w,
            file.vocab,
            s.params,
            s.seed,
            (&s.prime, s.len),
            &mut emit,
        ),
    };
    match streamed {
        Ok(()) => out
            .write_all(b"\n")
            .and_then(|()| out.flush())
            .map_err(stdout_error),
        Err(Stop::Generate(e)) => Err(err(e)),
        Err(Stop::Emit(e)) => Err(stdout_error(e)),
    }
}

/// The distinct characters of `text` outside `vocab`, in order of appearance.
fn unknown_chars(text: &str, vocab: &Vocab<'_>) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if vocab.index_of(c).is_none() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The smallest PARAMS region of the boards charm knows: a record must fit it.
fn params_region() -> usize {
    charm_boards::BOARDS
        .iter()
        .map(|b| b.params_bytes as usize)
        .min()
        .unwrap_or(4096)
}

/// Writes the firmware's sampling-parameters record for `s` to `path`
/// (atomically, after the usual output checks).
fn write_record(path: &std::path::Path, s: &SampleSettings) -> Result<(), Error> {
    let len = u32::try_from(s.len).map_err(|_| {
        Error::Usage(format!(
            "--len {} is more than the 4294967295 characters a parameters record holds; \
             give a smaller --len with --record",
            s.len
        ))
    })?;
    let top_k = u32::try_from(s.params.top_k).unwrap_or(u32::MAX);
    let record = charm_params::Params {
        len,
        temperature: s.params.temperature,
        seed: s.seed,
        top_k,
        prime: &s.prime,
    };
    let bytes = record
        .to_bytes()
        .map_err(|e| Error::Usage(format!("cannot make the parameters record: {e}")))?;
    let region = params_region();
    if bytes.len() > region {
        return Err(Error::Usage(format!(
            "the parameters record would be {} bytes, more than the {region}-byte PARAMS region \
             of the boards; use a shorter --prime",
            bytes.len()
        )));
    }
    let out = Output {
        path,
        what: "parameters record",
        flag: "--record",
        replace: s.force,
    };
    let model = Input {
        path: &s.model,
        what: "model",
    };
    outputs::check(&[out], &[model])?;
    write_output(path, &bytes)
}
