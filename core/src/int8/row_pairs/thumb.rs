//! The row pairs' dot products ([`super::pair_dots`]) in Thumb-1 assembly, for the Cortex-M0/M0+ (no DSP,
//! no multiply-accumulate, eight low registers).
//!
//! Read as a signed halfword, the low half of a row-pair word is
//! `a'[2k] + 256·b[2k]` and the high half `a'[2k+1] + 256·b[2k+1]`
//! (`a' = a + 128` is a byte in [0, 255] that never borrows from `b`), so
//! one multiply by `h` of each half accumulates
//!
//! ```text
//! R = Σ (a' + 256·b)·h = A' + 256·B        (mod 2³²)
//! ```
//!
//! and two more multiplies of the sign-extended `b` bytes give `B = Σ b·h`;
//! then `A' = R − 256·B` and `A = A' − 128·Σh` exactly, because the true `A`
//! fits in an i32 (module docs of `row_pairs`). Per word, with the state
//! word `(h0, h1)`:
//!
//! ```text
//! SXTH h0, hh      SXTH t, word       MULS t, h0   ADD R, t     (a0' + 256·b0)·h0
//! LSLS t, word, #16  ASRS t, t, #24   MULS t, h0   ADD B, t     b0·h0
//! ASRS hh, hh, #16 ASRS t, word, #16  MULS t, hh   ADD R, t     (a1' + 256·b1)·h1
//! ASRS word, word, #24                MULS word, hh ADD B, word b1·h1
//! ```
//!
//! 15 one-cycle instructions for 4 MACs. Two blocks (four rows) go
//! together, the state word loaded and split once for both: per state word
//! SXTH and ASRS, then per block an `LDR` of its word (2 cycles) and the 13
//! other instructions; the state comes two words at a time by `LDM h!,
//! {s0, s1}` (3 cycles), eight state words a turn of the loop with two
//! pointer increments, a compare and two branches (the body is beyond a
//! conditional branch's reach): (4·3 + 8·(2 + 2·15) + 2 + 1 + 1 + 2) / 64 =
//! 4.28 cycles per MAC on the M0+ (4.30 on the M0, whose taken branch is
//! 3). A state of an odd number of 16-byte quarters (`padded(H)` is a
//! multiple of 8 entries, not of 16) enters the first turn at its second
//! half. A block left alone (an odd number of blocks) runs the one-block loop,
//! its words by `LDM w!, {w0, w1}`: (2·(3 + 3 + 30) + 1 + 3) / 16 = 4.75 on
//! the M0 (4.69 on the M0+).

use super::block_loops::{by_pairs, Frame};
use super::DotSlot;
use core::arch::asm;

/// Two words of a block against two state words: the body of the loop.
/// `r0`: block, `r1`: state, sums in `r8` (R) and `r9` (B); `r2`–`r7` scratch.
macro_rules! two_words {
    () => {
        concat!(
            "ldm r0!, {{r2, r3}}\n",
            "ldm r1!, {{r4, r5}}\n",
            // word r2 against (h0, h1) = r4
            "sxth r6, r4\n",
            "sxth r7, r2\n",
            "muls r7, r6, r7\n",
            "add r8, r7\n",
            "lsls r7, r2, #16\n",
            "asrs r7, r7, #24\n",
            "muls r7, r6, r7\n",
            "add r9, r7\n",
            "asrs r4, r4, #16\n",
            "asrs r7, r2, #16\n",
            "muls r7, r4, r7\n",
            "add r8, r7\n",
            "asrs r2, r2, #24\n",
            "muls r2, r4, r2\n",
            "add r9, r2\n",
            // word r3 against (h2, h3) = r5
            "sxth r6, r5\n",
            "sxth r7, r3\n",
            "muls r7, r6, r7\n",
            "add r8, r7\n",
            "lsls r7, r3, #16\n",
            "asrs r7, r7, #24\n",
            "muls r7, r6, r7\n",
            "add r9, r7\n",
            "asrs r5, r5, #16\n",
            "asrs r7, r3, #16\n",
            "muls r7, r5, r7\n",
            "add r8, r7\n",
            "asrs r3, r3, #24\n",
            "muls r3, r5, r3\n",
            "add r9, r3",
        )
    };
}

