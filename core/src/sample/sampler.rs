//! Drawing a character index from logits: temperature, top-k, a seeded RNG.

use crate::math::exp::exp_f32;
use crate::math::soft_f32::add;
use crate::sentence::{display_sentence, Explain, SentenceOut};
use crate::Rng;
#[cfg(all(feature = "helium", target_arch = "arm"))]
use core::ops::ControlFlow;

/// How to turn logits into a choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleParams {
    /// Divides the logits before softmax: < 1 sharper, > 1 flatter. `0.0`
    /// means greedy (always the most likely character). Must be finite and ≥ 0.
    pub temperature: f32,
    /// Keep only the `k` most likely characters (ties broken by lower index);
    /// `0` keeps all.
    pub top_k: usize,
}

impl Default for SampleParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
        }
    }
}

/// Why sampling parameters were refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleError {
    /// Temperature negative, NaN or infinite.
    BadTemperature(f32),
    /// No logits to sample from.
    Empty,
}

impl Explain for SampleError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            // Said without the number: a device has no float formatting.
            SampleError::BadTemperature(t) => {
                out.text("the temperature is ");
                out.text(if t.is_nan() {
                    "NaN"
                } else if t.is_infinite() {
                    "infinite"
                } else {
                    "negative"
                });
                out.text(", not a finite number >= 0");
            }
            SampleError::Empty => out.text("there are no logits to sample from"),
        }
    }
}

impl core::fmt::Display for SampleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

impl SampleParams {
    /// Checks the parameters once, so that [`sample`] need not.
    pub fn validate(&self) -> Result<(), SampleError> {
        if self.temperature.is_finite() && self.temperature >= 0.0 {
            Ok(())
        } else {
            Err(SampleError::BadTemperature(self.temperature))
        }
    }
}

/// Draws an index with probability `softmax(logits / T)` restricted to the
/// top k. Overwrites `logits` with unnormalized probabilities.
///
/// Method: `e_i = exp((y_i - max)/T)` ([`exp_f32`]), entries outside the top
/// k set to 0, then one uniform `u` in [0, 1) from `rng` and the first `i`
/// whose running sum of `e` exceeds `u · Σ e`. Every operation is sequential
/// f32 arithmetic, so the same logits and RNG state pick the same index on
/// every target. Exactly one RNG draw per call, also when greedy.
///
/// On the Cortex-M55 (feature `helium`) the max, the weights and the search
/// run four entries at a time on Helium lanes, each lane with the scalar
/// code's operations and the sums still one scalar add at a time in index
/// order, so the index and the weights are the same bits (the module
/// `helium` below says how; NaN weights, which only non-finite logits give,
/// may differ in their payload, as between x86 and Arm already).
///
/// ```
/// use charm_core::{sample, Rng, SampleParams};
/// let mut rng = Rng::new(7);
/// let mut logits = [0.0f32, 10.0, 0.0];
/// let p = SampleParams { temperature: 0.0, top_k: 0 };
/// assert_eq!(sample(&mut logits, p, &mut rng), Ok(1));
/// ```
pub fn sample(
    logits: &mut [f32],
    params: SampleParams,
    rng: &mut Rng,
) -> Result<usize, SampleError> {
    params.validate()?;
    if logits.is_empty() {
        return Err(SampleError::Empty);
    }
    let u = rng.next_f32();
    if params.temperature == 0.0 {
        return Ok(argmax(logits));
    }
    let k = params.top_k;
    if k > 0 && k < logits.len() {
        keep_top_k(logits, k, f32::NEG_INFINITY);
    }
    let total = exp_weights(logits, params.temperature);
    Ok(pick(logits, u * total))
}

/// The first `i` whose running sum of the weights `e_j > 0`, `j ≤ i`,
/// exceeds `target`; when rounding leaves every running sum at or below it,
/// the last `i` with `e_i > 0` (0 if there is none).
fn pick(weights: &[f32], target: f32) -> usize {
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    let (start, mut running) = match super::helium::pick(weights, target) {
        ControlFlow::Break(i) => return i,
        ControlFlow::Continue(resume) => resume,
    };
    #[cfg(not(all(feature = "helium", target_arch = "arm")))]
    let (start, mut running) = (0, 0.0f32);
    for (i, &e) in weights.iter().enumerate().skip(start) {
        if e > 0.0 {
            running = add(running, e);
            if running > target {
                return i;
            }
        }
    }
    // Rounding can leave the running sum a hair below u·Σ; take the last candidate.
    weights.iter().rposition(|&e| e > 0.0).unwrap_or(0)
}

