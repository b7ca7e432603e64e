//! The fixed step's rows ([`super::rows`]) in Thumb-2 assembly, for the
//! Cortex-M3 to M55. For a hidden row Rust reloads the row's constants
//! from the stack and calls an outlined piece of the interpolation, about
//! 45 cycles on the M4; [`hidden`] holds the four constants and the five
//! streams in registers: 25 cycles a row (the cycle model's M4 timings:
//! the four loads back to back 5, SMULL 1, the input term's MUL 1, the two
//! roundings by ASRS and ADC 4, `|ũ|` 2, the range test 1 (USAT into
//! `INTERVALS`' range on the DSP cores; a compare and branch, 2, on the
//! M3), the table's index 2, the interpolation 6 (on the DSP cores one word
//! of `INTERVALS` and SMULTB; 8 from `TABLE`'s two halfwords on the M3),
//! the sign 2, the store 1; four rows a turn, whose end test is 4). [`logits`] takes 15
//! cycles a logit (the three loads 4, SMULL 1, the rounding and the bias
//! 2, the clamp 4, the largest so far 2, the store 1, a quarter of the end
//! test 1), where Rust's loop took 20 and the sampler's pass for the
//! largest another 5. The trace agrees (`charm-cycles --addresses` of the
//! `mps2-an386` firmware with `--features fixed`, H 128): 3,358 cycles for
//! the 128 hidden rows with the turns' entries and ends, about 1,000 for
//! the 65 logits and their largest. SMULL, MUL, UBFX, SSAT, USAT, ADC and the shifted operands are
//! Armv7-M's base, so the M3 runs them too (SMULL 4 cycles there, MUL 2 as
//! the cycle model takes it).
//!
//! For shifts of 33 and more (`HIGH` in [`super::scaled`]), with
//! `high = ⌊acc·M / 2³²⌋` and `s = K_h − 32 ≥ 1`:
//!
//! ```text
//! p = (high + 2^(s−1)) >> s = (high >> s) + bit s − 1 of high
//! ```
//!
//! (with `high = q·2^s + r`, `0 ≤ r < 2^s`: `(q·2^s + r + 2^(s−1)) >> s = q +
//! [r ≥ 2^(s−1)]`, and `r ≥ 2^(s−1)` is bit `s − 1`): ASRS by `s` leaves
//! that bit in the carry flag, and ADC adds it with the bias, one
//! instruction for the rounding half's add. The input term `t = (w·X +
//! 2^(K_x−1)) >> K_x` rounds the same way, so that no rounding constant
//! waits in a register.
//!
//! The QEMU tests of the M3, M7, M33 and M55 machines (whose default
//! firmware runs the fixed layout) check them byte for byte against the
//! host's Rust on random and extreme models.

use super::rows::{HiddenRun, HiddenScales};
#[cfg(feature = "dsp")]
use crate::int8::tanh_q15::INTERVALS as TABLE;
#[cfg(not(feature = "dsp"))]
use crate::int8::tanh_q15::TABLE;
use core::arch::asm;

/// What [`hidden`]'s loop reads (`#[repr(C)]`, offsets 0 to 36).
#[repr(C)]
struct RowFrame {
    acc: usize,
    mult: usize,
    column: usize,
    bias: usize,
    out: usize,
    out_end: usize,
    shift: u32,
    mult_x: i32,
    k_x: u32,
    table: usize,
}

