//! The fixed int8 layout: the row-pair weights of [`crate::QuantModelView`]
//! (same bytes, same [`pair_dots`](fn@crate::pair_dots)) with every f32
//! operation of the step replaced by integer arithmetic in a fixed order,
//! so that a core without an FPU spends its cycles on the dot products.
//!
//! # Fixed points
//!
//! | quantity | format | range |
//! |---|---|---|
//! | hidden state `hq` | Q15, `h ≈ hq / 32767` | ±32767 |
//! | pre-activation `u` (tanh's argument) | Q20, `u ≈ ũ / 2²⁰` | ±3·2²⁹ (each of its three terms ±2²⁹) |
//! | logit `y` | Q16, `y ≈ ỹ / 2¹⁶` | ±2²³ (±128 nats) |
//!
//! # The step
//!
//! With `acc_r = Σ_c Whh_q[r,c]·hq_c` (exact i32, as in the row-pair step)
//! and `x` the input character:
//!
//! ```text
//! p_r  = clamp((acc_r·M_r + 2^(K_h−1)) >> K_h, ±2²⁹)      (i64 product, shift floors)
//! t_r  = (Wxh_q[x,r]·X_x + 2^(K_x−1)) >> K_x                (i32)
//! ũ_r  = p_r + B_r + t_r                                      (i32, cannot overflow)
//! hq_r = tanh_q15_fixed(ũ_r)                                  (tanh_q15's table)
//! ỹ_j  = clamp(clamp((acc_j·N_j + 2^(K_y−1)) >> K_y, ±2²⁹) + C_j, ±2²³)
//! ```
//!
//! Every rounding is "add half, shift right" (round half up); every clamp
//! is a saturation at the stated bound. `M_r ≈ s_r·2²⁰/32767·2^K_h` and
//! `N_j ≈ sy_j·2¹⁶/32767·2^K_y` are the row scales of the row-pair model as
//! integer multipliers, `X_x ≈ sx_x·2²⁰·2^K_x` the scale of the input row,
//! `B_r ≈ bh_r·2²⁰` and `C_j ≈ by_j·2¹⁶` the biases ([`quantize_fixed`](fn@crate::quantize_fixed)
//! says how they are rounded). The view refuses values outside the ranges
//! below ([`ShapeError::OutOfRange`]), so that no sum can overflow:
//!
//! | tensor | type | elements | range |
//! |---|---|---|---|
//! | `wxh`, `whh`, `why` | i8 | as [`crate::QuantModelView`] | any |
//! | `whh_mult` (`M`) | i32 | H | 0 ≤ M < 2³¹ |
//! | `why_mult` (`N`) | i32 | V | 0 ≤ N < 2³¹ |
//! | `wxh_mult` (`X`) | i32 | V | 0 ≤ X < 2²² |
//! | `bh` (`B`) | i32 | H | \|B\| ≤ 2²⁹ |
//! | `by` (`C`) | i32 | V | \|C\| ≤ 2²⁹ |
//! | `shifts` | i32 | 4 | `[K_h, K_y, K_x, 0]`, K_h, K_y in 1..=62, K_x in 1..=30 |
//!
//! Bounds: `|acc|·M < 2³¹·2³¹`, so the i64 product plus the rounding half is
//! below 2⁶³; `|Wxh_q·X| ≤ 128·2²² = 2²⁹`; `|ũ| ≤ 3·2²⁹ < 2³¹`.
//!
//! The step writes the logits as the Q16 integers `ỹ`, which the layout's
//! sampler ([`crate::sample_fixed`]) reads as they are: the generator
//! keeps them so (`Recurrent::step_to_draw`), with no conversion on the
//! device. A reader of numbers (`charm eval`'s log-softmax) gets the
//! exact values `ỹ·2⁻¹⁶` (`|ỹ| ≤ 2²³` is exact in f32) from
//! `Recurrent::step_state`.

use crate::int8::row_pairs::{dot_slots, pair_dots_summed, paired_len, run, StateSum};
use crate::kernels::padded;
use crate::math::wide::high_word;
use crate::model::{check_lengths, ShapeError};
use crate::StepNotes;
use rows::{HiddenRun, HiddenScales};

#[cfg(feature = "alloc")]
mod quantize;
mod rows;
#[cfg(charm_thumb1)]
#[allow(unsafe_code)]
mod thumb;
#[cfg(charm_thumb2)]
#[allow(unsafe_code)]
mod thumb2;
#[cfg(feature = "alloc")]
pub use quantize::{quantize_fixed, FixedModel};