/// In place: `e_i = exp((y_i - max y) / T)` by [`exp_f32`]; returns `Σ e_i`.
/// Every exponent is ≤ 0, so `e_i ∈ [0, 1]` and the largest is exactly 1.
fn exp_weights(logits: &mut [f32], temperature: f32) -> f32 {
    #[cfg(all(feature = "helium", target_arch = "arm"))]
    if let Some(sum) = super::helium::exp_weights(logits, temperature) {
        return sum;
    }
    let max = logits
        .iter()
        .fold(f32::NEG_INFINITY, |m, &y| if y > m { y } else { m });
    let mut sum = 0.0f32;
    // x / 1 = x exactly (IEEE 754): at temperature 1 a core without an FPU
    // leaves out its software division (an FPU's VDIV stays: the test
    // costs the Cortex-M4F firmware flash it does not have to spare)
    let unit = cfg!(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )) && temperature == 1.0;
    for y in logits.iter_mut() {
        let shifted = add(*y, -max); // y − max
        *y = exp_f32(if unit { shifted } else { shifted / temperature });
        sum = add(sum, *y);
    }
    sum
}

/// Index of the largest value; the lowest index wins ties; NaN never wins.
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() {
            best = i;
        }
    }
    best
}

/// Sets every logit outside the `k` largest to `mark` (−∞ for f32 logits,
/// so its weight becomes 0; a value below every logit for integer ones).
///
/// Without allocation: k passes, each finding the next element in the order
/// (value descending, index ascending); O(k·V), fine for the small k used.
pub(super) fn keep_top_k<T: PartialOrd + Copy>(logits: &mut [T], k: usize, mark: T) {
    // (value, index) of the k-th largest so far; "a before b" in the order.
    let before = |a: (T, usize), b: (T, usize)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut threshold: Option<(T, usize)> = None;
    for _ in 0..k {
        let mut best: Option<(T, usize)> = None;
        for (i, &v) in logits.iter().enumerate() {
            let cand = (v, i);
            let after_threshold = match threshold {
                Some(t) => before(t, cand),
                None => true,
            };
            if after_threshold && best.is_none_or(|b| before(cand, b)) {
                best = Some(cand);
            }
        }
        threshold = best;
    }
    if let Some(t) = threshold {
        for (i, v) in logits.iter_mut().enumerate() {
            if before(t, (*v, i)) {
                *v = mark;
            }
        }
    }
}

/// Host models of the arguments the Helium sampler (module `helium`) rests
/// on; they run on every target, the lanes themselves only on the M55 (the
/// QEMU tests compare its output with the host's).
#[cfg(test)]
mod tests {
    extern crate std;

    use super::pick;
    use crate::math::exp::{exp_f32, C2, C3, C4, C5, C6, LN2_HI, LN2_LO, LOG2_E, ROUNDER};
    use crate::Rng;

    /// Helium's f32 arithmetic (FPSCR's standard value: flush to zero,
    /// round to nearest): subnormal inputs read as zero, tiny results a
    /// zero of their sign, otherwise IEEE-754. Tiny means below 2⁻¹²⁶
    /// before rounding (Arm's FPRound) when `before_rounding`, after it
    /// otherwise; the lanes must agree with `exp_f32` either way.
    #[derive(Clone, Copy)]
    struct Flushing {
        before_rounding: bool,
    }

    fn read(v: f32) -> f32 {
        if v.is_subnormal() {
            0.0f32.copysign(v)
        } else {
            v
        }
    }

    impl Flushing {
        /// `f32` and `f64` forms of one operation: the f64 result is exact
        /// for a product of two f32 and for a sum below 2⁻¹²⁵ (a multiple of
        /// 2⁻¹⁴⁹), so it tells tininess before rounding.
        fn op(
            self,
            a: f32,
            b: f32,
            single: fn(f32, f32) -> f32,
            double: fn(f64, f64) -> f64,
        ) -> f32 {
            let (a, b) = (read(a), read(b));
            let rounded = single(a, b);
            let exact = double(f64::from(a), f64::from(b));
            let tiny = if self.before_rounding {
                exact != 0.0 && exact.abs() < f64::from(f32::MIN_POSITIVE)
            } else {
                rounded.is_subnormal() || (rounded == 0.0 && exact != 0.0)
            };
            if tiny {
                0.0f32.copysign(exact as f32)
            } else {
                rounded
            }
        }
        fn mul(self, a: f32, b: f32) -> f32 {
            self.op(a, b, |a, b| a * b, |a, b| a * b)
        }
        fn add(self, a: f32, b: f32) -> f32 {
            self.op(a, b, |a, b| a + b, |a, b| a + b)
        }
        fn sub(self, a: f32, b: f32) -> f32 {
            self.op(a, b, |a, b| a - b, |a, b| a - b)
        }

