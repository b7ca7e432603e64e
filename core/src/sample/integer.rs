//! The sampler of the fixed int8 layout: temperature, top-k and greedy as
//! [`crate::sample`], every operation on integers.
//!
//! # Method
//!
//! The logits are the Q16 integers `ỹ_j` of [`crate::FixedModelView`]
//! (read back exactly from the f32 buffer, [`crate::logit_fixed`]). With
//! `d_j = max ỹ − ỹ_j ≥ 0` (Q16, at most 2²⁴):
//!
//! ```text
//! q    = log2(e) / T                  one f32 division per draw (IEEE 754: the same bits everywhere)
//! t_j  = ⌊d_j · q⌋                    Q16, from q's significand and exponent (u64 product, shift floors)
//! w_j  = round(2²⁴ · 2^(−t_j/2¹⁶))    2^(−fraction) from a 65-entry table with linear interpolation,
//!                                     the integer part a shift; 0 from t_j ≥ 25·2¹⁶ on
//! W    = Σ w_j                        u64: at most 2¹⁶·2²⁴ = 2⁴⁰ for the largest vocabulary
//! r    = ⌊u · W / 2²⁴⌋                u the top 24 bits of one Rng draw (u·W < 2⁶⁴)
//! pick = the first j with w_0 + … + w_j > r
//! ```
//!
//! so `w_j ≈ 2²⁴·exp((y_j − max y)/T)`, the largest weight exactly 2²⁴.
//! Top-k sets the logits outside the k largest (ties: lower index first)
//! to −∞ first, whose weight is 0; greedy (T = 0) takes the first largest.
//! Exactly one RNG draw per call, as [`crate::sample`].
//!
//! # Error against exact softmax
//!
//! Let `a_j = 2²⁴·exp((y_j − max y)/T)` (exact, real) and `A = Σ a_j ≥ 2²⁴`.
//! Each weight is `|w_j − a_j| ≤ ε·a_j + 1/2` with
//! `ε = ln2·(2⁻¹⁶ + 25·2⁻²³) + (ln2/64)²/8 + 2⁻²³ ≤ 2.8·10⁻⁵`: the floor of
//! `t` (at most one Q16 unit) and the two f32 roundings in `q` (relative
//! 2⁻²³ on a `t` below 25, beyond which the weight is dropped), the linear
//! interpolation of `2⁻ˣ` over steps of 1/64 (`h²/8·max|f″|`), and the
//! table's and the interpolation's roundings (half a unit each on
//! values above 2²³); the final rounding and a dropped weight (`a_j < 1/2`) are
//! the `1/2`. The draw picks `j` with probability `w_j/W` within 2⁻²⁴
//! (the `u` with `r` in `[w_0 + … + w_(j−1), w_0 + … + w_j)` number
//! `w_j·2²⁴/W` within one). So, with `p_j = a_j/A`:
//!
//! ```text
//! |P(j) − p_j| ≤ (2ε·a_j + 1/2 + V·p_j/2) / (A·(1 − ε) − V/2) + 2⁻²⁴
//! ```
//!
//! about `6·10⁻⁵·p_j + 3·10⁻⁸ + V·3·10⁻⁸·p_j` for V 65. The test
//! `distribution_is_softmax_within_the_bound` checks it against f64.
//! Temperatures below 2⁻¹²⁶·log2(e) (where `q` overflows f32) draw greedily.

use super::sampler::{keep_top_k, SampleError, SampleParams};
use crate::int8::fixed::logit_fixed;
use crate::math::wide::product_below_2_48;
use crate::Rng;

/// Fraction bits of a weight: the largest is 2²⁴.
const WEIGHT_BITS: u32 = 24;
/// Fraction bits of `t`.
const T_BITS: u32 = 16;
/// From `t ≥ 25` on a weight rounds to 0 (2²⁴·2⁻²⁵ = 1/2 at most).
const T_CUT: u64 = 25 << T_BITS;
/// Table steps per unit of `t`: 2⁶.
const TABLE_BITS: u32 = 6;
/// `log2(e)`, rounded to f32.
const LOG2_E: f32 = core::f32::consts::LOG2_E;

