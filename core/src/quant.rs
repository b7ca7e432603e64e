//! int8 weights: a model 4× smaller than f32, stepped with integer dot products.
//!
//! Weights are quantized symmetrically per row: `q = round(w / s)` with
//! `s = max|w_row| / 127`, so `w ≈ s·q`, `q ∈ [-127, 127]`. Biases stay f32.
//! The hidden state is Q15: `h ≈ hq / 32767`, `hq ∈ [-32767, 32767]` (tanh
//! keeps |h| ≤ 1). A row of `W_hh·h` is then `s_r/32767 · Σ_c q_rc·hq_c`, an
//! exact i32 sum (|Σ| ≤ 512·127·32767 < 2³¹ for H ≤ [`MAX_HIDDEN_INT8`]), so
//! the order of the integer additions does not matter and every target gets
//! the same integers; the few f32 operations around it have a fixed order.
//!
//! Why Q15 state rather than an f32 state: an f32 state would be quantized to
//! Q15 before each product anyway (integer dot products need integer inputs),
//! so both give bit-identical characters; storing Q15 halves the state's RAM
//! and drops a conversion pass. An int8 state was measured worse (see README).
//!
//! On a Cortex-M4/M7 (feature `dsp`), [`dot_q7_q15`] uses the DSP SIMD
//! instructions as CMSIS-NN does: SXTB16 widens two int8 weights to two
//! 16-bit lanes, SMLAD multiplies two lanes pairwise and accumulates. To make
//! SXTB16's byte pairs (0,2) and (1,3) line up with consecutive state
//! entries, rows of `whh` and `why` are stored in groups of four permuted as
//! `[w0, w2, w1, w3]` ([`PERMUTE4`]). The portable path reads the same layout.

use crate::kernels::padded;
use crate::model::ShapeError;

/// Largest hidden size of an int8 model (keeps the i32 accumulator exact).
pub const MAX_HIDDEN_INT8: usize = 512;
/// Q15 full scale: `hq = round(h · 32767)`.
pub const Q15_ONE: f32 = 32767.0;
/// Storage position of logical element `i` within a group of four: stored
/// group = `[w0, w2, w1, w3]`.
pub const PERMUTE4: [usize; 4] = [0, 2, 1, 3];

/// Borrowed int8 weights. Same shapes and padding as [`crate::ModelView`]
/// (stride `S = padded(H)`), plus one f32 scale per row:
///
/// | tensor | type | elements | layout |
/// |---|---|---|---|
/// | `wxh` | i8 | V·S | row `x` = column `x` of W_xh, natural order |
/// | `whh` | i8 | H·S | W_hh rows, groups of four permuted ([`PERMUTE4`]) |
/// | `why` | i8 | V·S | W_hy rows, groups of four permuted |
/// | `wxh_scale` | f32 | V | scale of each `wxh` row |
/// | `whh_scale` | f32 | H | |
/// | `why_scale` | f32 | V | |
/// | `bh` | f32 | S | |
/// | `by` | f32 | V | |
#[derive(Debug, Clone, Copy)]
pub struct QuantModelView<'a> {
    hidden: usize,
    vocab: usize,
    wxh: &'a [i8],
    whh: &'a [i8],
    why: &'a [i8],
    wxh_scale: &'a [f32],
    whh_scale: &'a [f32],
    why_scale: &'a [f32],
    bh: &'a [f32],
    by: &'a [f32],
}

/// Lengths of the int8 tensors `[wxh, whh, why]` and the f32 tensors
/// `[wxh_scale, whh_scale, why_scale, bh, by]` for a shape.
pub const fn quant_tensor_lengths(hidden: usize, vocab: usize) -> ([usize; 3], [usize; 5]) {
    let s = padded(hidden);
    (
        [vocab * s, hidden * s, vocab * s],
        [vocab, hidden, vocab, s, vocab],
    )
}

