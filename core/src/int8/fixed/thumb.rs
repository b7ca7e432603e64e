//! The fixed step's row equations ([`super::rows`]) in Thumb-1 assembly,
//! for the Cortex-M0/M0+: Rust there keeps a row's pointers and constants
//! on the stack (eight low registers), some 100 cycles a hidden row and 46
//! a logit; these loops hold the constants in the high registers: 27.5 + 43
//! cycles a hidden row, about 35 a logit (the profile of
//! `scripts/measure-cycles.sh --board microbit --core m0plus --profile`
//! agrees within a cycle).
//!
//! Three loops, all for shifts of 33 and more (`HIGH` in [`super::scaled`]):
//!
//! - [`scale_in_place`]: `p = (high + 2^(K−33)) >> (K−32)`, `high` the high
//!   word of `acc·mult` from four 16-bit MULS ([`crate::math::wide`]'s
//!   `high_word_by_halves`, the same steps): 27.5 cycles a row on the M0+
//!   (LDM of the sum and the multiplier 4, 20 one-cycle instructions, STM
//!   2; two rows a turn, the compare and branch 3 for both).
//! - [`hidden`]'s second loop: `ũ = p + B + t`, `t = (w·X + 2^(K_x−1)) >>
//!   K_x`, then `tanh_q15_fixed(ũ)` (its table, LDRH of two entries, the
//!   interpolation's rounding half from lr) and STRH: 43 cycles.
//! - [`logits`]: `p` as [`scale_in_place`], then `clamp(p + C, ±2²³)`.
//!
//! The QEMU tests of the micro:bit check them byte for byte against the
//! host's Rust ([`super::rows`]) on random and extreme models.

use super::rows::{HiddenRun, HiddenScales};
use super::LOGIT_LIMIT;
use crate::int8::tanh_q15::TABLE;
use core::arch::asm;

/// `r4 = (high(r2·r3) + r8) >> r9`: the scaled sum of the sum `acc` in r2
/// and the multiplier in r3 (`high_word_by_halves`' steps, 20 one-cycle
/// instructions); r2, r3, r5 and r6 scratch.
macro_rules! scaled {
    () => {
        concat!(
            // acc = a1·2¹⁶ + a0, mult = m1·2¹⁶ + m0
            "asrs r4, r2, #16\n",
            "uxth r2, r2\n",
            "lsrs r5, r3, #16\n",
            "uxth r3, r3\n",
            "movs r6, r2\n",
            "muls r6, r3, r6\n", // a0·m0 (u32)
            "muls r3, r4, r3\n", // a1·m0 (signed)
            "muls r2, r5, r2\n", // a0·m1
            "muls r4, r5, r4\n", // a1·m1
            "lsrs r6, r6, #16\n",
            "adds r2, r2, r6\n",
            "uxth r6, r3\n",
            "adds r2, r2, r6\n", // carry = a0·m1 + (a0·m0 >> 16) + (a1·m0 mod 2¹⁶)
            "lsrs r2, r2, #16\n",
            "asrs r3, r3, #16\n",
            "adds r4, r4, r3\n",
            "adds r4, r4, r2\n", // high = a1·m1 + (a1·m0 >> 16) + (carry >> 16)
            "add r4, r8\n",
            "mov r6, r9\n",
            "asrs r4, r6\n",
        )
    };
}

/// What [`scale_in_place`]'s loop reads (`#[repr(C)]`, offsets 0, 4, 8).
#[repr(C)]
struct ScaleFrame {
    round: u32,
    shift: u32,
    end: usize,
}

