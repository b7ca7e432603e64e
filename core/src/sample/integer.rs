//! The sampler of the fixed int8 layout: temperature, top-k and greedy as
//! [`crate::sample`], every operation on integers.
//!
//! # Method
//!
//! The logits are the Q16 integers `ỹ_j` of [`crate::FixedModelView`]. With
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
use crate::int8::fixed::LOGIT_LIMIT;
use crate::math::wide::{high_word_unsigned, product_below_2_48};
use crate::Rng;

#[cfg(any(charm_thumb1, charm_thumb2))]
use super::weigh_asm::weigh as weigh_asm;

/// Fraction bits of a weight: the largest is 2²⁴.
const WEIGHT_BITS: u32 = 24;
/// Fraction bits of `t`.
const T_BITS: u32 = 16;
/// From `t ≥ 25` on a weight rounds to 0 (2²⁴·2⁻²⁵ = 1/2 at most).
const T_CUT: u32 = 25 << T_BITS;
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

/// `EXP2_TABLE[i] − EXP2_TABLE[i + 1]` for `i = 0 … 63`, the
/// interpolation's steps, which [`weight`] and the Thumb-2 weights loop
/// read where they would read the next entry and subtract (computed at
/// compile time; the test `exp2_steps_are_the_table_s_differences` checks
/// them).
static EXP2_STEPS: [u32; 64] = exp2_steps();

const fn exp2_steps() -> [u32; 64] {
    let mut steps = [0u32; 64];
    let mut i = 0;
    while i < 64 {
        steps[i] = EXP2_TABLE[i] - EXP2_TABLE[i + 1]; // the table decreases
        i += 1;
    }
    steps
}

/// The tables the weights loops read: [`EXP2_TABLE`] and [`EXP2_STEPS`]
/// (Thumb-1 reads the table alone).
#[cfg(any(charm_thumb1, charm_thumb2))]
fn exp2_tables() -> super::weigh_asm::Exp2Tables {
    super::weigh_asm::Exp2Tables {
        table: &EXP2_TABLE,
        steps: &EXP2_STEPS,
    }
}

/// The most weights (each at most 2²⁴) whose sum is below 2³²: the loops
/// sum this many at a time in 32 bits.
pub(super) const WEIGHTS_PER_SUM: usize = 255;

/// A logit outside top-k's k largest: below every logit of the layout
/// (`|ỹ| ≤ 2²³`), weight 0.
const DROPPED: i32 = i32::MIN;
/// The largest `d_j`: `2·LOGIT_LIMIT`.
const D_LIMIT: u32 = 2 * LOGIT_LIMIT as u32;

/// Draws an index of the Q16 logits of the fixed int8 layout with
/// probability `softmax(y / T)` restricted to the top k, in integer
/// arithmetic (module docs: method and error). Overwrites `logits` with
/// the running sums of the weights, `w_0 + … + w_j` (as u32 bits),
/// restarting from 0 every 255 logits (their sum stays within 32 bits). The layout's logits are within
/// `±2²³` ([`crate::LOGIT_LIMIT`]), so that `d_j ≤ 2²⁴`; of other
/// integers, one more than 2²⁴ below the largest is taken 2²⁴ below it,
/// and `i32::MIN` (top-k's mark for the logits it drops) weighs 0.
///
/// ```
/// use charm_core::{sample_fixed, Rng, SampleParams};
/// let mut logits = [0, 10 << 16, 0]; // 0, 10 and 0 nats in Q16
/// let greedy = SampleParams { temperature: 0.0, top_k: 0 };
/// assert_eq!(sample_fixed(&mut logits, greedy, &mut Rng::new(7)), Ok(1));
/// ```
pub fn sample_fixed(
    logits: &mut [i32],
    params: SampleParams,
    rng: &mut Rng,
) -> Result<usize, SampleError> {
    sample_fixed_noted(logits, None, params, rng)
}

