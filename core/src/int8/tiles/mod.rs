//! int8 tiles: int8 weights in 4 × 16 tiles and an int8 state, the layout
//! Helium (the Cortex-M55's MVE) multiplies at one instruction per 16 MACs.
//!
//! Weights are quantized per row as for [`crate::QuantModelView`]
//! (`q = round(w / s)`, `s = max|w_row| / 127`), but the hidden state is int8
//! too: `h ≈ hq / 127`, `hq ∈ [-127, 127]`. A row of `W_hh·h` is then
//! `s_r/127 · Σ_c q_rc·hq_c`, an exact i32 sum (|Σ| ≤ 16384·127·127 < 2³¹),
//! and the file stores `m_r = s_r / 127` so that the step multiplies once.
//! The state's 255 levels cost the model almost nothing: `charm eval` on
//! tinyshakespeare's last 111,539 characters scores the H 128 model of the
//! repository's docs/int8.md 2.1369 nats/char as f32, 2.1370 as row pairs
//! (Q15 state) and 2.1372 as tiles (`scripts/tables.sh measure`, then
//! `scripts/tables.sh formats`).
//!
//! # Tiles: sixteen MACs an instruction
//!
//! `whh` and `why` hold their rows in groups of four (a missing row is zero),
//! and each group as tiles of four rows × 16 columns, one after another:
//!
//! ```text
//! group g, columns 16k … 16k+15:   row 4g   (16 bytes)   row 4g+1   row 4g+2   row 4g+3
//! byte offset                      g·4S + 64k + 16·(r mod 4) + (c mod 16)
//! ```
//!
//! with the row stride `S` = H rounded up to 16 (zero columns). A Cortex-M55
//! reads a whole matrix as one stream: per 16 columns one load of the state
//! (VLDRB) and, per row, one load of 16 weights and one VMLADAVA.S8 (16
//! multiply-accumulates into a scalar): 9 instructions and a loop branch per
//! 64 MACs, 0.16 per MAC. [`TiledModelView::step`] computes the same
//! integers portably everywhere else; padding is checked to be zero when a
//! view is made, so the sums never depend on what a state's padding holds.

use crate::int8::tanh_i8::tanh_i8;
use crate::int8::tensors::QuantTensors;
use crate::model::ShapeError;
use core::mem::MaybeUninit;

/// Columns of a tile: the row stride is a multiple of this.
pub const TILE_COLUMNS: usize = 16;
/// Rows of a tile: `whh` and `why` have a multiple of this many rows.
pub const TILE_ROWS: usize = 4;
/// Int8 state full scale: `h ≈ hq / 127`.
pub const I8_ONE: f32 = 127.0;
/// Rows per run of dot products in the step: the size of its buffer of sums
/// on the stack (128 × 4 bytes, left uninitialized: the dot products write
/// it), one run a layer for H and V up to 128.
const ROW_RUN: usize = 128;

/// The row stride of a tiled model: `hidden` rounded up to [`TILE_COLUMNS`].
pub const fn tile_stride(hidden: usize) -> usize {
    hidden.div_ceil(TILE_COLUMNS) * TILE_COLUMNS
}

/// Lengths of the int8 tensors `[wxh, whh, why]` and the f32 tensors
/// `[wxh_scale, whh_scale, why_scale, bh, by]` of a tiled model.
pub const fn tile_tensor_lengths(hidden: usize, vocab: usize) -> ([usize; 3], [usize; 5]) {
    let s = tile_stride(hidden);
    let (hidden_rows, vocab_rows) = (
        hidden.div_ceil(TILE_ROWS) * TILE_ROWS,
        vocab.div_ceil(TILE_ROWS) * TILE_ROWS,
    );
    (
        [vocab * s, hidden_rows * s, vocab_rows * s],
        [vocab, hidden, vocab, hidden, vocab],
    )
}

/// Borrowed int8 tile weights (`S` = [`tile_stride`]`(H)`):
///
/// | tensor | type | elements | layout |
/// |---|---|---|---|
/// | `wxh` | i8 | V·S | row `x` = column `x` of W_xh, natural order, zero padding |
/// | `whh` | i8 | ⌈H/4⌉·4·S | W_hh as tiles (module docs), zero padding |
/// | `why` | i8 | ⌈V/4⌉·4·S | W_hy as tiles |
/// | `wxh_scale` | f32 | V | `sx`: `W_xh[r, x] ≈ sx_x · wxh[x, r]` |
/// | `whh_scale` | f32 | H | `m_r`: `W_hh[r, c]·h_c ≈ m_r · q_rc · hq_c` |
/// | `why_scale` | f32 | V | `my_j`, as `m_r` |
/// | `bh` | f32 | H | |
/// | `by` | f32 | V | |
#[derive(Debug, Clone, Copy)]
pub struct TiledModelView<'a> {
    hidden: usize,
    vocab: usize,
    t: QuantTensors<'a>,
}

