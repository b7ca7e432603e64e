//! Softmax with temperature, and the log-probability the loss needs.

use crate::Float;

/// In place: `p_i = exp((y_i - max y) / T) / Σ_j exp((y_j - max y) / T)`.
///
/// Subtracting the maximum first keeps every exponent ≤ 0, so logits up to
/// ±1e4 (and beyond) neither overflow nor produce NaN; the largest term is
/// exactly 1, so the sum is ≥ 1. Returns `Σ_j exp(...)` (before normalizing),
/// whose logarithm is the log-sum-exp minus the maximum.
/// `temperature` must be positive and finite; the caller checks it.
///
/// ```
/// let mut p = [1.0f32, 2.0, 3.0];
/// charm_core::softmax(&mut p, 1.0);
/// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// assert!(p[2] > p[1] && p[1] > p[0]);
/// ```
pub fn softmax<F: Float>(logits: &mut [F], temperature: F) -> F {
    let sum = exp_shifted(logits, temperature);
    for p in logits.iter_mut() {
        *p = *p / sum;
    }
    sum
}

/// In place: `e_i = exp((y_i - max y) / T)`, unnormalized; returns `Σ e_i`.
/// The sampler uses this form (it never needs to divide).
pub fn exp_shifted<F: Float>(logits: &mut [F], temperature: F) -> F {
    let mut max = match logits.first() {
        Some(&m) => m,
        None => return F::ONE,
    };
    for &y in logits.iter() {
        if y > max {
            max = y;
        }
    }
    let mut sum = F::ZERO;
    for y in logits.iter_mut() {
        *y = ((*y - max) / temperature).exp();
        sum += *y;
    }
    sum
}

/// `ln softmax(y)[target]` at temperature 1, computed stably as
/// `y_target - max - ln Σ exp(y_j - max)`. The loss is its negation.
///
/// ```
/// let lp = charm_core::log_softmax_at(&[0.0f64, 0.0], 1);
/// assert!((lp + core::f64::consts::LN_2).abs() < 1e-12);
/// ```
pub fn log_softmax_at<F: Float>(logits: &[F], target: usize) -> F {
    let mut max = match logits.first() {
        Some(&m) => m,
        None => return F::ZERO,
    };
    for &y in logits {
        if y > max {
            max = y;
        }
    }
    let mut sum = F::ZERO;
    for &y in logits {
        sum += (y - max).exp();
    }
    let y_t = logits.get(target).copied().unwrap_or(max);
    y_t - max - sum.ln()
}
