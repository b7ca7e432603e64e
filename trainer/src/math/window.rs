//! What one optimizer step trains on: a window of B streams × T characters,
//! and the dropout mask that goes with it.

use charm_core::Rng;

/// One window of training data: `batch` streams of `len` characters each.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// Streams B.
    pub batch: usize,
    /// Characters per stream T.
    pub len: usize,
    /// Input indices, stream-major: `inputs[b·T + t]`.
    pub inputs: &'a [u32],
    /// Target indices (the next character), same layout.
    pub targets: &'a [u32],
}

/// Dropout masks for a window, stream-major: `m[(b·T + t)·H + j]`; `None` = no dropout.
pub type Mask<'a, F> = Option<&'a [F]>;

/// The inverted-dropout mask of step `step` of a run seeded with `seed`:
/// each entry is 0 with probability `p`, else `1/(1-p)` (so that the
/// expected value of `m ⊙ h` is `h`), in the layout of [`Mask`]. The mask is
/// a function of (seed, step) alone, so a resumed run draws the same masks.
pub fn fill_dropout_mask(mask: &mut [f32], p: f32, seed: u64, step: u64) {
    let mut rng = Rng::new(seed ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(step.wrapping_add(1)));
    rng.next_u64();
    let keep = 1.0 - p;
    let scale = 1.0 / keep;
    for m in mask {
        *m = if rng.next_f32() < keep { scale } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_mask_is_deterministic_and_has_the_right_rate() {
        let (mut a, mut b) = (vec![0.0f32; 10_000], vec![0.0f32; 10_000]);
        fill_dropout_mask(&mut a, 0.25, 1, 7);
        fill_dropout_mask(&mut b, 0.25, 1, 7);
        assert_eq!(a, b);
        let kept = a.iter().filter(|&&m| m > 0.0).count() as f64 / a.len() as f64;
        // 10,000 draws: standard error √(0.75·0.25/10⁴) = 0.0043; 0.02 is 4.6
        // of those (and the draws are seeded, the same on every machine).
        assert!((kept - 0.75).abs() < 0.02, "{kept}");
        assert!(a.iter().all(|&m| m == 0.0 || (m - 1.0 / 0.75).abs() < 1e-6));
        fill_dropout_mask(&mut b, 0.25, 1, 8);
        assert_ne!(a, b);
    }
}
