//! The largest logit four at a time, in assembly that is both Thumb-1 and
//! Thumb-2 (the Cortex-M0 to M55): the fixed sampler's first pass
//! ([`super::integer`]).

use core::arch::asm;

/// The largest of `logits`, four at a time (`LDM` of four, then a compare
/// and a branch not taken for each, a larger one moved out of line: 15
/// cycles for four on the M0+, 16 on the M0 and 17 on the M4, where Rust's
/// loop of one costs about 10 each on the M0 and 9 on the M4); `None` for
/// fewer than four (the caller's loop takes those and the rest).
pub(super) fn largest_of_fours(logits: &[i32]) -> Option<i32> {
    let fours = logits.len() / 4;
    if fours == 0 {
        return None;
    }
    let max: i32;
    // SAFETY: reads the first `4·fours` words of `logits` (at least four),
    // 16 bytes a turn, through r0; writes no memory but r6's save on the
    // stack (reserved by LLVM, not usable as an operand), restored.
    unsafe {
        asm!(
            "push {{r6}}",
            "ldr r1, [r0]",
            "2:",
            "ldm r0!, {{r3, r4, r5, r6}}",
            // a larger one branches out (rare once the largest is found): a
            // branch not taken costs 1 cycle, a taken one 2 (M0+) or 3 (M0)
            "cmp r3, r1",
            "bgt 7f",
            "3:",
            "cmp r4, r1",
            "bgt 8f",
            "4:",
            "cmp r5, r1",
            "bgt 9f",
            "5:",
            "cmp r6, r1",
            "bgt 10f",
            "6:",
            "cmp r0, r2",
            "bne 2b",
            "b 11f",
            "7:",
            "mov r1, r3",
            "b 3b",
            "8:",
            "mov r1, r4",
            "b 4b",
            "9:",
            "mov r1, r5",
            "b 5b",
            "10:",
            "mov r1, r6",
            "b 6b",
            "11:",
            "pop {{r6}}",
            inout("r0") logits.as_ptr() => _,
            out("r1") max,
            in("r2") logits.as_ptr().wrapping_add(4 * fours),
            out("r3") _,
            out("r4") _,
            out("r5") _,
        );
    }
    Some(max)
}
