//! f32 multiply and add for cores without an FPU, the same bits as IEEE 754.
//!
//! compiler-builtins' software `__mulsf3` and `__addsf3` handle every case
//! in one general routine (about 115 and 110 instructions a call on a
//! Cortex-M0, whose multiply calls a 64-bit `__aeabi_lmul`). The int8 step
//! and the sampler's `exp` call them thousands of times a character, nearly
//! always on normal numbers with a normal result. [`mul`] and [`add`] take
//! that case in 32-bit integer arithmetic, rounding to nearest, ties to
//! even, as IEEE 754 does, and hand every other case (a zero, subnormal,
//! infinite or NaN operand, a result that would not be normal) to the
//! ordinary `*` and `+`: so they return the bits of `a * b` and `a + b` for
//! every input. On a host or an FPU they are `*` and `+`.

/// `a · b`, the IEEE 754 binary32 product (round to nearest even).
#[inline]
pub(crate) fn mul(a: f32, b: f32) -> f32 {
    #[cfg(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    ))]
    return match mul_by_bits(a, b) {
        Some(p) => p,
        None => by_the_library(a, b, |a, b| a * b),
    };
    #[cfg(not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )))]
    return a * b;
}

/// `a + b`, the IEEE 754 binary32 sum (round to nearest even).
#[inline]
pub(crate) fn add(a: f32, b: f32) -> f32 {
    #[cfg(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    ))]
    return match add_by_bits(a, b) {
        Some(s) => s,
        None => by_the_library(a, b, |a, b| a + b),
    };
    #[cfg(not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )))]
    return a + b;
}

/// `a / 32767`, the IEEE 754 binary32 quotient (round to nearest even):
/// the division of the int8 step by the Q15 full scale.
#[inline]
pub(crate) fn div_by_32767(a: f32) -> f32 {
    #[cfg(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    ))]
    return match div_by_32767_by_bits(a) {
        Some(q) => q,
        None => by_the_library(a, 32767.0, |a, b| a / b),
    };
    #[cfg(not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )))]
    return a / 32767.0;
}

/// `op(a, b)` by compiler-builtins, out of line: LLVM would otherwise
/// compute the library's result on every call (a float operation may be
/// speculated) and pick one by a select, at the library's full cost.
#[cfg(any(
    target_arch = "riscv32",
    all(target_arch = "arm", not(target_abi = "eabihf"))
))]
#[cold]
#[inline(never)]
fn by_the_library(a: f32, b: f32, op: fn(f32, f32) -> f32) -> f32 {
    op(a, b)
}

/// The biased exponent field of `bits` if it is a normal number's (1–254).
#[inline(always)]
fn normal_exponent(bits: u32) -> Option<i32> {
    let field = ((bits >> 23) & 0xff) as i32;
    (1..=254).contains(&field).then_some(field)
}

/// `a · b` when both are normal and so is the rounded product, else `None`.
///
/// Significands `ma, mb ∈ [2²³, 2²⁴)` split in 12-bit halves, so that the
/// four partial products fit in 32 bits (`MULS` on a Cortex-M0, no 64-bit
/// multiply): `p = ma·mb = hi·2²⁴ + lo` with `hi ∈ [2²², 2²⁴)`, `lo < 2²⁴`.
/// The 24 result bits are `hi` (when `hi ≥ 2²³`, exponent + 1) or
/// `hi·2 + lo's top bit`; the bits below decide the rounding against half
/// an ulp, ties to the even significand; a carry out of the rounding moves
/// the exponent up once more.
#[cfg_attr(
    not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )),
    allow(dead_code)
)]
#[inline]
pub(crate) fn mul_by_bits(a: f32, b: f32) -> Option<f32> {
    let (x, y) = (a.to_bits(), b.to_bits());
    let (ea, eb) = (normal_exponent(x)?, normal_exponent(y)?);
    let ma = (x & 0x7f_ffff) | 0x80_0000;
    let mb = (y & 0x7f_ffff) | 0x80_0000;
    let (ah, al) = (ma >> 12, ma & 0xfff);
    let (bh, bl) = (mb >> 12, mb & 0xfff);
    // p = ah·bh·2²⁴ + (ah·bl + al·bh)·2¹² + al·bl
    let mid = ah * bl + al * bh; // < 2²⁵
    let low = al * bl + ((mid & 0xfff) << 12); // < 2²⁵
    let hi = ah * bh + (mid >> 12) + (low >> 24); // p >> 24
    let lo = low & 0xff_ffff; // p mod 2²⁴
                              // p = m·2^s + rest, m ∈ [2²³, 2²⁴), rest < 2^s (s = 24 or 23); as 24-bit fractions of 2^s
    let (mut m, rest, mut e) = if hi >= 1 << 23 {
        (hi, lo, ea + eb - 126)
    } else {
        ((hi << 1) | (lo >> 23), (lo << 1) & 0xff_ffff, ea + eb - 127)
    };
    if e < 1 {
        return None; // subnormal or zero: IEEE rounds it at a coarser step
    }
    let half = 1 << 23;
    if rest > half || (rest == half && m & 1 == 1) {
        m += 1;
        if m == 1 << 24 {
            m >>= 1;
            e += 1;
        }
    }
    if e > 254 {
        return None; // overflow
    }
    let sign = (x ^ y) & 0x8000_0000;
    Some(f32::from_bits(sign | (e as u32) << 23 | (m & 0x7f_ffff)))
}

