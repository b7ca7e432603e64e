//! [`pair_dot_words`] in Thumb-1 assembly, for the Cortex-M0/M0+ and M3
//! (no DSP): LLVM's code for the portable loop spills to the stack on the
//! M0's eight low registers (7 instructions per MAC); here the two sums
//! live in high registers (`ADD r8, rN` reaches them), and per word:
//!
//! ```text
//! LDM  w!, {word}      LDM  h!, {hh}        SXTH h0, hh     ASRS h1, hh, #16
//! UXTB t, word         MULS t, h0           ADD  A, t                   a0' · h0
//! LSLS t, word, #16    ASRS t, t, #24       MULS t, h0      ADD B, t    b0 · h0
//! LSRS t, word, #16    UXTB t, t            MULS t, h1      ADD A, t    a1' · h1
//! ASRS word, word, #24 MULS word, h1        ADD  B, word                b1 · h1
//! CMP  w, end          BNE
//! ```
//!
//! 20 instructions for 4 MACs, the same integers (wrapping i32 sums).

use core::arch::asm;

/// `[A, B]` of one block, or `None` (nothing done) unless `block` and `h`
/// are word aligned and hold at least one word.
#[inline]
pub fn pair_dot_words(block: &[i8], h: &[i16], h_sum: i32) -> Option<[i32; 2]> {
    let words = (block.len() / 4).min(h.len() / 2);
    let aligned = (block.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
    if words == 0 || !aligned {
        return None;
    }
    let (a_raw, b): (i32, i32);
    // SAFETY: reads `words` words of `block` and of `h`, both in bounds
    // and word aligned. High registers can only be clobbers in Thumb-1
    // asm: the sums and the end pointer move through r2 and r3.
    unsafe {
        asm!(
            "mov r10, r2",
            "movs r2, #0",
            "mov r8, r2",
            "mov r9, r2",
            "2:",
            "ldm r0!, {{r2}}",
            "ldm r1!, {{r3}}",
            "sxth r4, r3",
            "asrs r3, r3, #16",
            "uxtb r5, r2",
            "muls r5, r4, r5",
            "add r8, r5",
            "lsls r5, r2, #16",
            "asrs r5, r5, #24",
            "muls r5, r4, r5",
            "add r9, r5",
            "lsrs r5, r2, #16",
            "uxtb r5, r5",
            "muls r5, r3, r5",
            "add r8, r5",
            "asrs r2, r2, #24",
            "muls r2, r3, r2",
            "add r9, r2",
            "cmp r0, r10",
            "bne 2b",
            "mov r2, r8",
            "mov r3, r9",
            inout("r0") block.as_ptr() => _,
            inout("r1") h.as_ptr() => _,
            inout("r2") block.as_ptr().wrapping_add(4 * words) => a_raw,
            out("r3") b,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            options(readonly, nostack),
        );
    }
    Some([
        a_raw.wrapping_sub(h_sum.wrapping_mul(super::PAIR_OFFSET)),
        b,
    ])
}