/// `acc_r ← (high(acc_r·mult_r) + 2^(K−33)) >> (K−32)` for every `r`:
/// [`super::scaled`] with `HIGH`. `false` (nothing done) unless `acc` and
/// `mult` have the same positive length and `shift` is in 33..=62.
pub(super) fn scale_in_place(acc: &mut [i32], mult: &[i32], shift: u32) -> bool {
    if acc.is_empty() || acc.len() != mult.len() || !(33..=62).contains(&shift) {
        return false;
    }
    let frame = ScaleFrame {
        round: 1 << (shift - 33),
        shift: shift - 32,
        end: acc.as_ptr().wrapping_add(acc.len()) as usize,
    };
    // SAFETY: reads the `acc.len()` words of `acc` and of `mult` (same
    // length, at least one) and writes each word of `acc` after reading
    // it, through r0 and r7, which walk `acc` together; the frame's three
    // words. r6 and r7 (reserved by LLVM, not usable as operands) are
    // saved on the stack and restored; high registers are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldr r3, [r2, #0]",
            "mov r8, r3",
            "ldr r3, [r2, #4]",
            "mov r9, r3",
            "ldr r3, [r2, #8]",
            "mov r10, r3",
            "mov r7, r0",
            // two rows a turn; an odd number enters at the second
            "cmp r4, #0",
            "bne 3f",
            "2:",
            "ldm r0!, {{r2}}",
            "ldm r1!, {{r3}}",
            scaled!(),
            "stm r7!, {{r4}}",
            "3:",
            "ldm r0!, {{r2}}",
            "ldm r1!, {{r3}}",
            scaled!(),
            "stm r7!, {{r4}}",
            "cmp r0, r10",
            "bne 2b",
            "pop {{r6, r7}}",
            inout("r0") acc.as_mut_ptr() => _,
            inout("r1") mult.as_ptr() => _,
            inout("r2") core::ptr::addr_of!(frame) => _,
            out("r3") _,
            inout("r4") acc.len() % 2 => _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
        );
    }
    true
}

/// What [`hidden`]'s second loop reads (`#[repr(C)]`, offsets 0 to 32).
#[repr(C)]
struct UnitFrame {
    p: usize,
    bias: usize,
    column: usize,
    out: usize,
    p_end: usize,
    mult_x: i32,
    half_x: i32,
    k_x: u32,
    table: usize,
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
    if n != run.bias.len()
        || n != run.column.len()
        || n != out.len()
        || !(1..=30).contains(&scales.k_x)
        || !scale_in_place(acc, run.mult, scales.k_h)
    {
        return false;
    }
    let frame = UnitFrame {
        p: acc.as_ptr() as usize,
        bias: run.bias.as_ptr() as usize,
        column: run.column.as_ptr() as usize,
        out: out.as_mut_ptr() as usize,
        p_end: acc.as_ptr().wrapping_add(n) as usize,
        mult_x: scales.mult_x,
        half_x: 1 << (scales.k_x - 1),
        k_x: scales.k_x,
        table: TABLE.as_ptr() as usize,
    };
    // SAFETY: reads the `n` (at least one) words of `acc` and of the
    // biases, the `n` bytes of the column, and two neighbouring entries
    // of the 769-entry `TABLE` at `i < 768` (the branch to 4 takes every
    // larger `|ũ| >> 13`); writes the `n` halfwords of `out`; the frame's
    // words. r6 and r7 are saved and restored (module docs of
    // `row_pairs::thumb`); high registers and lr are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldr r1, [r0, #20]",
            "mov r8, r1",
            "ldr r1, [r0, #24]",
            "mov r9, r1",
            "ldr r1, [r0, #28]",
            "mov r10, r1",
            "ldr r1, [r0, #32]",
            "mov r11, r1",
            "ldr r1, [r0, #16]",
            "mov r12, r1",
            "movs r1, #1",
            "lsls r1, r1, #12",
            "mov lr, r1",
            "ldr r1, [r0, #4]",
            "ldr r2, [r0, #8]",
            "ldr r3, [r0, #12]",
            "ldr r0, [r0, #0]",
            "2:",
            "ldm r0!, {{r4}}", // p
            "ldm r1!, {{r5}}", // B
            "adds r4, r4, r5",
            "ldrb r5, [r2]",
            "adds r2, #1",
            "sxtb r5, r5",
            "mov r6, r8",
            "muls r5, r6, r5",
            "add r5, r9",
            "mov r6, r10",
            "asrs r5, r6",     // t = (w·X + 2^(K_x−1)) >> K_x
            "adds r4, r4, r5", // ũ = p + B + t
            "asrs r5, r4, #31",
            "eors r4, r5",
            "subs r4, r4, r5", // |ũ|
            "lsrs r6, r4, #21",
            "cmp r6, #3",
            "bhs 4f", // |ũ| ≥ 6·2²⁰: 32767
            "lsrs r6, r4, #13",
            "lsls r6, r6, #1",
            "add r6, r11",
            "ldrh r7, [r6]",     // y0
            "ldrh r6, [r6, #2]", // y1
            "subs r6, r6, r7",
            "lsls r4, r4, #19",
            "lsrs r4, r4, #19", // w = |ũ| mod 2¹³
            "muls r4, r6, r4",
            "add r4, lr",
            "asrs r4, r4, #13",
            "adds r4, r4, r7", // y0 + ((y1 − y0)·w + 2¹²) >> 13
            "3:",
            "eors r4, r5",
            "subs r4, r4, r5", // the sign of ũ
            "strh r4, [r3]",
            "adds r3, #2",
            "cmp r0, r12",
            "bne 2b",
            "b 5f",
            "4:",
            "movs r4, #127",
            "lsls r4, r4, #8",
            "adds r4, #255",
            "b 3b",
            "5:",
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
            out("r11") _,
            out("r12") _,
            out("lr") _,
        );
    }
    true
}