/// `a + b` when both are normal and so is the rounded sum (or it is an
/// exact `+0`), else `None`.
///
/// With `|a| ≥ |b|` (swapped if not) and `d = ea − eb`: for `d > 25`,
/// `|b| < 2^(ea − 152)`, under a quarter ulp of `a` (and under half the
/// ulp below `a` when `a` is a power of two), so the sum rounds to `a`.
/// Otherwise both significands are taken with 6 more bits (`m·2⁶ < 2³⁰`),
/// `b`'s shifted right by `d`; whether bits were shifted out is the sticky
/// bit `s` (below the rounding point only that matters). A sum is
/// `(ma + mb) | s`, a difference `((ma − mb − s) << k) | s` after the
/// normalizing shift `k`: either way, with `s` the computed value is odd
/// and the true one lies within one unit of it, on the same side of every
/// even threshold, so the 6 low bits round against `0b100000` (ties to
/// even) as the true value would. A subtraction with `d ≤ 1` loses no bit
/// in the shift, so its normalization by many places is exact; with
/// `d ≥ 2` it moves at most one place.
#[cfg_attr(
    not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )),
    allow(dead_code)
)]
#[inline]
pub(crate) fn add_by_bits(a: f32, b: f32) -> Option<f32> {
    let (x, y) = (a.to_bits(), b.to_bits());
    let (ex, ey) = (normal_exponent(x)?, normal_exponent(y)?);
    // |a| ≥ |b| by their bits (same order as the magnitudes)
    let (x, y, ea, eb) = if x & 0x7fff_ffff >= y & 0x7fff_ffff {
        (x, y, ex, ey)
    } else {
        (y, x, ey, ex)
    };
    let d = ea - eb;
    if d > 25 {
        return Some(f32::from_bits(x));
    }
    let ma = ((x & 0x7f_ffff) | 0x80_0000) << 6;
    let mb = ((y & 0x7f_ffff) | 0x80_0000) << 6;
    let shifted = mb >> d;
    let sticky = u32::from(shifted << d != mb);
    let mut e = ea;
    let mut m = if (x ^ y) >> 31 == 0 {
        // the true sum lies strictly between two integers, one of them m (odd)
        let sum = (ma + shifted) | sticky; // < 2³¹
        if sum >= 1 << 30 {
            e += 1;
            (sum >> 1) | (sum & 1)
        } else {
            sum
        }
    } else {
        // the true difference lies in (diff, diff + 1) when sticky
        let diff = ma - shifted - sticky; // > 0 unless exact: |a| ≥ |b|
        if diff == 0 {
            return Some(0.0); // exact cancellation: +0 when rounding to nearest
        }
        let shift = places_to_bit_29(diff); // 0 or 1 if sticky
        e -= shift as i32;
        (diff << shift) | sticky
    };
    if e < 1 {
        return None; // subnormal: IEEE rounds it at a coarser step
    }
    // m ∈ [2²⁹, 2³⁰): 24 significand bits over 6 rounding bits; with a
    // sticky bit m is odd and on the same side of every even threshold as
    // the true value, so the comparisons below decide as they would on it
    let rest = m & 0x3f;
    m >>= 6;
    if rest > 0x20 || (rest == 0x20 && m & 1 == 1) {
        m += 1;
        if m == 1 << 24 {
            m >>= 1;
            e += 1;
        }
    }
    if e > 254 {
        return None; // overflow
    }
    Some(f32::from_bits(
        (x & 0x8000_0000) | (e as u32) << 23 | (m & 0x7f_ffff),
    ))
}

