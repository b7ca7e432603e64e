//! 64-bit products of 32-bit integers, exact, on a core whose multiplier
//! keeps the low 32 bits only.
//!
//! Thumb-1 (the Cortex-M0 and M0+) has one multiply, MULS, 32 × 32 → the
//! low 32 bits; an `i64`/`u64` product there is a call to compiler-builtins'
//! `__aeabi_lmul`, about 40 instructions. The fixed int8 step and sampler
//! need two such products a row or a character of the vocabulary, and both
//! have operands narrow enough that the product can be assembled from four
//! 16- or 12-bit partial products, each exact in 32 bits: about 15
//! instructions. Every other core multiplies 32 × 32 → 64 in one or two
//! instructions (SMULL/UMULL on Armv7-M, MUL and MULH on RV32IM), and takes
//! the plain product. Both give the same integers (each function below is
//! tested against the 64-bit product).

/// The core's only multiply keeps the low 32 bits (Thumb-1, as the
/// firmware and the C API build it for the Cortex-M0 and M0+; the Thumb-1
/// loops of `int8::row_pairs` run on the same condition).
const NARROW_MULTIPLIER: bool = cfg!(charm_thumb1);

/// `⌊acc·mult / 2³²⌋`, the high word of the 64-bit product, for
/// `0 ≤ mult < 2³¹` ([`high_word_by_halves`] where the multiplier is narrow).
#[inline]
pub(crate) fn high_word(acc: i32, mult: i32) -> i32 {
    if NARROW_MULTIPLIER {
        high_word_by_halves(acc, mult)
    } else {
        ((i64::from(acc) * i64::from(mult)) >> 32) as i32
    }
}

/// [`high_word`] from four 16×16-bit products, each exact in 32 bits.
/// With `acc = a₁·2¹⁶ + a₀` (`a₁ = acc >> 16` signed, `a₀` in [0, 2¹⁶)) and
/// `mult = m₁·2¹⁶ + m₀` (`m₁` in [0, 2¹⁵), `m₀` in [0, 2¹⁶)):
///
/// ```text
/// acc·mult = a₁m₁·2³² + (a₁m₀ + a₀m₁)·2¹⁶ + a₀m₀
/// ⌊acc·mult / 2³²⌋ = a₁m₁ + (a₁m₀ >> 16) + ⌊(a₀m₁ + (a₀m₀ >> 16) + (a₁m₀ mod 2¹⁶)) / 2¹⁶⌋
/// ```
///
/// (nested floors compose, and `t = (t >> 16)·2¹⁶ + t mod 2¹⁶` for the
/// signed `a₁m₀`). Bounds: `|a₁m₀| ≤ 2¹⁵·(2¹⁶ − 1) < 2³¹`, `a₀m₁ < 2³¹`,
/// `a₀m₀ < 2³²` (u32), the bracketed sum `< 2³¹ + 2¹⁷ < 2³²` (u32), and the
/// result is the true high word, so no step overflows, for every `acc` and
/// every `mult` in range.
#[inline]
pub(crate) fn high_word_by_halves(acc: i32, mult: i32) -> i32 {
    let (a1, a0) = (acc >> 16, (acc as u32) & 0xffff);
    let (m1, m0) = ((mult as u32) >> 16, (mult as u32) & 0xffff);
    let low = a0 * m0; // < 2³²
    let cross = a1 * m0 as i32; // |·| < 2³¹
    let carry = a0 * m1 + (low >> 16) + (cross as u32 & 0xffff); // < 2³²
    a1 * m1 as i32 + (cross >> 16) + (carry >> 16) as i32
}

/// `⌊a·b / 2³²⌋` for any `a`, `b` ([`high_word_unsigned_by_halves`] where
/// the multiplier is narrow; one UMULL or MULHU elsewhere).
#[inline]
pub(crate) fn high_word_unsigned(a: u32, b: u32) -> u32 {
    if NARROW_MULTIPLIER {
        high_word_unsigned_by_halves(a, b)
    } else {
        ((u64::from(a) * u64::from(b)) >> 32) as u32
    }
}

/// [`high_word_unsigned`] from four 16×16-bit products: with
/// `a = a₁·2¹⁶ + a₀` and `b = b₁·2¹⁶ + b₀` (all four in [0, 2¹⁶)),
///
/// ```text
/// a·b = a₁b₁·2³² + (a₁b₀ + a₀b₁)·2¹⁶ + a₀b₀
/// ⌊a·b / 2³²⌋ = a₁b₁ + (s >> 16) + (((s mod 2¹⁶) + a₀b₁) >> 16),  s = a₁b₀ + (a₀b₀ >> 16)
/// ```
///
/// Bounds: `s ≤ (2¹⁶ − 1)² + 2¹⁶ − 1 < 2³²`, `(s mod 2¹⁶) + a₀b₁ < 2¹⁶ +
/// (2¹⁶ − 1)² < 2³²`, and the result is the true high word: no step
/// overflows.
#[inline]
pub(crate) fn high_word_unsigned_by_halves(a: u32, b: u32) -> u32 {
    let (a1, a0) = (a >> 16, a & 0xffff);
    let (b1, b0) = (b >> 16, b & 0xffff);
    let s = a1 * b0 + ((a0 * b0) >> 16);
    a1 * b1 + (s >> 16) + (((s & 0xffff) + a0 * b1) >> 16)
}

