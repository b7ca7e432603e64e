//! `charm sample`: text from a model through [`charm_core::Generator`], exactly
//! as the firmware generates it: h_0 = 0, the prime text fed, then N characters
//! from `next_char()`. stdout gets the prime, the N characters and one newline,
//! nothing else (a test compares it byte for byte with the firmware's output).

use crate::error::CliError;
use crate::modelfile::ModelBytes;
use charm_core::{
    GenerateError, Generator, Recurrent, SampleParams, Slices, StateElement, Vocab, Weights,
};
use std::io::Write;
use std::path::Path;

/// Generates the text `charm sample` prints (without the final newline).
pub fn generate(
    model: &Path,
    len: usize,
    params: SampleParams,
    seed: u64,
    prime: &str,
) -> Result<String, CliError> {
    let m = ModelBytes::load(model)?;
    let file = m.file()?;
    let err = |e: GenerateError| match e {
        GenerateError::UnknownChar(ch) => CliError::PrimeChar {
            path: model.into(),
            ch,
        },
        GenerateError::Sample(s) => CliError::Usage(format!("--temperature: {s}")),
        other => CliError::Usage(format!("cannot sample from {}: {other}", model.display())),
    };
    match file.weights {
        Weights::F32(w) => generate_with(w, file.vocab, len, params, seed, prime),
        Weights::Int8(w) => generate_with(w, file.vocab, len, params, seed, prime),
    }
    .map_err(err)
}

/// [`generate`] for a decoded model of either element type: the prime, then
/// `len` characters from [`Generator::next_char`] (no final newline).
pub fn generate_with<M: Recurrent>(
    model: M,
    vocab: Vocab<'_>,
    len: usize,
    params: SampleParams,
    seed: u64,
    prime: &str,
) -> Result<String, GenerateError> {
    let n = model.state_len();
    let zero = <M::State as StateElement>::ZERO;
    let (mut h, mut hn, mut y) = (vec![zero; n], vec![zero; n], vec![0.0f32; model.vocab()]);
    let slices = Slices {
        h: &mut h,
        h_next: &mut hn,
        logits: &mut y,
    };
    let mut g = Generator::new(model, vocab, params, seed, slices)?;
    g.prime(prime)?;
    let mut out = String::with_capacity(prime.len() + len);
    out.push_str(prime);
    for _ in 0..len {
        out.push(g.next_char());
    }
    Ok(out)
}

/// Runs `charm sample`, writing to stdout.
pub fn run(
    model: &Path,
    len: usize,
    params: SampleParams,
    seed: u64,
    prime: &str,
) -> Result<(), CliError> {
    let text = generate(model, len, params, seed, prime)?;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth a message.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.write_all(b"\n"))
        .and_then(|_| stdout.flush());
    Ok(())
}
