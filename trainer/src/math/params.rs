//! The parameter vector, in exactly the layout of [`charm_core::ModelView`].
//!
//! One flat `Vec<F>` holds the five tensors back to back, in the order
//! `wxh, whh, bh, why, by`, each as `ModelView` stores it (rows padded to
//! `padded(H)`, `wxh` stored transposed as V × stride). Padding entries are 0
//! and stay 0: their gradient is always 0, and every optimizer here maps a zero
//! gradient on a zero weight to a zero weight. So [`Params::view`] is the model,
//! and gradients, optimizer moments and the numerical gradient check all use the
//! same flat indexing.

use charm_core::{padded, tensor_lengths, Float, ModelView, Rng};

/// Names of the five tensors, in storage order.
pub const TENSOR_NAMES: [&str; 5] = ["wxh", "whh", "bh", "why", "by"];

/// Parameters (or gradients, or optimizer moments) of a model with `hidden`
/// units and `vocab` characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<F> {
    hidden: usize,
    vocab: usize,
    /// All tensors, concatenated in the order of [`TENSOR_NAMES`].
    pub data: Vec<F>,
}

/// Mutable borrows of the five tensors.
pub struct TensorsMut<'a, F> {
    /// V × stride: row `x` is column `x` of W_xh.
    pub wxh: &'a mut [F],
    /// H × stride.
    pub whh: &'a mut [F],
    /// stride.
    pub bh: &'a mut [F],
    /// V × stride.
    pub why: &'a mut [F],
    /// V.
    pub by: &'a mut [F],
}

impl<F: Float> Params<F> {
    /// All zeros.
    pub fn zeros(hidden: usize, vocab: usize) -> Self {
        let n = tensor_lengths(hidden, vocab).iter().sum();
        Self {
            hidden,
            vocab,
            data: vec![F::ZERO; n],
        }
    }

    /// From a flat vector; `None` if its length does not fit the shape.
    pub fn from_vec(hidden: usize, vocab: usize, data: Vec<F>) -> Option<Self> {
        (data.len() == tensor_lengths(hidden, vocab).iter().sum::<usize>()).then_some(Self {
            hidden,
            vocab,
            data,
        })
    }

    /// min-char-rnn's initialization: every weight matrix entry ~ N(0, std²)
    /// (Box-Muller over a seeded SplitMix64), biases 0, padding 0.
    pub fn init_normal(hidden: usize, vocab: usize, std: f64, seed: u64) -> Self {
        let mut p = Self::zeros(hidden, vocab);
        let mut rng = Rng::new(seed);
        let mut normal = || {
            // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1.0 - rng.next_f64();
            let u2 = rng.next_f64();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        };
        let stride = p.stride();
        let t = p.tensors_mut();
        for m in [t.wxh, t.whh, t.why] {
            for row in m.chunks_exact_mut(stride) {
                for w in &mut row[..hidden] {
                    *w = F::from_f64(std * normal());
                }
            }
        }
        p
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.vocab
    }
    /// Row stride, `padded(H)`.
    pub fn stride(&self) -> usize {
        padded(self.hidden)
    }

    /// Start offsets of the five tensors in [`Params::data`], plus the total length.
    pub fn offsets(&self) -> [usize; 6] {
        let l = tensor_lengths(self.hidden, self.vocab);
        let mut o = [0; 6];
        for i in 0..5 {
            o[i + 1] = o[i] + l[i];
        }
        o
    }

    /// The model these parameters are: a borrowed [`ModelView`].
    pub fn view(&self) -> ModelView<'_, F> {
        let o = self.offsets();
        let d = &self.data;
        // The lengths come from `tensor_lengths`, so this cannot fail; a zero
        // shape is excluded by the corpus and CLI checks before a Params exists.
        ModelView::new(
            self.hidden,
            self.vocab,
            &d[o[0]..o[1]],
            &d[o[1]..o[2]],
            &d[o[2]..o[3]],
            &d[o[3]..o[4]],
            &d[o[4]..o[5]],
        )
        .expect("Params always has the tensor lengths of its shape")
    }

    /// The five tensors, mutably.
    pub fn tensors_mut(&mut self) -> TensorsMut<'_, F> {
        let l = tensor_lengths(self.hidden, self.vocab);
        let (wxh, rest) = self.data.split_at_mut(l[0]);
        let (whh, rest) = rest.split_at_mut(l[1]);
        let (bh, rest) = rest.split_at_mut(l[2]);
        let (why, by) = rest.split_at_mut(l[3]);
        TensorsMut {
            wxh,
            whh,
            bh,
            why,
            by,
        }
    }

    /// Whether flat index `i` is a real parameter (not row padding).
    pub fn is_real(&self, i: usize) -> bool {
        let o = self.offsets();
        let s = self.stride();
        match i {
            i if i < o[2] || (o[3]..o[4]).contains(&i) => {
                let base = if i < o[1] {
                    o[0]
                } else if i < o[2] {
                    o[1]
                } else {
                    o[3]
                };
                (i - base) % s < self.hidden
            }
            i if i < o[3] => i - o[2] < self.hidden,
            i => i < o[5],
        }
    }

    /// Whether flat index `i` belongs to a weight matrix (not a bias): weight
    /// decay applies to these only.
    pub fn is_matrix(&self, i: usize) -> bool {
        let o = self.offsets();
        i < o[2] || (o[3]..o[4]).contains(&i)
    }

    /// Name of the tensor flat index `i` falls in, and the index within it.
    pub fn locate(&self, i: usize) -> (&'static str, usize) {
        let o = self.offsets();
        let t = (0..5).rfind(|&t| i >= o[t]).unwrap_or(0);
        (TENSOR_NAMES[t], i - o[t])
    }

    /// Number of real parameters: V·H + H·H + H + V·H + V.
    pub fn count(hidden: usize, vocab: usize) -> usize {
        2 * vocab * hidden + hidden * hidden + hidden + vocab
    }

    /// Converts every entry to another float type.
    pub fn cast<G: Float>(&self) -> Params<G> {
        Params {
            hidden: self.hidden,
            vocab: self.vocab,
            data: self.data.iter().map(|&x| G::from_f64(x.to_f64())).collect(),
        }
    }

    /// Sets every entry to 0.
    pub fn clear(&mut self) {
        self.data.fill(F::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_stays_zero_and_real_count_matches() {
        let p = Params::<f32>::init_normal(5, 3, 0.01, 7);
        let real = (0..p.data.len()).filter(|&i| p.is_real(i)).count();
        assert_eq!(real, Params::<f32>::count(5, 3));
        for (i, &w) in p.data.iter().enumerate() {
            if !p.is_real(i) {
                assert_eq!(w, 0.0, "padding entry {i} is {w}");
            }
        }
        let nonzero = p.data.iter().filter(|&&w| w != 0.0).count();
        assert_eq!(nonzero, 3 * 5 + 5 * 5 + 3 * 5);
        assert_eq!(p.view().hidden(), 5);
        assert_eq!(p.locate(p.offsets()[4]), ("by", 0));
    }

    #[test]
    fn init_std_is_close_to_requested() {
        let p = Params::<f64>::init_normal(64, 64, 0.01, 1);
        let w: Vec<f64> = p.data[..p.offsets()[1]]
            .iter()
            .copied()
            .filter(|&x| x != 0.0)
            .collect();
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        // n = 4096 draws: the sample std of N(0, σ²) has standard error
        // σ/√(2n) = 1.1e-4; 5e-4 is 4.5 of those (and the draws are seeded,
        // so the same on every machine).
        assert!((var.sqrt() - 0.01).abs() < 0.0005, "std {}", var.sqrt());
    }
}