/// One state word (`$s`: r3 or r7) against the word at offset `$o` of
/// each of two blocks (r0 block 0, r2 block 1): r4 and `$s` the state's
/// halves, r5 the block word, r6 scratch; sums R0, B0 in r8, r9 and R1,
/// B1 in r10, r11.
macro_rules! two_blocks_word {
    ($s:literal, $o:literal) => {
        concat!(
            "sxth r4, ",
            $s,
            "\n",
            "asrs ",
            $s,
            ", ",
            $s,
            ", #16\n",
            "ldr r5, [r0, #",
            $o,
            "]\n",
            "sxth r6, r5\n",
            "muls r6, r4, r6\n",
            "add r8, r6\n",
            "lsls r6, r5, #16\n",
            "asrs r6, r6, #24\n",
            "muls r6, r4, r6\n",
            "add r9, r6\n",
            "asrs r6, r5, #16\n",
            "muls r6, ",
            $s,
            ", r6\n",
            "add r8, r6\n",
            "asrs r5, r5, #24\n",
            "muls r5, ",
            $s,
            ", r5\n",
            "add r9, r5\n",
            "ldr r5, [r2, #",
            $o,
            "]\n",
            "sxth r6, r5\n",
            "muls r6, r4, r6\n",
            "add r10, r6\n",
            "lsls r6, r5, #16\n",
            "asrs r6, r6, #24\n",
            "muls r6, r4, r6\n",
            "add r11, r6\n",
            "asrs r6, r5, #16\n",
            "muls r6, ",
            $s,
            ", r6\n",
            "add r10, r6\n",
            "asrs r5, r5, #24\n",
            "muls r5, ",
            $s,
            ", r5\n",
            "add r11, r5\n",
        )
    };
}

/// [`super::pair_dots`] for `out.len()` blocks filling `w` (stride
/// `h.len()`), `h_sum = Σ h`; `false` (nothing done) unless `w` and `h`
/// are word aligned, `h` has a positive multiple of 8 entries (`padded(H)`
/// always has) and `w` holds the blocks.
///
/// Two blocks at a time (module docs: 4.28 cycles per MAC on the M0+),
/// the last of an odd number alone (4.69); the loops over the blocks run
/// in the assembly too: per block or pair of blocks, the state pointer
/// and the ends from its [`Frame`], the sums zeroed, then `A = R −
/// 256·B − 128·Σh` and the sums stored (STM).
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
    // are saved on the stack with the frame's address (r2; high registers
    // can only be clobbers in Thumb-1 asm) and restored.
    unsafe {
        asm!(
            "push {{r2, r6, r7}}",
            "2:",
            "ldr r2, [sp]",
            "ldr r1, [r2, #20]",
            "mov r12, r1",
            "ldr r1, [r2]",
            "ldr r2, [r2, #4]",
            "adds r2, r2, r0",
            "movs r3, #0",
            "mov r8, r3",
            "mov r9, r3",
            "mov r10, r3",
            "mov r11, r3",
            // eight state words a turn; a state of an odd number of
            // 16-byte quarters enters at the turn's second half, the block
            // pointers 16 bytes back so that its offsets fall right
            "mov r3, r12",
            "subs r3, r3, r1",
            "lsls r3, r3, #27",
            "beq 3f",
            "subs r0, #16",
            "subs r2, #16",
            "b 6f",
            "3:",
            "ldm r1!, {{r3, r7}}",
            two_blocks_word!("r3", "0"),
            two_blocks_word!("r7", "4"),
            "ldm r1!, {{r3, r7}}",
            two_blocks_word!("r3", "8"),
            two_blocks_word!("r7", "12"),
            "6:",
            "ldm r1!, {{r3, r7}}",
            two_blocks_word!("r3", "16"),
            two_blocks_word!("r7", "20"),
            "ldm r1!, {{r3, r7}}",
            two_blocks_word!("r3", "24"),
            two_blocks_word!("r7", "28"),
            "adds r0, #32",
            "adds r2, #32",
            "cmp r1, r12",
            // the body is beyond a conditional branch's reach (256 bytes)
            "beq 4f",
            "b 3b",
            "4:",
            // block 1 ends where the next pair starts
            "mov r0, r2",
            // R = A' + 256·B (mod 2³²), A = A' − 128·Σh, for each block
            "ldr r2, [sp]",
            "ldr r5, [r2, #8]",
            "mov r3, r8",
            "mov r4, r9",
            "lsls r1, r4, #8",
            "subs r3, r3, r1",
            "subs r3, r3, r5",
            "mov r6, r10",
            "mov r7, r11",
            "lsls r1, r7, #8",
            "subs r6, r6, r1",
            "subs r6, r6, r5",
            "ldr r1, [r2, #12]",
            "stm r1!, {{r3, r4, r6, r7}}",
            "str r1, [r2, #12]",
            "ldr r1, [r2, #16]",
            "cmp r0, r1",
            "beq 5f",
            "b 2b",
            "5:",
            "pop {{r2, r6, r7}}",
            inout("r0") w.as_ptr() => _,
            out("r1") _,
            inout("r2") core::ptr::addr_of_mut!(frame) => _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
        );
    }
}

