//! `tanh` straight to Q15, for the int8 step.

use crate::math::tanh::tanh_f32;

/// Fraction bits of the fixed-point argument ([`tanh_q15_fixed`]).
pub(crate) const ARG_BITS: u32 = 20;
/// Fraction bits of a table position: the table step is 2⁻⁷ = 1/128.
const STEP_BITS: u32 = 7;
/// Bits of the argument below the table step (the interpolation weight).
const WEIGHT_BITS: u32 = ARG_BITS - STEP_BITS;
/// Table entries: 0, 1/128, …, 6. From 6 on, `round(32767·tanh) = 32767`.
const ENTRIES: usize = 6 * (1 << STEP_BITS) + 1;

/// `round(32767·tanh(i/128))` for `i = 0 … 768`, computed at compile time
/// with [`tanh_f32`] (error 4.8e-7, under 0.02 of a Q15 step). 1,538 bytes.
pub(crate) static TABLE: [i16; ENTRIES] = table();

/// [`TABLE`]'s intervals as words `y0 + (y1 − y0)·2¹⁶` (`y0 = TABLE[i]`, `y1
/// = TABLE[i + 1]`, both halves below 2¹⁵), then 32767 with a step of 0 up
/// to `2²³` (`i` = 768 … 1,023: `tanh_q15` of 6 and more), for the fixed
/// step's Thumb-2 rows on the DSP cores: one load and SMULTB for the two
/// halfword loads and the subtraction, and USAT for the range test. 4,096
/// bytes, in the builds that run the fixed layout there.
#[cfg(all(charm_thumb2, feature = "dsp"))]
pub(crate) static INTERVALS: [u32; INTERVALS_LEN] = intervals();

/// Entries of [`INTERVALS`]: `2²³ >> 13`.
#[cfg(all(charm_thumb2, feature = "dsp"))]
const INTERVALS_LEN: usize = 1 << (23 - WEIGHT_BITS);

#[cfg(all(charm_thumb2, feature = "dsp"))]
const fn intervals() -> [u32; INTERVALS_LEN] {
    let mut t = [32767u32; INTERVALS_LEN];
    let mut i = 0;
    while i < ENTRIES - 1 {
        let (y0, y1) = (TABLE[i] as u32, TABLE[i + 1] as u32); // 0 ≤ y0 ≤ y1 ≤ 32767
        t[i] = y0 | (y1 - y0) << 16;
        i += 1;
    }
    t
}

const fn table() -> [i16; ENTRIES] {
    let mut t = [0i16; ENTRIES];
    let mut i = 0;
    while i < ENTRIES {
        let y = tanh_f32(i as f32 / (1 << STEP_BITS) as f32) * 32767.0;
        t[i] = (y + 0.5) as i16; // y ≥ 0: round half up
        i += 1;
    }
    t
}

/// `32767·tanh(u)` rounded to Q15 within 1.15 steps, in integer arithmetic.
///
/// Method: `u` to fixed point with 20 fraction bits (saturating; NaN → 0),
/// then linear interpolation in a table of `tanh` at steps of 1/128 on
/// [0, 6], `32767` beyond, and the sign of `u` (tanh is odd). About 15
/// instructions on a Cortex-M4, against about 40 for [`tanh_f32`] and a
/// conversion to Q15; the result is the same integer on every target.
///
/// Max error against `32767·tanh(u)` in f64: **1.148 Q15 steps** (3.5e-5 in
/// tanh, at u ≈ ±0.738), measured over 12 million points of [-8, 8] by the
/// test `tanh_q15_error` (table rounding ≤ 0.5, interpolation ≤ 0.19, final
/// rounding ≤ 0.5). `round(32767·tanh_f32(u))` is within 0.52 steps but
/// costs almost three times the instructions.
///
/// ```
/// use charm_core::tanh_q15;
/// assert_eq!(tanh_q15(0.0), 0);
/// assert_eq!(tanh_q15(100.0), 32767);
/// assert_eq!(tanh_q15(-100.0), -32767);
/// assert!((f64::from(tanh_q15(0.5)) - 32767.0 * 0.5f64.tanh()).abs() < 1.0);
/// ```
#[inline]
pub fn tanh_q15(u: f32) -> i16 {
    tanh_q15_fixed(to_fixed(u))
}