/// `d·m` for `d ≤ 2²⁴` and `m < 2²⁴` (so below 2⁴⁸), exactly
/// ([`product_by_twelves`] where the multiplier is narrow).
#[inline]
pub(crate) fn product_below_2_48(d: u32, m: u32) -> u64 {
    if NARROW_MULTIPLIER {
        product_by_twelves(d, m)
    } else {
        u64::from(d) * u64::from(m)
    }
}

/// [`product_below_2_48`] from 12-bit halves: with `d = d₁·2¹² + d₀`
/// (`d₁ ≤ 2¹²`, `d₀ < 2¹²`) and `m = m₁·2¹² + m₀` (both below 2¹²),
/// `d·m = d₁m₁·2²⁴ + (d₁m₀ + d₀m₁)·2¹² + d₀m₀`; every partial product is at
/// most `2¹²·(2¹² − 1) < 2²⁴`, their middle sum below 2²⁵, all exact in 32
/// bits, and the 64-bit shifts by constants and adds are a few instructions.
#[inline]
pub(crate) fn product_by_twelves(d: u32, m: u32) -> u64 {
    let (d1, d0) = (d >> 12, d & 0xfff);
    let (m1, m0) = (m >> 12, m & 0xfff);
    let middle = u64::from(d1 * m0 + d0 * m1);
    (u64::from(d1 * m1) << 24) + (middle << 12) + u64::from(d0 * m0)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{high_word_by_halves, high_word_unsigned_by_halves, product_by_twelves};
    use crate::Rng;

    /// The high word from 16-bit halves is the i64 product's, exactly: at
    /// the ends and around every power of two of both factors, and over a
    /// million pairs of the crate's `Rng`.
    #[test]
    fn high_word_by_halves_is_the_high_word() {
        let check = |acc: i32, mult: i32| {
            let expected = ((i64::from(acc) * i64::from(mult)) >> 32) as i32;
            assert_eq!(high_word_by_halves(acc, mult), expected, "{acc} · {mult}");
        };
        let mut edges = std::vec![i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX - 1, i32::MAX];
        for bit in 0..31 {
            let p = 1i32 << bit;
            edges.extend([p - 1, p, p + 1, -p - 1, -p, -p + 1]);
        }
        for &acc in &edges {
            for &mult in edges.iter().filter(|&&m| m >= 0) {
                check(acc, mult);
            }
        }
        let mut rng = Rng::new(1);
        for _ in 0..1_000_000 {
            let bits = rng.next_u64();
            check(bits as i32, (bits >> 33) as i32);
        }
    }

    /// The unsigned high word from 16-bit halves is the u64 product's,
    /// exactly: around every power of two of both factors (the ends
    /// included), and over a million pairs of the crate's `Rng`.
    #[test]
    fn high_word_unsigned_by_halves_is_the_high_word() {
        let check = |a: u32, b: u32| {
            let expected = ((u64::from(a) * u64::from(b)) >> 32) as u32;
            assert_eq!(high_word_unsigned_by_halves(a, b), expected, "{a} · {b}");
        };
        let mut edges = std::vec![0u32, u32::MAX];
        for bit in 0..32 {
            let p = 1u32 << bit;
            edges.extend([p - 1, p, p.wrapping_add(1)]);
        }
        for &a in &edges {
            for &b in &edges {
                check(a, b);
            }
        }
        let mut rng = Rng::new(3);
        for _ in 0..1_000_000 {
            let bits = rng.next_u64();
            check(bits as u32, (bits >> 32) as u32);
        }
    }

    /// The product from 12-bit halves is the u64 product, exactly: at the
    /// ends (`d` up to 2²⁴ itself), around every power of two, and over a
    /// million pairs of the crate's `Rng`.
    #[test]
    fn product_by_twelves_is_the_product() {
        let check = |d: u32, m: u32| {
            assert_eq!(
                product_by_twelves(d, m),
                u64::from(d) * u64::from(m),
                "{d} · {m}"
            );
        };
        let mut edges = std::vec![0u32, 1, (1 << 24) - 1];
        for bit in 0..24 {
            let p = 1u32 << bit;
            edges.extend([p - 1, p, p + 1]);
        }
        for &d in edges.iter().chain(&[1 << 24]) {
            for &m in &edges {
                check(d, m);
            }
        }
        let mut rng = Rng::new(2);
        for _ in 0..1_000_000 {
            let bits = rng.next_u64();
            check(
                (bits as u32) % ((1 << 24) + 1),
                ((bits >> 32) as u32) & 0xff_ffff,
            );
        }
    }
}
