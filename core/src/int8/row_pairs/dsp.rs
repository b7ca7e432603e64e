use core::arch::asm;

/// [`super::pair_dots`] on the DSP instructions, for `out.len() ≥ 1`
/// blocks filling `w`, `sum = Σ h`; `false` (nothing done) unless `w`
/// and `h` are 4-byte aligned and `h` has a positive multiple of 8
/// entries (`padded(H)` always is). Two blocks at a time
/// ([`two_blocks_run`], 1.375 cycles per MAC on a Cortex-M4), an odd last
/// one alone ([`pair_run`], 1.5).
#[inline]
pub fn pair_dots(w: &[i8], h: &[i16], sum: i32, out: &mut [[i32; 2]]) -> bool {
    let aligned = (w.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
    let steps_ok = !h.is_empty() && h.len() % 8 == 0;
    if !aligned || !steps_ok || out.is_empty() || w.len() < out.len() * 2 * h.len() {
        return false;
    }
    // SAFETY: checked just above; blocks are 2·h.len() bytes, a multiple
    // of 16, so every block stays aligned; the pairs of blocks are the
    // first 2·pairs of them, the last one (an odd number) follows.
    let pairs = out.len() / 2;
    let (out_two, out_one) = out.split_at_mut(2 * pairs);
    let (w_two, w_one) = w.split_at(2 * pairs * 2 * h.len());
    unsafe {
        if pairs > 0 {
            two_blocks_run(w_two, h, pairs, sum, out_two);
        }
        if !out_one.is_empty() {
            pair_run(w_one, h, 1, sum, out_one);
        }
    }
    true
}

/// Four columns of two row pairs, the state shared: state words `(h0,h1),
/// (h2,h3)` into r4, r5, block 0's words into r6, r7 and block 1's into
/// r8, r9, then per word `R += raw·h2`, `t = SXTB16(word ROR 8)`, `B +=
/// t·h2`: block 0 into r10 (R) and r11 (B), block 1 into r12 and lr.
macro_rules! two_blocks_four_columns {
    () => {
        concat!(
            "ldm r0!, {{r4, r5}}\n",
            "ldm r1!, {{r6, r7}}\n",
            "ldm r3!, {{r8, r9}}\n",
            "smlad r10, r6, r4, r10\n",
            "sxtb16 r6, r6, ror #8\n",
            "smlad r11, r6, r4, r11\n",
            "smlad r10, r7, r5, r10\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad r11, r7, r5, r11\n",
            "smlad r12, r8, r4, r12\n",
            "sxtb16 r8, r8, ror #8\n",
            "smlad lr, r8, r4, lr\n",
            "smlad r12, r9, r5, r12\n",
            "sxtb16 r9, r9, ror #8\n",
            "smlad lr, r9, r5, lr",
        )
    };
}

/// [`pair_run`] two blocks at a time, the state word loaded once for both
/// (four rows): per four columns three LDMs of two words (3 cycles each)
/// and per word SMLAD, SXTB16, SMLAD, 21 cycles for 16 multiply-accumulates;
/// sixteen columns a turn of the loop (an odd number of eight-column steps
/// enters it at its second half), the compare and branch 4 cycles: (4·21 +
/// 4)/64 = 1.375 cycles per MAC, against [`pair_run`]'s 1.5. Every register
/// but sp and pc is in use: the outer loop's values live on the stack.
///
/// # Safety
///
/// `w` and `h` word aligned; `h.len()` a positive multiple of 8;
/// `w.len() ≥ 2·pairs·2·h.len()`; `1 ≤ pairs` and `2·pairs ≤ out.len()`.
#[inline(always)]
unsafe fn two_blocks_run(w: &[i8], h: &[i16], pairs: usize, sum: i32, out: &mut [[i32; 2]]) {
    let steps = h.len() / 8;
    let h_end = h.as_ptr_range().end;
    let out_end = out.as_mut_ptr().wrapping_add(2 * pairs);
    // SAFETY: the caller's contract bounds every load (`2·pairs` blocks
    // of 16·steps bytes of `w`, 16·steps bytes of `h` per pair) and store
    // (`2·pairs` entries of `out`); r6/r7 and the 20 bytes of stack are
    // restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "sub sp, sp, #20",
            "str r0, [sp]",      // h
            "str r5, [sp, #4]",  // end of out
            "str r8, [sp, #8]",  // Σh
            "str r3, [sp, #12]", // steps
            "str r4, [sp, #16]", // out
            "5:",
            "ldr r0, [sp]",
            // block 1 starts a block (h_end − h bytes) after block 0
            "sub r3, r2, r0",
            "add r3, r1, r3",
            "mov.w r10, #0",
            "mov.w r11, #0",
            "mov.w r12, #0",
            "mov.w lr, #0",
            "ldr r4, [sp, #12]",
            "tst r4, #1",
            "bne 4f",
            "3:",
            two_blocks_four_columns!(),
            two_blocks_four_columns!(),
            "4:",
            two_blocks_four_columns!(),
            two_blocks_four_columns!(),
            "cmp r0, r2",
            "bne 3b",
            // block 1 ends where the next pair starts
            "mov r1, r3",
            // R = 256·B + A + 128·Σh (mod 2³²)  ⇒  A = R − 256·B − 128·Σh
            "ldr r4, [sp, #8]",
            "sub r10, r10, r11, lsl #8",
            "sub r10, r10, r4, lsl #7",
            "sub r12, r12, lr, lsl #8",
            "sub r12, r12, r4, lsl #7",
            "ldr r4, [sp, #16]",
            "stm r4!, {{r10, r11, r12, lr}}",
            "str r4, [sp, #16]",
            "ldr r5, [sp, #4]",
            "cmp r4, r5",
            "bne 5b",
            "add sp, sp, #20",
            "pop {{r6, r7}}",
            inout("r0") h.as_ptr() => _,
            inout("r1") w.as_ptr() => _,
            inout("r2") h_end => _,
            inout("r3") steps => _,
            inout("r4") out.as_mut_ptr() => _,
            inout("r5") out_end => _,
            inout("r8") sum => _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("lr") _,
        );
    }
}

