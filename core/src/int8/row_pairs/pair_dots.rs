//! The row pairs' dot products on any core: the public entry point, and
//! the portable loops that give the integers the DSP, Helium and Thumb-1
//! loops (the sibling modules) give too.

use super::{pair_dots_summed, DotSlot, StateSum, PAIR_OFFSET};

/// Row-pair blocks per [`pair_dots`] call in the step: the size of its
/// buffer of dot products on the stack (64 × 8 = 512 bytes). A step of
/// H ≤ 128 takes its hidden rows in one call and V ≤ 128 logits in one
/// more, where runs of 16 blocks took seven calls at H 128 and V 65, each
/// call's entry and its run's setup some 150 cycles on a Cortex-M4.
pub const PAIR_RUN: usize = 64;

/// Writes `out[p] = (Σ_c a_c·h_c, Σ_c b_c·h_c)` for the first row-pair blocks
/// of `w` (stride `stride`, module docs), as many as `out` holds and `w`
/// has; returns how many. `h` needs `stride` entries (else it returns 0).
///
/// On a Cortex-M4/M7 with feature `dsp` and 4-byte aligned `w` and `h` this
/// is the SMLAD/SXTB16 loop of the module docs; otherwise, and on every
/// other target, [`pair_dot_portable`] per block gives the same integers.
#[inline]
#[allow(unsafe_code)]
pub fn pair_dots(w: &[i8], stride: usize, h: &[i16], out: &mut [[i32; 2]]) -> usize {
    let sum = StateSum::of(h.get(..stride).unwrap_or(&[]));
    // SAFETY: `MaybeUninit<[i32; 2]>` has the layout of `[i32; 2]`, and
    // `pair_dots_summed` only writes initialized values into the slots, so
    // that `out` stays initialized.
    let slots = unsafe { &mut *(core::ptr::from_mut(out) as *mut [DotSlot]) };
    pair_dots_summed(w, stride, h, sum, slots).len()
}

/// [`pair_dot_portable`] a word at a time, the same integers: each 32-bit
/// word `[a0 + 128, b0, a1 + 128, b1]` (little-endian) is loaded once and
/// its bytes taken out by shifts, the two state entries likewise from one
/// word, and the offset of the first row comes off at the end:
/// `Σ (a' − 128)·h = Σ a'·h − 128·Σh` (`h_sum` = Σh). Per word two loads,
/// seven shifts and extends, four multiplies and four adds: on a Cortex-M0
/// 18 instructions for 4 MACs, where byte loads take 8 per MAC.
#[inline]
pub(super) fn pair_dot_words(block: &[i8], h: &[i16], h_sum: i32) -> [i32; 2] {
    let (mut a_raw, mut b) = (0i32, 0i32);
    for (word, hq) in block.chunks_exact(4).zip(h.chunks_exact(2)) {
        let w = u32::from_le_bytes([word[0] as u8, word[1] as u8, word[2] as u8, word[3] as u8]);
        let (h0, h1) = (i32::from(hq[0]), i32::from(hq[1]));
        let a0 = (w & 0xff) as i32; // a[2k] + 128
        let b0 = ((w << 16) as i32) >> 24; // b[2k], sign-extended
        let a1 = ((w >> 16) & 0xff) as i32; // a[2k+1] + 128
        let b1 = (w as i32) >> 24; // b[2k+1]
        a_raw = a_raw.wrapping_add(a0 * h0).wrapping_add(a1 * h1);
        b = b.wrapping_add(b0 * h0).wrapping_add(b1 * h1);
    }
    [a_raw.wrapping_sub(h_sum.wrapping_mul(PAIR_OFFSET)), b]
}

/// One row-pair block's two dot products from its bytes: `a = byte − 128`
/// at even bytes, `b = byte as i8` at odd ones, over
/// `min(block.len() / 4, h.len() / 2)` words.
#[inline]
pub fn pair_dot_portable(block: &[i8], h: &[i16]) -> (i32, i32) {
    let (mut a, mut b) = (0i32, 0i32);
    for (word, hq) in block.chunks_exact(4).zip(h.chunks_exact(2)) {
        let (h0, h1) = (i32::from(hq[0]), i32::from(hq[1]));
        let a0 = i32::from(word[0] as u8) - PAIR_OFFSET;
        let a1 = i32::from(word[2] as u8) - PAIR_OFFSET;
        a = a.wrapping_add(a0 * h0).wrapping_add(a1 * h1);
        b = b
            .wrapping_add(i32::from(word[1]) * h0)
            .wrapping_add(i32::from(word[3]) * h1);
    }
    (a, b)
}

#[cfg(all(test, feature = "alloc"))]
mod word_tests {
    extern crate alloc;
    use super::{pair_dot_portable, pair_dot_words};

    /// The word-at-a-time sums equal the byte-at-a-time ones, at the
    /// extremes of both factors (exact integers: no tolerance).
    #[test]
    fn words_equal_bytes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for len in [8usize, 16, 24, 128, 512] {
            let block: alloc::vec::Vec<i8> = (0..2 * len)
                .map(|i| match i % 5 {
                    0 => i8::MIN,
                    1 => i8::MAX,
                    _ => next() as i8,
                })
                .collect();
            let h: alloc::vec::Vec<i16> = (0..len)
                .map(|i| match i % 7 {
                    0 => -32767,
                    1 => 32767,
                    _ => next() as i16 / 2,
                })
                .collect();
            let sum = h.iter().map(|&v| i32::from(v)).sum::<i32>();
            let (a, b) = pair_dot_portable(&block, &h);
            assert_eq!(pair_dot_words(&block, &h, sum), [a, b], "len {len}");
        }
    }
}