/// `round(2²⁴ · 2^(−i/64))` for `i = 0 … 64` (the test
/// `exp2_table_is_rounded_exactly` recomputes it in f64).
static EXP2_TABLE: [u32; 65] = [
    16777216, 16596492, 16417715, 16240863, 16065917, 15892855, 15721658, 15552304, 15384775,
    15219050, 15055111, 14892937, 14732511, 14573813, 14416824, 14261526, 14107901, 13955931,
    13805598, 13656884, 13509772, 13364245, 13220286, 13077877, 12937002, 12797645, 12659789,
    12523418, 12388516, 12255067, 12123055, 11992466, 11863283, 11735492, 11609078, 11484025,
    11360319, 11237946, 11116891, 10997140, 10878679, 10761494, 10645571, 10530897, 10417458,
    10305242, 10194234, 10084422, 9975792, 9868333, 9762032, 9656875, 9552851, 9449948, 9348154,
    9247455, 9147842, 9049301, 8951823, 8855394, 8760003, 8665641, 8572295, 8479954, 8388608,
];

/// Draws an index of logits written by the fixed int8 layout with
/// probability `softmax(y / T)` restricted to the top k, in integer
/// arithmetic (module docs: method and error). Overwrites `logits` with
/// the weights' bits (`f32::from_bits(w_j)`, at most 2²⁴: never a NaN).
///
/// ```
/// use charm_core::{logit_value, sample_fixed, Rng, SampleParams};
/// let mut logits = [logit_value(0), logit_value(10 << 16), logit_value(0)];
/// let greedy = SampleParams { temperature: 0.0, top_k: 0 };
/// assert_eq!(sample_fixed(&mut logits, greedy, &mut Rng::new(7)), Ok(1));
/// ```
pub fn sample_fixed(
    logits: &mut [f32],
    params: SampleParams,
    rng: &mut Rng,
) -> Result<usize, SampleError> {
    params.validate()?;
    if logits.is_empty() {
        return Err(SampleError::Empty);
    }
    let u = rng.next_u64() >> (64 - WEIGHT_BITS);
    let (best, max) = argmax_fixed(logits);
    if params.temperature == 0.0 {
        return Ok(best);
    }
    let k = params.top_k;
    let top_k = k > 0 && k < logits.len();
    if top_k {
        keep_top_k(logits, k);
    }
    let q = (LOG2_E / params.temperature).to_bits();
    let mut total = 0u64;
    for y in logits.iter_mut() {
        // −∞ is top-k's mark (LLVM makes the bits' comparison a software
        // f32 one: asked only after top-k)
        let w = match top_k && *y == f32::NEG_INFINITY {
            true => 0,
            false => weight(exponent(max.abs_diff(logit_fixed(*y)), q)),
        };
        total += u64::from(w);
        *y = f32::from_bits(w);
    }
    let target = (u * total) >> WEIGHT_BITS; // r = ⌊u·W/2²⁴⌋ < W
    let mut running = 0u64;
    for (i, y) in logits.iter().enumerate() {
        running += u64::from(y.to_bits());
        if running > target {
            return Ok(i);
        }
    }
    Ok(best) // W = 0 cannot happen (the largest weight is 2²⁴): a safe answer anyway
}

/// The first index of the largest integer logit, and that logit.
fn argmax_fixed(logits: &[f32]) -> (usize, i32) {
    let mut best = (0, i32::MIN);
    for (i, &y) in logits.iter().enumerate() {
        let y = logit_fixed(y);
        if y > best.1 {
            best = (i, y);
        }
    }
    best
}