/// Eight columns of a row pair, the body of [`pair_run`]'s loop: state
/// words `(h0,h1) … (h6,h7)` into r3–r6, block words into r7–r10, then
/// per word `R += raw·h2` (r11), `t = SXTB16(word ROR 8)`, `B += t·h2` (r12).
macro_rules! eight_columns {
    () => {
        concat!(
            "ldm r0!, {{r3, r4, r5, r6}}\n",
            "ldm r1!, {{r7, r8, r9, r10}}\n",
            "smlad r11, r7, r3, r11\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad r12, r7, r3, r12\n",
            "smlad r11, r8, r4, r11\n",
            "sxtb16 r8, r8, ror #8\n",
            "smlad r12, r8, r4, r12\n",
            "smlad r11, r9, r5, r11\n",
            "sxtb16 r9, r9, ror #8\n",
            "smlad r12, r9, r5, r12\n",
            "smlad r11, r10, r6, r11\n",
            "sxtb16 r10, r10, ror #8\n",
            "smlad r12, r10, r6, r12",
        )
    };
}

/// `(A, B)` of the module docs for the first `pairs` pair blocks of `w`,
/// into `out[..pairs]`; `sum = Σ h`.
///
/// Per eight columns: one LDM of four state words, one LDM of four block
/// words, and per word SMLAD, SXTB16, SMLAD: 14 instructions for 16
/// multiply-accumulates. The inner loop does sixteen columns per turn
/// (an odd number of eight-column steps enters it at its second half);
/// the outer loop over blocks stays in registers and on the stack, so
/// that the compiler need not save and reload its own values around
/// every block. The loops need thirteen registers: r6 and r7 (reserved
/// by LLVM, not usable as operands) are saved and restored inside.
/// Registers are named explicitly because LDM fills its list in
/// register-number order.
///
/// # Safety
///
/// `w` and `h` word aligned; `h.len()` a positive multiple of 8;
/// `w.len() ≥ pairs·2·h.len()`; `1 ≤ pairs ≤ out.len()`.
#[inline(always)]
unsafe fn pair_run(w: &[i8], h: &[i16], pairs: usize, sum: i32, out: &mut [[i32; 2]]) {
    let steps = h.len() / 8;
    let h_end = h.as_ptr_range().end;
    let out_end = out.as_mut_ptr().wrapping_add(pairs);
    // SAFETY: the caller's contract bounds every load (`pairs` blocks of
    // 16·steps bytes of `w`, 16·steps bytes of `h` per block) and store
    // (`pairs` entries of `out`); r6/r7 and the 16 bytes of stack are
    // restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "sub sp, sp, #16",
            "str r0, [sp]",      // h
            "str r5, [sp, #4]",  // end of out
            "str r8, [sp, #8]",  // Σh
            "str r3, [sp, #12]", // steps
            "mov lr, r4",        // out
            "5:",
            "ldr r0, [sp]",
            "mov.w r11, #0",
            "mov.w r12, #0",
            "ldr r3, [sp, #12]",
            "tst r3, #1",
            "bne 4f",
            "3:",
            eight_columns!(),
            "4:",
            eight_columns!(),
            "cmp r0, r2",
            "bne 3b",
            // R = 256·B + A + 128·Σh (mod 2³²)  ⇒  A = R − 256·B − 128·Σh
            "ldr r3, [sp, #8]",
            "sub r11, r11, r12, lsl #8",
            "sub r11, r11, r3, lsl #7",
            "stm lr!, {{r11, r12}}",
            "ldr r3, [sp, #4]",
            "cmp lr, r3",
            "bne 5b",
            "add sp, sp, #16",
            "pop {{r6, r7}}",
            inout("r0") h.as_ptr() => _,
            inout("r1") w.as_ptr() => _,
            inout("r2") h_end => _,
            inout("r3") steps => _,
            inout("r4") out.as_mut_ptr() => _,
            inout("r5") out_end => _,
            inout("r8") sum => _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("lr") _,
        );
    }
}

/// `Σ h_i` by SMLAD with `(1, 1)`, eight entries per step (exact: at
/// most 512 entries of ±32767); `None` unless `h` is 4-byte aligned with
/// a positive multiple of 8 entries.
#[inline]
pub fn sum(h: &[i16]) -> Option<i32> {
    let steps = h.len() / 8;
    if h.as_ptr() as usize % 4 != 0 || steps == 0 || h.len() % 8 != 0 {
        return None;
    }
    let mut sum = 0i32;
    // SAFETY: reads 16·steps bytes of `h`, in bounds and word aligned.
    unsafe {
        asm!(
            "add r2, r0, r2, lsl #4",
            "3:",
            "ldm r0!, {{r3, r4, r5, r8}}",
            "smlad r12, r3, r1, r12",
            "smlad r12, r4, r1, r12",
            "smlad r12, r5, r1, r12",
            "smlad r12, r8, r1, r12",
            "cmp r0, r2",
            "bne 3b",
            inout("r0") h.as_ptr() => _,
            in("r1") 0x0001_0001u32,
            inout("r2") steps => _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            inout("r12") sum,
            options(readonly, nostack),
        );
    }
    Some(sum)
}
