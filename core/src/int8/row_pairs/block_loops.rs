//! What the Thumb-1 and Thumb-2 loops over row-pair blocks share: the
//! checks and the split of [`super::pair_dots`]'s blocks into pairs and a
//! last one, and the frame the assembly reads.

use super::DotSlot;

/// The words the assembly loops over blocks read, at offsets 0, 4, …, 20
/// (`#[repr(C)]`): the state's address, a block's bytes, the offset
/// `128·Σh`, the next output (the loops move it on as they store), the end
/// of the blocks and the end of the state.
#[repr(C)]
pub(super) struct Frame {
    h: usize,
    block_bytes: usize,
    offset: usize,
    out: usize,
    blocks_end: usize,
    h_end: usize,
}

impl Frame {
    /// The frame of `out.len()` blocks of `w` (stride `h.len()`).
    pub(super) fn new(w: &[i8], h: &[i16], h_sum: i32, out: &mut [DotSlot]) -> Self {
        let stride = h.len();
        Frame {
            h: h.as_ptr() as usize,
            block_bytes: 2 * stride,
            offset: h_sum.wrapping_mul(super::PAIR_OFFSET) as u32 as usize,
            out: out.as_mut_ptr() as usize,
            blocks_end: w.as_ptr().wrapping_add(out.len() * 2 * stride) as usize,
            h_end: h.as_ptr().wrapping_add(stride) as usize,
        }
    }
}

/// A loop over blocks: `(w, h, h_sum, out)` with [`by_pairs`]'s checks made.
pub(super) type BlockLoop = fn(&[i8], &[i16], i32, &mut [DotSlot]);

/// [`super::pair_dots`] for `out.len()` blocks filling `w` (stride
/// `h.len()`), `h_sum = Σ h`, by `two` (the largest even number of blocks,
/// two at a time) and `one` (an odd last block); `false` (nothing done)
/// unless `w` and `h` are word aligned, `h` has a positive multiple of 8
/// entries (`padded(H)` always has) and `w` holds the blocks.
#[inline(always)]
pub(super) fn by_pairs(
    w: &[i8],
    h: &[i16],
    h_sum: i32,
    out: &mut [DotSlot],
    two: BlockLoop,
    one: BlockLoop,
) -> bool {
    let stride = h.len();
    let aligned = (w.as_ptr() as usize | h.as_ptr() as usize) % 4 == 0;
    let bytes = out.len() * 2 * stride;
    if stride == 0 || stride % 8 != 0 || !aligned || out.is_empty() || w.len() < bytes {
        return false;
    }
    let pairs = out.len() / 2;
    let (out_two, out_one) = out.split_at_mut(2 * pairs);
    let (w_two, w_one) = w.split_at(2 * pairs * 2 * stride);
    if pairs > 0 {
        two(w_two, h, h_sum, out_two);
    }
    if !out_one.is_empty() {
        one(w_one, h, h_sum, out_one);
    }
    true
}
