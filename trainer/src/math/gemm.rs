//! A safe wrapper over `matrixmultiply`'s general matrix multiply.
//!
//! Trainer-only: the blocked kernels (AVX2/FMA chosen at run time) sum in a
//! different order from charm-core's fixed-order `dot`, so their bits differ
//! slightly from the inference step. The trainer verifies its batched path
//! against the plain path built on `ModelView::step` (see the tests of `math::engine`).
//!
//! The fast engine uses it for the products over a whole window when they are
//! large (from 64 rows per shard) and H is above 128: it packs its operands
//! into cache-sized blocks. The small products, those at H up to 128, and the
//! recurrence use the register-tile kernels of `math::kernels`.

use charm_core::Float;

/// A float type with a matrix-multiply kernel: `f32` (sgemm) and `f64` (dgemm).
pub trait Gemm: Float + Send + Sync {
    /// `C = alpha · A · B + beta · C` for an m×k `A`, a k×n `B` and an m×n `C`,
    /// each given as a slice with a row stride and a column stride (elements).
    ///
    /// Panics (a bug in the caller, never user data) if a matrix does not fit
    /// its slice; with `beta == 0` the old contents of `C` are not read.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (&[Self], usize, usize),
        b: (&[Self], usize, usize),
        beta: Self,
        c: (&mut [Self], usize, usize),
    );
}

/// Checks that every element of an r×c matrix with strides (rs, cs) is inside `len`.
fn fits(rows: usize, cols: usize, rs: usize, cs: usize, len: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * rs + (cols - 1) * cs < len
}

macro_rules! impl_gemm {
    ($t:ty, $f:path) => {
        impl Gemm for $t {
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                (a, rsa, csa): (&[Self], usize, usize),
                (b, rsb, csb): (&[Self], usize, usize),
                beta: Self,
                (c, rsc, csc): (&mut [Self], usize, usize),
            ) {
                assert!(fits(m, k, rsa, csa, a.len()), "gemm: A does not fit");
                assert!(fits(k, n, rsb, csb, b.len()), "gemm: B does not fit");
                assert!(fits(m, n, rsc, csc, c.len()), "gemm: C does not fit");
                if m == 0 || n == 0 {
                    return;
                }
                // SAFETY: the asserts above show that every element the kernel
                // reads (A, B) or writes (C) lies inside the borrowed slices; C
                // is borrowed mutably, so it aliases neither A nor B.
                unsafe {
                    $f(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        rsa as isize,
                        csa as isize,
                        b.as_ptr(),
                        rsb as isize,
                        csb as isize,
                        beta,
                        c.as_mut_ptr(),
                        rsc as isize,
                        csc as isize,
                    )
                }
            }
        }
    };
}

impl_gemm!(f32, matrixmultiply::sgemm);
impl_gemm!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_product_with_transposed_operand() {
        // A = [[1,2],[3,4]], B = Aᵀ via strides: A·Aᵀ = [[5,11],[11,25]].
        let a = [1.0f64, 2.0, 3.0, 4.0];
        let mut c = [0.0f64; 4];
        f64::gemm(2, 2, 2, 1.0, (&a, 2, 1), (&a, 1, 2), 0.0, (&mut c, 2, 1));
        assert_eq!(c, [5.0, 11.0, 11.0, 25.0]);
    }
}
