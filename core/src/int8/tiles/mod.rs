//! int8 tiles: int8 weights in 4 × 16 tiles and an int8 state, the layout
//! Helium (the Cortex-M55's MVE) multiplies at one instruction per 16 MACs.
//!
//! Weights are quantized per row as for [`crate::QuantModelView`]
//! (`q = round(w / s)`, `s = max|w_row| / 127`), but the hidden state is int8
//! too: `h ≈ hq / 127`, `hq ∈ [-127, 127]`. A row of `W_hh·h` is then
//! `s_r/127 · Σ_c q_rc·hq_c`, an exact i32 sum (|Σ| ≤ 16384·127·127 < 2³¹),
//! and the file stores `m_r = s_r / 127` so that the step multiplies once.
//! The state's 255 levels cost the model almost nothing: `charm eval` on
//! tinyshakespeare's last 111,539 characters scores an H 128 model 1.7980
//! nats/char as f32, 1.7981 as row pairs (Q15 state) and 1.7982 as tiles.
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

use crate::model::ShapeError;
use crate::quant::QuantTensors;
use crate::tanh_i8::tanh_i8;
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

/// Where row `r`, column `c` of a tiled matrix of stride `s` is stored.
#[cfg(feature = "alloc")]
const fn tile_offset(r: usize, c: usize, s: usize) -> usize {
    let (group, row) = (r / TILE_ROWS, r % TILE_ROWS);
    let (chunk, column) = (c / TILE_COLUMNS, c % TILE_COLUMNS);
    group * TILE_ROWS * s + chunk * TILE_ROWS * TILE_COLUMNS + row * TILE_COLUMNS + column
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
/// is 0 or over [`ROW_RUN`], `w` does not hold ⌈rows/4⌉ groups or `h` has
/// fewer than `s` entries. On the Cortex-M55 (feature `helium`) this is the
/// VMLADAVA.S8 loop of the module docs; the same integers portably elsewhere.
fn row_dots<'b>(
    w: &[i8],
    s: usize,
    h: &[i8],
    rows: usize,
    sums: &'b mut MaybeUninit<[i32; ROW_RUN]>,
) -> Option<&'b mut [i32]> {
    let groups = rows.div_ceil(TILE_ROWS);
    let w = w.get(..groups * TILE_ROWS * s)?;
    let h = h.get(..s)?;
    if rows == 0 || rows > ROW_RUN || s == 0 || !s.is_multiple_of(TILE_COLUMNS) {
        return None;
    }
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    let sums = helium::row_dots(w, s, h, groups, sums);
    #[cfg(not(all(feature = "helium", target_arch = "arm")))]
    let sums = {
        let sums = sums.write([0; ROW_RUN]);
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
mod helium {
    use core::arch::asm;
    use core::mem::MaybeUninit;

    /// [`super::row_dots`] on Helium for checked arguments: `w` holds
    /// `groups` (1 to 32) groups of stride `s`, a positive multiple of 16,
    /// and `h` has `s` entries. Returns the `4·groups` sums it wrote.
    pub fn row_dots<'b>(
        w: &[i8],
        s: usize,
        h: &[i8],
        groups: usize,
        sums: &'b mut MaybeUninit<[i32; super::ROW_RUN]>,
    ) -> &'b mut [i32] {
        let out = sums.as_mut_ptr().cast::<i32>();
        // SAFETY: reads groups·4·s bytes of w (one stream, 16 a load) and s
        // bytes of h per group (h is rewound by s after each), writes
        // 4·groups ≤ 128 i32 to `sums`. Every load is 16 bytes within bounds
        // because s is a multiple of 16.
        unsafe {
            asm!(
                // per group of four rows: the first 16 columns set the sums …
                "2:",
                "vldrb.u8 q0, [{h}], #16",
                "vldrb.u8 q1, [{w}], #16",
                "vmladav.s8 r0, q1, q0",
                "vldrb.u8 q2, [{w}], #16",
                "vmladav.s8 r2, q2, q0",
                "vldrb.u8 q3, [{w}], #16",
                "vmladav.s8 r4, q3, q0",
                "vldrb.u8 q1, [{w}], #16",
                "vmladav.s8 r8, q1, q0",
                // … and each further 16 add to them: Σ_c q[r, c]·hq[c]
                "wls lr, {more}, 4f",
                "3:",
                "vldrb.u8 q0, [{h}], #16",
                "vldrb.u8 q1, [{w}], #16",
                "vmladava.s8 r0, q1, q0",
                "vldrb.u8 q2, [{w}], #16",
                "vmladava.s8 r2, q2, q0",
                "vldrb.u8 q3, [{w}], #16",
                "vmladava.s8 r4, q3, q0",
                "vldrb.u8 q1, [{w}], #16",
                "vmladava.s8 r8, q1, q0",
                "le lr, 3b",
                "4:",
                "stm {out}!, {{r0, r2, r4, r8}}",
                "sub {h}, {h}, {s}",
                "subs {groups}, #1",
                "bne 2b",
                w = inout(reg) w.as_ptr() => _,
                h = inout(reg) h.as_ptr() => _,
                out = inout(reg) out => _,
                groups = inout(reg) groups => _,
                more = in(reg) s / 16 - 1,
                s = in(reg) s,
                out("r0") _,
                out("r2") _,
                out("r4") _,
                out("r8") _,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                out("q2") _,
                out("q3") _,
                options(nostack),
            );
            // SAFETY: the loop initialized these 4·groups ≤ 128 entries.
            core::slice::from_raw_parts_mut(out, 4 * groups)
        }
    }

    /// The loop head shared by [`hidden_rows`] and [`logit_rows`]: a
    /// tail-predicated loop over `n` rows, four a pass, with
    /// `q0 = acc as f32 · m + b` and `acc`, `m`, `b` advanced.
    macro_rules! rows_loop_head {
        () => {
            concat!(
                ".arch_extension mve.fp\n",
                "dlstp.32 lr, {n}\n",
                "2:\n",
                "vldrw.u32 q0, [{acc}], #16\n",
                "vcvt.f32.s32 q0, q0\n",
                "vldrw.u32 q1, [{m}], #16\n",
                "vmul.f32 q0, q0, q1\n",
                "vldrw.u32 q1, [{b}], #16\n",
                "vadd.f32 q0, q0, q1",
            )
        };
    }

    /// The hidden rows four at a time on Helium lanes, each lane the scalar
    /// step's operations in its order:
    ///
    /// ```text
    /// u  = (acc as f32 · m + b) + (wx as f32) · sx     VCVT, VMUL, VADD; VLDRB.S32, VCVT, VMUL, VADD
    /// k  = clamp((u · 128) as i32, -400, 400)          VCVT.S32.F32 #7 (saturating, NaN → 0), VMAX, VMIN
    /// hq = TABLE[k + 400]                              VLDRB.S32 gather
    /// ```
    ///
    /// (VMUL then VADD, never a fused VFMA.) A tail-predicated loop covers
    /// any count. Returns the rows written: all of them, or 0 when a
    /// subnormal was flushed (the caller then computes every row), so the
    /// bits are IEEE-754's.
    pub fn hidden_rows(
        acc: &[i32],
        m: &[f32],
        b: &[f32],
        wx: &[i8],
        sx: f32,
        out: &mut [i8],
    ) -> usize {
        let n = acc
            .len()
            .min(m.len())
            .min(b.len())
            .min(wx.len())
            .min(out.len());
        // SAFETY: the tail-predicated loop reads n entries of acc, m, b and
        // wx and writes n of out (lanes past n neither load nor store); the
        // gather reads TABLE at offsets clamped to [-400, 400] from its
        // middle (801 entries).
        let run = || unsafe {
            asm!(
                "vdup.32 q6, {lo}",
                "vdup.32 q7, {hi}",
                rows_loop_head!(),
                "vldrb.s32 q1, [r1], #4",
                "vcvt.f32.s32 q1, q1",
                "vmul.f32 q1, q1, {sx}",
                "vadd.f32 q0, q0, q1",
                "vcvt.s32.f32 q0, q0, #7",
                "vmax.s32 q0, q0, q6",
                "vmin.s32 q0, q0, q7",
                "vldrb.s32 q1, [{middle}, q0]",
                "vstrb.32 q1, [r2], #4",
                "letp lr, 2b",
                lo = in(reg) -crate::tanh_i8::HALF,
                hi = in(reg) crate::tanh_i8::HALF,
                n = in(reg) n,
                acc = inout(reg) acc.as_ptr() => _,
                m = inout(reg) m.as_ptr() => _,
                b = inout(reg) b.as_ptr() => _,
                // the widening load and the narrowing store take r0–r7
                inout("r1") wx.as_ptr() => _,
                inout("r2") out.as_mut_ptr() => _,
                sx = in(reg) sx.to_bits(),
                middle = in(reg) crate::tanh_i8::TABLE.as_ptr().wrapping_add(crate::tanh_i8::HALF as usize),
                out("lr") _,
                out("q0") _,
                out("q1") _,
                out("q6") _,
                out("q7") _,
                options(nostack),
            );
        };
        if n > 0 && crate::helium_float::without_flush(run) {
            n
        } else {
            0
        }
    }

    /// The logits four at a time on Helium lanes, `y = acc as f32 · m + b`;
    /// as [`hidden_rows`], the rows written or 0 after a flush.
    pub fn logit_rows(acc: &[i32], m: &[f32], b: &[f32], out: &mut [f32]) -> usize {
        let n = acc.len().min(m.len()).min(b.len()).min(out.len());
        // SAFETY: the tail-predicated loop reads n entries of acc, m and b
        // and writes n of out.
        let run = || unsafe {
            asm!(
                rows_loop_head!(),
                "vstrw.32 q0, [{out}], #16",
                "letp lr, 2b",
                n = in(reg) n,
                acc = inout(reg) acc.as_ptr() => _,
                m = inout(reg) m.as_ptr() => _,
                b = inout(reg) b.as_ptr() => _,
                out = inout(reg) out.as_mut_ptr() => _,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                options(nostack),
            );
        };
        if n > 0 && crate::helium_float::without_flush(run) {
            n
        } else {
            0
        }
    }
}