/// [`sample_fixed`] given the largest logit where the fixed step found it
/// (`StepNotes::largest_logit`), which also says that the logits are the
/// step's, within `±2²³`: no pass for the largest, and without top-k the
/// weights loop's test for logits more than 2²⁴ below it skipped. The same
/// index as [`sample_fixed`] for the step's logits and their largest; for
/// other logits or another `largest`, an unspecified index (no panic).
pub(crate) fn sample_fixed_noted(
    logits: &mut [i32],
    largest_known: Option<i32>,
    params: SampleParams,
    rng: &mut Rng,
) -> Result<usize, SampleError> {
    params.validate()?;
    if logits.is_empty() {
        return Err(SampleError::Empty);
    }
    let u = rng.next_u64() >> (64 - WEIGHT_BITS);
    // the largest logit alone; its first index only where the answer is
    // that index
    let max = largest_known.unwrap_or_else(|| largest(logits));
    let first_largest = |logits: &[i32]| logits.iter().position(|&y| y == max).unwrap_or(0);
    if params.temperature == 0.0 {
        return Ok(first_largest(logits));
    }
    let k = params.top_k;
    let top_k = k > 0 && k < logits.len();
    if top_k {
        keep_top_k(logits, k, DROPPED);
    }
    // every logit within D_LIMIT of the largest, none top-k's mark
    let near = largest_known.is_some() && !top_k;
    let q = (LOG2_E / params.temperature).to_bits();
    // one loop for each form of q (the match in `Scale::t` resolved out of
    // the loop), its constants decoded once
    let total = match Scale::of(q) {
        Scale::HighWord { m, shift } => weigh_high_word(logits, max, m, shift, near),
        s @ Scale::General(_) => weigh(logits, max, |d| s.t(d)),
    };
    let target = (u * total) >> WEIGHT_BITS; // r = ⌊u·W/2²⁴⌋ < W

    // W = 0 cannot happen (the largest logit weighs 2²⁴, d = 0); were it
    // to, every weight would be 0: index 0
    Ok(pick(logits, target).unwrap_or(0))
}

/// The largest of `logits` (`i32::MIN` for none): a loop of a load, a
/// compare and a move, kept out of the sampler's body so that no value of
/// the body waits on the stack in it; on the Cortex-M cores four at a time
/// in [`super::largest_asm`].
#[inline(never)]
fn largest(logits: &[i32]) -> i32 {
    #[cfg(any(charm_thumb1, charm_thumb2))]
    if let Some(max) = super::largest_asm::largest_of_fours(logits) {
        let rest = logits.get(logits.len() / 4 * 4..).unwrap_or_default();
        return rest.iter().fold(max, |max, &y| max.max(y));
    }
    logits.iter().fold(i32::MIN, |max, &y| max.max(y))
}

/// The first `j` with `w_0 + … + w_j > r`, from the running sums that
/// [`weigh`] leaves (restarting every [`WEIGHTS_PER_SUM`]): the chunk whose
/// total exceeds what is left of `r` once the chunks before it are taken
/// off, then in it the first running sum above the rest, by binary search
/// (the sums never decrease): 7 steps for 65 logits, where a scan takes
/// one a logit up to the one drawn.
fn pick(sums: &[i32], target: u64) -> Option<usize> {
    let mut rest = target;
    for (c, chunk) in sums.chunks(WEIGHTS_PER_SUM).enumerate() {
        let total = u64::from(*chunk.last()? as u32);
        if rest < total {
            let rest = rest as u32; // < total < 2³²
            let j = chunk.partition_point(|&s| s as u32 <= rest);
            return Some(c * WEIGHTS_PER_SUM + j);
        }
        rest -= total;
    }
    None
}

