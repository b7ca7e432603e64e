//! The sampler on Helium (MVE, the Cortex-M55), feature `helium`: four
//! entries at a time, each lane with the scalar code's operations, and the
//! sums still one scalar VADD per entry in index order, so the index and the
//! weights are the scalar code's bits.
//!
//! - `max`: four lane maxima by VMAXNM in a tail-predicated loop, then
//!   VMAXNMV. maxNum skips quiet NaNs as the fold does; it may choose
//!   another zero than the fold among +0 and −0, which changes no weight
//!   (`±0 − max` is ±0 for both, `exp` of either 1, and `y − (+0) = y −
//!   (−0)` for every other `y`). A signalling NaN (IOC) or a flushed
//!   subnormal (IDC) leaves everything to the scalar code.
//! - `exp_weights`: per lane `(y − max) / T` and [`exp_f32`]'s formula,
//!   the division scalar (VDIV on the S registers). `max` is the largest
//!   logit, so the argument is ≤ 0 or NaN, and `exp_f32`'s upper clamp and
//!   +inf case never apply. Lanes below −87, which `exp_f32` sets to 0,
//!   compute the formula at −88 instead ([`exp_f32_clamped`]`(−88) = +0`):
//!   a VPT block (compare, then `−87 − 1` where below) instead of the clamp
//!   and the select.
//! - `pick`: the prefix sums `P_i = P_{i−1} + e_i` (the scalar code's
//!   running sum: adding `e = +0` changes no sum), one scalar VADD per
//!   entry, eight entries a step, and one VCMP of the step's last four
//!   against the target; the last `len % 8` entries go to the scalar loop,
//!   from the running sum so far. The sums are nondecreasing, so the first
//!   `P_i > target` has `e_i > 0` and is the scalar loop's answer.
//!
//! Subnormals: Helium's f32 instructions read subnormal inputs as zero and
//! flush tiny results to zero, where the scalar code keeps them.
//!
//! - The max: VMAXNM reads every logit, so a subnormal one raises IDC
//!   ([`crate::kernels::helium_float`]) and the scalar code takes over.
//! - `y − max`: no input is subnormal then, and the difference of two
//!   floats that are 0 or at least 2⁻¹⁰¹ in magnitude is 0 or at least 2⁻¹²⁴
//!   (a multiple of the smaller one's unit in the last place), so with `max`
//!   0, infinite or at least 2⁻¹⁰⁰ in magnitude (checked) no difference is
//!   subnormal either (`y ≤ max`: a `y` within 2⁻¹²⁶ of such a max is above
//!   2⁻¹⁰¹ itself).
//! - The formula: for every f32 `x` in [−88, 0], and −inf and NaN, the lane
//!   operations with inputs and tiny results flushed give `exp_f32(x)`'s
//!   bits (a NaN for a NaN): where they meet a subnormal, `|x|` or `r` is
//!   below 2⁻²³ and the flushed terms vanish in `r + 1`. The test
//!   `helium_lanes_equal_exp_f32` checks a sample of it on the host with a
//!   model of the lanes; `helium_lanes_equal_exp_f32_exhaustively`
//!   (ignored: a minute) all 1.1·10⁹ such `x`.
//! - The search: every `e` is 0 or at least `1.4·2⁻¹²⁶` (or NaN), so every
//!   `P` is 0 or normal, and the target `u·Σe` is 0 or at least `2⁻²⁴` (u is
//!   a multiple of 2⁻²⁴, Σe ≥ 1 holds the max's 1) or NaN.
//!
//! NaNs: a NaN logit or an infinite max makes NaN weights, whose payload
//! Helium's default NaN may change (as x86 and Arm already differ there);
//! they make the target NaN too, so no running sum exceeds it on any
//! target and the index is the last positive weight's.
//!
//! [`exp_f32`]: fn@crate::exp_f32
//! [`exp_f32_clamped`]: crate::math::exp::exp_f32_clamped

use crate::kernels::helium_float::{without_flags, FLUSH_FLAGS, INVALID_FLAG};
use crate::math::exp::{C3, C4, C5, C6, LN2_HI, LN2_LO, LOG2_E, ROUNDER};
use core::arch::asm;
use core::ops::ControlFlow;

/// 2⁻¹⁰⁰: a nonzero max below it in magnitude could leave a subnormal
/// `y − max` (module docs).
const SMALLEST_MAX: f32 = f32::from_bits((127 - 100) << 23);

/// [`super::sampler::exp_weights`] on Helium lanes: the weights in place and
/// their sum, or `None` (nothing written) if the logits are empty, a
/// subnormal or a signalling NaN among them, or their max is nonzero
/// and below 2⁻¹⁰⁰ in magnitude.
pub fn exp_weights(logits: &mut [f32], temperature: f32) -> Option<f32> {
    let max = max(logits)?;
    if max != 0.0 && max.abs() < SMALLEST_MAX {
        return None;
    }
    Some(exp_lanes(logits, max, temperature))
}