/// [`tanh_q15`] of an argument already in fixed point: `32767·tanh(u / 2²⁰)`
/// rounded to Q15 within 1.15 steps, for any `u` (beyond ±6·2²⁰ it is
/// ±32767). The step of the fixed int8 layout calls it with its integer
/// pre-activation.
#[inline]
pub(crate) fn tanh_q15_fixed(fixed: i32) -> i16 {
    let m = fixed.unsigned_abs();
    let i = (m >> WEIGHT_BITS) as usize;
    let y = match (TABLE.get(i), TABLE.get(i + 1)) {
        (Some(&y0), Some(&y1)) => {
            // y0 + (y1 − y0)·w / 2¹³, rounded; w < 2¹³, y1 − y0 ≤ 256
            let w = (m & ((1 << WEIGHT_BITS) - 1)) as i32;
            let (y0, y1) = (i32::from(y0), i32::from(y1));
            y0 + (((y1 - y0) * w + (1 << (WEIGHT_BITS - 1))) >> WEIGHT_BITS)
        }
        _ => 32767,
    };
    // |y| ≤ 32767
    (if fixed < 0 { -y } else { y }) as i16
}

/// `(u · 2²⁰) as i32`: the argument in fixed point, truncated toward zero,
/// saturating, NaN → 0. On an FPU that is VMUL and VCVT; without one,
/// [`to_fixed_by_bits`] gives the same integer from the bits of `u`.
#[inline]
fn to_fixed(u: f32) -> i32 {
    #[cfg(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    ))]
    return to_fixed_by_bits(u);
    #[cfg(not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )))]
    return (u * (1u32 << ARG_BITS) as f32) as i32;
}

/// `(u · 2²⁰) as i32` in integer arithmetic, for cores without an FPU
/// (software f32 multiplies and converts in about 150 instructions).
///
/// `u · 2²⁰` is exact in f32 unless it overflows (a power-of-two scale
/// only moves the exponent), so with `|u| = m · 2^(e − 150)` (`m` the
/// 24-bit significand, `e` the biased exponent, 1 for subnormals):
/// `|u| · 2²⁰ = m · 2^(e − 130)`, truncated by a right shift when
/// `e < 130`; from `e ≥ 138` on it is at least `2²³ · 2⁸ = 2³¹` and
/// saturates, as does infinity; NaN gives 0, as `as i32` does.
#[cfg_attr(
    not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )),
    allow(dead_code)
)]
#[inline]
pub(crate) fn to_fixed_by_bits(u: f32) -> i32 {
    fixed_by_bits(u, ARG_BITS)
}

/// `(u · 2^fraction_bits) as i32` in integer arithmetic (truncated toward
/// zero, saturating, NaN → 0), by the argument of [`to_fixed_by_bits`]
/// with 150 − `fraction_bits` for 130.
#[inline]
pub(crate) fn fixed_by_bits(u: f32, fraction_bits: u32) -> i32 {
    let bits = u.to_bits();
    let negative = bits >> 31 != 0;
    let field = (bits >> 23) & 0xff;
    let fraction = bits & 0x7f_ffff;
    if field == 0xff && fraction != 0 {
        return 0; // NaN
    }
    let (m, e) = if field == 0 {
        (fraction, 1)
    } else {
        (fraction | 0x80_0000, field as i32)
    };
    let shift = e - (150 - fraction_bits as i32);
    let magnitude = if shift >= 8 {
        None // ≥ 2³¹ (or infinity): saturates
    } else if shift >= 0 {
        Some(m << shift) // < 2²⁴ · 2⁷ = 2³¹
    } else if shift > -24 {
        Some(m >> -shift)
    } else {
        Some(0)
    };
    match (magnitude, negative) {
        (Some(v), false) => v as i32,
        (Some(v), true) => -(v as i32),
        (None, false) => i32::MAX,
        (None, true) => i32::MIN,
    }
}

#[cfg(test)]
mod tests {
    use super::{fixed_by_bits, to_fixed_by_bits, ARG_BITS};

    /// The bit-level conversion equals the f32 one on every exponent (both
    /// signs, 8,192 fractions each: the ends, and an LCG's between), on
    /// the infinities and on NaNs. Exact integers: no tolerance.
    #[test]
    fn to_fixed_by_bits_equals_the_f32_conversion() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let scale = (1u32 << ARG_BITS) as f32;
        for sign in [0u32, 1 << 31] {
            for field in 0..=255u32 {
                for i in 0..8192u32 {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let fraction = match i {
                        0 => 0,
                        1 => 1,
                        2 => 0x7f_ffff,
                        3 => 0x40_0000,
                        _ => (seed >> 41) as u32,
                    };
                    let u = f32::from_bits(sign | field << 23 | fraction);
                    assert_eq!(fixed_by_bits(u, 16), (u * 65536.0) as i32, "{u:e}");
                    assert_eq!(
                        to_fixed_by_bits(u),
                        (u * scale) as i32,
                        "{u:e} ({:#x})",
                        u.to_bits()
                    );
                }
            }
        }
    }
}
