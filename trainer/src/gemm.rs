//! A safe wrapper over `matrixmultiply`'s general matrix multiply.
//!
//! Trainer-only: the blocked kernels (AVX2/FMA chosen at run time) sum in a
//! different order from charm-core's fixed-order `dot`, so their bits differ
//! slightly from the inference step. The trainer verifies its batched path
//! against the plain path built on `ModelView::step` (see `fast.rs` tests).

use charm_core::Float;

/// A float type with a matrix-multiply kernel: `f32` (sgemm) and `f64` (dgemm).
pub trait Gemm: Float + Send + Sync + SmallM {
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

/// `out[r][c] = Σ_k a[r][k] · w[k][c]` for `r < m`, `c < n`, `k < kk`, with all
/// three matrices row-major (row strides `lda`, `ldw`, `ldo`; unit column stride).
///
/// For the products with few rows (the batch of one shard) that the recurrence
/// needs once per time step: `matrixmultiply` packs the whole weight matrix on
/// every call, which costs more than the multiplication when `m` is small. This
/// kernel reads `w` in place: blocks of 4 rows × 16 columns of `out` are kept in
/// registers while `k` runs (an outer-product kernel). On x86-64 with AVX2 and
/// FMA (detected at run time) it is compiled with fused multiply-adds; that
/// changes rounding, which is allowed for trainer-only kernels.
#[allow(clippy::too_many_arguments)]
pub fn small_m_gemm<F: Gemm>(
    m: usize,
    kk: usize,
    n: usize,
    (a, lda): (&[F], usize),
    (w, ldw): (&[F], usize),
    (out, ldo): (&mut [F], usize),
) {
    assert!(fits(m, kk, lda, 1, a.len()), "small_m_gemm: A does not fit");
    assert!(fits(kk, n, ldw, 1, w.len()), "small_m_gemm: W does not fit");
    assert!(
        fits(m, n, ldo, 1, out.len()),
        "small_m_gemm: out does not fit"
    );
    F::small_m_dispatch(m, kk, n, (a, lda), (w, ldw), (out, ldo));
}

/// Which float types have a fused-multiply-add build of [`small_m_gemm`].
pub trait SmallM: Sized {
    /// Runs the best available build of the kernel (shapes already checked).
    fn small_m_dispatch(
        m: usize,
        kk: usize,
        n: usize,
        a: (&[Self], usize),
        w: (&[Self], usize),
        out: (&mut [Self], usize),
    );
}

/// Portable kernel: `out[r][c] = Σ_k a[r][k]·w[k][c]` for rows `rows`, columns `cols`.
fn small_m_scalar<F: Float>(
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    kk: usize,
    (a, lda): (&[F], usize),
    (w, ldw): (&[F], usize),
    (out, ldo): (&mut [F], usize),
) {
    for r in rows {
        let o = &mut out[r * ldo + cols.start..r * ldo + cols.end];
        o.fill(F::ZERO);
        for (k, &x) in a[r * lda..r * lda + kk].iter().enumerate() {
            for (s, &wv) in o
                .iter_mut()
                .zip(&w[k * ldw + cols.start..k * ldw + cols.end])
            {
                *s += x * wv;
            }
        }
    }
}

impl SmallM for f64 {
    fn small_m_dispatch(
        m: usize,
        kk: usize,
        n: usize,
        a: (&[f64], usize),
        w: (&[f64], usize),
        out: (&mut [f64], usize),
    ) {
        small_m_scalar(0..m, 0..n, kk, a, w, out);
    }
}

impl SmallM for f32 {
    fn small_m_dispatch(
        m: usize,
        kk: usize,
        n: usize,
        a: (&[f32], usize),
        w: (&[f32], usize),
        out: (&mut [f32], usize),
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::sync::OnceLock;
            static FMA: OnceLock<bool> = OnceLock::new();
            if *FMA
                .get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
            {
                let (m4, n16) = (m / 4 * 4, n / 16 * 16);
                // SAFETY: the CPU supports AVX2 and FMA (checked just above), and
                // `small_m_gemm` checked that the m×kk, kk×n and m×n matrices fit
                // their slices, which covers every element the kernel touches.
                unsafe { small_m_fma(m4, kk, n16, a, w, (out.0.as_mut_ptr(), out.1)) };
                small_m_scalar(0..m4, n16..n, kk, a, w, (&mut *out.0, out.1));
                small_m_scalar(m4..m, 0..n, kk, a, w, out);
                return;
            }
        }
        small_m_scalar(0..m, 0..n, kk, a, w, out);
    }
}

/// AVX2 + FMA: blocks of 4 rows × 16 columns of `out` (8 registers) stay in
/// registers while `k` runs; `m` a multiple of 4, `n` a multiple of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_m_fma(
    m: usize,
    kk: usize,
    n: usize,
    (a, lda): (&[f32], usize),
    (w, ldw): (&[f32], usize),
    (out, ldo): (*mut f32, usize),
) {
    use std::arch::x86_64::*;
    const KB: usize = 128; // a 128×16 tile of W (8 kB) stays in L1 across all row blocks
    let (ap, wp) = (a.as_ptr(), w.as_ptr());
    for c0 in (0..n).step_by(16) {
        for k0 in (0..kk).step_by(KB) {
            let k1 = (k0 + KB).min(kk);
            for r0 in (0..m).step_by(4) {
                let mut acc = [_mm256_setzero_ps(); 8];
                if k0 > 0 {
                    for r in 0..4 {
                        let o = out.add((r0 + r) * ldo + c0);
                        acc[2 * r] = _mm256_loadu_ps(o);
                        acc[2 * r + 1] = _mm256_loadu_ps(o.add(8));
                    }
                }
                for k in k0..k1 {
                    let wk = wp.add(k * ldw + c0);
                    let (w0, w1) = (_mm256_loadu_ps(wk), _mm256_loadu_ps(wk.add(8)));
                    for r in 0..4 {
                        let x = _mm256_set1_ps(*ap.add((r0 + r) * lda + k));
                        acc[2 * r] = _mm256_fmadd_ps(x, w0, acc[2 * r]);
                        acc[2 * r + 1] = _mm256_fmadd_ps(x, w1, acc[2 * r + 1]);
                    }
                }
                for r in 0..4 {
                    let o = out.add((r0 + r) * ldo + c0);
                    _mm256_storeu_ps(o, acc[2 * r]);
                    _mm256_storeu_ps(o.add(8), acc[2 * r + 1]);
                }
            }
        }
    }
}

#[cfg(test)]
mod small_tests {
    use super::*;

    #[test]
    fn small_m_gemm_matches_matrixmultiply() {
        for (m, kk, n) in [(1, 1, 1), (5, 7, 19), (16, 33, 48), (4, 16, 16)] {
            let a: Vec<f32> = (0..m * kk)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
                .collect();
            let w: Vec<f32> = (0..kk * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1)
                .collect();
            let mut c1 = vec![0.0f32; m * n];
            let mut c2 = vec![9.0f32; m * n];
            f32::gemm(m, kk, n, 1.0, (&a, kk, 1), (&w, n, 1), 0.0, (&mut c1, n, 1));
            small_m_gemm(m, kk, n, (&a, kk), (&w, n), (&mut c2, n));
            for (x, y) in c1.iter().zip(&c2) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
                    "{m}x{kk}x{n}: {x} vs {y}"
                );
            }
        }
    }
}
