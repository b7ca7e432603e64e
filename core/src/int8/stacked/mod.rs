//! int8 models of any cell and depth (format version 5): the layers of
//! [`crate::StackedModelView`] with every matrix quantized per row and
//! multiplied by the kernels of the one-layer int8 models.
//!
//! # Quantization
//!
//! Every matrix row gets one symmetric scale, as the one-layer int8 models
//! do: `s = max|w_row| / 127`, `q = round(w / s)` (`roundf`: half away from
//! zero; `q ∈ [−127, 127]`, so `|w − s·q| ≤ s/2 = max|w_row|/254`); biases
//! stay f32. The rows are:
//!
//! - layer 1's `W_i` over the one-hot input: stored as the f32 model stores
//!   it, one row per character (column `x` of `W_i`, its `G·H` gate rows),
//!   with one scale per character, as the one-layer model's `wxh`;
//! - every other `W_i` (over the Q15 or int8 h of the layer below) and
//!   every `W_h`: one scale per gate row, each gate's `H` rows a matrix of
//!   its own in the layout [`Int8Layout`] ([`RowPairs`]: pairs of rows,
//!   [`Tiles`]: 4 × 16 tiles), so that a gate's rows start at a pair's or a
//!   tile group's start;
//! - `W_hy`: one scale per character, as the one-layer models.
//!
//! # The step
//!
//! The state of a layer is its h as levels (`h ≈ hq / ONE`: Q15 for row
//! pairs, int8 for tiles), padded to the layout's stride with zeros, and for
//! an LSTM its f32 cell state c, kept as its 32 bits in 2 (Q15) or 4 (int8)
//! state elements per unit. For each layer, from the first, and each unit
//! `r` and gate `g` (row `ρ = g·H + r`):
//!
//! ```text
//! hidden term  h_g = scaled(Σ_c Wh_q[ρ,c]·hq_c, sh_ρ) + bh_ρ
//! input term   x_g = Wx_q[x, ρ] as f32 · sx_x + bx_ρ                     (layer 1: a row lookup)
//!              x_g = scaled(Σ_c Wx_q[ρ,c]·hq'_below,c, sx_ρ) + bx_ρ        (layers 2 …)
//! scaled(acc, s) = ((acc as f32) · s) / 32767   (row pairs, as QuantModelView::step)
//!                = (acc as f32) · m,  m = s/127 (tiles, as TiledModelView::step)
//! ```
//!
//! then the cell's update on levels (each cell's `update_int8`: the GRU's
//! and the LSTM's equations with `tanh_q15`/`tanh_i8` and
//! `σ(u) = (1 + tanh(u/2))/2` from the same table), and after the last
//! layer `y_j = scaled(Σ_c Why_q[j,c]·hq_c, sy_j) + by_j`. The sums are
//! exact i32 (H ≤ [`crate::MAX_HIDDEN_INT8`]), whatever order a kernel adds
//! in; every f32 operation has a fixed order (`add`, `mul`, `div_by_32767`
//! are IEEE-754's `+`, `*`, `/ 32767`), so the host and every core compute
//! the same bits.

pub(crate) mod layout;
#[cfg(feature = "alloc")]
mod quantize;

pub use layout::{Int8Layout, RowPairs, Tiles};
#[cfg(feature = "alloc")]
pub use quantize::{quantize_stacked, Int8StackedModel};

use crate::cell::{Cell, Gru, Lstm, Rnn, Unit, MAX_GATES, MAX_LAYERS};
use crate::int8::row_pairs::MAX_HIDDEN_INT8;
use crate::kernels::padded;
use crate::math::soft_f32::{add, mul};
use crate::model::{check_lengths, ShapeError};
use crate::sample::StateElement;
use core::marker::PhantomData;

/// Units whose gate rows one pass of the step multiplies: 16 rows of each
/// gate matrix a kernel call (8 row pairs, or 4 tile groups).
pub(crate) const CHUNK: usize = 16;

/// The int8 tensors of one layer (`G = cell.gates()`, layout `L`):
///
/// | tensor | type | elements |
/// |---|---|---|
/// | `wx` (layer 1) | i8 | V · padded(G·H): row `x` = column `x` of W_i, natural order |
/// | `wx` (layers 2 …) | i8 | G · `L`'s matrix of H rows over H columns: W_i, gate by gate |
/// | `wh` | i8 | G · `L`'s matrix of H rows: W_h, gate by gate |
/// | `wx_scale` | f32 | V (layer 1) or G·H |
/// | `wh_scale` | f32 | G·H |
/// | `bx`, `bh` | f32 | G·H each |
///
/// A scale is `s` (row pairs) or `s/127` (tiles), `s = max|w_row| / 127`
/// (module docs of `int8::stacked`).
#[derive(Debug, Clone, Copy)]
pub struct Int8LayerTensors<'a> {
    /// W_i, quantized.
    pub wx: &'a [i8],
    /// W_h, quantized.
    pub wh: &'a [i8],
    /// The scale of each row of `wx`.
    pub wx_scale: &'a [f32],
    /// The scale of each row of `wh`.
    pub wh_scale: &'a [f32],
    /// b_i.
    pub bx: &'a [f32],
    /// b_h.
    pub bh: &'a [f32],
}