/// The int8 tensors of a model, in the order of the table on [`QuantModelView`].
#[derive(Debug, Clone, Copy)]
pub struct QuantTensors<'a> {
    /// `[wxh, whh, why]`.
    pub int8: [&'a [i8]; 3],
    /// `[wxh_scale, whh_scale, why_scale, bh, by]`.
    pub f32: [&'a [f32]; 5],
}

impl<'a> QuantModelView<'a> {
    /// Checks the tensor lengths against `hidden` and `vocab`.
    pub fn new(hidden: usize, vocab: usize, t: QuantTensors<'a>) -> Result<Self, ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        let (n8, n32) = quant_tensor_lengths(hidden, vocab);
        let names8 = ["wxh", "whh", "why"];
        for ((tensor, t), expected) in names8.into_iter().zip(t.int8).zip(n8) {
            if t.len() != expected {
                return Err(ShapeError::TensorLength {
                    tensor,
                    expected,
                    found: t.len(),
                });
            }
        }
        let names32 = ["wxh_scale", "whh_scale", "why_scale", "bh", "by"];
        for ((tensor, t), expected) in names32.into_iter().zip(t.f32).zip(n32) {
            if t.len() != expected {
                return Err(ShapeError::TensorLength {
                    tensor,
                    expected,
                    found: t.len(),
                });
            }
        }
        let [wxh, whh, why] = t.int8;
        let [wxh_scale, whh_scale, why_scale, bh, by] = t.f32;
        Ok(Self {
            hidden,
            vocab,
            wxh,
            whh,
            why,
            wxh_scale,
            whh_scale,
            why_scale,
            bh,
            by,
        })
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
        QuantTensors {
            int8: [self.wxh, self.whh, self.why],
            f32: [
                self.wxh_scale,
                self.whh_scale,
                self.why_scale,
                self.bh,
                self.by,
            ],
        }
    }
    /// b_y.
    pub fn by(&self) -> &'a [f32] {
        self.by
    }

    /// The int8 forward step, state in Q15 (length `S = padded(H)`, tail zero):
    ///
    /// ```text
    /// u_r  = ((Σ_c Whh_q[r,c]·hq_c) as f32 · s_r) / 32767 + bh_r + Wxh_q[x, r] as f32 · sx_x
    /// h_r  = tanh(u_r),   hq_r = round(32767 · h_r)
    /// y_j  = ((Σ_c Why_q[j,c]·hq_c) as f32 · sy_j) / 32767 + by_j
    /// ```
    ///
    /// The same equations as [`crate::ModelView::step`] with W ≈ s·q and h ≈ hq/32767.
    pub fn step(&self, hq_prev: &[i16], x: usize, hq_next: &mut [i16], logits: &mut [f32]) {
        let s = padded(self.hidden);
        let column = self.wxh.chunks_exact(s).nth(x).unwrap_or(&[]);
        let sx = self.wxh_scale.get(x).copied().unwrap_or(0.0);
        let (whh_scale, bh) = (self.whh_scale, self.bh);
        matvec_q7_q15(self.whh, s, hq_prev, |r, acc| {
            if let (Some(h), Some(&scale), Some(&b)) =
                (hq_next.get_mut(r), whh_scale.get(r), bh.get(r))
            {
                let wx = column.get(r).copied().unwrap_or(0);
                let u = (acc as f32 * scale) / Q15_ONE + b + f32::from(wx) * sx;
                *h = to_q15(crate::tanh_f32(u));
            }
        });
        let (why_scale, by) = (self.why_scale, self.by);
        matvec_q7_q15(self.why, s, hq_next, |j, acc| {
            if let (Some(y), Some(&scale), Some(&b)) =
                (logits.get_mut(j), why_scale.get(j), by.get(j))
            {
                *y = (acc as f32 * scale) / Q15_ONE + b;
            }
        });
    }
}

/// Calls `emit(r, Σ_c w[r, c]·h_c)` for every row `r` of the permuted int8
/// matrix `w` (rows of `stride` elements), two rows at a time so that each
/// loaded pair of state entries serves two rows.
#[inline]
pub fn matvec_q7_q15(w: &[i8], stride: usize, h: &[i16], mut emit: impl FnMut(usize, i32)) {
    if stride == 0 {
        return;
    }
    let mut pairs = w.chunks_exact(2 * stride);
    let mut r = 0;
    for pair in &mut pairs {
        let (a, b) = pair.split_at(stride);
        let (da, db) = dot2_q7_q15(a, b, h);
        emit(r, da);
        emit(r + 1, db);
        r += 2;
    }
    if let Some(last) = pairs.remainder().get(..stride) {
        emit(r, dot_q7_q15(last, h));
    }
}

