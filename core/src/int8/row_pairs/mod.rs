//! int8 weights: a model 4× smaller than f32, stepped with integer dot products.
//!
//! Weights are quantized symmetrically per row: `q = round(w / s)` with
//! `s = max|w_row| / 127`, so `w ≈ s·q`, `q ∈ [-127, 127]`. Biases stay f32.
//! The hidden state is Q15: `h ≈ hq / 32767`, `hq ∈ [-32767, 32767]` (tanh
//! keeps |h| ≤ 1). A row of `W_hh·h` is then `s_r/32767 · Σ_c q_rc·hq_c`, an
//! exact i32 sum (|Σ| ≤ 512·128·32767 < 2³¹ for H ≤ [`MAX_HIDDEN_INT8`]), so
//! the order of the integer additions does not matter and every target gets
//! the same integers; the few f32 operations around it have a fixed order.
//!
//! Why Q15 state rather than an f32 state: an f32 state would be quantized to
//! Q15 before each product anyway (integer dot products need integer inputs),
//! so both give bit-identical characters; storing Q15 halves the state's RAM
//! and drops a conversion pass. Why not an int8 state: the row-pair words
//! below need 16-bit state lanes on every core with a multiply-accumulate
//! instruction (SMLAD, VMLADAVA.S16), so it would save no instruction there.
//! The int8 tiles of [`crate::TiledModelView`] have one, for Helium's
//! VMLADAVA.S8.
//!
//! # Row pairs: three instructions for four multiply-accumulates
//!
//! The matrices `whh` and `why` are stored as *row pairs*. Rows `a` and `b`
//! (rows `2p` and `2p + 1`; a missing last row is zero) share one block of
//! `2·S` bytes whose word `k` holds columns `2k` and `2k + 1` of both rows:
//!
//! ```text
//! byte   0             1        2               3
//!        a[2k] + 128   b[2k]    a[2k+1] + 128   b[2k+1]      (a offset by 128, as u8)
//! ```
//!
//! Read as two signed 16-bit lanes, the word is `(256·b[2k] + a[2k] + 128,
//! 256·b[2k+1] + a[2k+1] + 128)`, because `a + 128` is a byte in [1, 255] that
//! never borrows from `b`. On a Cortex-M4/M7 (feature `dsp`) one pass over the
//! pair with the state words `(hq[2k], hq[2k+1])` then needs, per word:
//!
//! ```text
//! SMLAD  R, word, hq2, R        R += 256·(b·hq) + (a·hq) + 128·(hq[2k] + hq[2k+1])
//! SXTB16 t, word, ROR #8        t  = (b[2k], b[2k+1]) sign-extended to 16 bits
//! SMLAD  B, t, hq2, B           B += b[2k]·hq[2k] + b[2k+1]·hq[2k+1]
//! ```
//!
//! so that `B = Σ b·hq` and `R = 256·B + A + 128·Σ hq` (mod 2³²), from which
//! `A = Σ a·hq = R − 256·B − 128·Σ hq` exactly, because the true `A` fits in an
//! i32. Four multiply-accumulates cost three instructions, against four for
//! the CMSIS-NN scheme (two SXTB16 + two SMLAD per word); the words and the
//! state are loaded eight columns at a time with LDM. [`pair_dot_portable`]
//! computes the same `(A, B)` from the bytes directly, on any target.
//!
//! Three is the least for four int8 MACs on Armv7E-M: a multiply does at most
//! two MACs (SMLAD), so a word of four weights needs two, and a multiply on
//! the raw word sees each lane as the single number `256·b + a`: sums of such
//! products give `256·B + A` and nothing else, so one more instruction per
//! word must split the bytes.

use crate::kernels::padded;
use crate::model::{check_lengths, ShapeError};
use crate::tanh_q15::tanh_q15;

/// Largest hidden size of an int8 model (keeps the i32 accumulator exact).
pub const MAX_HIDDEN_INT8: usize = 512;
/// Q15 full scale: `h ≈ hq / 32767`.
pub const Q15_ONE: f32 = 32767.0;
/// The offset of the first row of a pair: stored byte = `a + 128` as u8.
pub const PAIR_OFFSET: i32 = 128;

/// Borrowed int8 weights. Same shapes and padding as [`crate::ModelView`]
/// (stride `S = padded(H)`), plus one f32 scale per row:
///
/// | tensor | type | elements | layout |
/// |---|---|---|---|
/// | `wxh` | i8 | V·S | row `x` = column `x` of W_xh, natural order |
/// | `whh` | i8 | 2·⌈H/2⌉·S | W_hh as row pairs (module docs) |
/// | `why` | i8 | 2·⌈V/2⌉·S | W_hy as row pairs |
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

/// Bytes of a matrix of `rows` rows of stride `stride` stored as row pairs.
pub const fn paired_len(rows: usize, stride: usize) -> usize {
    rows.div_ceil(2) * 2 * stride
}

/// Lengths of the int8 tensors `[wxh, whh, why]` and the f32 tensors
/// `[wxh_scale, whh_scale, why_scale, bh, by]` for a shape.
pub const fn quant_tensor_lengths(hidden: usize, vocab: usize) -> ([usize; 3], [usize; 5]) {
    let s = padded(hidden);
    (
        [vocab * s, paired_len(hidden, s), paired_len(vocab, s)],
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

impl QuantTensors<'_> {
    /// Checks that the shape is not empty and the tensors have `lengths`
    /// (`[wxh, whh, why]`, `[wxh_scale, whh_scale, why_scale, bh, by]`).
    pub(crate) fn check(
        &self,
        hidden: usize,
        vocab: usize,
        lengths: ([usize; 3], [usize; 5]),
    ) -> Result<(), ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        let [wxh, whh, why] = self.int8;
        let [wxh_scale, whh_scale, why_scale, bh, by] = self.f32;
        check_lengths(&[("wxh", wxh), ("whh", whh), ("why", why)], &lengths.0)?;
        let floats = [
            ("wxh_scale", wxh_scale),
            ("whh_scale", whh_scale),
            ("why_scale", why_scale),
            ("bh", bh),
            ("by", by),
        ];
        check_lengths(&floats, &lengths.1)
    }
}