/// Overwrites each logit with the running sum of the weights `w_j =
/// weight(t(d_j))` (0 for top-k's dropped ones), restarting every
/// [`WEIGHTS_PER_SUM`], and returns their sum `W`. `max` is the largest
/// logit, so `d_j = max − ỹ_j` is in [0, 2³²) (taken at most 2²⁴, as
/// [`sample_fixed`] says).
#[inline(always)]
fn weigh(logits: &mut [i32], max: i32, t: impl Fn(u32) -> u32) -> u64 {
    let mut total = 0u64;
    // a 32-bit sum a chunk
    for chunk in logits.chunks_mut(WEIGHTS_PER_SUM) {
        let mut sum = 0u32;
        for y in chunk {
            let w = match *y {
                DROPPED => 0,
                y => weight(t((max as u32).wrapping_sub(y as u32).min(D_LIMIT))),
            };
            sum += w; // < 2³²: at most 255 weights of 2²⁴
            *y = sum as i32;
        }
        total += u64::from(sum);
    }
    total
}

/// [`weigh`] with `t` of [`Scale::HighWord`] (every temperature above
/// 0.0113); on the Cortex-M cores in assembly ([`super::weigh_asm`]),
/// [`WEIGHTS_PER_SUM`] logits at a time (the same integers; `near`: every
/// `d_j` is at most [`D_LIMIT`] and no logit is top-k's mark, which the
/// Thumb-2 loop need not then test).
#[inline(always)]
fn weigh_high_word(logits: &mut [i32], max: i32, m: u32, shift: u32, near: bool) -> u64 {
    let scale = Scale::HighWord { m, shift };
    #[cfg(any(charm_thumb1, charm_thumb2))]
    return logits
        .chunks_mut(WEIGHTS_PER_SUM)
        .map(
            |chunk| match weigh_asm(chunk, max, m, shift, D_LIMIT, exp2_tables(), near) {
                Some(sum) => u64::from(sum),
                None => weigh(chunk, max, |d| scale.t(d)),
            },
        )
        .sum();
    #[allow(unreachable_code)]
    {
        let _ = near; // the Rust loop tests every logit
        weigh(logits, max, |d| scale.t(d))
    }
}

/// `q = log2(e)/T` decoded for [`weigh`]'s loop.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// `q = m·2⁻ʳ` with `r ≥ 17` (`q < 2⁷`: every temperature above 0.0113; `m` the
    /// significand, 1 for a subnormal): `t = ⌊(d·2⁷)·(m·2⁸) / 2³²⌋ >> (r −
    /// 17)`, one high word of a 32-bit product (`d·2⁷ ≤ 2³¹`, `m·2⁸ <
    /// 2³²`; nested floors compose to `⌊d·m / 2ʳ⌋`, what [`exponent`]
    /// computes), capped at [`T_CUT`]. Held as `m·2⁸` and `r − 17`, or 0
    /// and 0 from `r ≥ 49` on (`d·m < 2⁴⁸`: t = 0).
    HighWord { m: u32, shift: u32 },
    /// Any other `q` (its bits): [`exponent`].
    General(u32),
}

impl Scale {
    fn of(q: u32) -> Self {
        let (field, fraction) = ((q >> 23) & 0xff, q & 0x7f_ffff);
        let (m, r) = match field {
            0xff => return Scale::General(q),
            0 => (fraction, 149),
            _ => (fraction | 0x80_0000, 150 - field as i32),
        };
        match r {
            17..=48 => Scale::HighWord {
                m: m << 8,
                shift: (r - 17) as u32,
            },
            49.. => Scale::HighWord { m: 0, shift: 0 },
            _ => Scale::General(q),
        }
    }

    /// `t = min(⌊d·q⌋, T_CUT)` in Q16, [`exponent`]'s integer.
    #[inline(always)]
    fn t(self, d: u32) -> u32 {
        match self {
            Scale::HighWord { m, shift } => (high_word_unsigned(d << 7, m) >> shift).min(T_CUT),
            Scale::General(q) => exponent(d, q),
        }
    }
}