impl<'a> TiledModelView<'a> {
    /// Checks the tensor lengths against `hidden` and `vocab`, and that every
    /// padding weight (columns from H on, rows from H or V on) is zero.
    pub fn new(hidden: usize, vocab: usize, t: QuantTensors<'a>) -> Result<Self, ShapeError> {
        t.check(hidden, vocab, tile_tensor_lengths(hidden, vocab))?;
        let [wxh, whh, why] = t.int8;
        let s = tile_stride(hidden);
        let natural_padding = wxh
            .chunks_exact(s)
            .any(|row| row[hidden..].iter().any(|&q| q != 0));
        if natural_padding {
            return Err(ShapeError::NonzeroPadding { tensor: "wxh" });
        }
        for (tensor, w, rows) in [("whh", whh, hidden), ("why", why, vocab)] {
            if !padding_is_zero(w, s, rows, hidden) {
                return Err(ShapeError::NonzeroPadding { tensor });
            }
        }
        Ok(Self { hidden, vocab, t })
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.vocab
    }
    /// The tensors, for encoding.
    pub fn tensors(&self) -> QuantTensors<'a> {
        self.t
    }
    /// b_y.
    pub fn by(&self) -> &'a [f32] {
        self.t.f32[4]
    }
    /// The int8-tile forward step, state int8 (length `S`, padding set to 0):
    ///
    /// ```text
    /// u_r  = (acc_r as f32 · m_r + bh_r) + Wxh_q[x, r] as f32 · sx_x     acc_r = Σ_c Whh_q[r,c]·hq_c
    /// hq_r = tanh_i8(u_r)                                              (≈ round(127·tanh(u_r)))
    /// y_j  = acc_j as f32 · my_j + by_j                                acc_j = Σ_c Why_q[j,c]·hq_c
    /// ```
    ///
    /// The equations of [`crate::ModelView::step`] with W ≈ s·q and
    /// h ≈ hq/127 (`m = s/127`). `hq_prev` and `hq_next` need `S` entries and
    /// `logits` V, and `x < V`; otherwise nothing is written
    /// ([`crate::Generator`] always passes such buffers).
    pub fn step(&self, hq_prev: &[i8], x: usize, hq_next: &mut [i8], logits: &mut [f32]) {
        let (hidden, vocab, s) = (self.hidden, self.vocab, tile_stride(self.hidden));
        let [wxh, whh, why] = self.t.int8;
        let [wxh_scale, m, my, bh, by] = self.t.f32;
        let (Some(hq_prev), Some(wx), Some(&sx), Some(hq_next), Some(logits)) = (
            hq_prev.get(..s),
            wxh.chunks_exact(s).nth(x),
            wxh_scale.get(x),
            hq_next.get_mut(..s),
            logits.get_mut(..vocab),
        ) else {
            return;
        };
        let (out, padding) = hq_next.split_at_mut(hidden);
        padding.fill(0);
        let mut sums = MaybeUninit::<[i32; ROW_RUN]>::uninit();
        for start in (0..hidden).step_by(ROW_RUN) {
            let rows = ROW_RUN.min(hidden - start);
            let Some(acc) = row_dots(&whh[start * s..], s, hq_prev, rows, &mut sums) else {
                return;
            };
            let end = start + rows;
            let (out, m, bh, wx) = (
                &mut out[start..end],
                &m[start..end],
                &bh[start..end],
                &wx[start..end],
            );
            #[cfg(all(feature = "helium", target_arch = "arm"))]
            let done = helium::hidden_rows(acc, m, bh, wx, sx, out);
            #[cfg(not(all(feature = "helium", target_arch = "arm")))]
            let done = 0;
            // u_r = (acc·m_r + bh_r) + wx_r·sx,  hq_r = tanh_i8(u_r)
            let rows = out.iter_mut().zip(acc.iter()).zip(m).zip(bh).zip(wx);
            for ((((h, &acc), &m), &b), &wx) in rows.skip(done) {
                *h = tanh_i8((acc as f32 * m + b) + f32::from(wx) * sx);
            }
        }
        for start in (0..vocab).step_by(ROW_RUN) {
            let rows = ROW_RUN.min(vocab - start);
            let Some(acc) = row_dots(&why[start * s..], s, hq_next, rows, &mut sums) else {
                return;
            };
            let end = start + rows;
            let (y, my, by) = (&mut logits[start..end], &my[start..end], &by[start..end]);
            #[cfg(all(feature = "helium", target_arch = "arm"))]
            let done = helium::logit_rows(acc, my, by, y);
            #[cfg(not(all(feature = "helium", target_arch = "arm")))]
            let done = 0;
            // y_j = acc·my_j + by_j
            for (((y, &acc), &m), &b) in y.iter_mut().zip(acc.iter()).zip(my).zip(by).skip(done) {
                *y = acc as f32 * m + b;
            }
        }
    }
}

