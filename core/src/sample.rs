//! Drawing a character index from logits: temperature, top-k, a seeded RNG.

use crate::exp_f32::exp_f32;
use crate::sentence::{display_sentence, Explain, SentenceOut};
use crate::Rng;

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
        keep_top_k(logits, k);
    }
    let total = exp_weights(logits, params.temperature);
    let target = u * total;
    let mut running = 0.0f32;
    let mut last_nonzero = 0;
    for (i, &e) in logits.iter().enumerate() {
        if e > 0.0 {
            running += e;
            last_nonzero = i;
            if running > target {
                return Ok(i);
            }
        }
    }
    // Rounding can leave the running sum a hair below u·Σ; take the last candidate.
    Ok(last_nonzero)
}

/// In place: `e_i = exp((y_i - max y) / T)` by [`exp_f32`]; returns `Σ e_i`.
/// Every exponent is ≤ 0, so `e_i ∈ [0, 1]` and the largest is exactly 1.
fn exp_weights(logits: &mut [f32], temperature: f32) -> f32 {
    let max = logits
        .iter()
        .fold(f32::NEG_INFINITY, |m, &y| if y > m { y } else { m });
    let mut sum = 0.0f32;
    for y in logits.iter_mut() {
        *y = exp_f32((*y - max) / temperature);
        sum += *y;
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

/// Sets every logit outside the `k` largest to -inf (so its weight becomes 0).
///
/// Without allocation: k passes, each finding the next element in the order
/// (value descending, index ascending); O(k·V), fine for the small k used.
fn keep_top_k(logits: &mut [f32], k: usize) {
    // (value, index) of the k-th largest so far; "a before b" in the order.
    let before = |a: (f32, usize), b: (f32, usize)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut threshold: Option<(f32, usize)> = None;
    for _ in 0..k {
        let mut best: Option<(f32, usize)> = None;
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
                *v = f32::NEG_INFINITY;
            }
        }
    }
}