        /// `helium::exp_lanes` from `x` in Q0 (after the division) to `e`,
        /// instruction by instruction.
        fn lane(self, x: f32) -> f32 {
            // VPT lt (the compare reads x flushed), VSUBT −87 − 1
            let c = if read(x) < -87.0 {
                self.sub(-87.0, 1.0)
            } else {
                x
            };
            let t = self.add(self.mul(c, LOG2_E), ROUNDER);
            let n = self.sub(t, ROUNDER);
            let r = self.sub(self.sub(c, self.mul(n, LN2_HI)), self.mul(n, LN2_LO));
            let mut p = self.mul(r, C6);
            for k in [C5, C4, C3, C2] {
                p = self.mul(self.add(p, k), r);
            }
            p = self.add(self.add(self.mul(p, r), r), 1.0);
            let bits = (t.to_bits() << 23).wrapping_add(1.0f32.to_bits());
            self.mul(f32::from_bits(bits), p)
        }
    }

    /// Asserts that the lanes give `exp_f32(x)`'s bits (a NaN for a NaN).
    fn check_lane(x: f32) {
        let want = exp_f32(x);
        for before_rounding in [true, false] {
            let got = Flushing { before_rounding }.lane(x);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "x = {x:e} ({:#010x}), tiny {}: lanes {got:e}, exp_f32 {want:e}",
                x.to_bits(),
                if before_rounding {
                    "before rounding"
                } else {
                    "after rounding"
                },
            );
        }
    }

    /// −88: the bits of the arguments the sampler's lanes see, from −0 down.
    const MINUS_88: u32 = 0xC2B0_0000;

    /// The sampler's lanes equal `exp_f32` on every 61st f32 of [−88, −0]
    /// (all exponents, subnormals included), around −87 and −88, around
    /// each `n·ln 2` (where `r` is tiny), and at the ends.
    #[test]
    fn helium_lanes_equal_exp_f32() {
        for bits in (0x8000_0000..=MINUS_88).step_by(61) {
            check_lane(f32::from_bits(bits));
        }
        let around = |x: f32| (x.to_bits() - 4096)..=(x.to_bits() + 4096);
        for bits in around(-87.0).chain(around(-88.0)) {
            check_lane(f32::from_bits(bits));
        }
        for n in 1..=126 {
            let x = -(f64::from(n) * core::f64::consts::LN_2) as f32;
            for bits in around(x) {
                check_lane(f32::from_bits(bits));
            }
        }
        for x in [
            0.0,
            -0.0,
            f32::NEG_INFINITY,
            -1e30,
            f32::NAN,
            -f32::MIN_POSITIVE,
        ] {
            check_lane(x);
        }
    }

    /// All 1.1·10⁹ f32 of [−88, −0]; a minute on two cores:
    /// `cargo test -p charm-core --release -- --ignored exhaustively`.
    #[test]
    #[ignore = "a minute; run with --ignored"]
    fn helium_lanes_equal_exp_f32_exhaustively() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        std::thread::scope(|s| {
            for first in 0..threads {
                s.spawn(move || {
                    for bits in (0x8000_0000 + first..=MINUS_88).step_by(threads as usize) {
                        check_lane(f32::from_bits(bits));
                    }
                });
            }
        });
    }

    /// `helium::pick`'s search: the first `i` whose prefix sum over all
    /// weights (zeros and NaNs included) exceeds the target, else the last
    /// positive weight's index; on the nonnegative weights `exp_weights`
    /// makes (zeros, ties, NaNs among them), that is [`pick`].
    #[test]
    fn prefix_sums_pick_as_the_running_sum() {
        let first_above = |weights: &[f32], target: f32| {
            let mut p = 0.0f32;
            for (i, &e) in weights.iter().enumerate() {
                p += e;
                if p > target {
                    return i;
                }
            }
            weights.iter().rposition(|&e| e > 0.0).unwrap_or(0)
        };
        let mut rng = Rng::new(5);
        for case in 0..20_000 {
            let len = 1 + (rng.next_u64() % 40) as usize;
            let weights: std::vec::Vec<f32> = (0..len)
                .map(|_| match rng.next_u64() % 8 {
                    0 | 1 => 0.0,
                    2 => 1.0,
                    3 if case % 50 == 0 => f32::NAN,
                    _ => rng.next_f32(),
                })
                .collect();
            let total = weights.iter().fold(0.0f32, |s, &e| s + e);
            for u in [0.0, rng.next_f32(), 1.0 - 1.0 / 16_777_216.0] {
                let target = u * total;
                assert_eq!(
                    first_above(&weights, target),
                    pick(&weights, target),
                    "{weights:?}, u {u}"
                );
            }
        }
    }
}
