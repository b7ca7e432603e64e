//! Any model charm runs, as PyTorch holds it: an optional `nn.Embedding(V,
//! E)`, then `nn.RNN(tanh)`, `nn.GRU` or `nn.LSTM` with `num_layers = L`
//! (1 to [`charm_core::MAX_LAYERS`], one direction), then `nn.Linear(H, V)`; and the
//! exact conversion to and from charm's models.
//!
//! Layer `k` of PyTorch's module has `weight_ih_l{k}` (G·H × I: I = V, or
//! E after an embedding, for the first layer, H above it), `weight_hh_l{k}`
//! (G·H × H), `bias_ih_l{k}` and `bias_hh_l{k}` (G·H), gate `g`'s rows
//! `g·H .. (g+1)·H` in PyTorch's gate order (GRU r, z, n; LSTM i, f, g, o).
//! charm's version-5 model ([`StackedModelView`]) holds exactly these
//! tensors, with two changes of layout and no change of value:
//!
//! ```text
//! layer 1:  wx[c] (row c, V rows) = column order[c] of W_ih      (a row lookup per character)
//! layer k:  wx = W_ih, wh = W_hh, bx = b_ih, bh = b_hh           (rows padded to padded(H))
//! output:   why[c] = W_fc[order[c]],  by[c] = b_fc[order[c]]     (charm's sorted characters)
//! ```
//!
//! so every weight is copied bit for bit and the model computes PyTorch's
//! function ([`charm_core::StackedModelView::step`] keeps `W_i·x + b_i` and
//! `W_h·h + b_h` apart, as the GRU's `r ⊙ (W_hn·h + b_hn)` needs).
//!
//! **The embedding fold.** With `nn.Embedding(V, E)` in front, the first
//! layer's input term for character `j` is `W_ih · emb[j] + b_ih`: a
//! constant per character, so charm stores `wx[c] = W_ih · emb[order[c]]`
//! and runs the same one-hot model. Each entry is a sum of E products of
//! f32 values; the products are exact in f64 (24 + 24 significant bits ≤
//! 53), their sum in f64 is within γ_E⁽⁶⁴⁾ · Σ|w·e| of the exact sum
//! (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1; γ_n =
//! n·2⁻⁵³ / (1 − n·2⁻⁵³)), and the one rounding to f32 adds at most half an
//! ulp:
//!
//! ```text
//! |fold − Σ_e w_e·x_e| ≤ 2⁻²⁴·|Σ_e w_e·x_e| + (1 + 2⁻²⁴)·γ_E⁽⁶⁴⁾·Σ_e |w_e·x_e|
//! ```
//!
//! (PyTorch's own f32 product `W_ih · emb[j]` is within γ_E⁽³²⁾ · Σ|w·e|,
//! about 2²⁹ times more.) A model of one tanh layer, embedded or not, is
//! written as the version-1 model ([`TorchRnn`]) it has always been.

use crate::math::params::Params;
use crate::math::torch::TorchRnn;
use charm_core::{padded, Cell, LayerTensors, ShapeError, StackedModelView};

/// One recurrent layer of PyTorch's module, dense and row-major (no padding).
#[derive(Debug, Clone, PartialEq)]
pub struct TorchLayer {
    /// `weight_ih_l{k}`, G·H × I.
    pub weight_ih: Vec<f32>,
    /// `weight_hh_l{k}`, G·H × H.
    pub weight_hh: Vec<f32>,
    /// `bias_ih_l{k}`, G·H.
    pub bias_ih: Vec<f32>,
    /// `bias_hh_l{k}`, G·H.
    pub bias_hh: Vec<f32>,
}

/// `nn.Embedding(V, E)`'s table: row `j` is character `j`'s vector.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchEmbedding {
    /// E, the length of a character's vector.
    pub dim: usize,
    /// V × E, row-major.
    pub weight: Vec<f32>,
}