/// `a / 32767` when `a` and the rounded quotient are normal, else `None`.
///
/// With `t = 2·ma < 2²⁵` (`ma` the significand), `ma·2¹⁶ / 32767 =
/// t·2¹⁵/32767 = t + t/32767`, and since `t/32767 − t/32768 < 1` for
/// `t < 2³⁰`, its integer part is `Q = t + ⌊t/2¹⁵⌋` or one more, with the
/// remainder `r = (t mod 2¹⁵) + ⌊t/2¹⁵⌋` (less 32767 when it reaches
/// 32767, and then `Q + 1`): exact, with no division. `Q ∈ [2²⁴, 2²⁵ + 2¹⁰)`
/// gives 24 significand bits over one or two more, `r ≠ 0` the sticky bit.
#[cfg_attr(
    not(any(
        target_arch = "riscv32",
        all(target_arch = "arm", not(target_abi = "eabihf"))
    )),
    allow(dead_code)
)]
#[inline]
pub(crate) fn div_by_32767_by_bits(a: f32) -> Option<f32> {
    let x = a.to_bits();
    let e = normal_exponent(x)?;
    let t = ((x & 0x7f_ffff) | 0x80_0000) << 1;
    let high = t >> 15;
    let (mut q, mut r) = (t + high, (t & 0x7fff) + high);
    if r >= 32767 {
        q += 1;
        r -= 32767;
    }
    // a / 32767 = Q·2^(e − 166) (plus r/32767 of the last place)
    let (mut m, round, below, mut e) = if q >= 1 << 25 {
        (q >> 2, q & 2 != 0, q & 1 != 0 || r != 0, e - 14)
    } else {
        (q >> 1, q & 1 != 0, r != 0, e - 15)
    };
    if e < 1 {
        return None; // subnormal: IEEE rounds it at a coarser step
    }
    if round && (below || m & 1 == 1) {
        m += 1;
        if m == 1 << 24 {
            m >>= 1;
            e += 1;
        }
    }
    Some(f32::from_bits(
        (x & 0x8000_0000) | (e as u32) << 23 | (m & 0x7f_ffff),
    ))
}

/// How far left `v ∈ [1, 2³⁰)` must move for its top bit to be bit 29:
/// `leading_zeros − 2` by halving steps (no CLZ on the Cortex-M0 or RV32IMAC,
/// where `leading_zeros` is a call to `__clzsi2`).
#[inline(always)]
fn places_to_bit_29(v: u32) -> u32 {
    let mut places = 0;
    let mut v = v;
    for step in [16, 8, 4, 2, 1] {
        if v < 1 << (30 - step) {
            v <<= step;
            places += step;
        }
    }
    places
}

#[cfg(test)]
mod tests {
    use super::{add_by_bits, mul_by_bits};

