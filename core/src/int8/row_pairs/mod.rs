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
//! the CMSIS-NN scheme (two SXTB16 + two SMLAD per word); the loop over two
//! blocks loads the words and the state by single LDRs back to back, which
//! the Cortex-M4 pipelines, and the one over an odd last block eight
//! columns at a time with LDM (module `dsp`). [`pair_dot_portable`]
//! computes the same `(A, B)` from the bytes directly, on any target.
//!
//! Three is the least for four int8 MACs on Armv7E-M: a multiply does at most
//! two MACs (SMLAD), so a word of four weights needs two, and a multiply on
//! the raw word sees each lane as the single number `256·b + a`: sums of such
//! products give `256·B + A` and nothing else, so one more instruction per
//! word must split the bytes.

use crate::int8::tanh_q15::tanh_q15;
use crate::int8::tensors::QuantTensors;
use crate::kernels::padded;
use crate::math::soft_f32::{add, div_by_32767, mul};
use crate::model::ShapeError;
use core::mem::MaybeUninit;
use pair_dots::pair_dot_words;

mod pair_dots;
pub use pair_dots::{pair_dot_portable, pair_dots, PAIR_RUN};
#[cfg(feature = "alloc")]
mod quantize;
#[cfg(feature = "alloc")]
pub use quantize::{pack_row_pairs, quantize, QuantModel};

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
    /// h ≈ hq/32767; the sums come from [`pair_dots`](fn@pair_dots), two rows per pass.
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
        // (`mul`, `div_by_32767` and `add` are `*`, `/ Q15_ONE` and `+`,
        // in integer arithmetic without an FPU)
        let unit = |acc: i32, scale: f32, bias: f32, wx: i8| {
            let scaled = div_by_32767(mul(acc as f32, scale)); // (acc·s_r)/32767
            tanh_q15(add(add(scaled, bias), mul(f32::from(wx), sx)))
        };
        let (out, _padding) = hq_next.split_at_mut(hidden);
        let mut slots = dot_slots();
        let sum = StateSum::of(hq_prev);
        let (mut last, mut r) = (0, 0);
        while r < hidden {
            let dots = pair_dots_summed(&self.whh[r * s..], s, hq_prev, sum, &mut slots);
            let n = dots.len();
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
            for ((((h, scale), bias), wx), &[a, b]) in rows.zip(&*dots).skip(done / 2) {
                h[0] = unit(a, scale[0], bias[0], wx[0]);
                h[1] = unit(b, scale[1], bias[1], wx[1]);
            }
            if let Some(&[a, _]) = dots.last() {
                last = a;
            }
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
        let logit =
            |acc: i32, scale: f32, bias: f32| add(div_by_32767(mul(acc as f32, scale)), bias);
        let sum = StateSum::of(hq_next);
        let (mut last, mut j) = (0, 0);
        while j < vocab {
            let dots = pair_dots_summed(&self.why[j * s..], s, hq_next, sum, &mut slots);
            let n = dots.len();
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
            for (((y, scale), bias), &[a, b]) in rows.zip(&*dots).skip(done / 2) {
                y[0] = logit(a, scale[0], bias[0]);
                y[1] = logit(b, scale[1], bias[1]);
            }
            if let Some(&[a, _]) = dots.last() {
                last = a;
            }
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

#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[allow(unsafe_code)]
mod dsp;

#[cfg(all(feature = "helium", target_arch = "arm"))]
#[allow(unsafe_code)]
mod helium;

#[cfg(all(target_arch = "arm", not(feature = "dsp"), not(target_abi = "eabihf")))]
mod block_loops;
#[cfg(charm_thumb1)]
#[allow(unsafe_code)]
mod thumb;

#[cfg(all(target_arch = "arm", feature = "thumb2", not(feature = "dsp")))]
#[allow(unsafe_code)]
mod thumb2;

#[cfg(target_arch = "riscv32")]
#[allow(unsafe_code)]
mod riscv;

/// `Σ h` of a Q15 state, the offset every row-pair loop takes off (`A =
/// R − 256·B − 128·Σh`): computed once per matrix-vector product, not once
/// per [`pair_dots`] run of [`PAIR_RUN`] blocks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StateSum(pub(crate) Option<i32>);

impl StateSum {
    /// The wrapping sum of `h` (exact: `|Σh| ≤ 512·32767 < 2³¹`). On a
    /// Cortex-M4 with feature `dsp` it is `None` when the state cannot take
    /// the DSP path (unaligned, or not a multiple of 8 entries), and
    /// [`pair_dots_summed`] sums it itself if another path needs it.
    #[inline]
    pub(crate) fn of(h: &[i16]) -> Self {
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        return StateSum(dsp::sum(h));
        #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
        StateSum(Some(wrapping_sum(h)))
    }
}

/// `Σ h` in i32, wrapping (exact for a state of at most
/// [`MAX_HIDDEN_INT8`] Q15 entries); on the Cortex-M0/M0+ by
/// [`thumb::state_sum`].
#[inline]
fn wrapping_sum(h: &[i16]) -> i32 {
    #[cfg(charm_thumb1)]
    if let Some(sum) = thumb::state_sum(h) {
        return sum;
    }
    h.iter()
        .map(|&v| i32::from(v))
        .fold(0i32, i32::wrapping_add)
}

/// A division is a call on Thumb-1 (the Cortex-M0/M0+) and 33 cycles on
/// RV32 (the cycle model's): there [`pair_dots_summed`] counts its blocks
/// by a product first. Elsewhere the division is cheap and the product's
/// test costs more than it saves.
const SLOW_DIVISION: bool = cfg!(any(target_arch = "riscv32", charm_thumb1));

/// The blocks of a run of row pairs over `rows` more rows: `⌈rows/2⌉`,
/// at most [`PAIR_RUN`]: the length of `dots` for [`pair_dots_summed`]
/// with which it counts its blocks without a division (the fixed step's;
/// the row-pair step passes all [`PAIR_RUN`] and divides for its last run).
#[inline]
pub(crate) fn run(rows: usize) -> usize {
    rows.div_ceil(2).min(PAIR_RUN)
}

/// A slot of a buffer of row-pair dot products: written by
/// [`pair_dots_summed`] before it is read, so that a step's buffer of
/// [`PAIR_RUN`] slots (512 bytes) is never zeroed first.
pub(crate) type DotSlot = MaybeUninit<[i32; 2]>;

/// [`PAIR_RUN`] slots for [`pair_dots_summed`], uninitialized.
#[inline(always)]
pub(crate) fn dot_slots() -> [DotSlot; PAIR_RUN] {
    [const { MaybeUninit::uninit() }; PAIR_RUN]
}

/// [`pair_dots`] with `sum` = [`StateSum::of`]`(&h[..stride])`, into
/// slots that need not be initialized: returns the dot products written,
/// the first slots of `out`.
#[inline]
#[allow(unsafe_code)]
pub(crate) fn pair_dots_summed<'a>(
    w: &[i8],
    stride: usize,
    h: &[i16],
    sum: StateSum,
    out: &'a mut [DotSlot],
) -> &'a mut [[i32; 2]] {
    let n = write_pair_dots(w, stride, h, sum, out);
    let written = &mut out[..n];
    // SAFETY: `write_pair_dots` wrote every one of the first `n` slots (each
    // of its paths writes all the slots it is given, `out[..n]`), and
    // `MaybeUninit<[i32; 2]>` has the layout of `[i32; 2]`.
    unsafe { core::slice::from_raw_parts_mut(written.as_mut_ptr().cast::<[i32; 2]>(), n) }
}

