//! Text from a model: charm-core's [`Generator`] (h_0 = 0, the prime text
//! fed through the step, then each character drawn and fed back), the one
//! sampling loop of `charm sample`, the firmware and the samples shown
//! during training.

use charm_core::{GenerateError, Generator, Recurrent, SampleParams, Slices, StateElement, Vocab};
use std::convert::Infallible;

/// Why generating stopped early.
#[derive(Debug)]
pub enum Stop<E> {
    /// The generator refused its parameters or the prime.
    Generate(GenerateError),
    /// The receiver of the text failed.
    Emit(E),
}

/// The prime, then `len` characters from [`Generator::next_char`] (no final
/// newline), each handed to `emit` as UTF-8 as it is made, for a model of
/// either element type. Memory does not grow with `len`.
pub fn generate_each<M: Recurrent, E>(
    model: M,
    vocab: Vocab<'_>,
    params: SampleParams,
    seed: u64,
    (prime, len): (&str, u64),
    mut emit: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let n = model.state_len();
    let zero = <M::State as StateElement>::ZERO;
    let (mut h, mut hn, mut y) = (vec![zero; n], vec![zero; n], vec![0.0f32; model.vocab()]);
    let slices = Slices {
        h: &mut h,
        h_next: &mut hn,
        logits: &mut y,
    };
    let mut g = Generator::new(model, vocab, params, seed, slices).map_err(Stop::Generate)?;
    g.prime(prime).map_err(Stop::Generate)?;
    emit(prime).map_err(Stop::Emit)?;
    let mut utf8 = [0u8; 4];
    for _ in 0..len {
        emit(g.next_char().encode_utf8(&mut utf8)).map_err(Stop::Emit)?;
    }
    Ok(())
}

/// [`generate_each`] collected into a string.
pub fn generate_with<M: Recurrent>(
    model: M,
    vocab: Vocab<'_>,
    len: usize,
    params: SampleParams,
    seed: u64,
    prime: &str,
) -> Result<String, GenerateError> {
    let mut out = String::with_capacity(prime.len() + len);
    generate_each(model, vocab, params, seed, (prime, len as u64), |text| {
        out.push_str(text);
        Ok::<(), Infallible>(())
    })
    .map_err(|e| match e {
        Stop::Generate(e) => e,
        Stop::Emit(never) => match never {},
    })?;
    Ok(out)
}