/// `y0 + ((y1 − y0)·w + 2¹²) >> 13` into r11, for `i` in r12 and `w` in lr
/// (r9 the table): two halfword loads from `TABLE`, or on the DSP cores one
/// word of `INTERVALS` (`y0 + (y1 − y0)·2¹⁶`) and SMULTB, 2 cycles less.
#[cfg(not(feature = "dsp"))]
macro_rules! interpolate {
    () => {
        concat!(
            "add r12, r9, r12, lsl #1\n",
            "ldrh r11, [r12]\n",     // y0
            "ldrh r12, [r12, #2]\n", // y1
            "sub r12, r12, r11\n",
            "mul r12, r12, lr\n",
            "add r12, r12, #4096\n",
            "add r11, r11, r12, asr #13\n",
        )
    };
}
#[cfg(feature = "dsp")]
macro_rules! interpolate {
    () => {
        concat!(
            "ldr r12, [r9, r12, lsl #2]\n", // y0 + (y1 − y0)·2¹⁶
            "smultb r11, r12, lr\n",        // (y1 − y0)·w
            "add r11, r11, #4096\n",
            "uxth r12, r12\n", // y0
            "add r11, r12, r11, asr #13\n",
        )
    };
}

/// `|ũ|` (lr) where the table reads it: from `6·2²⁰` on `tanh_q15` is
/// 32767, which `TABLE` (769 entries) leaves to a branch to label `$sat`
/// ([`saturated!`]); `INTERVALS` holds 32767 up to `2²³` (1,024 entries),
/// so that USAT to 23 bits takes every larger `|ũ|` there, one
/// instruction for the compare and branch.
#[cfg(not(feature = "dsp"))]
macro_rules! in_range {
    ($sat:literal) => {
        concat!("cmp lr, #0x600000\n", "bhs ", $sat, "f\n")
    };
}
#[cfg(feature = "dsp")]
macro_rules! in_range {
    ($sat:literal) => {
        "usat lr, #23, lr\n"
    };
}

/// The saturated path of a hidden row (`|ũ| ≥ 6·2²⁰`: 32767) at label
/// `$sat`, back to its sign at `$sign`; none on the DSP cores
/// ([`in_range!`]).
#[cfg(not(feature = "dsp"))]
macro_rules! saturated {
    ($sat:literal, $sign:literal) => {
        concat!($sat, ":\n", "movw r11, #32767\n", "b ", $sign, "b\n")
    };
}
#[cfg(feature = "dsp")]
macro_rules! saturated {
    ($sat:literal, $sign:literal) => {
        ""
    };
}

/// The loop of [`hidden`] and of [`logits`]: four of `$item!` a turn,
/// `n` (r11) mod 4 = 3, 2, 1 entering at the second, third, fourth (its
/// remainder in `$rest`), the turn's end test `$end` (a compare) and a
/// branch back; after the loop each item's out-of-line path `$aside!`
/// (with the labels its item branches to), and label 5 where both end.
macro_rules! turn_of_four {
    ($rest:literal, $item:ident, $aside:ident, $end:literal) => {
        concat!(
            "ands ",
            $rest,
            ", r11, #3\n",
            "beq 2f\n",
            "cmp ",
            $rest,
            ", #2\n",
            "blo 33f\n",
            "beq 32f\n",
            "b 31f\n",
            "2:\n",
            $item!("40", "41"),
            "31:\n",
            $item!("42", "43"),
            "32:\n",
            $item!("44", "45"),
            "33:\n",
            $item!("46", "47"),
            $end,
            "\n",
            "bne 2b\n",
            "b 5f\n",
            $aside!("40", "41"),
            $aside!("42", "43"),
            $aside!("44", "45"),
            $aside!("46", "47"),
            "5:\n",
        )
    };
}