/// Fraction bits of a logit of the fixed layout (Q16).
pub const LOGIT_BITS: u32 = 16;
/// Largest magnitude of a logit of the fixed layout, in Q16 (2²³: 128 nats).
pub const LOGIT_LIMIT: i32 = 1 << 23;
/// Largest magnitude of each term of a pre-activation (Q20) and of a
/// logit's scaled sum and bias (Q16): 2²⁹.
pub const TERM_LIMIT: i32 = 1 << 29;
/// The input rows' multipliers `X` are below this (2²²).
pub const INPUT_MULT_LIMIT: i32 = 1 << 22;

/// The tensors of a fixed int8 model: the row-pair int8 weights and the
/// integer multipliers, biases and shifts (module docs).
#[derive(Debug, Clone, Copy)]
pub struct FixedTensors<'a> {
    /// `[wxh, whh, why]`, as in [`crate::QuantModelView`].
    pub int8: [&'a [i8]; 3],
    /// `[whh_mult, why_mult, wxh_mult, bh, by, shifts]`.
    pub int32: [&'a [i32]; 6],
}

/// Lengths of the int8 tensors `[wxh, whh, why]` and the i32 tensors
/// `[whh_mult, why_mult, wxh_mult, bh, by, shifts]` of the fixed layout.
pub const fn fixed_tensor_lengths(hidden: usize, vocab: usize) -> ([usize; 3], [usize; 6]) {
    let s = padded(hidden);
    (
        [vocab * s, paired_len(hidden, s), paired_len(vocab, s)],
        [hidden, vocab, vocab, hidden, vocab, 4],
    )
}

/// Names of the i32 tensors, in file order.
pub(crate) const INT32_NAMES: [&str; 6] =
    ["whh_mult", "why_mult", "wxh_mult", "bh", "by", "shifts"];

/// Borrowed weights of the fixed int8 layout (module docs): an int8 step
/// whose every operation is integer arithmetic.
#[derive(Debug, Clone, Copy)]
pub struct FixedModelView<'a> {
    hidden: usize,
    vocab: usize,
    t: FixedTensors<'a>,
    k_h: u32,
    k_y: u32,
    k_x: u32,
}

impl<'a> FixedModelView<'a> {
    /// Checks the tensor lengths against `hidden` and `vocab`, and every
    /// multiplier, bias and shift against its range (module docs).
    pub fn new(hidden: usize, vocab: usize, t: FixedTensors<'a>) -> Result<Self, ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        let (n8, n32) = fixed_tensor_lengths(hidden, vocab);
        let [wxh, whh, why] = t.int8;
        check_lengths(&[("wxh", wxh), ("whh", whh), ("why", why)], &n8)?;
        let named: [(&'static str, &[i32]); 6] = [
            (INT32_NAMES[0], t.int32[0]),
            (INT32_NAMES[1], t.int32[1]),
            (INT32_NAMES[2], t.int32[2]),
            (INT32_NAMES[3], t.int32[3]),
            (INT32_NAMES[4], t.int32[4]),
            (INT32_NAMES[5], t.int32[5]),
        ];
        check_lengths(&named, &n32)?;
        let [whh_mult, why_mult, wxh_mult, bh, by, shifts] = t.int32;
        let in_range = |tensor: &'static str, values: &[i32], low: i32, high: i32| match values
            .iter()
            .all(|v| (low..=high).contains(v))
        {
            true => Ok(()),
            false => Err(ShapeError::OutOfRange { tensor }),
        };
        in_range("whh_mult", whh_mult, 0, i32::MAX)?;
        in_range("why_mult", why_mult, 0, i32::MAX)?;
        in_range("wxh_mult", wxh_mult, 0, INPUT_MULT_LIMIT - 1)?;
        in_range("bh", bh, -TERM_LIMIT, TERM_LIMIT)?;
        in_range("by", by, -TERM_LIMIT, TERM_LIMIT)?;
        let &[k_h, k_y, k_x, zero] = shifts else {
            return Err(ShapeError::OutOfRange { tensor: "shifts" });
        };
        if !(1..=62).contains(&k_h)
            || !(1..=62).contains(&k_y)
            || !(1..=30).contains(&k_x)
            || zero != 0
        {
            return Err(ShapeError::OutOfRange { tensor: "shifts" });
        }
        Ok(Self {
            hidden,
            vocab,
            t,
            k_h: k_h as u32,
            k_y: k_y as u32,
            k_x: k_x as u32,
        })
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.vocab
    }
    /// The tensors, for encoding.
    pub fn tensors(&self) -> FixedTensors<'a> {
        self.t
    }