/// Whether every weight of the tiled matrix `w` (stride `s`) outside its
/// `rows` rows and `columns` columns is zero: one pass over the 16-byte row
/// pieces of its tiles.
fn padding_is_zero(w: &[i8], s: usize, rows: usize, columns: usize) -> bool {
    let mut pieces = w.chunks_exact(TILE_COLUMNS).enumerate();
    pieces.all(|(i, piece)| {
        // piece i: group i / (s/4), chunk (i / 4) mod (s/16), row 4·group + i mod 4
        let (group, within) = (
            i / (s / TILE_COLUMNS * TILE_ROWS),
            i % (s / TILE_COLUMNS * TILE_ROWS),
        );
        let row = group * TILE_ROWS + within % TILE_ROWS;
        let first_column = within / TILE_ROWS * TILE_COLUMNS;
        let real = if row < rows {
            columns.saturating_sub(first_column)
        } else {
            0
        };
        piece.iter().skip(real).all(|&q| q == 0)
    })
}

/// `Σ_c w[r, c]·h[c]` for the first `rows` rows of the tiled matrix `w`
/// (stride `s`), in `sums`, and the first `rows` of them; `None` if `rows`
/// is 0 or over `N` (the buffer's size: [`ROW_RUN`] in the step), `w` does not hold ⌈rows/4⌉ groups or `h` has
/// fewer than `s` entries. On the Cortex-M55 (feature `helium`) this is the
/// VMLADAVA.S8 loop of the module docs; the same integers portably elsewhere.
pub(crate) fn row_dots<'b, const N: usize>(
    w: &[i8],
    s: usize,
    h: &[i8],
    rows: usize,
    sums: &'b mut MaybeUninit<[i32; N]>,
) -> Option<&'b mut [i32]> {
    let groups = rows.div_ceil(TILE_ROWS);
    let w = w.get(..groups * TILE_ROWS * s)?;
    let h = h.get(..s)?;
    if rows == 0
        || rows > N
        || !N.is_multiple_of(TILE_ROWS)
        || s == 0
        || !s.is_multiple_of(TILE_COLUMNS)
    {
        return None;
    }
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    let sums = helium::row_dots(w, s, h, groups, sums);
    #[cfg(not(all(feature = "helium", target_arch = "arm")))]
    let sums = {
        let sums = sums.write([0; N]);
        let blocks = w.chunks_exact(TILE_ROWS * s);
        for (block, sums) in blocks.zip(sums.chunks_exact_mut(TILE_ROWS)) {
            let tiles = block.chunks_exact(TILE_ROWS * TILE_COLUMNS);
            for (tile, h) in tiles.zip(h.chunks_exact(TILE_COLUMNS)) {
                for (sum, row) in sums.iter_mut().zip(tile.chunks_exact(TILE_COLUMNS)) {
                    *sum += row
                        .iter()
                        .zip(h)
                        .map(|(&q, &h)| i32::from(q) * i32::from(h))
                        .sum::<i32>();
                }
            }
        }
        sums
    };
    sums.get_mut(..rows)
}

#[cfg(all(feature = "helium", target_arch = "arm"))]
#[allow(unsafe_code)]
mod helium;

#[cfg(feature = "alloc")]
mod quantize;
#[cfg(feature = "alloc")]
pub use quantize::{pack_tiles, quantize_tiles, TiledModel};