/// One hidden row (module docs): its four loads, `ũ = p + B + t`,
/// `tanh_q15_fixed(ũ)` and the store. r0–r4 the streams (sum, `M`, the
/// column's byte, `B`, the output), r5–r9 the constants (`s = K_h − 32`, `X`,
/// the output's end, `K_x`, the table), r10–r12 and lr scratch; `$sat` and
/// `$sign` the labels of the saturated path and its return.
macro_rules! hidden_row {
    ($sat:literal, $sign:literal) => {
        concat!(
            "ldr r10, [r0], #4\n",        // acc
            "ldr r11, [r1], #4\n",        // M_r
            "ldrsb r12, [r2], #1\n",      // Wxh_q[x, r]
            "ldr lr, [r3], #4\n",         // B_r
            "smull r11, r10, r10, r11\n", // high = ⌊acc·M / 2³²⌋
            "mul r12, r12, r6\n",         // w·X
            "asrs r10, r10, r5\n",        // high >> s, the carry bit s − 1
            "adc r10, lr, r10\n",         // B + p
            "asrs r12, r12, r8\n",        // w·X >> K_x, the carry bit K_x − 1
            "adc r10, r10, r12\n",        // ũ = B + p + t
            "eor lr, r10, r10, asr #31\n",
            "sub lr, lr, r10, asr #31\n", // |ũ|
            in_range!($sat),
            "lsr r12, lr, #13\n",
            "ubfx lr, lr, #0, #13\n", // w = |ũ| mod 2¹³
            interpolate!(),
            $sign,
            ":\n",
            "eor r11, r11, r10, asr #31\n",
            "sub r11, r11, r10, asr #31\n", // the sign of ũ
            "strh r11, [r4], #2\n",
        )
    };
}

/// [`super::rows::hidden`] with `HIGH`; `false` (nothing done) unless
/// `acc`, the run's slices and `out` have the same positive length, `K_h`
/// is in 33..=62 and `K_x` in 1..=30.
pub(super) fn hidden(
    acc: &mut [i32],
    run: HiddenRun<'_>,
    scales: HiddenScales,
    out: &mut [i16],
) -> bool {
    let n = acc.len();
    if n == 0
        || n != run.mult.len()
        || n != run.bias.len()
        || n != run.column.len()
        || n != out.len()
        || !(1..=30).contains(&scales.k_x)
        || !(33..=62).contains(&scales.k_h)
    {
        return false;
    }
    let frame = RowFrame {
        acc: acc.as_ptr() as usize,
        mult: run.mult.as_ptr() as usize,
        column: run.column.as_ptr() as usize,
        bias: run.bias.as_ptr() as usize,
        out: out.as_mut_ptr() as usize,
        out_end: out.as_mut_ptr().wrapping_add(n) as usize,
        shift: scales.k_h - 32,
        mult_x: scales.mult_x,
        k_x: scales.k_x,
        table: TABLE.as_ptr() as usize,
    };
    // SAFETY: reads the `n` (at least one) words of `acc`, of the
    // multipliers and of the biases, the `n` bytes of the column, and two
    // neighbouring entries of the 769-entry `TABLE` at `i = |ũ| >> 13 <
    // 768` (every larger `|ũ|` takes the branch to the saturated path), or
    // on the DSP cores entry `i` of the 1,024-entry `INTERVALS` at `i =
    // USAT(|ũ|, 23) >> 13 < 1,024`;
    // writes the `n` halfwords of `out`, up to `out_end`, and the two
    // words it pushes (restored by the pop, so sp is as it was); reads the
    // frame's words. r6 and r7 (reserved by LLVM, not usable as operands)
    // are saved and restored; the rest are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldr r5, [r0, #24]", // s = K_h − 32
            "ldr r6, [r0, #28]", // X
            "ldr r7, [r0, #20]", // out_end
            "ldr r8, [r0, #32]", // K_x
            "ldr r9, [r0, #36]", // the table
            "ldr r1, [r0, #4]",
            "ldr r2, [r0, #8]",
            "ldr r3, [r0, #12]",
            "ldr r4, [r0, #16]",
            "ldr r0, [r0, #0]",
            turn_of_four!("r12", hidden_row, saturated, "cmp r4, r7"),
            "pop {{r6, r7}}",
            inout("r0") core::ptr::addr_of!(frame) => _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            inout("r11") n => _,
            out("r12") _,
            out("lr") _,
        );
    }
    true
}

/// What [`logits`]' loop reads (`#[repr(C)]`, offsets 0 to 20).
#[repr(C)]
struct LogitFrame {
    acc: usize,
    mult: usize,
    bias: usize,
    y: usize,
    y_end: usize,
    shift: u32,
}