/// `t = ⌊d·q⌋` in Q16 for `d` in Q16 and `q` given by its f32 bits
/// (positive: `log2(e)/T` with T > 0), capped at [`T_CUT`]. With
/// `q = m·2^(e − 150)` (`m` the significand, `e` the biased exponent, 1 for
/// subnormals) the product is `d·m` (below 2⁴⁸) shifted by `e − 150`.
fn exponent(d: u32, q: u32) -> u32 {
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
                _ => u64::from(T_CUT),
            }
        }
        s if s < 16 => p << s, // p < 2⁴⁸: no overflow
        _ => u64::from(T_CUT),
    };
    t.min(u64::from(T_CUT)) as u32
}

/// `round(2²⁴·2^(−t/2¹⁶))`, 0 from [`T_CUT`] on: the fraction of `t` from
/// [`EXP2_TABLE`] by linear interpolation (rounded half up), its integer
/// part a right shift (rounded half up).
fn weight(t: u32) -> u32 {
    if t >= T_CUT {
        return 0;
    }
    let (n, fraction) = (t >> T_BITS, t & 0xffff);
    let low_bits = T_BITS - TABLE_BITS;
    let i = (fraction >> low_bits) as usize;
    let between = fraction & ((1 << low_bits) - 1);
    let (Some(&y0), Some(&step)) = (EXP2_TABLE.get(i), EXP2_STEPS.get(i)) else {
        return 0; // i < 64 always
    };
    // y0 − (y0 − y1)·between / 2¹⁰: y0 − y1 < 2¹⁸, between < 2¹⁰
    let v = y0 - ((step * between + (1 << (low_bits - 1))) >> low_bits);
    match n {
        0 => v,
        n => (v + (1 << (n - 1))) >> n, // v ≤ 2²⁴, n ≤ 24: no overflow
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{
        exponent, pick, sample_fixed_noted, weigh, weight, Scale, EXP2_TABLE, LOG2_E, T_CUT,
        WEIGHTS_PER_SUM,
    };
    use crate::{sample_fixed, Rng, SampleParams};
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn exp2_steps_are_the_table_s_differences() {
        for (i, &step) in super::EXP2_STEPS.iter().enumerate() {
            assert_eq!(step, EXP2_TABLE[i] - EXP2_TABLE[i + 1], "{i}");
        }
        assert!(EXP2_TABLE.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn exp2_table_is_rounded_exactly() {
        for (i, &v) in EXP2_TABLE.iter().enumerate() {
            let exact = 16_777_216.0 * 2f64.powf(-(i as f64) / 64.0);
            assert_eq!(f64::from(v), exact.round(), "{i}");
        }
    }

    /// `Scale`'s one high word gives `exponent`'s `t` for every class of
    /// `q` (the ends of every exponent field, subnormals, ∞, and random
    /// bits) and `d` (the ends, around powers of two, random up to 2²⁴).
    #[test]
    fn scale_is_the_exponent() {
        let mut rng = Rng::new(4);
        let mut qs = Vec::new();
        for field in 0..=0xffu32 {
            for fraction in [0, 1, 0x40_0000, 0x7f_ffff] {
                qs.push(field << 23 | fraction);
            }
        }
        qs.extend((0..2000).map(|_| (rng.next_u64() as u32) & 0x7fff_ffff));
        let mut ds = std::vec![0u32, 1, 2, 1 << 24, (1 << 24) - 1];
        for bit in 0..24 {
            ds.extend([(1u32 << bit) + 1, 3 << bit >> 1]);
        }
        ds.extend((0..200).map(|_| (rng.next_u64() % (1 << 24)) as u32));
        let mut high_words = 0;
        for &q in &qs {
            let scale = Scale::of(q);
            high_words += usize::from(matches!(scale, Scale::HighWord { .. }));
            for &d in &ds {
                assert_eq!(scale.t(d), exponent(d, q), "q {q:#x} d {d}");
            }
        }
        // the fields 102 (r 48) to 133 (r 17) and 0 to 101 (r ≥ 49, t = 0)
        assert!(high_words > qs.len() / 2, "{high_words} of {}", qs.len());
        let one = Scale::of((LOG2_E / 1.0).to_bits());
        assert!(matches!(one, Scale::HighWord { shift: 6, .. }), "{one:?}");
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
        let mut t = 0u32;
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

    /// Running sums of `weights` restarting every `WEIGHTS_PER_SUM`, as
    /// `weigh` leaves them.
    fn running_sums(weights: &[u32]) -> std::vec::Vec<i32> {
        let mut sums = std::vec::Vec::new();
        for chunk in weights.chunks(WEIGHTS_PER_SUM) {
            let mut sum = 0u32;
            for &w in chunk {
                sum += w;
                sums.push(sum as i32);
            }
        }
        sums
    }

    proptest! {
        /// `weigh` leaves each chunk's running sums of `weight(t(d_j))`
        /// and returns their total, over vocabularies of one to three
        /// chunks.
        #[test]
        fn weigh_leaves_the_running_sums(
            logits in proptest::collection::vec(-(1i32 << 23)..=(1 << 23), 1..700),
            temperature in 0.05f32..20.0,
        ) {
            let q = (LOG2_E / temperature).to_bits();
            let max = *logits.iter().max().unwrap();
            let weights: std::vec::Vec<u32> =
                logits.iter().map(|&y| weight(exponent(max.abs_diff(y), q))).collect();
            let mut sums = logits.clone();
            let total = weigh(&mut sums, max, |d| exponent(d, q));
            prop_assert_eq!(total, weights.iter().map(|&w| u64::from(w)).sum::<u64>());
            prop_assert_eq!(sums, running_sums(&weights));
        }

        /// `pick` finds in the running sums what a scan of the weights
        /// finds, the first `j` with `w_0 + … + w_j > r` (nothing from the
        /// total on), for a random `r` and every `r` at and just below a
        /// prefix sum, zero and largest weights among them.
        #[test]
        fn pick_is_the_scan_of_the_weights(
            weights in proptest::collection::vec(
                prop_oneof![Just(0u32), Just(1u32 << 24), 0u32..=(1 << 24)],
                1..700,
            ),
            draw in any::<u64>(),
        ) {
            let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
            prop_assume!(total > 0);
            let scan = |target: u64| {
                let mut seen = 0u64;
                weights.iter().position(|&w| {
                    seen += u64::from(w);
                    seen > target
                })
            };
            let sums = running_sums(&weights);
            // a random r, and every r on a boundary: each prefix sum and
            // the one below it
            let mut targets = std::vec![draw % total];
            let mut prefix = 0u64;
            for &w in &weights {
                prefix += u64::from(w);
                targets.extend([prefix, prefix.saturating_sub(1)]);
            }
            for target in targets {
                prop_assert_eq!(pick(&sums, target), scan(target), "r {}", target);
            }
        }
    }

    proptest! {
        /// Given the largest logit (as the fixed step hands it on), the
        /// sampler draws what it draws finding it itself, and leaves the
        /// same running sums: greedy, top-k and plain temperature, the
        /// logits anywhere in the step's range `±2²³`.
        #[test]
        fn the_noted_largest_draws_as_sample_fixed(
            logits in proptest::collection::vec(-(1i32 << 23)..=(1 << 23), 1..300),
            temperature in prop_oneof![Just(0.0f32), 0.05f32..20.0],
            top_k in 0usize..8,
            seed in any::<u64>(),
        ) {
            let params = SampleParams { temperature, top_k };
            let max = *logits.iter().max().unwrap();
            let (mut found, mut noted) = (logits.clone(), logits.clone());
            let drawn = sample_fixed(&mut found, params, &mut Rng::new(seed));
            let drawn_noted = sample_fixed_noted(&mut noted, Some(max), params, &mut Rng::new(seed));
            prop_assert_eq!(drawn, drawn_noted);
            prop_assert_eq!(found, noted);
        }
    }

    /// Greedy and top-1 take the first largest logit; top-k never draws
    /// outside the k largest; each call takes one draw of the Rng.
    #[test]
    fn greedy_top_k_and_one_draw() {
        let y = [3, 9, 9, -5, 1].map(|v: i32| v << 16);
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
