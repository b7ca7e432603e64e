use super::DotSlot;
use core::arch::asm;

/// [`super::pair_dots`] on the DSP instructions, for `out.len() ≥ 1`
/// blocks filling `w`, `sum = Σ h`; `false` (nothing done) unless `w`
/// and `h` are 4-byte aligned and `h` has a positive multiple of 8
/// entries (`padded(H)` always is). Two blocks at a time
/// ([`two_blocks_run`], 1.25 or 1.20 cycles per MAC on a Cortex-M4 in its
/// turns; in builds with the fixed layout a state of at most 128 entries
/// takes [`two_blocks_one_turn`], 1.23 with its passes' setup and stores
/// at H 128), an odd last one alone ([`pair_run`], 1.5).
#[inline]
pub fn pair_dots(w: &[i8], h: &[i16], sum: i32, out: &mut [DotSlot]) -> bool {
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
        #[cfg(feature = "fixed")]
        if pairs > 0 && h.len() <= ONE_TURN_COLUMNS {
            two_blocks_one_turn(w_two, h, pairs, sum, out_two);
        } else if pairs > 0 {
            two_blocks_run(w_two, h, pairs, sum, out_two);
        }
        #[cfg(not(feature = "fixed"))]
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
/// `$first` and `$second` address the two words of each stream from its
/// pointer (r0 the state, r1 block 0, r3 block 1): six single loads one
/// after another, which the Cortex-M4 pipelines (2 cycles for the first,
/// 1 for each next: 7), where three LDMs of two take 9.
macro_rules! two_blocks_four_columns {
    ($first:literal, $second:literal) => {
        concat!(
            "ldr r4, [r0, ",
            $first,
            "\n",
            "ldr r5, [r0, ",
            $second,
            "\n",
            "ldr r6, [r1, ",
            $first,
            "\n",
            "ldr r7, [r1, ",
            $second,
            "\n",
            "ldr r8, [r3, ",
            $first,
            "\n",
            "ldr r9, [r3, ",
            $second,
            "\n",
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
            "smlad lr, r9, r5, lr\n",
        )
    };
}

/// A turn of [`two_blocks_run`]'s loop: sixteen columns (four blocks of
/// four), or sixty-four in a build with the fixed layout (feature `fixed`,
/// whose firmware has no 16 KiB budget to keep: twelve more blocks of 64
/// bytes for a quarter of the turns' compare and branch, 4 cycles a turn). The label
/// after each eight-column step but the last (31 to 37 in the long turn,
/// 23 in the short one) is where a number of steps that is not a whole
/// number of turns enters.
#[cfg(not(feature = "fixed"))]
macro_rules! two_blocks_turn {
    () => {
        concat!(
            "3:\n",
            two_blocks_four_columns!("#4]", "#8]"),
            two_blocks_four_columns!("#12]", "#16]"),
            "23:\n",
            two_blocks_four_columns!("#20]", "#24]"),
            two_blocks_four_columns!("#28]", "#32]!"),
        )
    };
}
#[cfg(feature = "fixed")]
macro_rules! two_blocks_turn {
    () => {
        concat!(
            "3:\n",
            two_blocks_four_columns!("#4]", "#8]"),
            two_blocks_four_columns!("#12]", "#16]"),
            "31:\n",
            two_blocks_four_columns!("#20]", "#24]"),
            two_blocks_four_columns!("#28]", "#32]"),
            "32:\n",
            two_blocks_four_columns!("#36]", "#40]"),
            two_blocks_four_columns!("#44]", "#48]"),
            "33:\n",
            two_blocks_four_columns!("#52]", "#56]"),
            two_blocks_four_columns!("#60]", "#64]"),
            "34:\n",
            two_blocks_four_columns!("#68]", "#72]"),
            two_blocks_four_columns!("#76]", "#80]"),
            "35:\n",
            two_blocks_four_columns!("#84]", "#88]"),
            two_blocks_four_columns!("#92]", "#96]"),
            "36:\n",
            two_blocks_four_columns!("#100]", "#104]"),
            two_blocks_four_columns!("#108]", "#112]"),
            "37:\n",
            two_blocks_four_columns!("#116]", "#120]"),
            two_blocks_four_columns!("#124]", "#128]!"),
        )
    };
}

/// Where [`two_blocks_run`] enters its turn when the eight-column steps
/// (`r4` = the bytes of a block, 16 a step) are not a whole number of
/// turns: `two_blocks_partial!` tests for it (a branch not taken
/// otherwise), and the code at label 6, out of the pass, moves the
/// pointers back by the bytes of the steps left out, so that the turn's
/// offsets read the streams from their start, then enters.
#[cfg(not(feature = "fixed"))]
macro_rules! two_blocks_partial {
    () => {
        concat!(
            "ands r11, r4, #16\n", // an odd number of steps; else B starts at 0
            "bne 6f\n",
        )
    };
}
#[cfg(not(feature = "fixed"))]
macro_rules! two_blocks_enter {
    () => {
        concat!(
            "6:\n",
            "mov.w r11, #0\n",
            "subs r0, #16\n",
            "subs r1, #16\n",
            "subs r3, #16\n",
            "b 23b\n", // the last two blocks
        )
    };
}
#[cfg(feature = "fixed")]
macro_rules! two_blocks_partial {
    () => {
        concat!(
            "ands r11, r4, #112\n", // 16 · (steps mod 8); 0 (where B starts) for whole turns
            "bne 6f\n",
        )
    };
}
#[cfg(feature = "fixed")]
macro_rules! two_blocks_enter {
    () => {
        concat!(
            "6:\n",
            "rsb r5, r11, #128\n", // the bytes of the j steps left out
            "mov.w r11, #0\n",
            "subs r0, r0, r5\n",
            "subs r1, r1, r5\n",
            "subs r3, r3, r5\n",
            // enter after the first j steps (label 30 + j)
            "cmp r5, #64\n",
            "blo 7f\n",
            "beq 34b\n",
            "cmp r5, #96\n",
            "blo 35b\n",
            "beq 36b\n",
            "b 37b\n",
            "7:\n",
            "cmp r5, #32\n",
            "blo 31b\n",
            "beq 32b\n",
            "b 33b\n",
        )
    };
}

/// [`pair_run`] two blocks at a time, the state word loaded once for both
/// (four rows): per four columns six single loads (7 cycles, pipelined)
/// and per word SMLAD, SXTB16, SMLAD, 19 cycles for 16 multiply-accumulates;
/// a turn of the loop ([`two_blocks_turn`]) ends in a compare and branch,
/// 4 cycles: (4·19 + 4)/64 = 1.25 cycles per MAC with turns of sixteen
/// columns, (16·19 + 4)/256 = 1.20 with turns of sixty-four, against
/// [`pair_run`]'s 1.5.
///
/// The three pointers run 4 bytes behind their stream, so that the turn's
/// loads take offsets 4 to 32 or 128 (16-bit encodings up to 124) and its last
/// load of each stream moves the pointer on by the turn (`[rN, #32]!` or `#128]!`): no
/// add of its own. The sums start at `−128·Σh` (`R`) and 0, so that a pass
/// ends with one subtraction a row pair. Every register but sp and pc is in
/// use: the outer loop's values live on the stack.
///
/// # Safety
///
/// `w` and `h` word aligned; `h.len()` a positive multiple of 8;
/// `w.len() ≥ 2·pairs·2·h.len()`; `1 ≤ pairs` and `2·pairs ≤ out.len()`.
#[inline(always)]
unsafe fn two_blocks_run(w: &[i8], h: &[i16], pairs: usize, sum: i32, out: &mut [DotSlot]) {
    let block_bytes = 2 * h.len();
    let out_end = out.as_mut_ptr().wrapping_add(2 * pairs);
    // SAFETY: the caller's contract bounds every load (`2·pairs` blocks
    // of `block_bytes` of `w`, `block_bytes` of `h` per pair: the
    // pointers run behind their streams, and each load's offset puts it
    // back in its stream) and store (`2·pairs` entries of `out`); r6/r7
    // and the 20 bytes of stack are restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "sub sp, sp, #20",
            "str r0, [sp]",      // h − 4
            "str r5, [sp, #4]",  // end of out
            "str r8, [sp, #8]",  // −128·Σh
            "str r3, [sp, #12]", // bytes of a block
            "str r4, [sp, #16]", // out
            "5:",
            "ldr r0, [sp]",
            "ldr r4, [sp, #12]",
            "ldr r10, [sp, #8]",
            // block 1 starts a block after block 0
            "add r3, r1, r4",
            "mov r12, r10",
            "mov.w lr, #0",
            two_blocks_partial!(),
            two_blocks_turn!(),
            "cmp r0, r2",
            "bne 3b",
            // block 1 ends where the next pair starts
            "ldr r4, [sp, #16]",
            "ldr r5, [sp, #4]", // after a load: 1 cycle
            "mov r1, r3",
            // R = 256·B + A (mod 2³²), having started at −128·Σh
            "sub r10, r10, r11, lsl #8",
            "sub r12, r12, lr, lsl #8",
            "stm r4!, {{r10, r11, r12, lr}}",
            "str r4, [sp, #16]",
            "cmp r4, r5",
            "bne 5b",
            "b 9f",
            two_blocks_enter!(),
            "9:",
            "add sp, sp, #20",
            "pop {{r6, r7}}",
            inout("r0") h.as_ptr().wrapping_byte_sub(4) => _,
            inout("r1") w.as_ptr().wrapping_byte_sub(4) => _,
            inout("r2") h.as_ptr_range().end.wrapping_byte_sub(4) => _,
            inout("r3") block_bytes => _,
            inout("r4") out.as_mut_ptr() => _,
            inout("r5") out_end => _,
            inout("r8") sum.wrapping_mul(-128) => _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("lr") _,
        );
    }
}