/// `t = ⌊d·q⌋` in Q16 for `d` in Q16 and `q` given by its f32 bits
/// (positive: `log2(e)/T` with T > 0), capped at [`T_CUT`]. With
/// `q = m·2^(e − 150)` (`m` the significand, `e` the biased exponent, 1 for
/// subnormals) the product is `d·m` (below 2⁴⁸) shifted by `e − 150`.
fn exponent(d: u32, q: u32) -> u64 {
    let (field, fraction) = ((q >> 23) & 0xff, q & 0x7f_ffff);
    if d == 0 {
        return 0;
    }
    if field == 0xff {
        return T_CUT; // q = ∞ (T below 2⁻¹²⁶·log2 e): only the largest logits weigh
    }
    let (m, e) = match field {
        0 => (fraction, 1),
        _ => (fraction | 0x80_0000, field as i32),
    };
    let p = product_below_2_48(d, m); // d ≤ 2²⁴, m < 2²⁴
    let shift = e - 150;
    let t = match shift {
        ..=-64 => 0,
        // p < 2⁴⁸: from 2⁻³² on the high word alone, in 32 bits (a 64-bit
        // shift by a variable is a call on a 32-bit core)
        -63..=-32 => u64::from(((p >> 32) as u32) >> (-shift - 32)),
        // 1 to 31 bits: from the two words, saturating once the result
        // needs more than 32 bits (far above T_CUT)
        s if s < 0 => {
            let (high, low, r) = ((p >> 32) as u32, p as u32, (-s) as u32);
            match high >> r {
                0 => u64::from((high << (32 - r)) | (low >> r)),
                _ => T_CUT,
            }
        }
        s if s < 16 => p << s, // p < 2⁴⁸: no overflow
        _ => T_CUT,
    };
    t.min(T_CUT)
}