/// A model of L layers of one cell, as PyTorch holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchStack {
    /// The cell of every layer.
    pub cell: Cell,
    /// Hidden size H.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// The embedding in front of the first layer, if any.
    pub embedding: Option<TorchEmbedding>,
    /// The layers, from the first; 1 to [`charm_core::MAX_LAYERS`].
    pub layers: Vec<TorchLayer>,
    /// `fc.weight`, V × H.
    pub fc_weight: Vec<f32>,
    /// `fc.bias`, V.
    pub fc_bias: Vec<f32>,
}

/// charm's model for a [`TorchStack`]: one tanh layer is the version-1
/// model ([`Params`]); any other cell or depth a [`StackedTensors`].
#[derive(Debug, Clone, PartialEq)]
pub enum CharmModel {
    /// One tanh layer (written as format version 1).
    Rnn(Params<f32>),
    /// Any other cell or depth (written as format version 5).
    Stacked(StackedTensors),
}

/// The tensors of a [`StackedModelView`], owned: per layer `wx, wh, bx,
/// bh` in its layout ([`charm_core::layer_tensor_lengths`]), then `why`, `by`.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedTensors {
    cell: Cell,
    hidden: usize,
    vocab: usize,
    layers: Vec<[Vec<f32>; 4]>,
    why: Vec<f32>,
    by: Vec<f32>,
}

impl StackedTensors {
    /// The model these tensors hold.
    pub fn view(&self) -> Result<StackedModelView<'_, f32>, ShapeError> {
        let layers: Vec<LayerTensors<'_, f32>> = self
            .layers
            .iter()
            .map(|[wx, wh, bx, bh]| LayerTensors { wx, wh, bx, bh })
            .collect();
        StackedModelView::new(
            self.cell,
            self.hidden,
            self.vocab,
            &layers,
            &self.why,
            &self.by,
        )
    }
}

/// Rows of `m` (each `stride` long) cut to their first `width` values,
/// back to back: a padded matrix made dense.
fn dense_rows(m: &[f32], stride: usize, width: usize) -> Vec<f32> {
    m.chunks_exact(stride)
        .flat_map(|row| row[..width].iter().copied())
        .collect()
}

/// A dense row-major matrix of `width` columns padded to rows of `stride`.
fn padded_rows(m: &[f32], width: usize, stride: usize) -> Vec<f32> {
    let mut out = vec![0.0; m.len() / width.max(1) * stride];
    for (row, dense) in out.chunks_exact_mut(stride).zip(m.chunks_exact(width)) {
        row[..width].copy_from_slice(dense);
    }
    out
}

/// `Σ_e w[e]·x[e]` in f64, rounded once to f32: the embedding fold (module
/// docs: within 2⁻²⁴ of the exact sum, relatively, plus (1 + 2⁻²⁴)·γ_E⁽⁶⁴⁾·Σ|w·x|).
pub fn fold_dot(w: &[f32], x: &[f32]) -> f32 {
    w.iter()
        .zip(x)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum::<f64>() as f32
}

impl TorchStack {
    /// Gates per unit, G.
    pub fn gates(&self) -> usize {
        self.cell.gates()
    }

    /// The first layer's `W_ih` over one-hot inputs (G·H × V): `W_ih` itself,
    /// or `W_ih · emb[j]` for column `j` when an embedding is in front
    /// ([`fold_dot`]).
    pub fn one_hot_input_weights(&self) -> Vec<f32> {
        let first = &self.layers[0];
        let Some(emb) = &self.embedding else {
            return first.weight_ih.clone();
        };
        let (rows, v, e) = (self.gates() * self.hidden, self.vocab, emb.dim);
        let mut w = vec![0.0; rows * v];
        for (r, w_row) in first.weight_ih.chunks_exact(e).take(rows).enumerate() {
            for (j, vector) in emb.weight.chunks_exact(e).take(v).enumerate() {
                w[r * v + j] = fold_dot(w_row, vector);
            }
        }
        w
    }