/// Two rows' [`dot_q7_q15`] at once: `(Σ a_i·h_i, Σ b_i·h_i)`.
#[inline]
pub fn dot2_q7_q15(a: &[i8], b: &[i8], h: &[i16]) -> (i32, i32) {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        dsp::dot2(a, b, h)
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        (dot_portable(a, h), dot_portable(b, h))
    }
}

/// `round(32767·h)` for |h| ≤ 1, rounding half away from zero; saturating.
#[inline(always)]
pub fn to_q15(h: f32) -> i16 {
    let v = h * Q15_ONE;
    let r = if v >= 0.0 { v + 0.5 } else { v - 0.5 };
    // `as` saturates (and maps NaN to 0); |r| ≤ 32767.5 so this is exact.
    (r as i32).clamp(-32767, 32767) as i16
}

/// `Σ w_i·h_i` of a permuted int8 row and a Q15 vector, exact in i32.
///
/// Processes groups of four over `min(w.len(), h.len()) / 4` groups; rows and
/// states have length `padded(H)`, a multiple of 8, so nothing is left over.
#[inline]
pub fn dot_q7_q15(w: &[i8], h: &[i16]) -> i32 {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        dsp::dot(w, h)
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        dot_portable(w, h)
    }
}

/// The portable form of [`dot_q7_q15`]: the same integers on every target.
#[inline]
pub fn dot_portable(w: &[i8], h: &[i16]) -> i32 {
    let mut acc = 0i32;
    for (wq, hq) in w.chunks_exact(4).zip(h.chunks_exact(4)) {
        // stored [w0, w2, w1, w3] meets h0, h1, h2, h3
        acc = acc.wrapping_add(i32::from(wq[0]) * i32::from(hq[0]));
        acc = acc.wrapping_add(i32::from(wq[2]) * i32::from(hq[1]));
        acc = acc.wrapping_add(i32::from(wq[1]) * i32::from(hq[2]));
        acc = acc.wrapping_add(i32::from(wq[3]) * i32::from(hq[3]));
    }
    acc
}

#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    /// Four int8 weights as one little-endian word (one LDR).
    #[inline(always)]
    fn word(w: &[i8]) -> u32 {
        u32::from_le_bytes([w[0] as u8, w[1] as u8, w[2] as u8, w[3] as u8])
    }

    /// Two Q15 state entries as one word, `a` in the low half (one LDR).
    #[inline(always)]
    fn pair(a: i16, b: i16) -> u32 {
        (a as u16 as u32) | ((b as u16 as u32) << 16)
    }

    /// `acc + w0·h0 + w1·h1 + w2·h2 + w3·h3` for one permuted word
    /// `[w0, w2, w1, w3]`: SXTB16 takes bytes 0 and 2 (w0, w1) and, rotated by
    /// 8, bytes 1 and 3 (w2, w3) into two 16-bit lanes; each SMLAD multiplies
    /// the lanes with a pair of state entries and adds both products.
    #[inline(always)]
    fn mac4(mut acc: i32, w: u32, h01: u32, h23: u32) -> i32 {
        // SAFETY: register-only DSP instructions (Armv7E-M), no memory access.
        unsafe {
            asm!(
                "sxtb16 {t}, {w}",
                "smlad {acc}, {t}, {h01}, {acc}",
                "sxtb16 {t}, {w}, ror #8",
                "smlad {acc}, {t}, {h23}, {acc}",
                acc = inout(reg) acc,
                t = out(reg) _,
                w = in(reg) w,
                h01 = in(reg) h01,
                h23 = in(reg) h23,
                options(pure, nomem, nostack),
            );
        }
        acc
    }

    /// One row against the state; see the module docs for the layout.
    #[inline]
    pub fn dot(w: &[i8], h: &[i16]) -> i32 {
        let mut acc = 0i32;
        for (wq, hq) in w.chunks_exact(4).zip(h.chunks_exact(4)) {
            acc = mac4(acc, word(wq), pair(hq[0], hq[1]), pair(hq[2], hq[3]));
        }
        acc
    }

    /// Two rows against one state: each pair of state entries loaded once.
    #[inline]
    pub fn dot2(a: &[i8], b: &[i8], h: &[i16]) -> (i32, i32) {
        let (mut acc_a, mut acc_b) = (0i32, 0i32);
        for ((wa, wb), hq) in a
            .chunks_exact(4)
            .zip(b.chunks_exact(4))
            .zip(h.chunks_exact(4))
        {
            let (h01, h23) = (pair(hq[0], hq[1]), pair(hq[2], hq[3]));
            acc_a = mac4(acc_a, word(wa), h01, h23);
            acc_b = mac4(acc_b, word(wb), h01, h23);
        }
        (acc_a, acc_b)
    }
}

