//! The fixed layout's weights ([`super::integer`], `Scale::HighWord`) in
//! Thumb-1 assembly, for the Cortex-M0/M0+: about 55 cycles a logit, where
//! the Rust keeps the loop's eleven values half on the stack (about 94).
//!
//! Per logit `y` (the integers of `weigh` with `Scale::t` and `weight`):
//!
//! ```text
//! y = i32::MIN (top-k's mark)       → w = 0          NEGS, its overflow flag
//! d = min(max − y, 2²⁴)             (unsigned)
//! t = high(d·2⁷ · m·2⁸) >> shift    four 16-bit MULS (`high_word_unsigned_by_halves`)
//! t ≥ 25·2¹⁶                        → w = 0
//! v = y0 − ((y0 − y1)·b + 2⁹) >> 10 y0, y1 = EXP2_TABLE[i], [i + 1]; i, b the fraction's top 6 and low 10 bits
//! w = (v >> n) + bit n − 1 of v     n = t >> 16: LSRS sets the carry to the last bit out (n = 0: leaves
//!                                   it 0), ADCS adds it; = (v + 2^(n−1)) >> n
//! ```
//!
//! and the running sum `w_0 + … + w_j` is stored in place of `y_j`.

use super::weigh_asm::WeighFrame;
use core::arch::asm;

/// The loop of [`super::weigh_asm::weigh`]: overwrites each of `logits`
/// with the running sum of the weights up to it and returns their sum.
///
/// # Safety
///
/// `frame` is `WeighFrame::new`'s for `logits` (so that its end is
/// `logits`' end, past at least one word, and its table is the 65-entry
/// table).
pub(super) unsafe fn weigh_loop(logits: &mut [i32], frame: &WeighFrame) -> u32 {
    let sum: u32;
    // SAFETY: reads and writes the `logits.len()` words of `logits` (at
    // least one); reads entries `i` and `i + 1` of the 65-entry table with
    // `i` = the top 6 bits of a 16-bit fraction (at most 63); the frame's
    // words. r6 and r7 (reserved by LLVM, not usable as operands) are
    // saved on the stack and restored; high registers and lr are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldr r2, [r1, #32]", // max
            "mov r8, r2",
            "ldr r2, [r1, #36]", // d_limit
            "mov r9, r2",
            "ldr r2, [r1, #12]",
            "mov r10, r2",
            "ldr r2, [r1, #16]",
            "mov r11, r2",
            "ldr r2, [r1, #20]",
            "mov r12, r2",
            "movs r2, #1",
            "lsls r2, r2, #9",
            "mov lr, r2",
            "ldr r2, [r1, #24]", // m mod 2¹⁶
            "ldr r3, [r1, #28]", // m >> 16
            "movs r1, #0",
            "2:",
            "ldr r4, [r0]",
            "negs r5, r4",
            "bvs 6f", // i32::MIN: weight 0
            "mov r5, r8",
            "subs r5, r5, r4", // d = max − y
            "cmp r5, r9",
            "bhi 7f", // d > 2²⁴: 2²⁴
            "3:",
            "lsls r5, r5, #7",
            "lsrs r6, r5, #16", // a1
            "uxth r5, r5",      // a0
            "movs r4, r5",
            "muls r4, r2, r4", // a0·m0
            "lsrs r4, r4, #16",
            "movs r7, r6",
            "muls r7, r2, r7", // a1·m0
            "adds r4, r4, r7", // s
            "muls r5, r3, r5", // a0·m1
            "muls r6, r3, r6", // a1·m1
            "uxth r7, r4",
            "adds r5, r5, r7",
            "lsrs r5, r5, #16",
            "lsrs r4, r4, #16",
            "adds r6, r6, r4",
            "adds r6, r6, r5", // high word
            "mov r7, r10",
            "lsrs r6, r7", // t
            "lsrs r7, r6, #16",
            "cmp r7, #25",
            "bhs 6f", // t ≥ 25·2¹⁶: weight 0
            "uxth r4, r6",
            "lsrs r5, r4, #10",
            "lsls r5, r5, #2",
            "add r5, r11",
            "ldr r6, [r5]",     // y0
            "ldr r5, [r5, #4]", // y1
            "subs r5, r6, r5",
            "lsls r4, r4, #22",
            "lsrs r4, r4, #22", // b
            "muls r4, r5, r4",
            "add r4, lr",
            "lsrs r4, r4, #10",
            "subs r6, r6, r4", // v
            "cmp r7, #25",     // n < 25: the carry is 0
            "lsrs r6, r7",     // v >> n, the carry bit n − 1 (n = 0: still 0)
            "movs r4, #0",
            "adcs r6, r4", // w
            "4:",
            "adds r1, r1, r6",
            "stm r0!, {{r1}}",
            "cmp r0, r12",
            "bne 2b",
            "b 8f",
            "6:",
            "movs r6, #0",
            "b 4b",
            "7:",
            "mov r5, r9",
            "b 3b",
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