/// The columns of [`two_blocks_one_turn`]'s turn: a state of at most this
/// many entries takes a pass of two blocks in one turn.
#[cfg(feature = "fixed")]
const ONE_TURN_COLUMNS: usize = 128;

/// [`two_blocks_run`] for a state of at most [`ONE_TURN_COLUMNS`] entries,
/// in builds with the fixed layout: a pass is one turn of 128 columns
/// (sixteen eight-column steps, entered after the first `16 − S/8` for a
/// state of `S` entries) with no end test, so that the state's end needs
/// no register: the output pointer takes it, the state's pointer never
/// moves and the blocks' pointers move by the pass (`r1 ← 2·r3 − r1`: the
/// next pair starts a block after block 1). 22 cycles a pass besides its
/// multiply-accumulates on a Cortex-M4 (the sums' start 2 loads and 4
/// instructions, the entry test 2, the stores 5, the end's load, move,
/// compare and taken branch 6, the two subtractions 2), where
/// [`two_blocks_run`]'s passes of two 64-column turns take 32 (the pointers
/// reloaded and the turns' two end tests).
///
/// The pointers start `4 + 2·(128 − S)` bytes before their stream, so that
/// the steps after the entry read from the stream's start (the turn's
/// offsets are those of a full turn; none writes its pointer back).
///
/// # Safety
///
/// As [`two_blocks_run`], and `h.len() ≤ ONE_TURN_COLUMNS`.
#[cfg(feature = "fixed")]
#[inline(always)]
unsafe fn two_blocks_one_turn(w: &[i8], h: &[i16], pairs: usize, sum: i32, out: &mut [DotSlot]) {
    let block_bytes = 2 * h.len();
    // the bytes of the steps left out: 2·(128 − S), a multiple of 16
    let skipped = 2 * ONE_TURN_COLUMNS - block_bytes;
    let out_end = out.as_mut_ptr().wrapping_add(2 * pairs);
    // SAFETY: the caller's contract bounds every load (`2·pairs` blocks
    // of `block_bytes` of `w`, `block_bytes` of `h` per pair: the turn
    // starts at the step whose offsets, from pointers `4 + skipped` bytes
    // before their stream, are the stream's first bytes, and its last
    // offset is the stream's last word) and store (`2·pairs` entries of
    // `out`); r6/r7 and the 12 bytes of stack are restored before the end.
    unsafe {
        asm!(
            "push {{r6, r7}}",
            "sub sp, sp, #12",
            "str r5, [sp]",     // end of out
            "str r8, [sp, #4]", // −128·Σh
            "str r3, [sp, #8]", // bytes of a block
            "5:",
            "ldr r10, [sp, #4]",
            "ldr r4, [sp, #8]",
            // block 1 starts a block after block 0
            "add r3, r1, r4",
            "mov r12, r10",
            "mov.w lr, #0",
            "ands r11, r4, #240", // 2·S mod 256: 0 (where B starts) for a whole turn
            "bne 6f",
            "3:",
            two_blocks_four_columns!("#4]", "#8]"),
            two_blocks_four_columns!("#12]", "#16]"),
            "41:\n",
            two_blocks_four_columns!("#20]", "#24]"),
            two_blocks_four_columns!("#28]", "#32]"),
            "42:\n",
            two_blocks_four_columns!("#36]", "#40]"),
            two_blocks_four_columns!("#44]", "#48]"),
            "43:\n",
            two_blocks_four_columns!("#52]", "#56]"),
            two_blocks_four_columns!("#60]", "#64]"),
            "44:\n",
            two_blocks_four_columns!("#68]", "#72]"),
            two_blocks_four_columns!("#76]", "#80]"),
            "45:\n",
            two_blocks_four_columns!("#84]", "#88]"),
            two_blocks_four_columns!("#92]", "#96]"),
            "46:\n",
            two_blocks_four_columns!("#100]", "#104]"),
            two_blocks_four_columns!("#108]", "#112]"),
            "47:\n",
            two_blocks_four_columns!("#116]", "#120]"),
            two_blocks_four_columns!("#124]", "#128]"),
            "48:\n",
            two_blocks_four_columns!("#132]", "#136]"),
            two_blocks_four_columns!("#140]", "#144]"),
            "49:\n",
            two_blocks_four_columns!("#148]", "#152]"),
            two_blocks_four_columns!("#156]", "#160]"),
            "50:\n",
            two_blocks_four_columns!("#164]", "#168]"),
            two_blocks_four_columns!("#172]", "#176]"),
            "51:\n",
            two_blocks_four_columns!("#180]", "#184]"),
            two_blocks_four_columns!("#188]", "#192]"),
            "52:\n",
            two_blocks_four_columns!("#196]", "#200]"),
            two_blocks_four_columns!("#204]", "#208]"),
            "53:\n",
            two_blocks_four_columns!("#212]", "#216]"),
            two_blocks_four_columns!("#220]", "#224]"),
            "54:\n",
            two_blocks_four_columns!("#228]", "#232]"),
            two_blocks_four_columns!("#236]", "#240]"),
            "55:\n",
            two_blocks_four_columns!("#244]", "#248]"),
            two_blocks_four_columns!("#252]", "#256]"),
            "sub r10, r10, r11, lsl #8",
            "sub r12, r12, lr, lsl #8",
            "stm r2!, {{r10, r11, r12, lr}}",
            "ldr r5, [sp]",
            "rsb r1, r1, r3, lsl #1", // the next pair: a block after block 1
            "cmp r2, r5",
            "bne 5b",
            "b 9f",
            // enter after the steps left out (label 40 + their number)
            "6:",
            "rsb r5, r4, #256",
            "mov.w r11, #0",
            "cmp r5, #128",
            "bhi 71f",
            "beq 48b",
            "cmp r5, #64",
            "bhi 72f",
            "beq 44b",
            "cmp r5, #32",
            "bhi 73f",
            "beq 42b",
            "b 41b",
            "73:",
            "b 43b",
            "72:",
            "cmp r5, #96",
            "bhi 74f",
            "beq 46b",
            "b 45b",
            "74:",
            "b 47b",
            "71:",
            "cmp r5, #192",
            "bhi 75f",
            "beq 52b",
            "cmp r5, #160",
            "bhi 76f",
            "beq 50b",
            "b 49b",
            "76:",
            "b 51b",
            "75:",
            "cmp r5, #224",
            "bhi 77f",
            "beq 54b",
            "b 53b",
            "77:",
            "b 55b",
            "9:",
            "add sp, sp, #12",
            "pop {{r6, r7}}",
            inout("r0") h.as_ptr().wrapping_byte_sub(4 + skipped) => _,
            inout("r1") w.as_ptr().wrapping_byte_sub(4 + skipped) => _,
            inout("r2") out.as_mut_ptr() => _,
            inout("r3") block_bytes => _,
            inout("r5") out_end => _,
            inout("r8") sum.wrapping_mul(-128) => _,
            out("r4") _,
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
unsafe fn pair_run(w: &[i8], h: &[i16], pairs: usize, sum: i32, out: &mut [DotSlot]) {
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