/// `round(2²⁴·2^(−t/2¹⁶))`, 0 from [`T_CUT`] on: the fraction of `t` from
/// [`EXP2_TABLE`] by linear interpolation (rounded half up), its integer
/// part a right shift (rounded half up).
fn weight(t: u64) -> u32 {
    if t >= T_CUT {
        return 0;
    }
    let (n, fraction) = ((t >> T_BITS) as u32, (t & 0xffff) as u32);
    let low_bits = T_BITS - TABLE_BITS;
    let i = (fraction >> low_bits) as usize;
    let between = fraction & ((1 << low_bits) - 1);
    let (Some(&y0), Some(&y1)) = (EXP2_TABLE.get(i), EXP2_TABLE.get(i + 1)) else {
        return 0; // i < 64 always
    };
    // y0 − (y0 − y1)·between / 2¹⁰: y0 − y1 < 2¹⁸, between < 2¹⁰
    let v = y0 - (((y0 - y1) * between + (1 << (low_bits - 1))) >> low_bits);
    match n {
        0 => v,
        n => (v + (1 << (n - 1))) >> n, // v ≤ 2²⁴, n ≤ 24: no overflow
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{exponent, weight, EXP2_TABLE, LOG2_E, T_CUT};
    use crate::{logit_value, sample_fixed, Rng, SampleParams};
    use std::vec::Vec;

    #[test]
    fn exp2_table_is_rounded_exactly() {
        for (i, &v) in EXP2_TABLE.iter().enumerate() {
            let exact = 16_777_216.0 * 2f64.powf(-(i as f64) / 64.0);
            assert_eq!(f64::from(v), exact.round(), "{i}");
        }
    }

    /// Module docs' ε: each part of the bound, written out.
    fn epsilon() -> f64 {
        let ln2 = std::f64::consts::LN_2;
        ln2 * (2f64.powi(-16) + 25.0 * 2f64.powi(-23)) + (ln2 / 64.0).powi(2) / 8.0 + 2f64.powi(-23)
    }

    /// The weight of every `t` (each multiple of 7 Q16 units below the cut)
    /// is within `ε·a + 1/2` of `a = 2²⁴·2^(−t)` (the table and the
    /// interpolation: the floor of `t` is not in it, `t` being given).
    #[test]
    fn weights_are_within_the_bound() {
        let mut t = 0u64;
        while t < T_CUT + 100 {
            let a = 16_777_216.0 * 2f64.powf(-(t as f64) / 65536.0);
            let w = f64::from(weight(t));
            assert!((w - a).abs() <= epsilon() * a + 0.5, "t {t}: {w} vs {a}");
            t += 7;
        }
    }

    /// The exact probability of each index under the 2²⁴ values of `u`,
    /// from the weights the sampler computes, against f64 softmax, for
    /// random logits, temperatures and vocabularies: within the module's
    /// bound.
    #[test]
    fn distribution_is_softmax_within_the_bound() {
        let mut rng = Rng::new(3);
        for case in 0..300 {
            let v = 1 + (rng.next_u64() % 300) as usize;
            let spread = [1i64 << 10, 1 << 16, 1 << 19, 1 << 22][case % 4];
            let y: Vec<i32> = (0..v)
                .map(|_| ((rng.next_u64() % (2 * spread as u64 + 1)) as i64 - spread) as i32)
                .collect();
            let temperature = [0.05f32, 0.3, 0.8, 1.0, 1.7, 5.0, 100.0][case % 7];
            let q = (LOG2_E / temperature).to_bits();
            let max = *y.iter().max().unwrap();
            let w: Vec<u64> = y
                .iter()
                .map(|&yj| u64::from(weight(exponent(max.abs_diff(yj), q))))
                .collect();
            let total: u64 = w.iter().sum();
            // u with ⌊u·W/2²⁴⌋ ≥ R are those from ⌈R·2²⁴/W⌉ on
            let first_u = |r: u64| ((u128::from(r) << 24).div_ceil(u128::from(total))) as f64;
            let a: Vec<f64> = y
                .iter()
                .map(|&yj| {
                    let d = f64::from(yj - max) / 65536.0;
                    16_777_216.0 * (d / f64::from(temperature)).exp()
                })
                .collect();
            let big_a: f64 = a.iter().sum();
            let eps = epsilon();
            let mut running = 0u64;
            for j in 0..v {
                let p_draw = (first_u(running + w[j]) - first_u(running)) / 16_777_216.0;
                running += w[j];
                let p = a[j] / big_a;
                let bound = (2.0 * eps * a[j] + 0.5 + v as f64 * p / 2.0)
                    / (big_a * (1.0 - eps) - v as f64 / 2.0)
                    + 2f64.powi(-24);
                assert!(
                    (p_draw - p).abs() <= bound,
                    "case {case}, j {j}: {p_draw} vs {p} (bound {bound})"
                );
            }
        }
    }

    /// Greedy and top-1 take the first largest logit; top-k never draws
    /// outside the k largest; each call takes one draw of the Rng.
    #[test]
    fn greedy_top_k_and_one_draw() {
        let y = [3, 9, 9, -5, 1].map(|v| logit_value(v << 16));
        let greedy = SampleParams {
            temperature: 0.0,
            top_k: 0,
        };
        let mut rng = Rng::new(5);
        assert_eq!(sample_fixed(&mut y.clone(), greedy, &mut rng), Ok(1));
        let top1 = SampleParams {
            temperature: 1.0,
            top_k: 1,
        };
        assert_eq!(sample_fixed(&mut y.clone(), top1, &mut rng), Ok(1));
        let top2 = SampleParams {
            temperature: 50.0,
            top_k: 2,
        };
        for _ in 0..200 {
            let i = sample_fixed(&mut y.clone(), top2, &mut rng).unwrap();
            assert!(i == 1 || i == 2, "{i}");
        }
        let (mut a, mut b) = (Rng::new(9), Rng::new(9));
        sample_fixed(&mut y.clone(), top2, &mut a).unwrap();
        b.next_u64();
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
