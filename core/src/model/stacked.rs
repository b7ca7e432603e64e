//! A model of L layers of one recurrent cell (format version 5): a one-hot
//! input, the layers, and the output layer, its weights borrowed, and its
//! forward step.

use super::error::{check_lengths, ShapeError, StepError};
use crate::cell::{Cell, Gru, Lstm, Rnn, Unit, MAX_GATES, MAX_LAYERS};
use crate::kernels::{matvec_bias, padded};
use crate::Float;

/// The four tensors of one layer: PyTorch's `weight_ih_l{k}`,
/// `weight_hh_l{k}`, `bias_ih_l{k}` and `bias_hh_l{k}`, rows in its gate
/// order (`G = cell.gates()`, `S = padded(H)`):
///
/// | tensor | rows × stride | meaning |
/// |---|---|---|
/// | `wx` (layer 1) | V × padded(G·H) | row `x` is column `x` of W_i: the input term of character `x` is one contiguous row |
/// | `wx` (layers 2 …) | G·H × S | W_i, its input the layer below's h |
/// | `wh` | G·H × S | W_h |
/// | `bx` | G·H | b_i |
/// | `bh` | G·H | b_h |
///
/// Gate `g`'s row for unit `r` is row `g·H + r`, as in PyTorch.
#[derive(Debug, Clone, Copy)]
pub struct LayerTensors<'a, F> {
    /// W_i (the input weights), layout above.
    pub wx: &'a [F],
    /// W_h (the recurrent weights), padded rows.
    pub wh: &'a [F],
    /// b_i.
    pub bx: &'a [F],
    /// b_h.
    pub bh: &'a [F],
}

impl<'a, F> LayerTensors<'a, F> {
    /// No tensors: the unused layers of a view.
    const EMPTY: Self = LayerTensors {
        wx: &[],
        wh: &[],
        bx: &[],
        bh: &[],
    };
}

/// Lengths of layer `layer`'s tensors (0 is the first), in the order wx,
/// wh, bx, bh (see [`LayerTensors`]).
///
/// ```
/// use charm_core::{layer_tensor_lengths, Cell};
/// // GRU, H 10 (stride 16), V 5: 3·10 = 30 gate rows, the one-hot rows padded to 32.
/// assert_eq!(layer_tensor_lengths(Cell::Gru, 10, 5, 0), [5 * 32, 30 * 16, 30, 30]);
/// assert_eq!(layer_tensor_lengths(Cell::Gru, 10, 5, 1), [30 * 16, 30 * 16, 30, 30]);
/// ```
pub const fn layer_tensor_lengths(
    cell: Cell,
    hidden: usize,
    vocab: usize,
    layer: usize,
) -> [usize; 4] {
    let (rows, stride) = (cell.gates() * hidden, padded(hidden));
    let wx = if layer == 0 {
        vocab * padded(rows)
    } else {
        rows * stride
    };
    [wx, rows * stride, rows, rows]
}

/// Names of the layers' tensors in errors, by layer.
const LAYER_TENSOR_NAMES: [[&str; 4]; MAX_LAYERS] = [
    ["layer 1 wx", "layer 1 wh", "layer 1 bx", "layer 1 bh"],
    ["layer 2 wx", "layer 2 wh", "layer 2 bx", "layer 2 bh"],
    ["layer 3 wx", "layer 3 wh", "layer 3 bx", "layer 3 bh"],
    ["layer 4 wx", "layer 4 wh", "layer 4 bx", "layer 4 bh"],
];

#[cfg(feature = "cells")]
/// The name of layer `layer`'s tensor `tensor` (0 wx, 1 wh, 2 bx, 3 bh) in errors.
pub(crate) fn layer_tensor_name(layer: usize, tensor: usize) -> &'static str {
    LAYER_TENSOR_NAMES
        .get(layer)
        .and_then(|names| names.get(tensor))
        .copied()
        .unwrap_or("layer")
}

/// Borrowed weights of a character model of `depth` layers of one
/// [`Cell`] with `hidden` units each and `vocab` characters: the layers
/// ([`LayerTensors`]), then the output layer `why` (V × padded(H), row-major,
/// padded rows) and `by` (V), read from the last layer's h.
///
/// Its state is `depth` blocks of [`Cell::state_vectors`]` · H` values, one
/// per layer from the first: h, then for an LSTM c
/// ([`StackedModelView::state_len`]).
#[derive(Debug, Clone, Copy)]
pub struct StackedModelView<'a, F> {
    cell: Cell,
    hidden: usize,
    vocab: usize,
    depth: usize,
    layers: [LayerTensors<'a, F>; MAX_LAYERS],
    why: &'a [F],
    by: &'a [F],
}

