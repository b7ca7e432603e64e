//! [`pair_dot_words`] in Thumb-2 assembly, for the Cortex-M3 (Armv7-M
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
//! six one-cycle instructions and four MLAs, 14 cycles for 4 MACs; four
//! block words come by one `LDM` (5 cycles) and their state words by two
//! (3 each): (5 + 3 + 3 + 4·14 + 1 + 3) / 16 = 4.44 cycles per MAC on the
//! M3 (DDI 0337I table 18-1).

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

/// `[A, B]` of one block, or `None` (nothing done) unless `block` and `h`
/// are word aligned and hold a positive multiple of 4 words in common.
#[inline]
pub fn pair_dot_words(block: &[i8], h: &[i16], h_sum: i32) -> Option<[i32; 2]> {
    let words = (block.len() / 4).min(h.len() / 2);
    let aligned = (block.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
    if words == 0 || words % 4 != 0 || !aligned {
        return None;
    }
    let (r, b): (i32, i32);
    // SAFETY: reads `words` words of `block` and of `h`, both in bounds
    // and word aligned. r6 and r7 (reserved by LLVM, not usable as
    // operands) are saved on the stack and restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
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
            "pop {{r6, r7}}",
            inout("r0") block.as_ptr() => _,
            inout("r1") h.as_ptr() => _,
            in("r2") block.as_ptr().wrapping_add(4 * words),
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r12") r,
            out("lr") b,
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