/// The max of all logits, or `None` if there are none or a signalling
/// NaN or a subnormal was read.
fn max(logits: &[f32]) -> Option<f32> {
    let mut max = f32::NEG_INFINITY.to_bits();
    // SAFETY (called only for a nonempty slice): the tail-predicated
    // loop reads exactly the logits.len() entries.
    let run = || unsafe {
        asm!(
            ".arch_extension mve.fp",
            "vdup.32 q0, {max}",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q1, [{p}], #16",
            "vmaxnm.f32 q0, q0, q1",
            "letp lr, 2b",
            "vmaxnmv.f32 {max}, q0",
            max = inout(reg) max,
            n = in(reg) logits.len(),
            p = inout(reg) logits.as_ptr() => _,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            options(readonly, nostack),
        );
    };
    (!logits.is_empty() && without_flags(FLUSH_FLAGS | INVALID_FLAG, run))
        .then(|| f32::from_bits(max))
}

/// [`crate::math::exp::exp_f32_clamped`]'s constants in the order the
/// LDM of [`exp_lanes`] loads them into r1–r5, r8–r10.
static EXP_CONSTANTS: [f32; 8] = [LOG2_E, ROUNDER, LN2_HI, LN2_LO, C6, C5, C4, C3];

/// One vector of [`exp_lanes`]: `y` in Q0 to `e` in Q1.
macro_rules! exp_vector {
    () => {
        concat!(
            // x = (y − max) / T
            "vsub.f32 q0, q0, {max}\n",
            "vdiv.f32 s0, s0, s24\n",
            "vdiv.f32 s1, s1, s24\n",
            "vdiv.f32 s2, s2, s24\n",
            "vdiv.f32 s3, s3, s24\n",
            // c = x < −87 ? −88 : x
            "vpt.f32 lt, q0, q5\n",
            "vsubt.f32 q0, q5, q7\n",
            // t = c·log2e + R, n = t − R
            "vmul.f32 q1, q0, r1\n",
            "vadd.f32 q1, q1, r2\n",
            "vsub.f32 q2, q1, r2\n",
            // r = (c − n·ln2_hi) − n·ln2_lo
            "vmul.f32 q3, q2, r3\n",
            "vsub.f32 q0, q0, q3\n",
            "vmul.f32 q3, q2, r4\n",
            "vsub.f32 q0, q0, q3\n",
            // p = ((((C6·r + C5)·r + C4)·r + C3)·r + C2)·r·r + r + 1
            "vmul.f32 q2, q0, r5\n",
            "vadd.f32 q2, q2, r8\n",
            "vmul.f32 q2, q2, q0\n",
            "vadd.f32 q2, q2, r9\n",
            "vmul.f32 q2, q2, q0\n",
            "vadd.f32 q2, q2, r10\n",
            "vmul.f32 q2, q2, q0\n",
            "vadd.f32 q2, q2, q4\n",
            "vmul.f32 q2, q2, q0\n",
            "vmul.f32 q2, q2, q0\n",
            "vadd.f32 q2, q2, q0\n",
            "vadd.f32 q2, q2, q7\n",
            // e = f32((t.bits << 23) + 1.0.bits) · p
            "vshl.i32 q1, q1, #23\n",
            "vadd.i32 q1, q1, q7\n",
            "vmul.f32 q1, q1, q2\n",
        )
    };
}