impl Int8LayerTensors<'_> {
    const EMPTY: Self = Int8LayerTensors {
        wx: &[],
        wh: &[],
        wx_scale: &[],
        wh_scale: &[],
        bx: &[],
        bh: &[],
    };
}

/// Borrowed int8 weights of a model of `depth` layers of one [`Cell`] in the
/// layout `L` ([`RowPairs`] or [`Tiles`]): the layers ([`Int8LayerTensors`]),
/// then `why` (`L`'s matrix of V rows over H columns), `why_scale` (V) and
/// `by` (V). The step is in the module docs of `int8::stacked`.
#[derive(Debug, Clone, Copy)]
pub struct Int8StackedModelView<'a, L: Int8Layout> {
    cell: Cell,
    hidden: usize,
    vocab: usize,
    depth: usize,
    layers: [Int8LayerTensors<'a>; MAX_LAYERS],
    why: &'a [i8],
    why_scale: &'a [f32],
    by: &'a [f32],
    layout: PhantomData<L>,
}

/// An int8 stacked model as row pairs with a Q15 state (every core).
pub type QuantStackedModelView<'a> = Int8StackedModelView<'a, RowPairs>;
/// An int8 stacked model as tiles with an int8 state (the Cortex-M55).
pub type TiledStackedModelView<'a> = Int8StackedModelView<'a, Tiles>;

/// Names of the layers' tensors in errors.
const NAMES: [[&str; 6]; MAX_LAYERS] = [
    [
        "layer 1 wx",
        "layer 1 wh",
        "layer 1 wx_scale",
        "layer 1 wh_scale",
        "layer 1 bx",
        "layer 1 bh",
    ],
    [
        "layer 2 wx",
        "layer 2 wh",
        "layer 2 wx_scale",
        "layer 2 wh_scale",
        "layer 2 bx",
        "layer 2 bh",
    ],
    [
        "layer 3 wx",
        "layer 3 wh",
        "layer 3 wx_scale",
        "layer 3 wh_scale",
        "layer 3 bx",
        "layer 3 bh",
    ],
    [
        "layer 4 wx",
        "layer 4 wh",
        "layer 4 wx_scale",
        "layer 4 wh_scale",
        "layer 4 bx",
        "layer 4 bh",
    ],
];

/// The name of layer `layer`'s tensor `t` (0 wx, 1 wh, 2 wx_scale, 3
/// wh_scale, 4 bx, 5 bh) in errors.
pub(crate) fn int8_layer_tensor_name(layer: usize, t: usize) -> &'static str {
    NAMES
        .get(layer)
        .and_then(|n| n.get(t))
        .copied()
        .unwrap_or("layer")
}

/// Lengths of layer `layer`'s int8 tensors `[wx, wh]` and f32 tensors
/// `[wx_scale, wh_scale, bx, bh]` in layout `L` ([`Int8LayerTensors`]).
///
/// ```
/// use charm_core::{int8_layer_tensor_lengths, Cell, RowPairs, Tiles};
/// // GRU, H 10 (stride 16), V 5: three gate matrices of 5 row pairs of 2·16 bytes.
/// assert_eq!(
///     int8_layer_tensor_lengths::<RowPairs>(Cell::Gru, 10, 5, 1),
///     ([3 * 160, 3 * 160], [30, 30, 30, 30])
/// );
/// // tiles: 12 rows (3 groups) of 16 columns per gate; layer 1 reads characters.
/// assert_eq!(
///     int8_layer_tensor_lengths::<Tiles>(Cell::Gru, 10, 5, 0),
///     ([5 * 32, 3 * 192], [5, 30, 30, 30])
/// );
/// ```
pub fn int8_layer_tensor_lengths<L: Int8Layout>(
    cell: Cell,
    hidden: usize,
    vocab: usize,
    layer: usize,
) -> ([usize; 2], [usize; 4]) {
    let (g, rows) = (cell.gates(), cell.gates() * hidden);
    let square = g * L::matrix_len(hidden, hidden);
    if layer == 0 {
        ([vocab * padded(rows), square], [vocab, rows, rows, rows])
    } else {
        ([square, square], [rows, rows, rows, rows])
    }
}

