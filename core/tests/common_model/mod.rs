//! Random models for the tests: seeded, in the layout `ModelView` expects.

#![allow(dead_code)]

use charm_core::{padded, tensor_lengths, ModelView, Rng};

/// Owned tensors of a model, rows padded to `padded(hidden)` with zeros.
pub struct OwnedModel<F> {
    pub hidden: usize,
    pub vocab: usize,
    pub tensors: [Vec<F>; 5],
}

impl OwnedModel<f32> {
    /// Weights uniform in [-scale, scale], biases too; padding zero.
    pub fn random(hidden: usize, vocab: usize, scale: f32, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let stride = padded(hidden);
        let lengths = tensor_lengths(hidden, vocab);
        let tensors = lengths.map(|n| {
            (0..n)
                .map(|i| {
                    let u = (rng.next_f32() * 2.0 - 1.0) * scale;
                    // keep row padding zero, as the trainer and the file do
                    if n != vocab && i % stride >= hidden {
                        0.0
                    } else {
                        u
                    }
                })
                .collect()
        });
        Self {
            hidden,
            vocab,
            tensors,
        }
    }

    pub fn view(&self) -> ModelView<'_, f32> {
        let [a, b, c, d, e] = &self.tensors;
        ModelView::new(self.hidden, self.vocab, a, b, c, d, e).unwrap()
    }

    pub fn to_f64(&self) -> OwnedModel<f64> {
        OwnedModel {
            hidden: self.hidden,
            vocab: self.vocab,
            tensors: self
                .tensors
                .clone()
                .map(|t| t.into_iter().map(f64::from).collect()),
        }
    }
}

/// A vocabulary of `n` distinct characters in ascending order, from `first`.
pub fn vocab_text(n: usize, first: u32) -> String {
    (first..).filter_map(char::from_u32).take(n).collect()
}

/// Every truncation of a file's `bytes` and every single-bit flip in them is
/// a decoding error (the CRC, the length or the preamble catches each).
pub fn assert_every_truncation_and_bit_flip_is_an_error(bytes: &[u8]) {
    use charm_core::{decode_any, AlignedBytes};
    for n in 0..bytes.len() {
        assert!(
            decode_any(&AlignedBytes::from(&bytes[..n])).is_err(),
            "length {n}"
        );
    }
    let mut flipped = bytes.to_vec();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            flipped[byte] ^= 1 << bit;
            assert!(
                decode_any(&AlignedBytes::from(&flipped[..])).is_err(),
                "byte {byte} bit {bit}"
            );
            flipped[byte] ^= 1 << bit;
        }
    }
}

/// 200 characters generated from `model` after the prime "abc" (seed 7,
/// default sampling) in state buffers for H and V up to 32.
pub fn generate_200<M: charm_core::Recurrent + Copy>(model: M, vocab: &str) -> String {
    use charm_core::{Buffers, Generator, SampleParams, Vocab};
    let mut buffers = Buffers::<32, 32, M::State>::new();
    let slices = buffers.slices_for(&model).unwrap();
    let vocab = Vocab::new(vocab).unwrap();
    let mut g = Generator::new(model, vocab, SampleParams::default(), 7, slices).unwrap();
    g.prime("abc").unwrap();
    (0..200).map(|_| g.next_char()).collect()
}

/// The largest difference between the logits of `quantized` and those of the
/// f32 `model` it came from over 50 steps from the zero state (inputs `x =
/// 7t mod V`), and `quantized`'s state after them.
pub fn max_logit_difference<M: charm_core::Recurrent>(
    quantized: &M,
    model: &ModelView<'_, f32>,
) -> (f32, Vec<M::State>) {
    use charm_core::StateElement;
    let (hidden, vocab) = (model.hidden(), model.vocab());
    let n = quantized.state_len();
    let (mut hq, mut hq_next) = (vec![M::State::ZERO; n], vec![M::State::ZERO; n]);
    let (mut h, mut h_next) = (vec![0f32; hidden], vec![0f32; hidden]);
    let (mut yq, mut y) = (vec![0f32; vocab], vec![0f32; vocab]);
    let mut worst = 0.0f32;
    for t in 0..50 {
        let x = (t * 7) % vocab;
        quantized.step_state(&hq, x, &mut hq_next, &mut yq);
        model.step(&h, x, &mut h_next, &mut y).unwrap();
        std::mem::swap(&mut hq, &mut hq_next);
        std::mem::swap(&mut h, &mut h_next);
        for (a, b) in yq.iter().zip(&y) {
            worst = worst.max((a - b).abs());
        }
    }
    (worst, hq)
}