/// `e_i = exp_f32((y_i − max) / T)` in place, four at a time; returns
/// `Σ e_i` summed in index order from 0.
///
/// Per vector (Q0 the arguments, then c and r; Q1 t, then the exponent
/// bits and e; Q2 n, then p; Q3 products; Q4 = C2 = 0.5, Q5 = −87, Q7 =
/// 1.0; S24 = T, S25 = the sum, S26 = the length), as
/// [`crate::math::exp::exp_f32_clamped`]:
///
/// ```text
/// x = (y − max) / T                    VSUB, 4 scalar VDIV
/// c = x < −87 ? −88 : x                VPT lt, VSUBT (−87 − 1)
/// t = c·log2e + R,  n = t − R          R = 1.5·2²³
/// r = (c − n·ln2_hi) − n·ln2_lo
/// p = ((((C6·r + C5)·r + C4)·r + C3)·r + C2)·r·r + r + 1
/// e = f32((t.bits << 23) + 1.0.bits) · p
/// Σ += e_0; Σ += e_1; Σ += e_2; Σ += e_3   4 scalar VADD
/// ```
///
/// The exponent bits are the scalar `((n + 127) & 0xFF) << 23` with `n
/// = t.bits − R.bits`: `R.bits << 23` is 0 mod 2³² and `127 << 23` is
/// `1.0.bits`, and for n ∈ [−127, 127] the `& 0xFF` drops nothing of
/// what `<< 23` keeps. The last 1–3 entries take one more pass with the
/// load and the store predicated (VCTP) and only their sums added; its
/// other lanes compute from `max` (or 0) and are neither stored nor
/// summed.
fn exp_lanes(logits: &mut [f32], max: f32, temperature: f32) -> f32 {
    let sum: u32;
    // SAFETY: reads and writes the logits.len() entries (the tail's
    // load and store predicated to the entries left); r1–r5, r8–r10
    // and Q0–Q7 are declared clobbered (Q4–Q7, AAPCS's s16–s31, are
    // saved by the caller).
    unsafe {
        asm!(
            ".arch_extension mve.fp",
            "ldm r1, {{r1, r2, r3, r4, r5, r8, r9, r10}}",
            "vmov.i32 q6, #0",
            "vmov s24, {ts}",
            "vmov s26, lr",
            "vmov.f32 q4, #0.5",
            "vmov.i32 q5, #0xc2000000",
            "vorr.i32 q5, #0xae0000",
            "vmov.f32 q7, #1.0",
            "lsrs lr, lr, #2",
            "wls lr, lr, 3f",
            "2:",
            "vldrw.u32 q0, [{p}]",
            exp_vector!(),
            "vstrw.32 q1, [{p}], #16",
            "vadd.f32 s25, s25, s4",
            "vadd.f32 s25, s25, s5",
            "vadd.f32 s25, s25, s6",
            "vadd.f32 s25, s25, s7",
            "le lr, 2b",
            "3:",
            // the last len % 4 entries
            "vmov lr, s26",
            "ands lr, lr, #3",
            "beq 5f",
            "vdup.32 q0, {max}",
            "vctp.32 lr",
            "vpst",
            "vldrwt.u32 q0, [{p}]",
            exp_vector!(),
            "vctp.32 lr",
            "vpst",
            "vstrwt.32 q1, [{p}]",
            "vadd.f32 s25, s25, s4",
            "cmp lr, #2",
            "blo 5f",
            "vadd.f32 s25, s25, s5",
            "beq 5f",
            "vadd.f32 s25, s25, s6",
            "5:",
            "vmov {ts}, s25",
            ts = inout(reg) temperature.to_bits() => sum,
            p = inout(reg) logits.as_mut_ptr() => _,
            max = in(reg) max.to_bits(),
            inout("r1") EXP_CONSTANTS.as_ptr() => _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            inout("lr") logits.len() => _,
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
    }
    f32::from_bits(sum)
}

/// [`super::sampler::pick`] over whole steps of eight entries: `Break(i)` with
/// the first `i` whose prefix sum exceeds `target`, or `Continue((n,
/// P_{n−1}))` to go on after the `n` entries searched.
pub fn pick(weights: &[f32], target: f32) -> ControlFlow<usize, (usize, f32)> {
    let steps = weights.len() / 8;
    if steps == 0 {
        return ControlFlow::Continue((0, 0.0));
    }
    let start = weights.as_ptr();
    let (end, lanes, running): (*const f32, u32, u32);
    // SAFETY: reads at most 8·steps entries of weights.
    unsafe {
        asm!(
            ".arch_extension mve.fp",
            "vmov.i32 q3, #0",
            "dls lr, lr",
            "2:",
            // q1 = P_{8k} .. P_{8k+3} from P_{8k−1} in s15 and e in q0,
            // q3 = P_{8k+4} .. P_{8k+7} from s7 and e in q2
            "vldrw.u32 q0, [{p}], #16",
            "vldrw.u32 q2, [{p}], #16",
            "vadd.f32 s4, s15, s0",
            "vadd.f32 s5, s4, s1",
            "vadd.f32 s6, s5, s2",
            "vadd.f32 s7, s6, s3",
            "vadd.f32 s12, s7, s8",
            "vadd.f32 s13, s12, s9",
            "vadd.f32 s14, s13, s10",
            "vadd.f32 s15, s14, s11",
            // P nondecreasing: one of the eight exceeds the target iff P_{8k+7} does
            "vcmp.f32 gt, q3, {target}",
            "vmrs r0, p0",
            "cbnz r0, 3f",
            "le lr, 2b",
            "b 4f",
            // which of the eight: the first four if one of them exceeds it
            "3:",
            "vcmp.f32 gt, q1, {target}",
            "vmrs r1, p0",
            "cbz r1, 4f",
            "mov r0, r1",
            "sub {p}, {p}, #16",
            "4:",
            "vmov {running}, s15",
            p = inout(reg) start => end,
            target = in(reg) target.to_bits(),
            running = out(reg) running,
            out("r0") lanes,
            out("r1") _,
            inout("lr") steps => _,
            out("q0") _,
            out("q1") _,
            out("q2") _,
            out("q3") _,
            options(readonly, nostack),
        );
    }
    let searched = (end as usize - start as usize) / 4;
    if lanes == 0 {
        ControlFlow::Continue((searched, f32::from_bits(running)))
    } else {
        // VPR.P0 has four bits per 32-bit lane; `end` is past the four compared.
        ControlFlow::Break(searched - 4 + lanes.trailing_zeros() as usize / 4)
    }
}