/// [`pair_dots_summed`]'s work: writes `out[..n]` and returns `n`, the
/// blocks `out` holds and `w` has.
#[inline(always)]
fn write_pair_dots(
    w: &[i8],
    stride: usize,
    h: &[i16],
    sum: StateSum,
    out: &mut [DotSlot],
) -> usize {
    let Some(h) = h.get(..stride).filter(|_| stride > 0) else {
        return 0;
    };
    // blocks: as many as `out` holds when `w` has them; where a division
    // is slow, the product first: below 2³² for `out` and the stride below
    // 2¹⁵ (no overflow test either)
    let n = if SLOW_DIVISION {
        let small = out.len() < 1 << 15 && stride < 1 << 15;
        match small && out.len() * 2 * stride <= w.len() {
            true => out.len(),
            false => out.len().min(w.len() / (2 * stride)),
        }
    } else {
        out.len().min(w.len() / (2 * stride))
    };
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
    // Σ h, the offset of pair_dot_words and of the assembly loops
    let h_sum = sum.0.unwrap_or_else(|| wrapping_sum(h));
    #[cfg(target_arch = "riscv32")]
    if riscv::pair_dots(w, h, h_sum, out) {
        return n;
    }
    #[cfg(charm_thumb1)]
    if thumb::pair_dots(w, h, h_sum, out) {
        return n;
    }
    #[cfg(all(target_arch = "arm", feature = "thumb2", not(feature = "dsp")))]
    if thumb2::pair_dots(w, h, h_sum, out) {
        return n;
    }
    for (block, dot) in w.chunks_exact(2 * stride).zip(out) {
        dot.write(pair_dot_words(block, h, h_sum));
    }
    n
}
