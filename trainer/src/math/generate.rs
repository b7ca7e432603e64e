//! Text from a model: charm-core's [`Generator`] (h_0 = 0, the prime text
//! fed through the step, then each character drawn and fed back), the one
//! sampling loop of `charm sample`, the firmware and the samples shown
//! during training.

use charm_core::{GenerateError, Generator, Recurrent, SampleParams, Slices, StateElement, Vocab};

/// The prime, then `len` characters from [`Generator::next_char`] (no final
/// newline), for a model of either element type.
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
