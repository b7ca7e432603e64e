//! The fixed layout's weights ([`super::integer`], `Scale::HighWord`) in
//! Thumb-2 assembly, for the Cortex-M3, M4, M7, M33 and M55: UMULL gives the
//! high word at once, UBFX the table index and the interpolation weight,
//! and no value waits on the stack (Rust's loop keeps four there, about
//! 61 cycles a logit on the M4). With the M4's timings a logit of the
//! fixed step's (no top-k, its largest handed on: [`weigh_near_logit!`])
//! takes 18 cycles: the loads 2 + 2 + 1 (the next logit's first load 1,
//! after the store), UMULL, MLA and the 11 other instructions 1 each, the
//! store 1, and every fourth logit the end test's compare and taken
//! branch 4 (the trace of the `mps2-an386` firmware with `--features
//! fixed` at H 128: about 1,260 cycles for 65). Any other logits
//! ([`weigh_logit!`], which tests for top-k's mark and for a logit more
//! than `d_limit` below the largest) take about 22.5: the test 2 more, the
//! rounding half's add 1, an end test every other logit.
//!
//! Per logit `y` (the integers of `weigh` with `Scale::t` and `weight`),
//! with `max` at least every logit:
//!
//! ```text
//! y < max − 2²⁴                     → y = i32::MIN (top-k's mark): w = 0, else d = 2²⁴
//! d·2⁷ = max·2⁷ − y·2⁷              (mod 2³²: d ≤ 2²⁴, so the product ≤ 2³¹ is exact)
//! t = high(d·2⁷ · m·2⁸) >> shift    UMULL
//! t ≥ 25·2¹⁶                        → w = 0 (not taken: the carry flag is 0)
//! v = y0 − ((y0 − y1)·b + 2⁹) >> 10 y0 = EXP2_TABLE[i], y0 − y1 = EXP2_STEPS[i]; i, b the fraction's top 6 and low 10 bits
//! w = (v >> n) + bit n − 1 of v     n = t >> 16: LSRS sets the carry to the last bit out (n = 0: leaves it 0),
//!                                   ADC adds it; = (v + 2^(n−1)) >> n
//! ```
//!
//! and the running sum `w_0 + … + w_j` is stored in place of `y_j`.

use super::weigh_asm::WeighFrame;
use core::arch::asm;

/// One logit (module docs): r0 the logit, r1 the running sum, r2 `max·2⁷`,
/// r3 `max − d_limit`, r8 `m·2⁸`, r9 the shift, r10 the table, r12 its
/// steps, lr `d_limit·2⁷`; r4–r7 scratch. `$far` is
/// the label of the path for `y < max − d_limit`, `$mul` the one after
/// its `d`, `$zero` the label of the path for a weight of 0.
macro_rules! weigh_logit {
    ($mul:literal, $far:literal, $zero:literal) => {
        concat!(
            "ldr r4, [r0]\n",
            "cmp r4, r3\n",
            "blt ",
            $far,
            "f\n",                        // y < max − d_limit
            "sub.w r5, r2, r4, lsl #7\n", // d·2⁷
            $mul,
            ":\n",
            "umull r6, r5, r5, r8\n",
            "lsr.w r5, r5, r9\n", // t
            "cmp.w r5, #0x190000\n",
            "bhs ",
            $zero,
            "f\n",                           // t ≥ 25·2¹⁶: weight 0; else the carry is 0
            "ubfx r6, r5, #10, #6\n",        // i
            "ldr.w r4, [r10, r6, lsl #2]\n", // y0
            "ldr.w r6, [r12, r6, lsl #2]\n", // y0 − y1
            "ubfx r7, r5, #0, #10\n",        // b
            "mul r7, r6, r7\n",
            "add.w r7, r7, #512\n",
            "sub.w r4, r4, r7, lsr #10\n", // v
            "lsr.w r5, r5, #16\n",         // n (no flags: the carry stays 0)
            "lsrs r4, r5\n",               // v >> n, the carry bit n − 1
            "adc r1, r1, r4\n",            // the sum + w
            "str r1, [r0], #4\n",
        )
    };
}

/// [`weigh_logit!`] for logits that are all at least `max − d_limit` (no
/// top-k mark, no far path): r3 holds `2⁹`, so that MLA adds the
/// interpolation's rounding half (module docs: 18 cycles a logit on the
/// M4).
macro_rules! weigh_near_logit {
    ($zero:literal) => {
        concat!(
            "ldr r4, [r0]\n",
            "sub.w r5, r2, r4, lsl #7\n", // d·2⁷
            "umull r6, r5, r5, r8\n",
            "lsr.w r5, r5, r9\n", // t
            "cmp.w r5, #0x190000\n",
            "bhs ",
            $zero,
            "f\n",                           // t ≥ 25·2¹⁶: weight 0; else the carry is 0
            "ubfx r6, r5, #10, #6\n",        // i
            "ldr.w r4, [r10, r6, lsl #2]\n", // y0
            "ldr.w r6, [r12, r6, lsl #2]\n", // y0 − y1
            "ubfx r7, r5, #0, #10\n",        // b
            "mla r7, r6, r7, r3\n",          // (y0 − y1)·b + 2⁹
            "sub.w r4, r4, r7, lsr #10\n",   // v
            "lsr.w r5, r5, #16\n",           // n (no flags: the carry stays 0)
            "lsrs r4, r5\n",                 // v >> n, the carry bit n − 1
            "adc r1, r1, r4\n",              // the sum + w
            "str r1, [r0], #4\n",
        )
    };
}