/// The blocks of `out` (at least 1) one at a time; the checks of
/// [`pair_dots`] made. 31 cycles a block beside its words'.
#[inline]
fn one_block_at_a_time(w: &[i8], h: &[i16], h_sum: i32, out: &mut [DotSlot]) {
    let mut frame = Frame::new(w, h, h_sum, out);
    // SAFETY: reads the `out.len()` blocks of `w` (2·stride bytes each,
    // all in `w`) and, for each, the 2·stride bytes of `h`, 16 bytes a
    // turn, all word aligned (`w`, `h` and the stride are); writes the
    // `out.len()` pairs of `out` and the frame's fourth word. r6 and r7
    // (reserved by LLVM, not usable as operands) are saved on the stack
    // and restored; high registers can only be clobbers in Thumb-1 asm,
    // so the frame's address comes in r2 and waits in r11.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "mov r11, r2",
            "2:",
            "mov r2, r11",
            "ldr r1, [r2]",
            "ldr r3, [r2, #4]",
            "adds r3, r3, r0",
            "mov r10, r3",
            "movs r3, #0",
            "mov r8, r3",
            "mov r9, r3",
            "3:",
            two_words!(),
            two_words!(),
            "cmp r0, r10",
            "bne 3b",
            // R = A' + 256·B (mod 2³²), A = A' − 128·Σh
            "mov r2, r8",
            "mov r3, r9",
            "lsls r4, r3, #8",
            "subs r2, r2, r4",
            "mov r5, r11",
            "ldr r4, [r5, #8]",
            "subs r2, r2, r4",
            "ldr r4, [r5, #12]",
            "stm r4!, {{r2, r3}}",
            "str r4, [r5, #12]",
            "ldr r4, [r5, #16]",
            "cmp r0, r4",
            "bne 2b",
            "pop {{r6, r7}}",
            inout("r0") w.as_ptr() => _,
            out("r1") _,
            inout("r2") core::ptr::addr_of_mut!(frame) => _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
        );
    }
}

/// `Σ h`, wrapping, eight entries a turn (`LDM` of four words, SXTH and
/// ASRS of each half, two adds): 3 cycles an entry, where Rust's LDRSH
/// loop takes 8. `None` unless `h` is word aligned with a positive
/// multiple of 8 entries (`padded(H)` always has).
#[inline]
pub fn state_sum(h: &[i16]) -> Option<i32> {
    if h.is_empty() || h.len() % 8 != 0 || h.as_ptr() as usize % 4 != 0 {
        return None;
    }
    let sum: i32;
    // SAFETY: reads the `h.len()` entries of `h` (a positive multiple of
    // eight, word aligned), 16 bytes a turn. r6 (reserved by LLVM, not
    // usable as an operand) is saved on the stack and restored; the end
    // waits in r12, a clobber.
    unsafe {
        asm!(
            "push {{r6}}",
            "mov r12, r1",
            "movs r1, #0",
            "2:",
            "ldm r0!, {{r2, r3, r4, r5}}",
            "sxth r6, r2",
            "asrs r2, r2, #16",
            "adds r1, r1, r6",
            "adds r1, r1, r2",
            "sxth r6, r3",
            "asrs r3, r3, #16",
            "adds r1, r1, r6",
            "adds r1, r1, r3",
            "sxth r6, r4",
            "asrs r4, r4, #16",
            "adds r1, r1, r6",
            "adds r1, r1, r4",
            "sxth r6, r5",
            "asrs r5, r5, #16",
            "adds r1, r1, r6",
            "adds r1, r1, r5",
            "cmp r0, r12",
            "bne 2b",
            "pop {{r6}}",
            inout("r0") h.as_ptr() => _,
            inout("r1") h.as_ptr().wrapping_add(h.len()) => sum,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r12") _,
        );
    }
    Some(sum)
}