/// Owned int8 tensors, made by [`quantize`] (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub struct QuantModel {
    hidden: usize,
    vocab: usize,
    int8: [alloc::vec::Vec<i8>; 3],
    f32: [alloc::vec::Vec<f32>; 5],
}

#[cfg(feature = "alloc")]
impl QuantModel {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> QuantModelView<'_> {
        let [a, b, c] = &self.int8;
        let [d, e, f, g, h] = &self.f32;
        let t = QuantTensors {
            int8: [a, b, c],
            f32: [d, e, f, g, h],
        };
        // The shapes were made by `quantize` from a checked view.
        QuantModelView::new(self.hidden, self.vocab, t).unwrap_or_else(|_| unreachable!())
    }
}

/// Why a model cannot be quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantizeError {
    /// The hidden size is above [`MAX_HIDDEN_INT8`].
    HiddenTooLarge {
        /// The model's hidden size.
        hidden: usize,
    },
}

impl core::fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QuantizeError::HiddenTooLarge { hidden } => write!(
                f,
                "hidden size {hidden} is above {MAX_HIDDEN_INT8}, the largest an int8 model may have"
            ),
        }
    }
}

/// Quantizes an f32 model to int8 with one symmetric scale per row
/// (`s = max|w_row| / 127`, `q = round(w / s)`); biases are kept as f32, and
/// rows of `whh` and `why` are stored permuted ([`PERMUTE4`]).
#[cfg(feature = "alloc")]
pub fn quantize(model: &crate::ModelView<'_, f32>) -> Result<QuantModel, QuantizeError> {
    use alloc::vec::Vec;
    let (hidden, vocab) = (model.hidden(), model.vocab());
    if hidden > MAX_HIDDEN_INT8 {
        return Err(QuantizeError::HiddenTooLarge { hidden });
    }
    let s = padded(hidden);
    // Returns (int8 rows, one scale per row).
    let quantize_rows = |w: &[f32], permute: bool| -> (Vec<i8>, Vec<f32>) {
        let mut q = Vec::with_capacity(w.len());
        let mut scales = Vec::with_capacity(w.len() / s);
        for row in w.chunks_exact(s) {
            let max = row[..hidden].iter().fold(0.0f32, |m, &v| m.max(v.abs()));
            let scale = max / 127.0;
            let quant = |v: f32| {
                if scale > 0.0 {
                    libm::roundf(v / scale).clamp(-127.0, 127.0) as i8
                } else {
                    0
                }
            };
            let order = if permute { PERMUTE4 } else { [0, 1, 2, 3] };
            for (i, group) in row.chunks_exact(4).enumerate() {
                for logical in order {
                    let col = i * 4 + logical;
                    q.push(if col < hidden {
                        quant(group[logical])
                    } else {
                        0
                    });
                }
            }
            scales.push(scale);
        }
        (q, scales)
    };
    let (wxh, wxh_scale) = quantize_rows(model.wxh(), false);
    let (whh, whh_scale) = quantize_rows(model.whh(), true);
    let (why, why_scale) = quantize_rows(model.why(), true);
    Ok(QuantModel {
        hidden,
        vocab,
        int8: [wxh, whh, why],
        f32: [
            wxh_scale,
            whh_scale,
            why_scale,
            model.bh().to_vec(),
            model.by().to_vec(),
        ],
    })
}
