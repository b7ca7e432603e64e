//! A seeded, deterministic random number generator.

/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit counter passed through a
/// bijective mixer. Only integer adds, xors, shifts and multiplies, so the same
/// seed gives the same stream on every target; no allocation, 8 bytes of state.
///
/// ```
/// let mut a = charm_core::Rng::new(1);
/// let mut b = charm_core::Rng::new(1);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let u = a.next_f32();
/// assert!((0.0..1.0).contains(&u));
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose stream is determined by `seed` alone.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 uniformly distributed bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits of resolution (every value exact in f32).
    pub fn next_f32(&mut self) -> f32 {
        // The top 24 bits, converted from a u32: the same value as from the
        // u64 (exact either way), and on a 32-bit FPU one VCVT instead of
        // compiler-builtins' 64-bit __aeabi_ul2f.
        ((self.next_u64() >> 40) as u32) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 bits of resolution.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}