    /// `ỹ_j = C_j`, the Q16 logits of the zero state (y_0 = b_y).
    /// `logits` needs V entries.
    pub fn initial_logits(&self, logits: &mut [i32]) {
        for (y, &c) in logits.iter_mut().zip(self.t.int32[4]) {
            *y = c.clamp(-LOGIT_LIMIT, LOGIT_LIMIT);
        }
    }

    /// The integer forward step (module docs), state in Q15 (length
    /// `S = padded(H)`, tail zero), logits the Q16 integers `ỹ`.
    /// `hq_prev` and `hq_next` need `S` entries and `logits` V, and `x < V`;
    /// otherwise nothing is written ([`crate::Generator`] always passes such buffers).
    pub fn step(&self, hq_prev: &[i16], x: usize, hq_next: &mut [i16], logits: &mut [i32]) {
        self.step_noted(hq_prev, None, x, hq_next, logits);
    }

    /// [`FixedModelView::step`] given `Σ hq_prev` as the step that wrote
    /// `hq_prev` returned it (`None`: summed here), returning what it
    /// learned on the way ([`StepNotes`]): `Σ hq_next` for the next step
    /// (`None` where nothing was written or the sums' kernel takes none)
    /// and the largest logit for the sampler (`None` where the logits'
    /// loop keeps none: the Cortex-M0's), so that each state is summed
    /// once and the logits are not read again for their largest
    /// (`Recurrent::step_to_draw_noted`).
    pub(crate) fn step_noted(
        &self,
        hq_prev: &[i16],
        sum_prev: Option<i32>,
        x: usize,
        hq_next: &mut [i16],
        logits: &mut [i32],
    ) -> StepNotes {
        // every trained model's shifts are 33 and more ([`scaled`]): the
        // rows' loops then take the high word alone, with no test of the
        // shift in them
        if self.k_h >= 33 && self.k_y >= 33 {
            self.step_scaled::<true>(hq_prev, sum_prev, x, hq_next, logits)
        } else {
            self.step_scaled::<false>(hq_prev, sum_prev, x, hq_next, logits)
        }
    }

    /// [`FixedModelView::step`], with `HIGH` = both shifts 33 and more.
    #[inline(always)]
    fn step_scaled<const HIGH: bool>(
        &self,
        hq_prev: &[i16],
        sum_prev: Option<i32>,
        x: usize,
        hq_next: &mut [i16],
        logits: &mut [i32],
    ) -> StepNotes {
        let (hidden, vocab, s) = (self.hidden, self.vocab, padded(self.hidden));
        let [wxh, whh, why] = self.t.int8;
        let [whh_mult, why_mult, wxh_mult, bh, by, _] = self.t.int32;
        if x >= vocab {
            return StepNotes::default();
        }
        // column x of W_xh: x·S < V·S, the tensor's length (no overflow;
        // no division, as chunks_exact's remainder is on a Cortex-M0)
        let (Some(hq_prev), Some(column), Some(&mult_x), Some(hq_next), Some(logits)) = (
            hq_prev.get(..s),
            wxh.get(x * s..x * s + hidden),
            wxh_mult.get(x),
            hq_next.get_mut(..s),
            logits.get_mut(..vocab),
        ) else {
            return StepNotes::default();
        };
        let out = &mut hq_next[..hidden];
        let scales = HiddenScales {
            mult_x,
            k_x: self.k_x,
            k_h: self.k_h,
        };
        let mut slots = dot_slots();
        let sum = match sum_prev {
            Some(sum) => StateSum(Some(sum)),
            None => StateSum::of(hq_prev),
        };
        let mut r = 0;
        while r < hidden {
            let dots = pair_dots_summed(
                &whh[r * s..],
                s,
                hq_prev,
                sum,
                &mut slots[..run(hidden - r)],
            );
            let n = dots.len();
            let end = hidden.min(r + 2 * n);
            // the rows r..end (of an odd H, the last pair's second is the
            // padding's, left out): ũ_r = p_r + B_r + t_r, hq_r
            let constants = HiddenRun {
                mult: &whh_mult[r..end],
                bias: &bh[r..end],
                column: &column[r..end],
            };
            let acc = &mut dots.as_flattened_mut()[..end - r];
            rows::hidden::<HIGH>(acc, constants, scales, &mut out[r..end]);
            r = if n == 0 { hidden } else { end };
        }
        // ỹ_j = clamp(p_j + C_j, ±2²³), and the largest of them
        let sum = StateSum::of(hq_next);
        let mut largest = Some(i32::MIN);
        let mut j = 0;
        while j < vocab {
            let dots =
                pair_dots_summed(&why[j * s..], s, hq_next, sum, &mut slots[..run(vocab - j)]);
            let n = dots.len();
            let end = vocab.min(j + 2 * n);
            let acc = &dots.as_flattened()[..end - j];
            let (mult, bias) = (&why_mult[j..end], &by[j..end]);
            let run_largest = rows::logits::<HIGH>(acc, mult, bias, self.k_y, &mut logits[j..end]);
            largest = largest.zip(run_largest).map(|(a, b)| a.max(b));
            j = if n == 0 { vocab } else { end };
        }
        StepNotes {
            state_sum: sum.0,
            largest_logit: largest,
        }
    }
}

