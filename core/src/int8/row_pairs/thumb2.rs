//! The row pairs' dot products ([`super::pair_dots`]) in Thumb-2 assembly, for the Cortex-M3 (Armv7-M
//! without DSP; charm-core feature `thumb2`).
//!
//! The same sums as the Thumb-1 loop of the sibling module `thumb`:
//! `R = Σ (a' + 256·b)·h = A' + 256·B` from the row-pair word's signed
//! halves, and `B = Σ b·h` from its sign-extended odd bytes, now with
//! Thumb-2's MLA (multiply and add in one instruction, 2 cycles) and SBFX
//! (any signed bit field in one). Per word, with the state word `(h0, h1)`:
//!
//! ```text
//! SXTH h0, hh         SXTH t, word     MLA R, t, h0, R      (a0' + 256·b0)·h0
//! SBFX t, word, #8, #8                 MLA B, t, h0, B      b0·h0
//! ASR  hh, hh, #16    ASR  t, word, #16  MLA R, t, hh, R    (a1' + 256·b1)·h1
//! ASR  word, word, #24                 MLA B, word, hh, B   b1·h1
//! ```
//!
//! six one-cycle instructions and four MLAs, 14 cycles for 4 MACs. Two
//! blocks (four rows) go together, the state word loaded and split once
//! for both: per state word three `LDR`s back to back (the state and a word
//! of each block: 2 + 1 + 1 cycles, a load after a load pipelines), SXTH and
//! ASR, then 12 cycles per block; four state words a turn:
//! (4·(4 + 2 + 2·12) + 1 + 3) / 32 = 3.875 cycles per MAC on the M3 (DDI
//! 0337I table 18-1). A block left alone runs the one-block loop: four
//! block words by one `LDM` (5 cycles), their state words by two (3 each):
//! (5 + 3 + 3 + 4·14 + 1 + 3) / 16 = 4.44.

use super::block_loops::{by_pairs, Frame};
use super::DotSlot;
use core::arch::asm;

/// One block word against one state word: `$w` the word, `$s` the state
/// word; r9 and r10 scratch, sums in r12 (R) and lr (B).
macro_rules! word {
    ($w:literal, $s:literal) => {
        concat!(
            "sxth r9, ",
            $s,
            "\n",
            "sxth r10, ",
            $w,
            "\n",
            "mla r12, r10, r9, r12\n",
            "sbfx r10, ",
            $w,
            ", #8, #8\n",
            "mla lr, r10, r9, lr\n",
            "asr ",
            $s,
            ", ",
            $s,
            ", #16\n",
            "asr r10, ",
            $w,
            ", #16\n",
            "mla r12, r10, ",
            $s,
            ", r12\n",
            "asr ",
            $w,
            ", ",
            $w,
            ", #24\n",
            "mla lr, ",
            $w,
            ", ",
            $s,
            ", lr\n",
        )
    };
}

/// One block word of each of two blocks against one state word, the
/// state shared: words from r0 (block 0) and r3 (block 1), the state from
/// r1, each pointer moved on a word; r4 and r5 the state's halves, r6,
/// r7 the words, r10 scratch; sums R0, B0 in r8, r9 and R1, B1 in r12, lr.
macro_rules! two_blocks_word {
    () => {
        concat!(
            "ldr r4, [r1], #4\n",
            "ldr r6, [r0], #4\n",
            "ldr r7, [r3], #4\n",
            "sxth r5, r4\n",
            "asr r4, r4, #16\n",
            "sxth r10, r6\n",
            "mla r8, r10, r5, r8\n",
            "sbfx r10, r6, #8, #8\n",
            "mla r9, r10, r5, r9\n",
            "asr r10, r6, #16\n",
            "mla r8, r10, r4, r8\n",
            "asr r6, r6, #24\n",
            "mla r9, r6, r4, r9\n",
            "sxth r10, r7\n",
            "mla r12, r10, r5, r12\n",
            "sbfx r10, r7, #8, #8\n",
            "mla lr, r10, r5, lr\n",
            "asr r10, r7, #16\n",
            "mla r12, r10, r4, r12\n",
            "asr r7, r7, #24\n",
            "mla lr, r7, r4, lr\n",
        )
    };
}