/// Units whose gate terms the step computes in one pass: [`matvec_bias`]
/// multiplies that many rows of each gate's matrices at a time (on the Arm
/// FPU cores its assembly kernel, two rows per pass over the vector), then
/// the cell updates those units. 16, as the int8 step's: the terms of one
/// pass, 2 · 4 gates · 16 values, sit on the stack (512 bytes in f32).
const UNITS_PER_PASS: usize = 16;

/// A layer's input: a character (the first layer) or the layer below's h.
#[derive(Clone, Copy)]
enum Input<'a, F> {
    /// The row of the first layer's `wx` for the character.
    OneHot(&'a [F]),
    /// The h the layer below computed in this step.
    Below(&'a [F]),
}

impl<'a, F: Float> StackedModelView<'a, F> {
    /// Checks the depth (1 to [`MAX_LAYERS`]) and every tensor's length
    /// against `cell`, `hidden` and `vocab` ([`layer_tensor_lengths`]; `why`
    /// V·padded(H), `by` V).
    pub fn new(
        cell: Cell,
        hidden: usize,
        vocab: usize,
        layers: &[LayerTensors<'a, F>],
        why: &'a [F],
        by: &'a [F],
    ) -> Result<Self, ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(ShapeError::Depth {
                layers: layers.len(),
                max: MAX_LAYERS,
            });
        }
        let mut stored = [LayerTensors::EMPTY; MAX_LAYERS];
        for (l, (layer, slot)) in layers.iter().zip(&mut stored).enumerate() {
            let given = [layer.wx, layer.wh, layer.bx, layer.bh];
            let names = LAYER_TENSOR_NAMES[l];
            let named = [
                (names[0], given[0]),
                (names[1], given[1]),
                (names[2], given[2]),
                (names[3], given[3]),
            ];
            check_lengths(&named, &layer_tensor_lengths(cell, hidden, vocab, l))?;
            *slot = *layer;
        }
        check_lengths(
            &[("why", why), ("by", by)],
            &[vocab * padded(hidden), vocab],
        )?;
        Ok(Self {
            cell,
            hidden,
            vocab,
            depth: layers.len(),
            layers: stored,
            why,
            by,
        })
    }

    /// The cell every layer is made of.
    pub fn cell(&self) -> Cell {
        self.cell
    }
    /// Hidden size H of every layer.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.vocab
    }
    /// Layers L.
    pub fn depth(&self) -> usize {
        self.depth
    }
    /// Stored row length of the square matrices, `padded(H)`.
    pub fn stride(&self) -> usize {
        padded(self.hidden)
    }
    /// The layers' tensors, from the first (the one reading characters).
    pub fn layers(&self) -> &[LayerTensors<'a, F>] {
        &self.layers[..self.depth]
    }
    /// W_hy, row-major, padded rows.
    pub fn why(&self) -> &'a [F] {
        self.why
    }
    /// b_y.
    pub fn by(&self) -> &'a [F] {
        self.by
    }
    /// Values of state the model carries: `depth · state_vectors · H`
    /// (an LSTM of 2 layers of H 128: 2 · 2 · 128 = 512).
    pub fn state_len(&self) -> usize {
        self.depth * self.cell.state_vectors() * self.hidden
    }

    /// One forward step of every layer, then the output layer:
    ///
    /// ```text
    /// layer 1:     input term (W_i·onehot(x) + b_i) = wx[x] + bx (a row lookup)
    /// layer l > 1: input term  W_i·h_{l−1}' + b_i   (the layer below's new h)
    /// each layer:  hidden term W_h·h_l + b_h, then the cell's update (crate docs of each cell)
    /// y = W_hy·h_L' + b_y                          (logits)
    /// ```
    ///
    /// Every product of rows and a vector, the logits' too, is
    /// [`matvec_bias`]: per row [`crate::dot`]'s fixed order, then the bias,
    /// the same bits on every target (the Arm FPU cores run it in assembly,
    /// two rows at a time). `state` and
    /// `state_next` have [`StackedModelView::state_len`] values, `logits` V;
    /// a wrong length or `x ≥ V` is an error, never a panic.
    pub fn step(
        &self,
        state: &[F],
        x: usize,
        state_next: &mut [F],
        logits: &mut [F],
    ) -> Result<(), StepError> {
        let n = self.state_len();
        let lengths = [
            ("state", state.len(), n),
            ("next state", state_next.len(), n),
            ("logits", logits.len(), self.vocab),
        ];
        for (buffer, found, expected) in lengths {
            if found != expected {
                return Err(StepError::Shape(ShapeError::BufferLength {
                    buffer,
                    expected,
                    found,
                }));
            }
        }
        if x >= self.vocab {
            return Err(StepError::InputOutOfRange {
                index: x,
                vocab: self.vocab,
            });
        }
        self.step_unchecked_shapes(state, x, state_next, logits);
        Ok(())
    }

    /// [`StackedModelView::step`] without the checks, for callers that
    /// checked the shapes once (the generator). Still safe: a wrong shape
    /// gives a wrong answer or leaves buffers unwritten, never a panic or UB.
    #[inline]
    pub fn step_unchecked_shapes(
        &self,
        state: &[F],
        x: usize,
        state_next: &mut [F],
        logits: &mut [F],
    ) {
        match self.cell {
            Cell::Rnn => self.step_layers::<Rnn>(state, x, state_next),
            Cell::Gru => self.step_layers::<Gru>(state, x, state_next),
            Cell::Lstm => self.step_layers::<Lstm>(state, x, state_next),
        }
        // y = Why · h_L + by
        let per_layer = self.cell.state_vectors() * self.hidden;
        let top = (self.depth - 1) * per_layer;
        if let Some(h) = state_next.get(top..top + self.hidden) {
            matvec_bias(logits, self.why, self.stride(), h, self.by);
        }
    }

    /// Every layer's new state in `state_next`, layer by layer from the first.
    fn step_layers<U: Unit>(&self, state: &[F], x: usize, state_next: &mut [F]) {
        let (hidden, stride) = (self.hidden, self.stride());
        let per_layer = U::STATES * hidden;
        let rows = U::GATES * hidden;
        for (l, layer) in self.layers().iter().enumerate() {
            let (below, this) = state_next.split_at_mut(l * per_layer);
            let (Some(prev), Some(next)) = (
                state.get(l * per_layer..(l + 1) * per_layer),
                this.get_mut(..per_layer),
            ) else {
                return;
            };
            let input = match l.checked_sub(1) {
                None => {
                    let row = layer.wx.chunks_exact(padded(rows)).nth(x);
                    Input::OneHot(row.unwrap_or(&[]))
                }
                Some(b) => Input::Below(
                    below
                        .get(b * per_layer..b * per_layer + hidden)
                        .unwrap_or(&[]),
                ),
            };
            let (h_prev, c_prev) = prev.split_at(hidden);
            let (h_next, c_next) = next.split_at_mut(hidden);
            let (mut in_terms, mut h_terms) = (
                [[F::ZERO; UNITS_PER_PASS]; MAX_GATES],
                [[F::ZERO; UNITS_PER_PASS]; MAX_GATES],
            );
            for r0 in (0..hidden).step_by(UNITS_PER_PASS) {
                let units = UNITS_PER_PASS.min(hidden - r0);
                for g in 0..U::GATES {
                    // rows ρ = g·H + r for r in r0 .. r0 + units
                    let first = g * hidden + r0;
                    let (Some(bx), Some(bh)) = (
                        layer.bx.get(first..first + units),
                        layer.bh.get(first..first + units),
                    ) else {
                        return;
                    };
                    // hidden term  h_g = W_h[ρ]·h + b_h[ρ]
                    let wh = layer.wh.get(first * stride..).unwrap_or(&[]);
                    matvec_bias(&mut h_terms[g][..units], wh, stride, h_prev, bh);
                    // input term  x_g = W_i[ρ]·x + b_i[ρ]
                    match input {
                        Input::OneHot(column) => {
                            let column = column.get(first..).unwrap_or(&[]);
                            for ((term, &w), &b) in
                                in_terms[g][..units].iter_mut().zip(column).zip(bx)
                            {
                                *term = w + b;
                            }
                        }
                        Input::Below(h) => {
                            let wx = layer.wx.get(first * stride..).unwrap_or(&[]);
                            matvec_bias(&mut in_terms[g][..units], wx, stride, h, bx);
                        }
                    }
                }
                for k in 0..units {
                    let r = r0 + k;
                    // unit r's terms of every gate
                    let unit_in = core::array::from_fn(|g| in_terms[g][k]);
                    let unit_h = core::array::from_fn(|g| h_terms[g][k]);
                    let c = c_prev.get(r).copied().unwrap_or(F::ZERO);
                    let [h, c] = U::update(&unit_in, &unit_h, [h_prev[r], c]);
                    h_next[r] = h;
                    if let Some(c_next) = c_next.get_mut(r) {
                        *c_next = c;
                    }
                }
            }
        }
    }
}