    /// Operands that exercise the edges: every exponent field, the ends of
    /// the fractions, and an LCG's bits between; pairs near each other so
    /// that sums cancel and products round on ties.
    fn operands(n: usize, mut seed: u64) -> impl Iterator<Item = (f32, f32)> {
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 32) as u32
        };
        (0..n).map(move |i| {
            let x = next();
            let y = match i % 6 {
                0 => next(),
                // near x: cancellation and alignment by a few places
                1 => x ^ (next() & 0x8000_00ff) ^ ((next() % 3) << 23),
                2 => (x & 0xff80_0000) ^ (next() & 0x8000_0000),
                3 => x ^ 0x8000_0000,
                // exponents within 30 of each other
                4 => {
                    (x & 0x807f_ffff)
                        | (((x >> 23) & 0xff)
                            .wrapping_add(next() % 60)
                            .wrapping_sub(30)
                            & 0xff)
                            << 23
                }
                _ => (next() & 0x8000_0000) | (next() % 30) << 23 | (next() & 0x7f_ffff),
            };
            let x = if i % 7 == 0 { x & 0xff80_0000 } else { x };
            (f32::from_bits(x), f32::from_bits(y))
        })
    }

    /// Where the integer paths answer, they give the bits of `*` and `+`
    /// (exact: no tolerance); they answer for all normal cases whose result
    /// is normal.
    #[test]
    fn equal_ieee_on_the_cases_they_take() {
        let (mut muls, mut adds) = (0u32, 0u32);
        for (a, b) in operands(4_000_000, 0x5851_f42d_4c95_7f2d) {
            if let Some(p) = mul_by_bits(a, b) {
                assert_eq!(p.to_bits(), (a * b).to_bits(), "{a:e} * {b:e}");
                muls += 1;
            } else if a.is_normal() && b.is_normal() {
                assert!(
                    !(a * b).is_normal(),
                    "{a:e} * {b:e} = {:e} was left out",
                    a * b
                );
            }
            if let Some(s) = add_by_bits(a, b) {
                assert_eq!(s.to_bits(), (a + b).to_bits(), "{a:e} + {b:e}");
                adds += 1;
            } else if a.is_normal() && b.is_normal() {
                let s = a + b;
                assert!(
                    !s.is_normal() && s != 0.0,
                    "{a:e} + {b:e} = {s:e} was left out"
                );
            }
        }
        // most random pairs of normal numbers take the integer paths
        assert!(muls > 1_000_000 && adds > 2_000_000, "{muls} {adds}");
    }

    /// The quotient by 32767 has the bits of `/` on every exponent (both
    /// signs, 20,000 significands each: the ends and an LCG's between).
    #[test]
    fn div_by_32767_equals_ieee() {
        let mut v = 0x9e37_79b9u32;
        for sign in [0u32, 1 << 31] {
            for field in 0..=255u32 {
                for i in 0..20_000u32 {
                    v = v.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let fraction = match i {
                        0 => 0,
                        1 => 0x7f_ffff,
                        2..=600 => 0x7f_ffff - (i - 2),
                        _ => v >> 9,
                    };
                    let a = f32::from_bits(sign | field << 23 | fraction);
                    let expected = a / 32767.0;
                    match super::div_by_32767_by_bits(a) {
                        Some(q) => assert_eq!(q.to_bits(), expected.to_bits(), "{a:e}"),
                        None => assert!(
                            !a.is_normal() || !expected.is_normal(),
                            "{a:e} was left out"
                        ),
                    }
                }
            }
        }
    }

    /// The normalizing shift is `leading_zeros − 2` for every `v < 2³⁰`
    /// (sampled: every power of two and its neighbours, and an LCG).
    #[test]
    fn places_to_bit_29_is_leading_zeros_minus_2() {
        let mut v = 0x1234_5678u32;
        for bit in 0..30 {
            for x in [1u32 << bit, (1 << bit) + 1, (2 << bit) - 1] {
                assert_eq!(super::places_to_bit_29(x), x.leading_zeros() - 2, "{x:#x}");
            }
        }
        for _ in 0..100_000 {
            v = v.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let x = (v >> 2).max(1);
            assert_eq!(super::places_to_bit_29(x), x.leading_zeros() - 2, "{x:#x}");
        }
    }

    /// Ties: products and sums exactly half-way between two f32 round to
    /// the even one.
    #[test]
    fn ties_go_to_even() {
        // (1 + 2⁻²³)·(1 + 2⁻¹) = 1 + 2⁻¹ + 2⁻²³ + 2⁻²⁴: a tie above 1.5 + 2⁻²³ (odd) → 1.5 + 2⁻²²
        let a = f32::from_bits(0x3f80_0001);
        assert_eq!(
            mul_by_bits(a, 1.5).map(f32::to_bits),
            Some((a * 1.5).to_bits())
        );
        // 1 + 2⁻²⁴: a tie between 1 and 1 + 2⁻²³ → 1
        let half_ulp = f32::from_bits(0x3380_0000);
        assert_eq!(add_by_bits(1.0, half_ulp), Some(1.0));
        assert_eq!(
            add_by_bits(a, half_ulp).map(f32::to_bits),
            Some((a + half_ulp).to_bits())
        );
    }
}