/// [`super::pair_dots`] for `out.len()` blocks filling `w` (stride
/// `h.len()`), `h_sum = Σ h`; `false` (nothing done) unless `w` and `h`
/// are word aligned, `h` has a positive multiple of 8 entries (`padded(H)`
/// always has) and `w` holds the blocks.
///
/// Two blocks at a time (module docs: 3.875 cycles per MAC), the last of
/// an odd number alone (4.44); the loops over the blocks run in the
/// assembly too: per block or pair of blocks, the state pointer and the
/// ends from its [`Frame`], the sums zeroed, then `A = R − 256·B −
/// 128·Σh` and the sums stored (STRD).
#[inline]
pub fn pair_dots(w: &[i8], h: &[i16], h_sum: i32, out: &mut [DotSlot]) -> bool {
    by_pairs(w, h, h_sum, out, two_blocks_at_a_time, one_block_at_a_time)
}

/// The blocks of `out` (an even number, at least 2) two at a time; the
/// checks of [`pair_dots`] made.
#[inline]
fn two_blocks_at_a_time(w: &[i8], h: &[i16], h_sum: i32, out: &mut [DotSlot]) {
    let mut frame = Frame::new(w, h, h_sum, out);
    // SAFETY: reads the `out.len()` blocks of `w` (2·stride bytes each,
    // all in `w`), two at a time, and for each pair the 2·stride bytes of
    // `h`, 16 bytes of each a turn, all word aligned (`w`, `h` and the
    // stride are); writes the `out.len()` pairs of `out` and the frame's
    // fourth word. r6 and r7 (reserved by LLVM, not usable as operands)
    // are saved on the stack and restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "2:",
            "ldr r1, [r11]",
            "ldr r2, [r11, #20]",
            "ldr r3, [r11, #4]",
            "add r3, r0",
            "mov.w r8, #0",
            "mov.w r9, #0",
            "mov.w r12, #0",
            "mov.w lr, #0",
            "3:",
            two_blocks_word!(),
            two_blocks_word!(),
            two_blocks_word!(),
            two_blocks_word!(),
            "cmp r1, r2",
            "bne 3b",
            // block 1 ends where the next pair starts
            "mov r0, r3",
            // R = A' + 256·B (mod 2³²), A = A' − 128·Σh, for each block
            "ldr r10, [r11, #8]",
            "sub.w r8, r8, r9, lsl #8",
            "sub.w r8, r8, r10",
            "sub.w r12, r12, lr, lsl #8",
            "sub.w r12, r12, r10",
            "ldr r10, [r11, #12]",
            "strd r8, r9, [r10], #8",
            "strd r12, lr, [r10], #8",
            "str r10, [r11, #12]",
            "ldr r10, [r11, #16]",
            "cmp r0, r10",
            "bne 2b",
            "pop {{r6, r7}}",
            inout("r0") w.as_ptr() => _,
            in("r11") core::ptr::addr_of_mut!(frame),
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r12") _,
            out("lr") _,
        );
    }
}

/// The blocks of `out` (at least 1) one at a time; the checks of
/// [`pair_dots`] made. 17 cycles a block beside its words'.
#[inline]
fn one_block_at_a_time(w: &[i8], h: &[i16], h_sum: i32, out: &mut [DotSlot]) {
    let mut frame = Frame::new(w, h, h_sum, out);
    // SAFETY: reads the `out.len()` blocks of `w` (2·stride bytes each,
    // all in `w`) and, for each, the 2·stride bytes of `h`, 16 bytes a
    // turn, all word aligned (`w`, `h` and the stride are); writes the
    // `out.len()` pairs of `out` and the frame's fourth word. r6 and r7
    // (reserved by LLVM, not usable as operands) are saved on the stack
    // and restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "2:",
            "ldr r1, [r11]",
            "ldr r2, [r11, #4]",
            "add r2, r0",
            "mov.w r12, #0",
            "mov.w lr, #0",
            "3:",
            "ldm r0!, {{r3, r4, r5, r6}}",
            "ldm r1!, {{r7, r8}}",
            word!("r3", "r7"),
            word!("r4", "r8"),
            "ldm r1!, {{r7, r8}}",
            word!("r5", "r7"),
            word!("r6", "r8"),
            "cmp r0, r2",
            "bne 3b",
            // R = A' + 256·B (mod 2³²), A = A' − 128·Σh
            "sub.w r12, r12, lr, lsl #8",
            "ldr r9, [r11, #8]",
            "sub.w r12, r12, r9",
            "ldr r9, [r11, #12]",
            "strd r12, lr, [r9], #8",
            "str r9, [r11, #12]",
            "ldr r9, [r11, #16]",
            "cmp r0, r9",
            "bne 2b",
            "pop {{r6, r7}}",
            inout("r0") w.as_ptr() => _,
            in("r11") core::ptr::addr_of_mut!(frame),
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r12") _,
            out("lr") _,
        );
    }
}
