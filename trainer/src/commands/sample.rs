//! `charm sample`: text from a model through [`charm_core::Generator`], exactly
//! as the firmware generates it: h_0 = 0, the prime text fed, then N characters
//! from `next_char()`. stdout gets the prime, the N characters and one newline,
//! nothing else (a test compares it byte for byte with the firmware's output).

use crate::error::Error;
use crate::files::model_file::ModelBytes;
use crate::math::generate::generate_with;
use charm_core::{GenerateError, SampleParams, Weights};
use std::io::Write;
use std::path::Path;

/// Generates the text `charm sample` prints (without the final newline).
pub fn generate(
    model: &Path,
    len: usize,
    params: SampleParams,
    seed: u64,
    prime: &str,
) -> Result<String, Error> {
    let m = ModelBytes::load(model)?;
    let file = m.file()?;
    let err = |e: GenerateError| match e {
        GenerateError::UnknownChar(ch) => Error::PrimeChar {
            path: model.into(),
            ch,
        },
        GenerateError::Sample(s) => Error::Usage(format!("--temperature: {s}")),
        other => Error::Usage(format!("cannot sample from {}: {other}", model.display())),
    };
    match file.weights {
        Weights::F32(w) => generate_with(w, file.vocab, len, params, seed, prime),
        Weights::Int8(w) => generate_with(w, file.vocab, len, params, seed, prime),
    }
    .map_err(err)
}

/// Runs `charm sample`, writing to stdout.
pub fn run(
    model: &Path,
    len: usize,
    params: SampleParams,
    seed: u64,
    prime: &str,
) -> Result<(), Error> {
    let text = generate(model, len, params, seed, prime)?;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth a message.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.write_all(b"\n"))
        .and_then(|_| stdout.flush());
    Ok(())
}
