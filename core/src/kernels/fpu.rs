//! [`matvec_bias`] for f32 on an Arm FPU (Cortex-M4F, M7, M33, M55: targets
//! `*-eabihf`): the same lanes and order as [`dot`], two rows per pass, all
//! in one asm loop (on the M55 with Helium, feature `helium`: below).
//!
//! Per eight columns of two rows: one VLDM of `x[c .. c+8]` (s0–s7), then
//! per row one VLDM of the row (s8–s15), eight VMUL.F32 `s8+i = s8+i ·
//! si` and eight VADD.F32 into the row's lanes (s16–s23, s24–s31): lane
//! `i` gets `acc_i + w_i·x_i`, the product rounded, then the sum — what
//! `acc[lane] += ca[lane] * cb[lane]` is (Rust never fuses; neither does
//! VMUL then VADD; VMLA.F32, which LLVM chose before, rounds the same way
//! but takes 3 cycles on the M4 against 1 + 1). The x load is shared by
//! the two rows: 37 instructions with the loop's, and by the M4 TRM 63
//! cycles, per 16 multiply-accumulates, against 2 VLDR + VMLA per MAC
//! before. Then per row [`dot`]'s reduction `((a0+a4) + (a2+a6)) +
//! ((a1+a5) + (a3+a7))` and `+ bias`. Rows whose length is not a multiple
//! of 8 (a tail) and an odd last row take [`dot`] itself.
//!
//! On the Cortex-M55 (feature `helium`) the same with Helium on four lanes:
//! lanes 0–3 of a row in one Q register, 4–7 in another; per eight columns
//! of two rows two VLDRW of x, and per row two VLDRW, two VMUL.F32 and two
//! VADD.F32 (never a fused VFMA): 14 instructions per 16 MACs, and the LE
//! of the DLS/LE loop. The first level of the reduction, `a_i + a_{i+4}`, is one VADD.F32
//! of the two Q registers; the rest is scalar. Helium's f32 instructions
//! compute with the standard FPSCR value, which flushes subnormal inputs
//! and results to zero where the scalar FPU (FZ = 0) and the host keep
//! them: the kernel clears FPSCR's IDC and UFC flags first, and if either
//! is set afterwards it computes the same rows again with [`dot`], so the
//! bits are IEEE-754's for any model (a QEMU test,
//! `matches_core_generator_on_subnormal_models`, drives both paths).

use super::{dot, LANES};
use core::arch::asm;