/// One logit: its three loads, `p` as in [`hidden`], then `clamp(p + C,
/// ±2²³)` with no branch: `s = SSAT(v, 24)` is `v` clamped to `[−2²³,
/// 2²³ − 1]`, and `v − s` is positive exactly when `v ≥ 2²³`, so that
/// `s + USAT(v − s, 1)` (0 or 1) is `v` clamped to `[−2²³, 2²³]`; then the
/// largest so far (r12) against it, a larger one moved at label `$larger`
/// out of the loop (a branch not taken, 1 cycle, once the largest is
/// found), back at label `$back`. r0–r3 the streams (sum, `N`, `C`, `ỹ`),
/// r5 `s = K_y − 32`, r8–r11 scratch.
macro_rules! logit {
    ($larger:literal, $back:literal) => {
        concat!(
            "ldr r8, [r0], #4\n",  // acc
            "ldr r9, [r1], #4\n",  // N_j
            "ldr r10, [r2], #4\n", // C_j
            "smull r9, r8, r8, r9\n",
            "asrs r8, r8, r5\n", // high >> s, the carry bit s − 1
            "adc r8, r10, r8\n", // v = p + C
            "ssat r9, #24, r8\n",
            "sub r8, r8, r9\n",
            "usat r8, #1, r8\n",
            "add r8, r8, r9\n", // clamp(v, ±2²³)
            "cmp r8, r12\n",
            "bgt ",
            $larger,
            "f\n",
            $back,
            ":\n",
            "str r8, [r3], #4\n",
        )
    };
}

/// The out-of-line move of [`logit!`]: the logit in r8 is the largest so
/// far.
macro_rules! larger {
    ($larger:literal, $back:literal) => {
        concat!($larger, ":\n", "mov r12, r8\n", "b ", $back, "b\n")
    };
}

/// [`super::rows::logits`] with `HIGH`: `ỹ_j = clamp(p_j + C_j, ±2²³)`,
/// 15 cycles a logit on the M4 by the cycle model's timings (the three
/// loads 4, or 3 after the store before them, SMULL 1, the rounding and
/// the bias by ASRS and ADC 2, the clamp 4, the compare with the largest
/// and its branch not taken 2, the store 1, and a quarter of the end test
/// of a turn of four, 1), returning the largest logit; `None` (nothing
/// done) unless the four slices have the same positive length and
/// `shift` is in 33..=62.
pub(super) fn logits(
    acc: &[i32],
    mult: &[i32],
    bias: &[i32],
    shift: u32,
    y: &mut [i32],
) -> Option<i32> {
    let n = acc.len();
    if n == 0 || n != mult.len() || n != bias.len() || n != y.len() || !(33..=62).contains(&shift) {
        return None;
    }
    let frame = LogitFrame {
        acc: acc.as_ptr() as usize,
        mult: mult.as_ptr() as usize,
        bias: bias.as_ptr() as usize,
        y: y.as_mut_ptr() as usize,
        y_end: y.as_mut_ptr().wrapping_add(n) as usize,
        shift: shift - 32,
    };
    let largest: i32;
    // SAFETY: reads the `n` (at least one) words of `acc`, `mult` and
    // `bias` and writes the `n` words of `y`, up to `y_end`; reads the
    // frame's words; no stack. All registers it writes are clobbers.
    unsafe {
        asm!(
            "ldr r1, [r0, #4]",
            "ldr r2, [r0, #8]",
            "ldr r3, [r0, #12]",
            "ldr r4, [r0, #16]",
            "ldr r5, [r0, #20]",
            "ldr r0, [r0, #0]",
            turn_of_four!("r11", logit, larger, "cmp r3, r4"),
            inout("r0") core::ptr::addr_of!(frame) => _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            inout("r11") n => _,
            inout("r12") i32::MIN => largest,
            options(nostack),
        );
    }
    Some(largest)
}