    /// The model as one `nn.RNN` layer's tensors ([`TorchRnn`]), if it is
    /// one tanh layer (an embedding folded into its input weights).
    pub fn as_rnn(&self) -> Option<TorchRnn> {
        let [l] = &self.layers[..] else { return None };
        (self.cell == Cell::Rnn).then(|| TorchRnn {
            hidden: self.hidden,
            vocab: self.vocab,
            weight_ih: self.one_hot_input_weights(),
            weight_hh: l.weight_hh.clone(),
            bias_ih: l.bias_ih.clone(),
            bias_hh: l.bias_hh.clone(),
            fc_weight: self.fc_weight.clone(),
            fc_bias: self.fc_bias.clone(),
        })
    }

    /// charm's model, characters in charm's order: charm index `c` is
    /// PyTorch index `order[c]` (`order` a permutation of `0..V`).
    pub fn to_charm(&self, order: &[usize]) -> CharmModel {
        let (h, v, g) = (self.hidden, self.vocab, self.gates());
        if let Some(rnn) = self.as_rnn() {
            return CharmModel::Rnn(rnn.to_params(order));
        }
        let w_in = self.one_hot_input_weights();
        let (rows, stride) = (g * h, padded(h));
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let wx = if k == 0 {
                    // wx[c][row] = W_ih[row][order[c]]: one padded row per character.
                    let width = padded(rows);
                    let mut wx = vec![0.0; v * width];
                    for (row_c, &j) in wx.chunks_exact_mut(width).zip(order) {
                        for (r, w) in row_c[..rows].iter_mut().enumerate() {
                            *w = w_in[r * v + j];
                        }
                    }
                    wx
                } else {
                    padded_rows(&l.weight_ih, h, stride)
                };
                [
                    wx,
                    padded_rows(&l.weight_hh, h, stride),
                    l.bias_ih.clone(),
                    l.bias_hh.clone(),
                ]
            })
            .collect();
        let mut why = vec![0.0; v * stride];
        let mut by = vec![0.0; v];
        for ((row, b), &j) in why.chunks_exact_mut(stride).zip(&mut by).zip(order) {
            row[..h].copy_from_slice(&self.fc_weight[j * h..(j + 1) * h]);
            *b = self.fc_bias[j];
        }
        CharmModel::Stacked(StackedTensors {
            cell: self.cell,
            hidden: h,
            vocab: v,
            layers,
            why,
            by,
        })
    }

    /// PyTorch's tensors for a charm model of any cell and depth, in charm's
    /// character order, every value copied (no embedding: charm's first
    /// layer reads one-hot characters).
    pub fn from_stacked(m: &StackedModelView<'_, f32>) -> Self {
        let (h, v, g, stride) = (m.hidden(), m.vocab(), m.cell().gates(), m.stride());
        let rows = g * h;
        let layers = m
            .layers()
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let weight_ih = if k == 0 {
                    let mut w = vec![0.0; rows * v];
                    for (c, row_c) in l.wx.chunks_exact(padded(rows)).enumerate() {
                        for (r, &x) in row_c[..rows].iter().enumerate() {
                            w[r * v + c] = x;
                        }
                    }
                    w
                } else {
                    dense_rows(l.wx, stride, h)
                };
                TorchLayer {
                    weight_ih,
                    weight_hh: dense_rows(l.wh, stride, h),
                    bias_ih: l.bx.to_vec(),
                    bias_hh: l.bh.to_vec(),
                }
            })
            .collect();
        Self {
            cell: m.cell(),
            hidden: h,
            vocab: v,
            embedding: None,
            layers,
            fc_weight: dense_rows(m.why(), stride, h),
            fc_bias: m.by().to_vec(),
        }
    }

    /// The shapes of layer `k`'s four tensors as PyTorch gives them.
    pub fn layer_shapes(&self, k: usize) -> [Vec<usize>; 4] {
        let (h, rows) = (self.hidden, self.gates() * self.hidden);
        let input = match (k, &self.embedding) {
            (0, Some(e)) => e.dim,
            (0, None) => self.vocab,
            _ => h,
        };
        [vec![rows, input], vec![rows, h], vec![rows], vec![rows]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose every value differs: weights count up from `start` in steps of 1/64.
    fn counting(cell: Cell, hidden: usize, vocab: usize, depth: usize) -> TorchStack {
        let mut next = 0.0f32;
        let mut values = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    next += 1.0 / 64.0;
                    next
                })
                .collect()
        };
        let rows = cell.gates() * hidden;
        let layers = (0..depth)
            .map(|k| TorchLayer {
                weight_ih: values(rows * if k == 0 { vocab } else { hidden }),
                weight_hh: values(rows * hidden),
                bias_ih: values(rows),
                bias_hh: values(rows),
            })
            .collect();
        TorchStack {
            cell,
            hidden,
            vocab,
            embedding: None,
            layers,
            fc_weight: values(vocab * hidden),
            fc_bias: values(vocab),
        }
    }

    #[test]
    fn a_stack_goes_to_charm_and_back_unchanged() {
        for (cell, depth) in [
            (Cell::Gru, 1),
            (Cell::Lstm, 2),
            (Cell::Rnn, 3),
            (Cell::Gru, 4),
        ] {
            let t = counting(cell, 5, 3, depth);
            let CharmModel::Stacked(s) = t.to_charm(&[0, 1, 2]) else {
                panic!("{cell:?} × {depth} is a stacked model")
            };
            let back = TorchStack::from_stacked(&s.view().unwrap());
            assert_eq!(back, t, "{cell:?} × {depth}");
        }
    }

    #[test]
    fn the_characters_move_input_columns_and_output_rows() {
        // GRU, H 1 (3 gate rows), V 3; charm index c is PyTorch index order[c].
        let mut t = counting(Cell::Gru, 1, 3, 1);
        t.layers[0].weight_ih = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        t.fc_weight = vec![10.0, 20.0, 30.0];
        t.fc_bias = vec![-1.0, -2.0, -3.0];
        let CharmModel::Stacked(s) = t.to_charm(&[2, 0, 1]) else {
            panic!("a GRU is a stacked model")
        };
        let m = s.view().unwrap();
        let width = padded(3);
        // Character 0 is PyTorch's 2: column 2 of W_ih, gates r, z, n.
        assert_eq!(&m.layers()[0].wx[..3], &[3.0, 6.0, 9.0]);
        assert_eq!(&m.layers()[0].wx[width..width + 3], &[1.0, 4.0, 7.0]);
        assert_eq!(m.why()[0], 30.0);
        assert_eq!(m.by(), &[-3.0, -1.0, -2.0]);
    }

    #[test]
    fn one_tanh_layer_is_the_version_1_model_and_an_embedding_folds_into_it() {
        let mut t = counting(Cell::Rnn, 2, 3, 1);
        // E = 2: W_ih is H × E.
        t.layers[0].weight_ih = vec![1.0, 2.0, -1.0, 0.5];
        t.embedding = Some(TorchEmbedding {
            dim: 2,
            weight: vec![1.0, 0.0, 0.0, 1.0, 3.0, -2.0],
        });
        let CharmModel::Rnn(p) = t.to_charm(&[0, 1, 2]) else {
            panic!("one tanh layer is the version-1 model")
        };
        let m = p.view();
        let s = m.stride();
        // Column j of W_ih · emb: emb[0] = e0 picks column 0, emb[2] = (3, -2).
        assert_eq!(&m.wxh()[..2], &[1.0, -1.0]);
        assert_eq!(&m.wxh()[s..s + 2], &[2.0, 0.5]);
        assert_eq!(&m.wxh()[2 * s..2 * s + 2], &[3.0 - 4.0, -3.0 - 1.0]);
    }
}