/// `clamp((acc·mult + 2^(shift−1)) >> shift, ±2²⁹)`: an exact i32 sum
/// times a row's multiplier, rounded half up, saturated. `mult` ≥ 0 and
/// `shift` in 1..=62 (the view checked both), so the i64 sum stays below
/// 2⁶³ in magnitude.
///
/// From `shift` ≥ 33 on (a row scale below about 7.9, every trained model's)
/// it takes the product's high word alone: with `v = high·2³² + low`,
/// `⌊(v + 2^(K−1)) / 2^K⌋ = ⌊(high + 2^(K−33)) / 2^(K−32)⌋` (the rounding
/// half lies in the high word, and nested floors compose), all in i32 —
/// one SMULL on Armv7-M, MUL and MULH on RV32IM, four MULS on the
/// Cortex-M0 ([`high_word`]), and no 64-bit shift. That result needs no
/// clamp: `acc ≥ −2³¹` and `0 ≤ mult < 2³¹` give `high` in
/// `[−2³⁰, 2³⁰ − 1]`, and `(high + 2^(K−33)) >> (K−32)` in `[−2²⁹, 2²⁹]`.
/// With `HIGH` the caller says `shift ≥ 33`, so that a loop of rows has no
/// test of the shift in it (the test `scaled_is_the_rounded_saturated_product`
/// checks both forms at the extremes).
#[inline(always)]
pub(crate) fn scaled<const HIGH: bool>(acc: i32, mult: i32, shift: u32) -> i32 {
    if HIGH || shift >= 33 {
        // 2^(K−33) ≤ 2²⁹: no overflow
        let high = high_word(acc, mult);
        (high + (1 << (shift - 33))) >> (shift - 32)
    } else {
        let product = i64::from(acc) * i64::from(mult);
        let p = (product + (1i64 << (shift - 1))) >> shift;
        p.clamp(-i64::from(TERM_LIMIT), i64::from(TERM_LIMIT)) as i32
    }
}

/// `ỹ·2⁻¹⁶`, the number (nats) of a Q16 logit: exact in f32 for
/// `|ỹ| ≤ 2²³` (at most 24 significant bits; the scaling is a power of two).
#[inline]
pub fn logit_value(y: i32) -> f32 {
    y as f32 / (1 << LOGIT_BITS) as f32
}

#[cfg(test)]
mod tests {
    use super::{logit_value, scaled, LOGIT_LIMIT, TERM_LIMIT};

    /// `logit_value` is exact over the whole range (every 97th integer,
    /// and the ends): the f64 quotient, no rounding.
    #[test]
    fn logit_values_are_exact() {
        let mut y = -LOGIT_LIMIT;
        while y <= LOGIT_LIMIT {
            assert_eq!(f64::from(logit_value(y)), f64::from(y) / 65536.0, "{y}");
            y += if (-200..200).contains(&y) { 1 } else { 97 };
        }
        assert_eq!(logit_value(LOGIT_LIMIT), 128.0);
        assert_eq!(logit_value(-LOGIT_LIMIT), -128.0);
    }

    /// `scaled` against i128 arithmetic at the extremes of its inputs.
    #[test]
    fn scaled_is_the_rounded_saturated_product() {
        let accs = [i32::MIN, -1 << 30, -12345, -1, 0, 1, 7, 1 << 20, i32::MAX];
        let mults = [0, 1, 3, 1 << 15, 123_456_789, i32::MAX];
        for &acc in &accs {
            for &mult in &mults {
                for shift in 1..=62u32 {
                    let exact = (i128::from(acc) * i128::from(mult) + (1i128 << (shift - 1)))
                        .div_euclid(1i128 << shift);
                    let expected = exact.clamp(-i128::from(TERM_LIMIT), i128::from(TERM_LIMIT));
                    assert_eq!(i128::from(scaled::<false>(acc, mult, shift)), expected);
                    if shift >= 33 {
                        assert_eq!(i128::from(scaled::<true>(acc, mult, shift)), expected);
                    }
                }
            }
        }
    }
}
