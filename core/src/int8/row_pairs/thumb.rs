//! [`pair_dot_words`] in Thumb-1 assembly, for the Cortex-M0/M0+ (no DSP,
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
//! 15 one-cycle instructions for 4 MACs; the words come two at a time by
//! `LDM w!, {w0, w1}` and `LDM h!, {s0, s1}` (3 cycles each), four words per
//! turn of the loop: (2·(3 + 3 + 30) + 1 + 3) / 16 = 4.75 cycles per MAC on
//! the M0 (4.69 on the M0+, whose taken branch is 2).

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

/// `[A, B]` of one block, or `None` (nothing done) unless `block` and `h`
/// are word aligned and hold a positive even number of words in common.
#[inline]
pub fn pair_dot_words(block: &[i8], h: &[i16], h_sum: i32) -> Option<[i32; 2]> {
    let words = (block.len() / 4).min(h.len() / 2);
    let aligned = (block.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
    if words == 0 || words % 2 != 0 || !aligned {
        return None;
    }
    // an odd number of two-word steps enters the loop at its second half
    let odd_steps = (words / 2) % 2;
    let (r, b): (i32, i32);
    // SAFETY: reads `words` words of `block` and of `h`, both in bounds and
    // word aligned. r6 and r7 (reserved by LLVM, not usable as operands) are
    // saved on the stack and restored; high registers can only be clobbers
    // in Thumb-1 asm, so the end pointer and the sums move through r2/r3.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "mov r10, r2",
            "movs r2, #0",
            "mov r8, r2",
            "mov r9, r2",
            "cmp r3, #0",
            "bne 4f",
            "3:",
            two_words!(),
            "4:",
            two_words!(),
            "cmp r0, r10",
            "bne 3b",
            "pop {{r6, r7}}",
            "mov r2, r8",
            "mov r3, r9",
            inout("r0") block.as_ptr() => _,
            inout("r1") h.as_ptr() => _,
            inout("r2") block.as_ptr().wrapping_add(4 * words) => r,
            inout("r3") odd_steps => b,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            options(readonly),
        );
    }
    // R = A' + 256·B (mod 2³²), A = A' − 128·Σh
    let a_raw = r.wrapping_sub(b.wrapping_shl(8));
    Some([
        a_raw.wrapping_sub(h_sum.wrapping_mul(super::PAIR_OFFSET)),
        b,
    ])
}
