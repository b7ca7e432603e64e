//! The fixed layout's weights ([`super::integer`], `Scale::HighWord`) in
//! Thumb-2 assembly, for the Cortex-M3, M4, M7, M33 and M55: UMULL gives the
//! high word at once, UBFX the table index and the interpolation weight,
//! and no value waits on the stack (Rust's loop keeps four there, about
//! 61 cycles a logit on the M4; this one about 36).
//!
//! Per logit `y` (the integers of `weigh` with `Scale::t` and `weight`):
//!
//! ```text
//! y = i32::MIN (top-k's mark)       → w = 0
//! d = min(max − y, 2²⁴)             (unsigned)
//! t = high(d·2⁷ · m·2⁸) >> shift    UMULL
//! t ≥ 25·2¹⁶                        → w = 0
//! v = y0 − ((y0 − y1)·b + 2⁹) >> 10 y0, y1 = EXP2_TABLE[i], [i + 1]; i, b the fraction's top 6 and low 10 bits
//! w = ((v >> (n − 1)) + 1) >> 1     n = t >> 16 (n = 0: w = v); = (v + 2^(n−1)) >> n, nested floors
//! ```

use super::weigh_asm::WeighFrame;
use core::arch::asm;

/// The loop of [`super::weigh_asm::weigh`]: overwrites each of `logits`
/// with its weight and returns their sum.
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
    // saved on the stack and restored; the others are clobbers.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "ldm r1, {{r2, r3, r8, r9, r10, r11}}",
            "movs r1, #0",
            "2:",
            "ldr r4, [r0]",
            "cmp r4, #0x80000000",
            "beq 6f", // top-k's mark: weight 0
            "subs r5, r2, r4", // d = max − y
            "cmp r5, r3",
            "it hi",
            "movhi r5, r3", // at most 2²⁴
            "lsls r5, r5, #7",
            "umull r6, r5, r5, r8",
            "lsr.w r5, r5, r9", // t
            "lsrs r7, r5, #16", // n
            "cmp r7, #25",
            "bhs 6f", // t ≥ 25·2¹⁶: weight 0
            "ubfx r6, r5, #10, #6",
            "add.w r6, r10, r6, lsl #2",
            "ldr r4, [r6]",     // y0
            "ldr r6, [r6, #4]", // y1
            "subs r6, r4, r6",
            "ubfx r5, r5, #0, #10", // b
            "mul r5, r6, r5",
            "add.w r5, r5, #512",
            "sub.w r4, r4, r5, lsr #10", // v
            "cbz r7, 4f",
            "subs r7, #1",
            "lsrs r4, r7",
            "adds r4, #1",
            "lsrs r4, r4, #1",
            "4:",
            "str r4, [r0], #4",
            "add r1, r4",
            "cmp r0, r11",
            "bne 2b",
            "b 8f",
            "6:",
            "movs r4, #0",
            "b 4b",
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
        );
    }
    sum
}