impl<'a> QuantModelView<'a> {
    /// Checks the tensor lengths against `hidden` and `vocab`.
    pub fn new(hidden: usize, vocab: usize, t: QuantTensors<'a>) -> Result<Self, ShapeError> {
        t.check(hidden, vocab, quant_tensor_lengths(hidden, vocab))?;
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
    /// hq_r = tanh_q15(u_r)                                   (≈ round(32767·tanh(u_r)))
    /// y_j  = ((Σ_c Why_q[j,c]·hq_c) as f32 · sy_j) / 32767 + by_j
    /// ```
    ///
    /// The same equations as [`crate::ModelView::step`] with W ≈ s·q and
    /// h ≈ hq/32767; the sums come from [`pair_dots`], two rows per pass.
    /// `hq_prev` and `hq_next` need `S` entries and `logits` V, and `x < V`;
    /// otherwise nothing is written ([`crate::Generator`] always passes such buffers).
    pub fn step(&self, hq_prev: &[i16], x: usize, hq_next: &mut [i16], logits: &mut [f32]) {
        let (hidden, vocab, s) = (self.hidden, self.vocab, padded(self.hidden));
        let (Some(hq_prev), Some(column), Some(&sx), Some(bh), Some(hq_next), Some(logits)) = (
            hq_prev.get(..s),
            self.wxh
                .chunks_exact(s)
                .nth(x)
                .and_then(|c| c.get(..hidden)),
            self.wxh_scale.get(x),
            self.bh.get(..hidden),
            hq_next.get_mut(..s),
            logits.get_mut(..vocab),
        ) else {
            return;
        };
        // u_r = (acc·s_r)/32767 + bh_r + Wxh_q[x, r]·sx,  hq_r = tanh_q15(u_r)
        let unit = |acc: i32, scale: f32, bias: f32, wx: i8| {
            tanh_q15((acc as f32 * scale) / Q15_ONE + bias + f32::from(wx) * sx)
        };
        let (out, _padding) = hq_next.split_at_mut(hidden);
        let mut dots = [[0i32; 2]; PAIR_RUN];
        let sum = StateSum::of(hq_prev);
        let (mut last, mut r) = (0, 0);
        while r < hidden {
            let n = pair_dots_summed(&self.whh[r * s..], s, hq_prev, sum, &mut dots);
            let end = hidden.min(r + 2 * n);
            // the full pairs' rows four at a time on Helium, the rest here
            #[cfg(all(feature = "helium", target_arch = "arm"))]
            let done = helium::hidden_rows(
                dots[..(end - r) / 2].as_flattened(),
                &self.whh_scale[r..end],
                &bh[r..end],
                &column[r..end],
                sx,
                &mut out[r..end],
            );
            #[cfg(not(all(feature = "helium", target_arch = "arm")))]
            let done = 0;
            let rows = out[r..end]
                .chunks_exact_mut(2)
                .zip(self.whh_scale[r..end].chunks_exact(2))
                .zip(bh[r..end].chunks_exact(2))
                .zip(column[r..end].chunks_exact(2));
            for ((((h, scale), bias), wx), &[a, b]) in rows.zip(&dots).skip(done / 2) {
                h[0] = unit(a, scale[0], bias[0], wx[0]);
                h[1] = unit(b, scale[1], bias[1], wx[1]);
            }
            last = dots[n.saturating_sub(1)][0];
            r = if n == 0 { hidden } else { end };
        }
        // odd H: the last row is the first of a pair whose second row is zero
        if let (true, Some(h), Some(&scale), Some(&bias), Some(&wx)) = (
            hidden % 2 == 1,
            out.last_mut(),
            self.whh_scale.last(),
            bh.last(),
            column.last(),
        ) {
            *h = unit(last, scale, bias, wx);
        }
        // y_j = (acc·sy_j)/32767 + by_j
        let logit = |acc: i32, scale: f32, bias: f32| (acc as f32 * scale) / Q15_ONE + bias;
        let sum = StateSum::of(hq_next);
        let (mut last, mut j) = (0, 0);
        while j < vocab {
            let n = pair_dots_summed(&self.why[j * s..], s, hq_next, sum, &mut dots);
            let end = vocab.min(j + 2 * n);
            #[cfg(all(feature = "helium", target_arch = "arm"))]
            let done = helium::logit_rows(
                dots[..(end - j) / 2].as_flattened(),
                &self.why_scale[j..end],
                &self.by[j..end],
                &mut logits[j..end],
            );
            #[cfg(not(all(feature = "helium", target_arch = "arm")))]
            let done = 0;
            let rows = logits[j..end]
                .chunks_exact_mut(2)
                .zip(self.why_scale[j..end].chunks_exact(2))
                .zip(self.by[j..end].chunks_exact(2));
            for (((y, scale), bias), &[a, b]) in rows.zip(&dots).skip(done / 2) {
                y[0] = logit(a, scale[0], bias[0]);
                y[1] = logit(b, scale[1], bias[1]);
            }
            last = dots[n.saturating_sub(1)][0];
            j = if n == 0 { vocab } else { end };
        }
        if let (true, Some(y), Some(&scale), Some(&bias)) = (
            vocab % 2 == 1,
            logits.last_mut(),
            self.why_scale.last(),
            self.by.last(),
        ) {
            *y = logit(last, scale, bias);
        }
    }
}

/// Row-pair blocks per [`pair_dots`] call in the step: the size of its
/// buffer of dot products on the stack (16 × 8 bytes).
pub const PAIR_RUN: usize = 16;

/// Writes `out[p] = (Σ_c a_c·h_c, Σ_c b_c·h_c)` for the first row-pair blocks
/// of `w` (stride `stride`, module docs), as many as `out` holds and `w`
/// has; returns how many. `h` needs `stride` entries (else it returns 0).
///
/// On a Cortex-M4/M7 with feature `dsp` and 4-byte aligned `w` and `h` this
/// is the SMLAD/SXTB16 loop of the module docs; otherwise, and on every
/// other target, [`pair_dot_portable`] per block gives the same integers.
#[inline]
pub fn pair_dots(w: &[i8], stride: usize, h: &[i16], out: &mut [[i32; 2]]) -> usize {
    let sum = StateSum::of(h.get(..stride).unwrap_or(&[]));
    pair_dots_summed(w, stride, h, sum, out)
}

/// `Σ h` of a Q15 state, which the DSP loop needs: computed once per
/// matrix-vector product, not once per [`pair_dots`] run.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(all(feature = "dsp", target_arch = "arm")), allow(dead_code))]
struct StateSum(Option<i32>);

impl StateSum {
    /// On a Cortex-M4 with feature `dsp`: the sum, or `None` when the state
    /// cannot take the DSP path (unaligned, or not a multiple of 8 entries).
    /// Elsewhere nothing is computed.
    #[inline]
    fn of(h: &[i16]) -> Self {
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        return StateSum(dsp::sum(h));
        #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
        {
            let _ = h;
            StateSum(None)
        }
    }
}

/// [`pair_dots`] with `Σ h[..stride]` given.
#[inline]
fn pair_dots_summed(
    w: &[i8],
    stride: usize,
    h: &[i16],
    sum: StateSum,
    out: &mut [[i32; 2]],
) -> usize {
    let Some(h) = h.get(..stride).filter(|_| stride > 0) else {
        return 0;
    };
    let n = out.len().min(w.len() / (2 * stride));
    let (w, out) = (&w[..n * 2 * stride], &mut out[..n]);
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    if let (true, Some(sum)) = (n > 0, sum.0) {
        if helium::pair_dots(w, h, sum, out) {
            return n;
        }
    }
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    if let (true, Some(sum)) = (n > 0, sum.0) {
        if dsp::pair_dots(w, h, sum, out) {
            return n;
        }
    }
    let _ = sum;
    // Σ h once for all the blocks of this run (pair_dot_words' offset)
    let h_sum = h
        .iter()
        .map(|&v| i32::from(v))
        .fold(0i32, i32::wrapping_add);
    for (block, dot) in w.chunks_exact(2 * stride).zip(out) {
        #[cfg(all(target_arch = "arm", not(feature = "dsp"), not(target_abi = "eabihf")))]
        if let Some(pair) = thumb::pair_dot_words(block, h, h_sum) {
            *dot = pair;
            continue;
        }
        *dot = pair_dot_words(block, h, h_sum);
    }
    n
}

/// [`pair_dot_words`] in Thumb-1 assembly, for the Cortex-M0/M0+ and M3
/// (no DSP): LLVM's code for the portable loop spills to the stack on the
/// M0's eight low registers (7 instructions per MAC); here the two sums
/// live in high registers (`ADD r8, rN` reaches them), and per word:
///
/// ```text
/// LDM  w!, {word}      LDM  h!, {hh}        SXTH h0, hh     ASRS h1, hh, #16
/// UXTB t, word         MULS t, h0           ADD  A, t                   a0' · h0
/// LSLS t, word, #16    ASRS t, t, #24       MULS t, h0      ADD B, t    b0 · h0
/// LSRS t, word, #16    UXTB t, t            MULS t, h1      ADD A, t    a1' · h1
/// ASRS word, word, #24 MULS word, h1        ADD  B, word                b1 · h1
/// CMP  w, end          BNE
/// ```
///
/// 20 instructions for 4 MACs, the same integers (wrapping i32 sums).
#[cfg(all(target_arch = "arm", not(feature = "dsp"), not(target_abi = "eabihf")))]
#[allow(unsafe_code)]
mod thumb {
    use core::arch::asm;

