//! The float type the model runs in.
//!
//! One forward step serves two masters: `f32` on devices and when sampling, and
//! `f64` in the trainer's numerical gradient check, which must exercise the very
//! code it checks. [`Float`] is the small set of operations the step, softmax and
//! loss need; `tanh` is the only place the two types deliberately differ.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real number type the model can run in: implemented for `f32` and `f64`.
pub trait Float:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;

    /// Hyperbolic tangent. `f32` uses the branch-free rational approximation
    /// [`crate::tanh_f32`] (max abs error 4.8e-7); `f64` uses `libm::tanh`.
    fn tanh(self) -> Self;
    /// e^self (`libm::expf` / `libm::exp`: pure software, identical on every target).
    fn exp(self) -> Self;
    /// The logistic sigmoid `1 / (1 + e^(−self))`. `f32` uses
    /// [`crate::sigmoid_f32`] (built on [`crate::exp_f32`]; max abs error
    /// 1.03e-7); `f64` the formula with `libm::exp`.
    #[inline(always)]
    fn sigmoid(self) -> Self {
        Self::ONE / (Self::ONE + (-self).exp())
    }
    /// Natural logarithm (`libm::logf` / `libm::log`).
    fn ln(self) -> Self;
    /// Conversion from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Conversion to `f64`, exact.
    fn to_f64(self) -> f64;
    /// `true` unless the value is NaN or infinite.
    fn is_finite(self) -> bool;
    /// The same slice as `f32`s when `Self` is `f32`: how the kernels pick
    /// their f32-only path on an FPU core ([`crate::matvec_bias`]).
    #[doc(hidden)]
    #[inline(always)]
    fn as_f32s(values: &[Self]) -> Option<&[f32]> {
        let _ = values;
        None
    }
    /// [`Float::as_f32s`] for a mutable slice.
    #[doc(hidden)]
    #[inline(always)]
    fn as_f32s_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        let _ = values;
        None
    }
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn tanh(self) -> Self {
        crate::tanh_f32(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        libm::expf(self)
    }
    #[inline(always)]
    fn sigmoid(self) -> Self {
        crate::sigmoid_f32(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        libm::logf(self)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline(always)]
    fn as_f32s(values: &[Self]) -> Option<&[f32]> {
        Some(values)
    }
    #[inline(always)]
    fn as_f32s_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        Some(values)
    }
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn tanh(self) -> Self {
        libm::tanh(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        libm::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        libm::log(self)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}
