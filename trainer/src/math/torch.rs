//! The model as PyTorch holds it: `nn.RNN(V, H, nonlinearity="tanh",
//! num_layers=1)` followed by `nn.Linear(H, V)`, and the exact conversion to
//! and from charm's [`Params`].
//!
//! PyTorch computes, for input `x_t` (one-hot over V) and state `h_{t-1}`,
//!
//! ```text
//! h_t = tanh(W_ih · x_t + b_ih + W_hh · h_{t-1} + b_hh)      (nn.RNN, tanh)
//! y_t = W_fc · h_t + b_fc                                    (nn.Linear)
//! ```
//!
//! which is charm's step with
//!
//! ```text
//! Wxh = W_ih (H × V)    Whh = W_hh (H × H)    bh = b_ih + b_hh
//! Why = W_fc (V × H)    by  = b_fc
//! ```
//!
//! Every weight is copied bit for bit; the one computed value is
//! `bh = fl(b_ih + b_hh)`, one f32 addition rounded to nearest (ties to even),
//! so within half an ulp of the exact sum (relative error at most 2⁻²⁴).
//! [`TorchRnn::from_view`] writes `b_ih = bh` and `b_hh = -0.0`: adding
//! negative zero returns every f32 unchanged, signed zeros included
//! (`+0 + -0 = +0`, `-0 + -0 = -0`; a positive zero would turn `-0` into
//! `+0`), so importing an export gives back the same bits.
//!
//! Vocabulary order: PyTorch's index `j` is whatever character the user's
//! code gave index `j`; charm's vocabulary is sorted by code point. `order`
//! maps charm's index to PyTorch's (`order[c] = j`): columns of `W_ih`, and
//! rows of `W_fc` and `b_fc`, are permuted by it; `W_hh` and the biases of
//! the hidden layer are not touched.

use crate::math::params::Params;
use charm_core::ModelView;

/// The six tensors of `nn.RNN` + `nn.Linear`, dense and row-major as
/// PyTorch stores them (no padding), f32.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchRnn {
    /// Hidden size H.
    pub hidden: usize,
    /// Vocabulary size V (input size of the RNN, outputs of the Linear).
    pub vocab: usize,
    /// `rnn.weight_ih_l0`, H × V.
    pub weight_ih: Vec<f32>,
    /// `rnn.weight_hh_l0`, H × H.
    pub weight_hh: Vec<f32>,
    /// `rnn.bias_ih_l0`, H.
    pub bias_ih: Vec<f32>,
    /// `rnn.bias_hh_l0`, H.
    pub bias_hh: Vec<f32>,
    /// `fc.weight`, V × H.
    pub fc_weight: Vec<f32>,
    /// `fc.bias`, V.
    pub fc_bias: Vec<f32>,
}

impl TorchRnn {
    /// The shapes PyTorch gives the six tensors, in field order.
    pub fn shapes(hidden: usize, vocab: usize) -> [Vec<usize>; 6] {
        [
            vec![hidden, vocab],
            vec![hidden, hidden],
            vec![hidden],
            vec![hidden],
            vec![vocab, hidden],
            vec![vocab],
        ]
    }

    /// charm's parameters for this model, characters in charm's order:
    /// charm index `c` is PyTorch index `order[c]`. `order` must be a
    /// permutation of `0..V` (the caller builds it from the vocabulary).
    pub fn to_params(&self, order: &[usize]) -> Params<f32> {
        let (h, v) = (self.hidden, self.vocab);
        debug_assert_eq!(order.len(), v);
        let mut p = Params::<f32>::zeros(h, v);
        let stride = p.stride();
        let t = p.tensors_mut();
        // Wxh[:, c] = W_ih[:, order[c]]: charm stores column c as row c.
        for (row, &j) in t.wxh.chunks_exact_mut(stride).zip(order) {
            for (i, w) in row[..h].iter_mut().enumerate() {
                *w = self.weight_ih[i * v + j];
            }
        }
        // Whh = W_hh, row by row.
        for (row, torch_row) in t
            .whh
            .chunks_exact_mut(stride)
            .zip(self.weight_hh.chunks_exact(h))
        {
            row[..h].copy_from_slice(torch_row);
        }
        // bh = fl(b_ih + b_hh): the only rounding of the import.
        for ((b, &bi), &bh) in t.bh.iter_mut().zip(&self.bias_ih).zip(&self.bias_hh) {
            *b = bi + bh;
        }
        // Why[c, :] = W_fc[order[c], :] and by[c] = b_fc[order[c]].
        for ((row, b), &j) in t
            .why
            .chunks_exact_mut(stride)
            .zip(t.by.iter_mut())
            .zip(order)
        {
            row[..h].copy_from_slice(&self.fc_weight[j * h..(j + 1) * h]);
            *b = self.fc_bias[j];
        }
        p
    }

