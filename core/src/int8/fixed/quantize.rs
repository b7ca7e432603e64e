//! Making fixed int8 models (feature `alloc`): the row-pair model's int8
//! bytes as they are, its f32 scales and biases as integers.

use super::{
    fixed_tensor_lengths, FixedModelView, FixedTensors, INPUT_MULT_LIMIT, LOGIT_BITS, TERM_LIMIT,
};
use crate::int8::row_pairs::{quantize, QuantModelView, Q15_ONE};
use crate::int8::tanh_q15::ARG_BITS;
use crate::int8::tensors::QuantizeError;
use crate::model::ModelView;
use alloc::vec::Vec;

/// Owned tensors of a fixed int8 model, made by [`quantize_fixed`].
#[derive(Debug, Clone, PartialEq)]
pub struct FixedModel {
    hidden: usize,
    vocab: usize,
    int8: [Vec<i8>; 3],
    int32: [Vec<i32>; 6],
}

impl FixedModel {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> FixedModelView<'_> {
        let [a, b, c] = &self.int8;
        let [d, e, f, g, h, i] = &self.int32;
        let t = FixedTensors {
            int8: [a, b, c],
            int32: [d, e, f, g, h, i],
        };
        // Lengths and ranges were made by `from_row_pairs`.
        FixedModelView::new(self.hidden, self.vocab, t).unwrap_or_else(|_| unreachable!())
    }

    /// The fixed form of a row-pair model: its int8 tensors unchanged, and
    ///
    /// ```text
    /// M_r = round(s_r·2²⁰/32767 · 2^K_h)     K_h the largest in 1..=62 with every M_r < 2³¹
    /// N_j = round(sy_j·2¹⁶/32767 · 2^K_y)    K_y likewise
    /// X_x = round(sx_x·2²⁰ · 2^K_x)          K_x the largest in 1..=30 with every X_x < 2²²
    /// B_r = round(bh_r·2²⁰),  C_j = round(by_j·2¹⁶)
    /// ```
    ///
    /// in f64 from the f32 values, rounded half away from zero, then
    /// saturated to their ranges (`M`, `N` to 2³¹ − 1, `X` to 2²² − 1, `B`,
    /// `C` to ±2²⁹; only a model with a weight scale above about 2⁸, or a
    /// bias beyond ±512 (B) or ±8192 (C), saturates). One shift per matrix:
    /// a row whose scale is 2ⁿ times below the matrix's largest keeps
    /// 31 − n bits of multiplier.
    pub fn from_row_pairs(model: &QuantModelView<'_>) -> Self {
        let (hidden, vocab) = (model.hidden(), model.vocab());
        let t = model.tensors();
        let [sx, sh, sy, bh, by] = t.f32;
        let q20 = f64::from(1u32 << ARG_BITS);
        let q16 = f64::from(1u32 << LOGIT_BITS);
        let q15 = f64::from(Q15_ONE);
        let hidden_factors: Vec<f64> = sh.iter().map(|&s| f64::from(s) * q20 / q15).collect();
        let logit_factors: Vec<f64> = sy.iter().map(|&s| f64::from(s) * q16 / q15).collect();
        let input_factors: Vec<f64> = sx.iter().map(|&s| f64::from(s) * q20).collect();
        let (whh_mult, k_h) = multipliers(&hidden_factors, i64::from(i32::MAX), 62);
        let (why_mult, k_y) = multipliers(&logit_factors, i64::from(i32::MAX), 62);
        let (wxh_mult, k_x) = multipliers(&input_factors, i64::from(INPUT_MULT_LIMIT - 1), 30);
        let fixed = |values: &[f32], scale: f64| -> Vec<i32> {
            values
                .iter()
                .map(|&v| {
                    libm::round(f64::from(v) * scale)
                        .clamp(-f64::from(TERM_LIMIT), f64::from(TERM_LIMIT))
                        as i32
                })
                .collect()
        };
        let bh = fixed(&bh[..hidden], q20);
        let by = fixed(by, q16);
        let lengths = fixed_tensor_lengths(hidden, vocab);
        debug_assert_eq!(lengths.1[..5], [hidden, vocab, vocab, hidden, vocab]);
        Self {
            hidden,
            vocab,
            int8: t.int8.map(<[i8]>::to_vec),
            int32: [
                whh_mult,
                why_mult,
                wxh_mult,
                bh,
                by,
                alloc::vec![k_h as i32, k_y as i32, k_x as i32, 0],
            ],
        }
    }
}

/// `round(f·2^k)` for every factor `f ≥ 0`, with `k` the largest in
/// `1..=max_shift` that keeps every one at or below `limit` (1 if none
/// does: then the largest saturate at `limit`).
fn multipliers(factors: &[f64], limit: i64, max_shift: u32) -> (Vec<i32>, u32) {
    let largest = factors.iter().fold(0.0f64, |m, &f| m.max(f));
    let fits = |k: u32| libm::round(largest * libm::exp2(f64::from(k))) <= limit as f64;
    let k = (1..=max_shift).rev().find(|&k| fits(k)).unwrap_or(1);
    let scale = libm::exp2(f64::from(k));
    let values = factors
        .iter()
        .map(|&f| libm::round(f * scale).clamp(0.0, limit as f64) as i32)
        .collect();
    (values, k)
}

/// Quantizes an f32 model to the fixed int8 layout: the row-pair
/// quantization ([`crate::quantize`]: the same int8 bytes), then its
/// scales and biases as integers ([`FixedModel::from_row_pairs`]).
pub fn quantize_fixed(model: &ModelView<'_, f32>) -> Result<FixedModel, QuantizeError> {
    Ok(FixedModel::from_row_pairs(&quantize(model)?.view()))
}