/// Owned int8 tile tensors, made by [`quantize_tiles`] (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub struct TiledModel(crate::quant::OwnedTensors);

#[cfg(feature = "alloc")]
impl TiledModel {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> TiledModelView<'_> {
        let m = &self.0;
        // The shapes and zero padding were made by `quantize_tiles`.
        TiledModelView::new(m.hidden, m.vocab, m.tensors()).unwrap_or_else(|_| unreachable!())
    }
}

/// Stores `rows` int8 rows (natural order, `stride` bytes each, the columns
/// from `hidden` on ignored) as tiles of stride [`tile_stride`]`(hidden)`.
///
/// ```
/// // Five rows of 3 columns: stride 16, two groups of four rows.
/// let rows: Vec<i8> = (0..5 * 3).map(|i| i as i8).collect();
/// let tiles = charm_core::pack_tiles(&rows, 3, 3);
/// assert_eq!(tiles.len(), 2 * 4 * 16);
/// assert_eq!(&tiles[..3], &[0, 1, 2]); // row 0
/// assert_eq!(&tiles[16..19], &[3, 4, 5]); // row 1
/// assert_eq!(&tiles[64..67], &[12, 13, 14]); // row 4, in the second group
/// ```
#[cfg(feature = "alloc")]
pub fn pack_tiles(rows: &[i8], stride: usize, hidden: usize) -> alloc::vec::Vec<i8> {
    let s = tile_stride(hidden);
    let n = rows.len() / stride.max(1);
    let mut out = alloc::vec![0i8; n.div_ceil(TILE_ROWS) * TILE_ROWS * s];
    for (r, row) in rows.chunks_exact(stride.max(1)).enumerate() {
        for (c, &q) in row.iter().enumerate().take(hidden) {
            out[tile_offset(r, c, s)] = q;
        }
    }
    out
}