    /// PyTorch's tensors for a charm model, in charm's character order:
    /// `b_ih = bh`, `b_hh = -0.0` (see the module docs for why negative zero).
    pub fn from_view(m: &ModelView<'_, f32>) -> Self {
        let (h, v, stride) = (m.hidden(), m.vocab(), m.stride());
        let mut weight_ih = vec![0.0; h * v];
        for (c, column) in m.wxh().chunks_exact(stride).enumerate() {
            for (i, &w) in column[..h].iter().enumerate() {
                weight_ih[i * v + c] = w;
            }
        }
        let rows = |w: &[f32]| -> Vec<f32> {
            w.chunks_exact(stride)
                .flat_map(|row| row[..h].iter().copied())
                .collect()
        };
        Self {
            hidden: h,
            vocab: v,
            weight_ih,
            weight_hh: rows(m.whh()),
            bias_ih: m.bh()[..h].to_vec(),
            bias_hh: vec![-0.0; h],
            fc_weight: rows(m.why()),
            fc_bias: m.by().to_vec(),
        }
    }

    /// The six tensors in field order.
    pub fn tensors(&self) -> [&[f32]; 6] {
        [
            &self.weight_ih,
            &self.weight_hh,
            &self.bias_ih,
            &self.bias_hh,
            &self.fc_weight,
            &self.fc_bias,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_model_imports_to_the_same_bits_signed_zeros_included() {
        let mut p = Params::<f32>::init_normal(5, 3, 0.3, 7);
        let o = p.offsets();
        p.data[o[2]] = -0.0; // bh[0]
        p.data[o[2] + 1] = 1.5e-40; // a subnormal bias
        p.data[o[4]] = -0.0; // by[0]
        let t = TorchRnn::from_view(&p.view());
        assert_eq!(
            t.bias_hh.iter().map(|b| b.to_bits()).collect::<Vec<_>>(),
            vec![0x8000_0000; 5]
        );
        let back = t.to_params(&[0, 1, 2]);
        let bits = |p: &Params<f32>| p.data.iter().map(|w| w.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&p));
    }

    #[test]
    fn the_vocabulary_permutation_moves_input_columns_and_output_rows() {
        // H = 2, V = 3; charm index c is PyTorch index order[c].
        let t = TorchRnn {
            hidden: 2,
            vocab: 3,
            weight_ih: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            weight_hh: vec![0.5, 0.25, 0.125, 0.0625],
            bias_ih: vec![0.1, 0.2],
            bias_hh: vec![0.3, -0.2],
            fc_weight: vec![10.0, 11.0, 20.0, 21.0, 30.0, 31.0],
            fc_bias: vec![-1.0, -2.0, -3.0],
        };
        let p = t.to_params(&[2, 0, 1]);
        let m = p.view();
        let s = m.stride();
        assert_eq!(&m.wxh()[..2], &[3.0, 6.0]); // column 2 of W_ih
        assert_eq!(&m.wxh()[s..s + 2], &[1.0, 4.0]);
        assert_eq!(&m.whh()[s..s + 2], &[0.125, 0.0625]);
        assert_eq!(&m.bh()[..2], &[0.1f32 + 0.3f32, 0.0]);
        assert_eq!(&m.why()[..2], &[30.0, 31.0]);
        assert_eq!(m.by(), &[-3.0, -1.0, -2.0]);
    }
}
