//! Fixed-order kernels on slices.
//!
//! Floating-point addition is not associative, so "the same sum" computed in a
//! different order gives different bits. Every reduction here fixes its order:
//! [`LANES`] independent accumulators, element `i` going to lane `i % LANES`,
//! then the pairwise tree `((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7))`. That order
//! is what a SIMD unit does naturally, so LLVM vectorizes these loops on x86-64
//! (the lanes become one 8-wide or two 4-wide registers) without being allowed
//! to change the result, and the Cortex-M4F, which runs them lane by lane, gets
//! the same bits. No fused multiply-add is ever formed (Rust does not contract).
//!
//! Inner loops use `chunks_exact`, so there are no bounds checks in them.

use crate::Float;

/// Width of the fixed accumulator set, and the unit rows are padded to.
pub const LANES: usize = 8;

/// `n` rounded up to a multiple of [`LANES`]: the stored length of a weight row.
///
/// ```
/// assert_eq!(charm_core::padded(100), 104);
/// assert_eq!(charm_core::padded(128), 128);
/// ```
#[inline]
pub const fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// Dot product `Σ a[i]·b[i]` in the fixed lane order described in the module docs.
///
/// Over `min(a.len(), b.len())` elements; a tail shorter than [`LANES`] goes to
/// lanes `0..tail`, exactly as if the rows were zero-padded.
///
/// ```
/// use charm_core::dot;
/// assert_eq!(dot(&[1.0f32, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline]
pub fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [F::ZERO; LANES];
    let a_chunks = a.chunks_exact(LANES);
    let b_chunks = b.chunks_exact(LANES);
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += ca[lane] * cb[lane];
        }
    }
    for ((lane, &x), &y) in acc.iter_mut().zip(a_tail).zip(b_tail) {
        *lane += x * y;
    }
    reduce(&acc)
}

/// The fixed pairwise reduction of the [`LANES`] accumulators.
#[inline(always)]
fn reduce<F: Float>(acc: &[F; LANES]) -> F {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// Matrix-vector product plus bias: `out[r] = dot(w[r·stride ..], x) + bias[r]`.
///
/// `w` is row-major with `stride` elements per row (rows padded to a multiple
/// of [`LANES`]; [`padded`]); only the first `x.len()` columns of a row are read.
/// Computes `out.len()` rows; rows beyond what `w` or `bias` hold are left as
/// they are (callers pass matching shapes; [`crate::ModelView`] checks them).
#[inline]
pub fn matvec_bias<F: Float>(out: &mut [F], w: &[F], stride: usize, x: &[F], bias: &[F]) {
    if stride == 0 {
        return;
    }
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if let (Some(out), Some(w), Some(x), Some(bias)) = (
        F::as_f32s_mut(out),
        F::as_f32s(w),
        F::as_f32s(x),
        F::as_f32s(bias),
    ) {
        fpu::matvec_bias(out, w, stride, x, bias);
        return;
    }
    for ((o, row), &b) in out.iter_mut().zip(w.chunks_exact(stride)).zip(bias) {
        *o = dot(row, x) + b;
    }
}

/// `y += a · x`, element-wise over the shorter of the two (no reduction, so no
/// order question). The trainer's backward pass uses it for rank-1 updates.
#[inline]
pub fn axpy<F: Float>(y: &mut [F], a: F, x: &[F]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[allow(unsafe_code)]
mod fpu;

#[cfg(all(feature = "helium", target_arch = "arm"))]
#[allow(unsafe_code)]
pub(crate) mod helium_float;