    /// `[A, B]` of one block, or `None` (nothing done) unless `block` and `h`
    /// are word aligned and hold at least one word.
    #[inline]
    pub fn pair_dot_words(block: &[i8], h: &[i16], h_sum: i32) -> Option<[i32; 2]> {
        let words = (block.len() / 4).min(h.len() / 2);
        let aligned = (block.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
        if words == 0 || !aligned {
            return None;
        }
        let (a_raw, b): (i32, i32);
        // SAFETY: reads `words` words of `block` and of `h`, both in bounds
        // and word aligned. High registers can only be clobbers in Thumb-1
        // asm: the sums and the end pointer move through r2 and r3.
        unsafe {
            asm!(
                "mov r10, r2",
                "movs r2, #0",
                "mov r8, r2",
                "mov r9, r2",
                "2:",
                "ldm r0!, {{r2}}",
                "ldm r1!, {{r3}}",
                "sxth r4, r3",
                "asrs r3, r3, #16",
                "uxtb r5, r2",
                "muls r5, r4, r5",
                "add r8, r5",
                "lsls r5, r2, #16",
                "asrs r5, r5, #24",
                "muls r5, r4, r5",
                "add r9, r5",
                "lsrs r5, r2, #16",
                "uxtb r5, r5",
                "muls r5, r3, r5",
                "add r8, r5",
                "asrs r2, r2, #24",
                "muls r2, r3, r2",
                "add r9, r2",
                "cmp r0, r10",
                "bne 2b",
                "mov r2, r8",
                "mov r3, r9",
                inout("r0") block.as_ptr() => _,
                inout("r1") h.as_ptr() => _,
                inout("r2") block.as_ptr().wrapping_add(4 * words) => a_raw,
                out("r3") b,
                out("r4") _,
                out("r5") _,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                options(readonly, nostack),
            );
        }
        Some([
            a_raw.wrapping_sub(h_sum.wrapping_mul(super::PAIR_OFFSET)),
            b,
        ])
    }
}

/// [`pair_dot_portable`] a word at a time, the same integers: each 32-bit
/// word `[a0 + 128, b0, a1 + 128, b1]` (little-endian) is loaded once and
/// its bytes taken out by shifts, the two state entries likewise from one
/// word, and the offset of the first row comes off at the end:
/// `Σ (a' − 128)·h = Σ a'·h − 128·Σh` (`h_sum` = Σh). Per word two loads,
/// seven shifts and extends, four multiplies and four adds: on a Cortex-M0
/// 18 instructions for 4 MACs, where byte loads take 8 per MAC.
#[inline]
fn pair_dot_words(block: &[i8], h: &[i16], h_sum: i32) -> [i32; 2] {
    let (mut a_raw, mut b) = (0i32, 0i32);
    for (word, hq) in block.chunks_exact(4).zip(h.chunks_exact(2)) {
        let w = u32::from_le_bytes([word[0] as u8, word[1] as u8, word[2] as u8, word[3] as u8]);
        let (h0, h1) = (i32::from(hq[0]), i32::from(hq[1]));
        let a0 = (w & 0xff) as i32; // a[2k] + 128
        let b0 = ((w << 16) as i32) >> 24; // b[2k], sign-extended
        let a1 = ((w >> 16) & 0xff) as i32; // a[2k+1] + 128
        let b1 = (w as i32) >> 24; // b[2k+1]
        a_raw = a_raw.wrapping_add(a0 * h0).wrapping_add(a1 * h1);
        b = b.wrapping_add(b0 * h0).wrapping_add(b1 * h1);
    }
    [a_raw.wrapping_sub(h_sum.wrapping_mul(PAIR_OFFSET)), b]
}

/// One row-pair block's two dot products from its bytes: `a = byte − 128`
/// at even bytes, `b = byte as i8` at odd ones, over
/// `min(block.len() / 4, h.len() / 2)` words.
#[inline]
pub fn pair_dot_portable(block: &[i8], h: &[i16]) -> (i32, i32) {
    let (mut a, mut b) = (0i32, 0i32);
    for (word, hq) in block.chunks_exact(4).zip(h.chunks_exact(2)) {
        let (h0, h1) = (i32::from(hq[0]), i32::from(hq[1]));
        let a0 = i32::from(word[0] as u8) - PAIR_OFFSET;
        let a1 = i32::from(word[2] as u8) - PAIR_OFFSET;
        a = a.wrapping_add(a0 * h0).wrapping_add(a1 * h1);
        b = b
            .wrapping_add(i32::from(word[1]) * h0)
            .wrapping_add(i32::from(word[3]) * h1);
    }
    (a, b)
}

#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    /// [`super::pair_dots`] on the DSP instructions, for `out.len() ≥ 1`
    /// blocks filling `w`, `sum = Σ h`; `false` (nothing done) unless `w`
    /// and `h` are 4-byte aligned and `h` has a positive multiple of 8
    /// entries (`padded(H)` always is).
    #[inline]
    pub fn pair_dots(w: &[i8], h: &[i16], sum: i32, out: &mut [[i32; 2]]) -> bool {
        let aligned = (w.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
        let steps_ok = !h.is_empty() && h.len() % 8 == 0;
        if !aligned || !steps_ok || out.is_empty() || w.len() < out.len() * 2 * h.len() {
            return false;
        }
        // SAFETY: checked just above; blocks are 2·h.len() bytes, a multiple
        // of 16, so every block stays aligned.
        unsafe { pair_run(w, h, out.len(), sum, out) };
        true
    }

    /// Eight columns of a row pair, the body of [`pair_run`]'s loop: state
    /// words `(h0,h1) … (h6,h7)` into r3–r6, block words into r7–r10, then
    /// per word `R += raw·h2` (r11), `t = SXTB16(word ROR 8)`, `B += t·h2` (r12).
    macro_rules! eight_columns {
        () => {
            concat!(
                "ldm r0!, {{r3, r4, r5, r6}}\n",
                "ldm r1!, {{r7, r8, r9, r10}}\n",
                "smlad r11, r7, r3, r11\n",
                "sxtb16 r7, r7, ror #8\n",
                "smlad r12, r7, r3, r12\n",
                "smlad r11, r8, r4, r11\n",
                "sxtb16 r8, r8, ror #8\n",
                "smlad r12, r8, r4, r12\n",
                "smlad r11, r9, r5, r11\n",
                "sxtb16 r9, r9, ror #8\n",
                "smlad r12, r9, r5, r12\n",
                "smlad r11, r10, r6, r11\n",
                "sxtb16 r10, r10, ror #8\n",
                "smlad r12, r10, r6, r12",
            )
        };
    }

    /// `(A, B)` of the module docs for the first `pairs` pair blocks of `w`,
    /// into `out[..pairs]`; `sum = Σ h`.
    ///
    /// Per eight columns: one LDM of four state words, one LDM of four block
    /// words, and per word SMLAD, SXTB16, SMLAD: 14 instructions for 16
    /// multiply-accumulates. The inner loop does sixteen columns per turn
    /// (an odd number of eight-column steps enters it at its second half);
    /// the outer loop over blocks stays in registers and on the stack, so
    /// that the compiler need not save and reload its own values around
    /// every block. The loops need thirteen registers: r6 and r7 (reserved
    /// by LLVM, not usable as operands) are saved and restored inside.
    /// Registers are named explicitly because LDM fills its list in
    /// register-number order.
    ///
    /// # Safety
    ///
    /// `w` and `h` word aligned; `h.len()` a positive multiple of 8;
    /// `w.len() ≥ pairs·2·h.len()`; `1 ≤ pairs ≤ out.len()`.
    #[inline(always)]
    unsafe fn pair_run(w: &[i8], h: &[i16], pairs: usize, sum: i32, out: &mut [[i32; 2]]) {
        let steps = h.len() / 8;
        let h_end = h.as_ptr_range().end;
        let out_end = out.as_mut_ptr().wrapping_add(pairs);
        // SAFETY: the caller's contract bounds every load (`pairs` blocks of
        // 16·steps bytes of `w`, 16·steps bytes of `h` per block) and store
        // (`pairs` entries of `out`); r6/r7 and the 16 bytes of stack are
        // restored before the end.
        unsafe {
            asm!(
                "push {{r6, r7}}",
                "sub sp, sp, #16",
                "str r0, [sp]",      // h
                "str r5, [sp, #4]",  // end of out
                "str r8, [sp, #8]",  // Σh
                "str r3, [sp, #12]", // steps
                "mov lr, r4",        // out
                "5:",
                "ldr r0, [sp]",
                "mov.w r11, #0",
                "mov.w r12, #0",
                "ldr r3, [sp, #12]",
                "tst r3, #1",
                "bne 4f",
                "3:",
                eight_columns!(),
                "4:",
                eight_columns!(),
                "cmp r0, r2",
                "bne 3b",
                // R = 256·B + A + 128·Σh (mod 2³²)  ⇒  A = R − 256·B − 128·Σh
                "ldr r3, [sp, #8]",
                "sub r11, r11, r12, lsl #8",
                "sub r11, r11, r3, lsl #7",
                "stm lr!, {{r11, r12}}",
                "ldr r3, [sp, #4]",
                "cmp lr, r3",
                "bne 5b",
                "add sp, sp, #16",
                "pop {{r6, r7}}",
                inout("r0") h.as_ptr() => _,
                inout("r1") w.as_ptr() => _,
                inout("r2") h_end => _,
                inout("r3") steps => _,
                inout("r4") out.as_mut_ptr() => _,
                inout("r5") out_end => _,
                inout("r8") sum => _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
                out("r12") _,
                out("lr") _,
            );
        }
    }

    /// `Σ h_i` by SMLAD with `(1, 1)`, eight entries per step (exact: at
    /// most 512 entries of ±32767); `None` unless `h` is 4-byte aligned with
    /// a positive multiple of 8 entries.
    #[inline]
    pub fn sum(h: &[i16]) -> Option<i32> {
        let steps = h.len() / 8;
        if h.as_ptr() as usize % 4 != 0 || steps == 0 || h.len() % 8 != 0 {
            return None;
        }
        let mut sum = 0i32;
        // SAFETY: reads 16·steps bytes of `h`, in bounds and word aligned.
        unsafe {
            asm!(
                "add r2, r0, r2, lsl #4",
                "3:",
                "ldm r0!, {{r3, r4, r5, r8}}",
                "smlad r12, r3, r1, r12",
                "smlad r12, r4, r1, r12",
                "smlad r12, r5, r1, r12",
                "smlad r12, r8, r1, r12",
                "cmp r0, r2",
                "bne 3b",
                inout("r0") h.as_ptr() => _,
                in("r1") 0x0001_0001u32,
                inout("r2") steps => _,
                out("r3") _,
                out("r4") _,
                out("r5") _,
                out("r8") _,
                inout("r12") sum,
                options(readonly, nostack),
            );
        }
        Some(sum)
    }
}

/// The row-pair dot products on Helium (MVE, Armv8.1-M: the Cortex-M55),
/// feature `helium`.
///
/// A word of a pair block read as two signed 16-bit lanes is `256·b + a +
/// 128` (module docs), so sixteen block bytes are eight such lanes and
///
/// ```text
/// VLDRB.U8     q0, [w], #16       eight columns of the pair: lanes 256·b + a + 128
/// VMLADAVA.S16 R, q0, q1          R += Σ lane·h      (q1 = h[c .. c+8], i16)
/// VSHR.S16     q0, q0, #8         lanes b (exact: a + 128 is a byte in [1, 255])
/// VMLADAVA.S16 B, q0, q1          B += Σ b·h
/// ```
///
/// give `R = 256·B + A + 128·Σh` and `B` as on the DSP path: four
/// instructions for sixteen multiply-accumulates. Two row pairs share each
/// state load (VLDRH.U16), and the loop is a low-overhead loop (DLS/LE), so
/// eight columns of two pairs (32 MACs) take 10 instructions: 0.31 per MAC.
/// Rows are padded to a multiple of 8 entries ([`padded`]), so every block
/// is whole vectors and no tail predication is needed; an odd number of
/// pairs ends with one pair alone.
///
/// The rows after the dot products, scale, bias and `tanh_q15`, run four at
/// a time on Helium's f32 and integer lanes too (`hidden_rows`,
/// `logit_rows`); Helium's f32 instructions flush subnormals to zero, so
/// those check FPSCR's flush flags and leave the rows to the scalar code
/// when one was raised.
#[cfg(all(feature = "helium", target_arch = "arm"))]
#[allow(unsafe_code)]
mod helium {
    use core::arch::asm;

