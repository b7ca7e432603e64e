//! The integer equations of a run of rows of the fixed step, after their
//! dot products: the hidden units (`p_r`, `t_r`, `ũ_r`, `hq_r`) and the
//! logits (`ỹ_j`), module docs of [`super`]. One loop in Rust on every
//! core, and the assembly of [`super::thumb`] on the Cortex-M0/M0+ and of
//! [`super::thumb2`] on the M3 to M55, whose integers are the same.

use super::{scaled, LOGIT_LIMIT};
use crate::int8::tanh_q15::tanh_q15_fixed;

/// The constants of the hidden rows: the input row's multiplier `X_x` and
/// the shifts `K_x` and `K_h`.
#[derive(Debug, Clone, Copy)]
pub(super) struct HiddenScales {
    /// `X_x`, the multiplier of the input character's column.
    pub mult_x: i32,
    /// `K_x`, in 1..=30.
    pub k_x: u32,
    /// `K_h`, in 1..=62.
    pub k_h: u32,
}

/// A run of hidden rows: their multipliers `M_r`, biases `B_r` and the
/// input column's weights `Wxh_q[x, r]`, all of the run's length.
#[derive(Debug, Clone, Copy)]
pub(super) struct HiddenRun<'a> {
    /// `M_r`.
    pub mult: &'a [i32],
    /// `B_r`.
    pub bias: &'a [i32],
    /// `Wxh_q[x, r]`.
    pub column: &'a [i8],
}

/// `hq_r = tanh_q15_fixed(p_r + B_r + t_r)` for the rows of `run`, from
/// their sums `acc_r` (overwritten: `acc` is the step's scratch), with
/// `p_r = clamp((acc_r·M_r + 2^(K_h−1)) >> K_h, ±2²⁹)` and
/// `t_r = (Wxh_q[x,r]·X_x + 2^(K_x−1)) >> K_x`. `HIGH`: `K_h ≥ 33`
/// ([`scaled`]). Writes `min` of the lengths.
#[inline(always)]
pub(super) fn hidden<const HIGH: bool>(
    acc: &mut [i32],
    run: HiddenRun<'_>,
    scales: HiddenScales,
    out: &mut [i16],
) {
    #[cfg(charm_thumb1)]
    if HIGH && super::thumb::hidden(acc, run, scales, out) {
        return;
    }
    #[cfg(charm_thumb2)]
    if HIGH && super::thumb2::hidden(acc, run, scales, out) {
        return;
    }
    let HiddenScales { mult_x, k_x, k_h } = scales;
    let rows = out.iter_mut().zip(run.mult).zip(run.bias).zip(run.column);
    for ((((h, &mult), &bias), &wx), &acc) in rows.zip(&*acc) {
        let input = (i32::from(wx) * mult_x + (1 << (k_x - 1))) >> k_x; // t_r
        *h = tanh_q15_fixed(scaled::<HIGH>(acc, mult, k_h) + bias + input); // ũ_r
    }
}

/// `ỹ_j = clamp(clamp((acc_j·N_j + 2^(K_y−1)) >> K_y, ±2²⁹) + C_j, ±2²³)`
/// for the run of logits `y` from their sums `acc`, with
/// `mult` the `N_j` and `bias` the `C_j`. `HIGH`: `K_y ≥ 33`. Returns the
/// largest `ỹ_j` written (`i32::MIN` for none), or `None` where the loop
/// keeps none (the Cortex-M0's assembly).
#[inline(always)]
pub(super) fn logits<const HIGH: bool>(
    acc: &[i32],
    mult: &[i32],
    bias: &[i32],
    k_y: u32,
    y: &mut [i32],
) -> Option<i32> {
    #[cfg(charm_thumb1)]
    if HIGH && super::thumb::logits(acc, mult, bias, k_y, y) {
        return None;
    }
    #[cfg(charm_thumb2)]
    if HIGH {
        if let Some(largest) = super::thumb2::logits(acc, mult, bias, k_y, y) {
            return Some(largest);
        }
    }
    let mut largest = i32::MIN;
    for (((y, &mult), &bias), &acc) in y.iter_mut().zip(mult).zip(bias).zip(acc) {
        *y = (scaled::<HIGH>(acc, mult, k_y) + bias).clamp(-LOGIT_LIMIT, LOGIT_LIMIT);
        largest = largest.max(*y);
    }
    Some(largest)
}