/// `out[2p + k] = dot(row 2p + k, x) + bias[2p + k]` for `pairs` row pairs.
///
/// The FPU registers are not asm operands here (rustc's `sreg` class
/// wants `vfp2`, which the single-precision `-eabihf` targets lack), so
/// the asm saves all 32 on the stack and restores them.
///
/// # Safety
///
/// `w` readable for `2·pairs` rows of `stride` f32s, `x` for `8·chunks`
/// f32s with `8·chunks ≤ stride`, `chunks ≥ 1`, `pairs ≥ 1`, `out` and
/// `bias` for `2·pairs` f32s.
#[cfg(not(feature = "helium"))]
#[inline(always)]
unsafe fn row_pairs(
    w: *const f32,
    stride: usize,
    x: *const f32,
    chunks: usize,
    pairs: usize,
    out: *mut f32,
    bias: *const f32,
) {
    let row_bytes = stride * 4;
    // after a pass each row pointer has moved 32·chunks bytes; the next pair is 2·stride f32s on
    let skip = 2 * row_bytes - 32 * chunks;
    // SAFETY: the caller's contract bounds the loads and the stores;
    // s0–s31 are restored before the end.
    unsafe {
        asm!(
            "vpush {{s0-s31}}",
            "3:",
            "vmov s16, s17, {zero}, {zero}",
            "vmov s18, s19, {zero}, {zero}",
            "vmov s20, s21, {zero}, {zero}",
            "vmov s22, s23, {zero}, {zero}",
            "vmov s24, s25, {zero}, {zero}",
            "vmov s26, s27, {zero}, {zero}",
            "vmov s28, s29, {zero}, {zero}",
            "vmov s30, s31, {zero}, {zero}",
            "mov {xp}, {x}",
            "mov {n}, {chunks}",
            "2:",
            "vldmia {xp}!, {{s0-s7}}",
            "vldmia {a}!, {{s8-s15}}",
            "vmul.f32 s8, s8, s0",
            "vmul.f32 s9, s9, s1",
            "vmul.f32 s10, s10, s2",
            "vmul.f32 s11, s11, s3",
            "vmul.f32 s12, s12, s4",
            "vmul.f32 s13, s13, s5",
            "vmul.f32 s14, s14, s6",
            "vmul.f32 s15, s15, s7",
            "vadd.f32 s16, s16, s8",
            "vadd.f32 s17, s17, s9",
            "vadd.f32 s18, s18, s10",
            "vadd.f32 s19, s19, s11",
            "vadd.f32 s20, s20, s12",
            "vadd.f32 s21, s21, s13",
            "vadd.f32 s22, s22, s14",
            "vadd.f32 s23, s23, s15",
            "vldmia {b}!, {{s8-s15}}",
            "vmul.f32 s8, s8, s0",
            "vmul.f32 s9, s9, s1",
            "vmul.f32 s10, s10, s2",
            "vmul.f32 s11, s11, s3",
            "vmul.f32 s12, s12, s4",
            "vmul.f32 s13, s13, s5",
            "vmul.f32 s14, s14, s6",
            "vmul.f32 s15, s15, s7",
            "vadd.f32 s24, s24, s8",
            "vadd.f32 s25, s25, s9",
            "vadd.f32 s26, s26, s10",
            "vadd.f32 s27, s27, s11",
            "vadd.f32 s28, s28, s12",
            "vadd.f32 s29, s29, s13",
            "vadd.f32 s30, s30, s14",
            "vadd.f32 s31, s31, s15",
            "subs {n}, {n}, #1",
            "bne 2b",
            // row a: s0 = ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))
            "vadd.f32 s0, s16, s20",
            "vadd.f32 s2, s18, s22",
            "vadd.f32 s4, s17, s21",
            "vadd.f32 s6, s19, s23",
            "vadd.f32 s0, s0, s2",
            "vadd.f32 s4, s4, s6",
            "vadd.f32 s0, s0, s4",
            // row b: s1, the same on s24–s31
            "vadd.f32 s1, s24, s28",
            "vadd.f32 s3, s26, s30",
            "vadd.f32 s5, s25, s29",
            "vadd.f32 s7, s27, s31",
            "vadd.f32 s1, s1, s3",
            "vadd.f32 s5, s5, s7",
            "vadd.f32 s1, s1, s5",
            // + bias, stored
            "vldmia {bias}!, {{s8-s9}}",
            "vadd.f32 s0, s0, s8",
            "vadd.f32 s1, s1, s9",
            "vstmia {out}!, {{s0-s1}}",
            "add {a}, {a}, {skip}",
            "add {b}, {b}, {skip}",
            "subs {pairs}, {pairs}, #1",
            "bne 3b",
            "vpop {{s0-s31}}",
            zero = in(reg) 0u32,
            x = in(reg) x,
            xp = out(reg) _,
            n = out(reg) _,
            chunks = in(reg) chunks,
            a = inout(reg) w => _,
            b = inout(reg) w.wrapping_add(stride) => _,
            skip = in(reg) skip,
            pairs = inout(reg) pairs => _,
            out = inout(reg) out => _,
            bias = inout(reg) bias => _,
        );
    }
}