    /// The loop head shared by [`hidden_rows`] and [`logit_rows`]: per four
    /// rows, `q0 = (acc as f32 · scale) / 32767 + bias` (the division in
    /// four scalar VDIVs, Helium having none), `acc`, `scale` and `bias`
    /// advanced; operands `q15_one`, `quads`, `acc`, `scale`, `bias`.
    macro_rules! scaled_rows_loop_head {
        () => {
            concat!(
                ".arch_extension mve.fp\n",
                "vmov s16, {q15_one}\n",
                "dls lr, {quads}\n",
                "2:\n",
                "vldrw.u32 q0, [{acc}], #16\n",
                "vcvt.f32.s32 q0, q0\n",
                "vldrw.u32 q1, [{scale}], #16\n",
                "vmul.f32 q0, q0, q1\n",
                "vdiv.f32 s0, s0, s16\n",
                "vdiv.f32 s1, s1, s16\n",
                "vdiv.f32 s2, s2, s16\n",
                "vdiv.f32 s3, s3, s16\n",
                "vldrw.u32 q1, [{bias}], #16\n",
                "vadd.f32 q0, q0, q1",
            )
        };
    }

    /// The int8 step's hidden rows four at a time, on Helium lanes:
    ///
    /// ```text
    /// u    = ((acc as f32 · scale) / 32767 + bias) + (wx as f32) · sx      (lanes; the division scalar)
    /// hq   = tanh_q15(u)                                                   (lanes; table by gathers)
    /// ```
    ///
    /// each lane the same operations in the same order as the scalar
    /// `unit` of [`super::QuantModelView::step`] and [`crate::tanh_q15`]
    /// (VCVT rounds to nearest and truncates like `as`, saturating, NaN to
    /// 0; the interpolation's `+ 2¹² >> 13` is VRSHR). Returns how many rows
    /// it wrote, a multiple of 4, and 0 when a subnormal was flushed (the
    /// caller then computes every row), so the bits are IEEE-754's.
    pub fn hidden_rows(
        acc: &[i32],
        scale: &[f32],
        bias: &[f32],
        wx: &[i8],
        sx: f32,
        out: &mut [i16],
    ) -> usize {
        let n = acc
            .len()
            .min(scale.len())
            .min(bias.len())
            .min(wx.len())
            .min(out.len())
            / 4
            * 4;
        // SAFETY (called only for n ≥ 4): reads n entries of acc, scale,
        // bias and wx and writes n of out, all in bounds; the gathers read
        // TABLE at min(i, 767) and one after (769 entries). Q4–Q7 are
        // declared clobbered (saved by the caller as AAPCS's s16–s31).
        let run = || unsafe {
            asm!(
                scaled_rows_loop_head!(),
                "vldrb.s32 q1, [r3], #4",
                "vcvt.f32.s32 q1, q1",
                "vmul.f32 q1, q1, {sx}",
                "vadd.f32 q0, q0, q1",
                // fixed = (u·2²⁰) as i32, m = |fixed|, i = m >> 13, w = m − (i << 13)
                "vmul.f32 q0, q0, {two20}",
                "vcvt.s32.f32 q0, q0",
                "vabs.s32 q1, q0",
                "vshr.u32 q2, q1, #13",
                "vshl.i32 q3, q2, #13",
                "vsub.i32 q3, q1, q3",
                // y0 = T[min(i, 767)], y1 = T[min(i, 767) + 1]
                "vmov.i32 q7, #0x2ff",
                "vmin.u32 q7, q7, q2",
                "vldrh.s32 q5, [{table}, q7, uxtw #1]",
                "vmov.i32 q6, #1",
                "vadd.i32 q6, q6, q7",
                "vldrh.s32 q1, [{table}, q6, uxtw #1]",
                // y = y0 + ((y1 − y0)·w + 2¹²) >> 13, 32767 where i > 767
                "vsub.i32 q1, q1, q5",
                "vmul.i32 q1, q1, q3",
                "vrshr.s32 q1, q1, #13",
                "vadd.i32 q5, q5, q1",
                "vpt.u32 hi, q2, q7",
                "vmovt.i32 q5, #0x7fff",
                // the sign of fixed: (y ^ s) − s with s = fixed >> 31
                "vshr.s32 q1, q0, #31",
                "veor q5, q5, q1",
                "vsub.i32 q5, q5, q1",
                "vstrh.32 q5, [r2], #8",
                "le lr, 2b",
                q15_one = in(reg) super::Q15_ONE.to_bits(),
                quads = in(reg) n / 4,
                acc = inout(reg) acc.as_ptr() => _,
                scale = inout(reg) scale.as_ptr() => _,
                bias = inout(reg) bias.as_ptr() => _,
                // the widening load and the narrowing store take r0–r7
                inout("r3") wx.as_ptr() => _,
                sx = in(reg) sx.to_bits(),
                two20 = in(reg) ((1u32 << 20) as f32).to_bits(),
                table = in(reg) crate::tanh_q15::TABLE.as_ptr(),
                inout("r2") out.as_mut_ptr() => _,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                out("q2") _,
                out("q3") _,
                out("q4") _,
                out("q5") _,
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

    /// The int8 step's logits four at a time on Helium lanes, `y = (acc as
    /// f32 · scale) / 32767 + bias` (the division scalar); as
    /// [`hidden_rows`], the rows written or 0 after a flush.
    pub fn logit_rows(acc: &[i32], scale: &[f32], bias: &[f32], out: &mut [f32]) -> usize {
        let n = acc.len().min(scale.len()).min(bias.len()).min(out.len()) / 4 * 4;
        // SAFETY (called only for n ≥ 4): reads n entries of acc, scale and
        // bias, writes n of out.
        let run = || unsafe {
            asm!(
                scaled_rows_loop_head!(),
                "vstrw.32 q0, [{out}], #16",
                "le lr, 2b",
                q15_one = in(reg) super::Q15_ONE.to_bits(),
                quads = in(reg) n / 4,
                acc = inout(reg) acc.as_ptr() => _,
                scale = inout(reg) scale.as_ptr() => _,
                bias = inout(reg) bias.as_ptr() => _,
                out = inout(reg) out.as_mut_ptr() => _,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                out("q4") _,
                options(nostack),
            );
        };
        if n > 0 && crate::helium_float::without_flush(run) {
            n
        } else {
            0
        }
    }

    /// `A = R − 256·B − 128·Σh` (mod 2³², exact because the true `A` fits an i32).
    #[inline(always)]
    fn split(r: i32, b: i32, sum: i32) -> [i32; 2] {
        [
            r.wrapping_sub(b.wrapping_mul(256))
                .wrapping_sub(sum.wrapping_mul(128)),
            b,
        ]
    }

    /// [`super::pair_dots`] on Helium, for `out.len() ≥ 1` blocks filling
    /// `w`, `sum = Σ h`; `false` (nothing done) unless `h` has a positive
    /// multiple of 8 entries (`padded(H)` always has).
    #[inline]
    pub fn pair_dots(w: &[i8], h: &[i16], sum: i32, out: &mut [[i32; 2]]) -> bool {
        let block = 2 * h.len();
        if h.is_empty() || h.len() % 8 != 0 || out.is_empty() || w.len() < out.len() * block {
            return false;
        }
        let steps = h.len() / 8;
        let last_block = w.chunks_exact(block).nth(out.len() - 1);
        let mut outs = out.chunks_exact_mut(2);
        for (blocks, dots) in w.chunks_exact(2 * block).zip(&mut outs) {
            // SAFETY: two blocks of 16·steps bytes and 16·steps bytes of `h`.
            let [r0, b0, r1, b1] = unsafe { two_pairs(blocks.as_ptr(), block, h.as_ptr(), steps) };
            dots[0] = split(r0, b0, sum);
            dots[1] = split(r1, b1, sum);
        }
        if let ([dot], Some(last)) = (outs.into_remainder(), last_block) {
            // SAFETY: one block of 16·steps bytes and 16·steps bytes of `h`.
            let [r, b] = unsafe { one_pair(last.as_ptr(), h.as_ptr(), steps) };
            *dot = split(r, b, sum);
        }
        true
    }

    /// `[R, B]` of the block at `w` and of the block `block` bytes after it
    /// (module docs), over `8·steps` columns of `h`.
    ///
    /// # Safety
    ///
    /// `w` readable for `block + 16·steps` bytes, `block ≥ 16·steps`, `h` for
    /// `8·steps` entries, `steps ≥ 1`.
    #[inline(always)]
    unsafe fn two_pairs(w: *const i8, block: usize, h: *const i16, steps: usize) -> [i32; 4] {
        let (mut r0, mut b0, mut r1, mut b1) = (0i32, 0i32, 0i32, 0i32);
        // SAFETY: the caller's contract bounds the loads; VMLADAVA's
        // accumulators are the even registers it needs.
        unsafe {
            asm!(
                "dls lr, r9",
                "2:",
                "vldrh.u16 q1, [r1], #16",
                "vldrb.u8 q0, [r3], #16",
                "vldrb.u8 q2, [r5], #16",
                "vmladava.s16 r0, q0, q1",
                "vshr.s16 q0, q0, #8",
                "vmladava.s16 r2, q0, q1",
                "vmladava.s16 r4, q2, q1",
                "vshr.s16 q2, q2, #8",
                "vmladava.s16 r8, q2, q1",
                "le lr, 2b",
                inout("r0") r0,
                inout("r2") b0,
                inout("r4") r1,
                inout("r8") b1,
                inout("r1") h => _,
                inout("r3") w => _,
                inout("r5") w.wrapping_add(block) => _,
                in("r9") steps,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                out("q2") _,
                options(readonly, nostack),
            );
        }
        [r0, b0, r1, b1]
    }

    /// `[R, B]` of the block at `w` over `8·steps` columns of `h`.
    ///
    /// # Safety
    ///
    /// `w` readable for `16·steps` bytes, `h` for `8·steps` entries, `steps ≥ 1`.
    #[inline(always)]
    unsafe fn one_pair(w: *const i8, h: *const i16, steps: usize) -> [i32; 2] {
        let (mut r, mut b) = (0i32, 0i32);
        // SAFETY: as `two_pairs`, for one block.
        unsafe {
            asm!(
                "dls lr, r9",
                "2:",
                "vldrh.u16 q1, [r1], #16",
                "vldrb.u8 q0, [r3], #16",
                "vmladava.s16 r0, q0, q1",
                "vshr.s16 q0, q0, #8",
                "vmladava.s16 r2, q0, q1",
                "le lr, 2b",
                inout("r0") r,
                inout("r2") b,
                inout("r1") h => _,
                inout("r3") w => _,
                in("r9") steps,
                out("lr") _,
                out("q0") _,
                out("q1") _,
                options(readonly, nostack),
            );
        }
        [r, b]
    }
}

/// The tensors of an int8 model, owned: what [`quantize`] and
/// [`crate::quantize_tiles`] make (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnedTensors {
    pub(crate) hidden: usize,
    pub(crate) vocab: usize,
    pub(crate) int8: [alloc::vec::Vec<i8>; 3],
    pub(crate) f32: [alloc::vec::Vec<f32>; 5],
}

#[cfg(feature = "alloc")]
impl OwnedTensors {
    /// The tensors, borrowed.
    pub(crate) fn tensors(&self) -> QuantTensors<'_> {
        let [a, b, c] = &self.int8;
        let [d, e, f, g, h] = &self.f32;
        QuantTensors {
            int8: [a, b, c],
            f32: [d, e, f, g, h],
        }
    }
}

/// Owned int8 tensors, made by [`quantize`] (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub struct QuantModel(OwnedTensors);

#[cfg(feature = "alloc")]
impl QuantModel {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> QuantModelView<'_> {
        let m = &self.0;
        // The shapes were made by `quantize` from a checked view.
        QuantModelView::new(m.hidden, m.vocab, m.tensors()).unwrap_or_else(|_| unreachable!())
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

/// Stores int8 rows (natural order, `stride` bytes each) as row pairs
/// (module docs); a missing last row is zero.
///
/// ```
/// // Two rows of stride 8: a = 1, 2, 0, … and b = -1, -2, 0, …
/// let rows = [1i8, 2, 0, 0, 0, 0, 0, 0, -1, -2, 0, 0, 0, 0, 0, 0];
/// let pairs = charm_core::pack_row_pairs(&rows, 8);
/// assert_eq!(&pairs[..4], &[(1 + 128) as u8 as i8, -1, (2 + 128) as u8 as i8, -2]);
/// let h = [3i16, 4, 0, 0, 0, 0, 0, 0];
/// assert_eq!(charm_core::pair_dot_portable(&pairs, &h), (1 * 3 + 2 * 4, -3 - 8));
/// ```
#[cfg(feature = "alloc")]
pub fn pack_row_pairs(rows: &[i8], stride: usize) -> alloc::vec::Vec<i8> {
    let n = rows.len() / stride.max(1);
    let mut out = alloc::vec::Vec::with_capacity(paired_len(n, stride));
    for pair in 0..n.div_ceil(2) {
        let row = |r: usize| rows.get(r * stride..(r + 1) * stride);
        let (a, b) = (row(2 * pair), row(2 * pair + 1));
        for c in 0..stride {
            let a = a.map_or(0, |a| a[c]);
            let b = b.map_or(0, |b| b[c]);
            // byte 2j = a + 128, byte 2j + 1 = b, for j = c mod 2 within the word
            out.push((i32::from(a) + PAIR_OFFSET) as u8 as i8);
            out.push(b);
        }
    }
    // `out` is [a0', b0, a1', b1, …]: exactly the word layout [a(2k)', b(2k), a(2k+1)', b(2k+1)].
    out
}

/// Rows of `stride` f32 weights (the first `hidden` real, the rest padding)
/// as int8 rows in natural order and one scale per row:
/// `s = max|w_row| / 127`, `q = round(w / s)`, padding 0.
#[cfg(feature = "alloc")]
pub(crate) fn quantize_rows(
    w: &[f32],
    stride: usize,
    hidden: usize,
) -> (alloc::vec::Vec<i8>, alloc::vec::Vec<f32>) {
    let mut q = alloc::vec::Vec::with_capacity(w.len());
    let mut scales = alloc::vec::Vec::with_capacity(w.len() / stride.max(1));
    for row in w.chunks_exact(stride.max(1)) {
        let max = row[..hidden.min(row.len())]
            .iter()
            .fold(0.0f32, |m, &v| m.max(v.abs()));
        let scale = max / 127.0;
        q.extend(row.iter().enumerate().map(|(col, &v)| {
            if col < hidden && scale > 0.0 {
                libm::roundf(v / scale).clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        }));
        scales.push(scale);
    }
    (q, scales)
}

/// Quantizes an f32 model to int8 with one symmetric scale per row
/// (`s = max|w_row| / 127`, `q = round(w / s)`); biases are kept as f32, and
/// `whh` and `why` are stored as row pairs ([`pack_row_pairs`]).
#[cfg(feature = "alloc")]
pub fn quantize(model: &crate::ModelView<'_, f32>) -> Result<QuantModel, QuantizeError> {
    let (hidden, vocab) = (model.hidden(), model.vocab());
    if hidden > MAX_HIDDEN_INT8 {
        return Err(QuantizeError::HiddenTooLarge { hidden });
    }
    let s = padded(hidden);
    let (wxh, wxh_scale) = quantize_rows(model.wxh(), s, hidden);
    let (whh, whh_scale) = quantize_rows(model.whh(), s, hidden);
    let (why, why_scale) = quantize_rows(model.why(), s, hidden);
    Ok(QuantModel(OwnedTensors {
        hidden,
        vocab,
        int8: [wxh, pack_row_pairs(&whh, s), pack_row_pairs(&why, s)],
        f32: [
            wxh_scale,
            whh_scale,
            why_scale,
            model.bh().to_vec(),
            model.by().to_vec(),
        ],
    }))
}

#[cfg(all(test, feature = "alloc"))]
mod word_tests {
    extern crate alloc;
    use super::{pair_dot_portable, pair_dot_words};

    /// The word-at-a-time sums equal the byte-at-a-time ones, at the
    /// extremes of both factors (exact integers: no tolerance).
    #[test]
    fn words_equal_bytes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for len in [8usize, 16, 24, 128, 512] {
            let block: alloc::vec::Vec<i8> = (0..2 * len)
                .map(|i| match i % 5 {
                    0 => i8::MIN,
                    1 => i8::MAX,
                    _ => next() as i8,
                })
                .collect();
            let h: alloc::vec::Vec<i16> = (0..len)
                .map(|i| match i % 7 {
                    0 => -32767,
                    1 => 32767,
                    _ => next() as i16 / 2,
                })
                .collect();
            let sum = h.iter().map(|&v| i32::from(v)).sum::<i32>();
            let (a, b) = pair_dot_portable(&block, &h);
            assert_eq!(pair_dot_words(&block, &h, sum), [a, b], "len {len}");
        }
    }
}