/// Quantizes an f32 model to int8 tiles: the rows as [`crate::quantize`]
/// does (`s = max|w_row| / 127`, `q = round(w / s)`), stored as tiles
/// ([`pack_tiles`]) with `m = s / 127` for `whh` and `why`; `wxh` keeps its
/// rows and scales, the biases stay f32.
#[cfg(feature = "alloc")]
pub fn quantize_tiles(model: &crate::ModelView<'_, f32>) -> TiledModel {
    let (hidden, vocab) = (model.hidden(), model.vocab());
    let (stride, s) = (crate::padded(hidden), tile_stride(hidden));
    let (wxh, wxh_scale) = crate::quant::quantize_rows(model.wxh(), stride, hidden);
    let (whh, whh_scale) = crate::quant::quantize_rows(model.whh(), stride, hidden);
    let (why, why_scale) = crate::quant::quantize_rows(model.why(), stride, hidden);
    let per_level = |scales: alloc::vec::Vec<f32>| scales.into_iter().map(|s| s / I8_ONE).collect();
    let wxh = wxh
        .chunks_exact(stride)
        .flat_map(|row| (0..s).map(move |c| if c < hidden { row[c] } else { 0 }))
        .collect();
    TiledModel(crate::quant::OwnedTensors {
        hidden,
        vocab,
        int8: [
            wxh,
            pack_tiles(&whh, stride, hidden),
            pack_tiles(&why, stride, hidden),
        ],
        f32: [
            wxh_scale,
            per_level(whh_scale),
            per_level(why_scale),
            model.bh()[..hidden].to_vec(),
            model.by().to_vec(),
        ],
    })
}