impl<'a, L: Int8Layout> Int8StackedModelView<'a, L> {
    /// Checks the hidden size (1 to [`MAX_HIDDEN_INT8`]), the depth (1 to
    /// [`MAX_LAYERS`]) and every tensor's length
    /// ([`int8_layer_tensor_lengths`]; `why` `L`'s matrix of V rows,
    /// `why_scale` and `by` V).
    pub fn new(
        cell: Cell,
        hidden: usize,
        vocab: usize,
        layers: &[Int8LayerTensors<'a>],
        why: &'a [i8],
        why_scale: &'a [f32],
        by: &'a [f32],
    ) -> Result<Self, ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        if hidden > MAX_HIDDEN_INT8 {
            return Err(ShapeError::HiddenTooLarge {
                hidden,
                max: MAX_HIDDEN_INT8,
            });
        }
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(ShapeError::Depth {
                layers: layers.len(),
                max: MAX_LAYERS,
            });
        }
        let mut stored = [Int8LayerTensors::EMPTY; MAX_LAYERS];
        for (l, (layer, slot)) in layers.iter().zip(&mut stored).enumerate() {
            let (n8, n32) = int8_layer_tensor_lengths::<L>(cell, hidden, vocab, l);
            let names = NAMES[l];
            check_lengths(&[(names[0], layer.wx), (names[1], layer.wh)], &n8)?;
            let floats = [
                (names[2], layer.wx_scale),
                (names[3], layer.wh_scale),
                (names[4], layer.bx),
                (names[5], layer.bh),
            ];
            check_lengths(&floats, &n32)?;
            *slot = *layer;
        }
        check_lengths(&[("why", why)], &[L::matrix_len(vocab, hidden)])?;
        check_lengths(&[("why_scale", why_scale), ("by", by)], &[vocab, vocab])?;
        Ok(Self {
            cell,
            hidden,
            vocab,
            depth: layers.len(),
            layers: stored,
            why,
            why_scale,
            by,
            layout: PhantomData,
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
    /// The layers' tensors, from the first.
    pub fn layers(&self) -> &[Int8LayerTensors<'a>] {
        &self.layers[..self.depth]
    }
    /// W_hy, quantized, in the layout.
    pub fn why(&self) -> &'a [i8] {
        self.why
    }
    /// The scale of each row of `why`.
    pub fn why_scale(&self) -> &'a [f32] {
        self.why_scale
    }
    /// b_y.
    pub fn by(&self) -> &'a [f32] {
        self.by
    }
    /// State elements of one layer: the stride of h (`padded(H)` for row
    /// pairs, H rounded up to 16 for tiles), and for an LSTM as many again
    /// 2 (Q15) or 4 (int8) times for its f32 c.
    pub fn layer_state_len(&self) -> usize {
        let s = L::stride(self.hidden);
        match self.cell {
            Cell::Lstm => s * (1 + L::C_LANES),
            _ => s,
        }
    }
    /// State elements of the model: `depth ·`
    /// [`layer_state_len`](Self::layer_state_len) (a 2-layer LSTM of H 128
    /// as row pairs: 2 · 3 · 128 = 768 i16).
    pub fn state_len(&self) -> usize {
        self.depth * self.layer_state_len()
    }

    /// One int8 step of every layer, then the output layer (module docs of
    /// `int8::stacked`). `state` and `next` need [`state_len`](Self::state_len)
    /// elements and `logits` V, and `x < V`; otherwise what is written is
    /// unspecified (never a panic; [`crate::Generator`] always passes such
    /// buffers).
    pub fn step(&self, state: &[L::State], x: usize, next: &mut [L::State], logits: &mut [f32]) {
        match self.cell {
            Cell::Rnn => self.step_layers::<Rnn>(state, x, next),
            Cell::Gru => self.step_layers::<Gru>(state, x, next),
            Cell::Lstm => self.step_layers::<Lstm>(state, x, next),
        }
        let per = self.layer_state_len();
        let top = (self.depth - 1) * per;
        let s = L::stride(self.hidden);
        let Some(h) = next.get(top..top + s) else {
            return;
        };
        let sum = L::state_sum(h);
        let (Some(logits), Some(why_scale), Some(by)) = (
            logits.get_mut(..self.vocab),
            self.why_scale.get(..self.vocab),
            self.by.get(..self.vocab),
        ) else {
            return;
        };
        let mut acc = [0i32; CHUNK];
        let rows = logits
            .chunks_mut(CHUNK)
            .zip(why_scale.chunks(CHUNK))
            .zip(by.chunks(CHUNK));
        for (i, ((y, sy), b)) in rows.enumerate() {
            let w = self.why.get(i * CHUNK * s..).unwrap_or(&[]);
            if !L::dots(w, self.hidden, h, sum, y.len(), &mut acc) {
                return;
            }
            // y_j = scaled(acc_j, sy_j) + by_j
            for (((y, &acc), &sy), &b) in y.iter_mut().zip(&acc).zip(sy).zip(b) {
                *y = add(L::scaled(acc, sy), b);
            }
        }
    }

    /// Every layer's new state in `next`, layer by layer from the first.
    fn step_layers<U: Unit>(&self, state: &[L::State], x: usize, next: &mut [L::State]) {
        let (hidden, s) = (self.hidden, L::stride(self.hidden));
        let per = self.layer_state_len();
        let gate_len = L::matrix_len(hidden, hidden);
        let one_hot = padded(U::GATES * hidden);
        for (l, layer) in self.layers().iter().enumerate() {
            let (below, this) = next.split_at_mut(l * per);
            let (Some(prev), Some(cur)) = (state.get(l * per..(l + 1) * per), this.get_mut(..per))
            else {
                return;
            };
            let (h_prev, c_prev) = prev.split_at(s.min(prev.len()));
            let (h_next, c_next) = cur.split_at_mut(s.min(cur.len()));
            // the one-hot row and its scale (layer 1), or the layer below's h
            let input = match l.checked_sub(1) {
                None => {
                    let (Some(row), Some(&sx)) =
                        (layer.wx.chunks_exact(one_hot).nth(x), layer.wx_scale.get(x))
                    else {
                        return;
                    };
                    Input::OneHot(row, sx)
                }
                Some(b) => match below.get(b * per..b * per + s) {
                    Some(h) => Input::Below(h, L::state_sum(h)),
                    None => return,
                },
            };
            let sum_h = L::state_sum(h_prev);
            let (mut hd, mut xd) = ([[0i32; CHUNK]; MAX_GATES], [[0i32; CHUNK]; MAX_GATES]);
            for r0 in (0..hidden).step_by(CHUNK) {
                let rows = CHUNK.min(hidden - r0);
                for g in 0..U::GATES {
                    let at = g * gate_len + r0 * s;
                    let wh = layer.wh.get(at..(g + 1) * gate_len).unwrap_or(&[]);
                    if !L::dots(wh, hidden, h_prev, sum_h, rows, &mut hd[g]) {
                        return;
                    }
                    if let Input::Below(h, sum) = input {
                        let wx = layer.wx.get(at..(g + 1) * gate_len).unwrap_or(&[]);
                        if !L::dots(wx, hidden, h, sum, rows, &mut xd[g]) {
                            return;
                        }
                    }
                }
                for i in 0..rows {
                    let r = r0 + i;
                    let (mut x_terms, mut h_terms) = ([0.0f32; MAX_GATES], [0.0f32; MAX_GATES]);
                    for g in 0..U::GATES {
                        let row = g * hidden + r;
                        let (Some(&sh), Some(&bh), Some(&bx)) = (
                            layer.wh_scale.get(row),
                            layer.bh.get(row),
                            layer.bx.get(row),
                        ) else {
                            return;
                        };
                        // h_g = scaled(Σ Wh_q·hq, sh) + bh
                        h_terms[g] = add(L::scaled(hd[g][i], sh), bh);
                        x_terms[g] = match input {
                            // x_g = Wx_q[x, ρ]·sx + bx
                            Input::OneHot(column, sx) => {
                                let q = column.get(row).copied().unwrap_or(0);
                                add(mul(f32::from(q), sx), bx)
                            }
                            // x_g = scaled(Σ Wx_q·hq_below, sx_ρ) + bx
                            Input::Below(..) => {
                                let sx = layer.wx_scale.get(row).copied().unwrap_or(0.0);
                                add(L::scaled(xd[g][i], sx), bx)
                            }
                        };
                    }
                    let lanes = r * L::C_LANES..(r + 1) * L::C_LANES;
                    let c = c_prev.get(lanes.clone()).map_or(0.0, L::load_c);
                    let hq = h_prev.get(r).map_or(0, |&h| L::level(h));
                    let (hq, c) = U::update_int8::<L>(&x_terms, &h_terms, (hq, c));
                    if let Some(h) = h_next.get_mut(r) {
                        *h = L::from_level(hq);
                    }
                    if let Some(lanes) = c_next.get_mut(lanes) {
                        L::store_c(lanes, c);
                    }
                }
            }
            // the padding of h stays zero, for the kernels of the next product
            if let Some(padding) = h_next.get_mut(hidden..) {
                padding.fill(L::State::ZERO);
            }
        }
    }
}

/// A layer's input: a character's row of the first layer's `wx` and its
/// scale, or the layer below's h and what the kernels need of it.
#[derive(Clone, Copy)]
enum Input<'a, S> {
    OneHot(&'a [i8], f32),
    Below(&'a [S], Option<i32>),
}