/// `out[2p + k] = dot(row 2p + k, x) + bias[2p + k]` for `pairs` row
/// pairs, on Helium: Q0–Q1 = x, Q2–Q3 = row a's lanes 0–3 and 4–7,
/// Q4–Q5 = row b's, Q6–Q7 = the weights (Q_n is S_4n … S_4n+3).
///
/// # Safety
///
/// As the FPU version: `w` readable for `2·pairs` rows of `stride`
/// f32s, `x` for `8·chunks` f32s with `8·chunks ≤ stride`, `chunks ≥ 1`,
/// `pairs ≥ 1`, `out` and `bias` for `2·pairs` f32s.
#[cfg(feature = "helium")]
#[inline(always)]
unsafe fn row_pairs(
    w: *const f32,
    stride: usize,
    x: *const f32,
    chunks: usize,
    pairs: usize,
    out: *mut f32,
    bias: *const f32,
) {
    let row_bytes = stride * 4;
    // after a pass each row pointer has moved 32·chunks bytes; the next pair is 2·stride f32s on
    let skip = 2 * row_bytes - 32 * chunks;
    // SAFETY: the caller's contract bounds the loads and the stores;
    // the Q registers used are declared clobbered.
    unsafe {
        asm!(
            // The build leaves Helium's floating point to this kernel
            // alone (charm-boards' CORTEX_M55: `-mve.fp`), so the
            // assembler is told here that the core has it.
            ".arch_extension mve.fp",
            "3:",
            "vmov.i32 q2, #0",
            "vmov.i32 q3, #0",
            "vmov.i32 q4, #0",
            "vmov.i32 q5, #0",
            "mov {xp}, {x}",
            "dls lr, {chunks}",
            "2:",
            "vldrw.u32 q0, [{xp}], #16",
            "vldrw.u32 q1, [{xp}], #16",
            "vldrw.u32 q6, [{a}], #16",
            "vldrw.u32 q7, [{a}], #16",
            "vmul.f32 q6, q6, q0",
            "vmul.f32 q7, q7, q1",
            "vadd.f32 q2, q2, q6",
            "vadd.f32 q3, q3, q7",
            "vldrw.u32 q6, [{b}], #16",
            "vldrw.u32 q7, [{b}], #16",
            "vmul.f32 q6, q6, q0",
            "vmul.f32 q7, q7, q1",
            "vadd.f32 q4, q4, q6",
            "vadd.f32 q5, q5, q7",
            "le lr, 2b",
            // row a: q2 = (a0+a4, a1+a5, a2+a6, a3+a7) = s8..s11, then
            // s0 = ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))
            "vadd.f32 q2, q2, q3",
            "vadd.f32 s0, s8, s10",
            "vadd.f32 s1, s9, s11",
            "vadd.f32 s0, s0, s1",
            // row b: q4 = s16..s19, into s1
            "vadd.f32 q4, q4, q5",
            "vadd.f32 s1, s16, s18",
            "vadd.f32 s2, s17, s19",
            "vadd.f32 s1, s1, s2",
            // + bias, stored
            "vldmia {bias}!, {{s4-s5}}",
            "vadd.f32 s0, s0, s4",
            "vadd.f32 s1, s1, s5",
            "vstmia {out}!, {{s0-s1}}",
            "add {a}, {a}, {skip}",
            "add {b}, {b}, {skip}",
            "subs {pairs}, {pairs}, #1",
            "bne 3b",
            x = in(reg) x,
            xp = out(reg) _,
            chunks = in(reg) chunks,
            a = inout(reg) w => _,
            b = inout(reg) w.wrapping_add(stride) => _,
            skip = in(reg) skip,
            pairs = inout(reg) pairs => _,
            out = inout(reg) out => _,
            bias = inout(reg) bias => _,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            out("q2") _,
            out("q3") _,
            out("q4") _,
            out("q5") _,
            out("q6") _,
            out("q7") _,
        );
    }
}

/// [`super::matvec_bias`] for f32: `out[r] = dot(w[r·stride ..], x) + bias[r]`.
pub fn matvec_bias(out: &mut [f32], w: &[f32], stride: usize, x: &[f32], bias: &[f32]) {
    let n = x.len().min(stride);
    let x = &x[..n];
    let rows = out.len().min(w.len() / stride).min(bias.len());
    let pairs = if n.is_multiple_of(LANES) && n > 0 {
        rows / 2
    } else {
        0
    };
    let out_ptr = out.as_mut_ptr();
    // SAFETY (called only for pairs ≥ 1): 2·pairs ≤ rows rows of w, out
    // and bias; x holds n = 8·(n/8) ≤ stride f32s.
    let run = || unsafe {
        row_pairs(
            w.as_ptr(),
            stride,
            x.as_ptr(),
            n / LANES,
            pairs,
            out_ptr,
            bias.as_ptr(),
        )
    };
    // On Helium, rows computed with a subnormal flushed to zero go to
    // the `dot` loop below, in IEEE-754 arithmetic (crate::kernels::helium_float).
    #[cfg(feature = "helium")]
    let exact = pairs > 0 && crate::kernels::helium_float::without_flush(run);
    #[cfg(not(feature = "helium"))]
    let exact = pairs > 0 && {
        run();
        true
    };
    let done = if exact { 2 * pairs } else { 0 };
    let rest = out[done..rows]
        .iter_mut()
        .zip(w[done * stride..].chunks_exact(stride));
    for ((o, row), &b) in rest.zip(&bias[done..rows]) {
        *o = dot(row, x) + b;
    }
}