/// What [`logits`]' loop reads (`#[repr(C)]`, offsets 0 to 20).
#[repr(C)]
struct LogitFrame {
    round: u32,
    shift: u32,
    end: usize,
    bias: usize,
    limit: i32,
    minus_limit: i32,
}

/// `y_j = clamp(p_j + C_j, ±2²³)` with `p_j` [`scale_in_place`]'s, in one
/// loop: the scaled sum's 29 cycles, the bias through a high register (4),
/// its add and the two compares (5), about 35 a logit as measured. `false` (nothing done) unless the
/// four slices have the same positive length and `shift` is in 33..=62.
pub(super) fn logits(acc: &[i32], mult: &[i32], bias: &[i32], shift: u32, y: &mut [i32]) -> bool {
    let n = acc.len();
    if n == 0 || n != mult.len() || n != bias.len() || n != y.len() || !(33..=62).contains(&shift) {
        return false;
    }
    let frame = LogitFrame {
        round: 1 << (shift - 33),
        shift: shift - 32,
        end: acc.as_ptr().wrapping_add(n) as usize,
        bias: bias.as_ptr() as usize,
        limit: LOGIT_LIMIT,
        minus_limit: -LOGIT_LIMIT,
    };
    // SAFETY: reads the `n` (at least one) words of `acc`, `mult` and
    // `bias` and writes the `n` words of `y` (r7); the frame's words. r6
    // and r7 (reserved by LLVM, not usable as operands) are saved on the
    // stack and restored; high registers and lr are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "mov r7, r3",
            "ldr r3, [r2, #0]",
            "mov r8, r3",
            "ldr r3, [r2, #4]",
            "mov r9, r3",
            "ldr r3, [r2, #8]",
            "mov r10, r3",
            "ldr r3, [r2, #12]",
            "mov r11, r3",
            "ldr r3, [r2, #16]",
            "mov r12, r3",
            "ldr r3, [r2, #20]",
            "mov lr, r3",
            "2:",
            "ldm r0!, {{r2}}",
            "ldm r1!, {{r3}}",
            scaled!(),
            "mov r6, r11",
            "ldm r6!, {{r5}}",
            "mov r11, r6",
            "adds r4, r4, r5", // p + C
            "cmp r4, r12",
            "bgt 4f",
            "cmp r4, lr",
            "blt 5f",
            "3:",
            "stm r7!, {{r4}}",
            "cmp r0, r10",
            "bne 2b",
            "b 6f",
            "4:",
            "mov r4, r12",
            "b 3b",
            "5:",
            "mov r4, lr",
            "b 3b",
            "6:",
            "pop {{r6, r7}}",
            inout("r0") acc.as_ptr() => _,
            inout("r1") mult.as_ptr() => _,
            inout("r2") core::ptr::addr_of!(frame) => _,
            inout("r3") y.as_mut_ptr() => _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("lr") _,
        );
    }
    true
}