/// The path of [`weigh_logit!`] for `y < max − d_limit`: top-k's mark
/// weighs 0 (label `$zero`), any other `y` takes `d = d_limit` (back to
/// label `$mul`).
macro_rules! weigh_far {
    ($far:literal, $mul:literal, $zero:literal) => {
        concat!(
            $far,
            ":\n",
            "cmp r4, #0x80000000\n",
            "beq ",
            $zero,
            "f\n",          // top-k's mark: weight 0
            "mov r5, lr\n", // d = d_limit
            "b ",
            $mul,
            "b\n",
        )
    };
}

/// The loop of [`super::weigh_asm::weigh`]: overwrites each of `logits`
/// with the running sum of the weights up to it and returns their sum.
/// Two logits a turn (an odd number enters at the second), so that half
/// of them need no end test.
///
/// `near`: every logit is at least `max − d_limit` (the logits of the
/// fixed step, within `±2²³`, with no top-k mark), so that the loop of
/// [`weigh_near_logit!`] runs, 18 cycles a logit where
/// [`weigh_logit!`]'s takes about 22.5; otherwise its sums are unspecified (and
/// still no memory outside `logits` is touched).
///
/// # Safety
///
/// `frame` is `WeighFrame::new`'s for `logits` (so that its end is
/// `logits`' end, past at least one word, its table the 65-entry table and
/// its steps the 64-entry table).
pub(super) unsafe fn weigh_loop(logits: &mut [i32], frame: &WeighFrame, near: bool) -> u32 {
    if near {
        // SAFETY: the caller's contract.
        return unsafe { weigh_near_loop(logits, frame) };
    }
    let sum: u32;
    // SAFETY: reads and writes the `logits.len()` words of `logits` (at
    // least one; the turn's first logit only when at least two are left:
    // an odd number enters at the second); reads entry `i` of the 65-entry
    // table and of the 64-entry steps with `i` = the top 6 bits of a 16-bit
    // fraction (at most 63); the frame's words. r6 and r7 (reserved by LLVM, not
    // usable as operands) are saved on the stack and restored; the others
    // are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldr lr, [r1, #40]",  // d_limit·2⁷
            "ldr r12, [r1, #44]", // the steps y0 − y1
            "ldm r1, {{r2, r3, r8, r9, r10, r11}}",
            "movs r1, #0",
            "sub.w r4, r11, r0",
            "tst r4, #4",
            "bne 12f", // an odd number of logits
            "2:",
            weigh_logit!("3", "6", "7"),
            "12:",
            weigh_logit!("13", "16", "17"),
            "cmp r0, r11",
            "bne 2b",
            "b 8f",
            weigh_far!("6", "3", "7"),
            "7:",
            "str r1, [r0], #4", // weight 0: the sum as it was
            "b 12b",
            weigh_far!("16", "13", "17"),
            "17:",
            "str r1, [r0], #4",
            "cmp r0, r11",
            "bne 2b",
            "8:",
            "pop {{r6, r7}}",
            inout("r0") logits.as_mut_ptr() => _,
            inout("r1") core::ptr::from_ref(frame) => sum,
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
    sum
}

/// The loop of [`weigh_loop`] for `near` ([`weigh_near_logit!`]), four
/// logits a turn, so that three in four need no end test.
///
/// # Safety
///
/// As [`weigh_loop`].
unsafe fn weigh_near_loop(logits: &mut [i32], frame: &WeighFrame) -> u32 {
    let sum: u32;
    // SAFETY: as `weigh_loop`'s: reads and writes the `logits.len()` words
    // of `logits` (at least one; a turn's first logits only when at least
    // four are left: n mod 4 = 3, 2, 1 enters at the second, third, fourth),
    // entry `i ≤ 63` of the 65-entry table and of the 64-entry steps, the
    // frame's words. r6 and r7 (reserved by LLVM, not usable as operands)
    // are saved on the stack and restored; the others are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldr r12, [r1, #44]", // the steps y0 − y1
            "ldm r1, {{r2, r3, r8, r9, r10, r11}}",
            "mov.w r3, #512", // the interpolation's rounding half
            "movs r1, #0",
            // four logits a turn; n mod 4 = 3, 2, 1 enters at the second,
            // third, fourth
            "sub.w r4, r11, r0",
            "ands r4, r4, #12", // 4·(n mod 4)
            "beq 2f",
            "cmp r4, #8",
            "blo 14f",
            "beq 13f",
            "b 12f",
            "2:",
            weigh_near_logit!("7"),
            "12:",
            weigh_near_logit!("17"),
            "13:",
            weigh_near_logit!("27"),
            "14:",
            weigh_near_logit!("37"),
            "cmp r0, r11",
            "bne 2b",
            "b 8f",
            "7:",
            "str r1, [r0], #4", // weight 0: the sum as it was
            "b 12b",
            "17:",
            "str r1, [r0], #4",
            "b 13b",
            "27:",
            "str r1, [r0], #4",
            "b 14b",
            "37:",
            "str r1, [r0], #4",
            "cmp r0, r11",
            "bne 2b",
            "8:",
            "pop {{r6, r7}}",
            inout("r0") logits.as_mut_ptr() => _,
            inout("r1") core::ptr::from_ref(frame) => sum,
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
    sum
}
