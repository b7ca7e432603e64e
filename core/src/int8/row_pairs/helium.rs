//! The row-pair dot products on Helium (MVE, Armv8.1-M: the Cortex-M55),
//! feature `helium`.
//!
//! A word of a pair block read as two signed 16-bit lanes is `256·b + a +
//! 128` (module docs), so sixteen block bytes are eight such lanes and
//!
//! ```text
//! VLDRB.U8     q0, [w], #16       eight columns of the pair: lanes 256·b + a + 128
//! VMLADAVA.S16 R, q0, q1          R += Σ lane·h      (q1 = h[c .. c+8], i16)
//! VSHR.S16     q0, q0, #8         lanes b (exact: a + 128 is a byte in [1, 255])
//! VMLADAVA.S16 B, q0, q1          B += Σ b·h
//! ```
//!
//! give `R = 256·B + A + 128·Σh` and `B` as on the DSP path: four
//! instructions for sixteen multiply-accumulates. Two row pairs share each
//! state load (VLDRH.U16), and the loop is a low-overhead loop (DLS/LE), so
//! eight columns of two pairs (32 MACs) take 10 instructions: 0.31 per MAC.
//! Rows are padded to a multiple of 8 entries ([`padded`]), so every block
//! is whole vectors and no tail predication is needed; an odd number of
//! pairs ends with one pair alone.
//!
//! The rows after the dot products, scale, bias and `tanh_q15`, run four at
//! a time on Helium's f32 and integer lanes too (`hidden_rows`,
//! `logit_rows`); Helium's f32 instructions flush subnormals to zero, so
//! those check FPSCR's flush flags and leave the rows to the scalar code
//! when one was raised.

use super::DotSlot;
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
            table = in(reg) crate::int8::tanh_q15::TABLE.as_ptr(),
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
    if n > 0 && crate::kernels::helium_float::without_flush(run) {
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
    if n > 0 && crate::kernels::helium_float::without_flush(run) {
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
pub fn pair_dots(w: &[i8], h: &[i16], sum: i32, out: &mut [DotSlot]) -> bool {
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
        dots[0].write(split(r0, b0, sum));
        dots[1].write(split(r1, b1, sum));
    }
    if let ([dot], Some(last)) = (outs.into_remainder(), last_block) {
        // SAFETY: one block of 16·steps bytes and 16·steps bytes of `h`.
        let [r, b] = unsafe { one_pair(last.as_ptr(), h.as_ptr(), steps) };
        dot.write(split(r, b, sum));
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
