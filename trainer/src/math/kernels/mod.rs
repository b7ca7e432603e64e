//! Trainer-only compute kernels of the fast engine: small matrix products,
//! the softmax + cross-entropy rows, and the fused clip + Adagrad update.
//!
//! For `f32` on x86-64 with AVX2 and FMA (detected at run time) these are
//! hand-written with intrinsics; elsewhere, and always for `f64` (the numerical
//! gradient check), they are plain loops. They are allowed to differ from
//! charm-core's bit-exact inference kernels (DESIGN.md invariant 2): fused
//! multiply-adds and a different summation order in the products, and a
//! polynomial `exp` in the softmax (relative error below 3e-7, tested here).
//! The fast engine is checked against the plain path (`math::reference`,
//! built on `ModelView::step`) in the tests of `math::engine`.

use crate::math::gemm::Gemm;
use charm_core::Float;

/// Checks that every element of an r×c matrix with strides (rs, cs) is inside
/// `len`: its last element, at `(r-1)·rs + (c-1)·cs`, is below `len` (computed
/// without overflow: a stride too large to address is no fit).
fn fits(rows: usize, cols: usize, rs: usize, cs: usize, len: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .zip((cols - 1).checked_mul(cs))
        .and_then(|(r, c)| r.checked_add(c));
    last.is_some_and(|last| last < len)
}

/// The checks every build of [`Kernels::mm_dir`] makes first: asserts that
/// A (m×k, strides `rsa`, `csa`), B (k×n, row stride `ldb`) and C (m×n, row
/// stride `ldc`) fit their slices, and computes the empty products itself
/// (nothing when m or n is 0; C = 0, or C unchanged with `accumulate`, when
/// k is 0). Returns whether a product with m, k, n ≥ 1 is left to compute.
#[allow(clippy::too_many_arguments)]
fn mm_checked_and_left<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: (&[F], usize, usize),
    b: (&[F], usize),
    c: (&mut [F], usize),
    accumulate: bool,
) -> bool {
    assert!(fits(m, k, a.1, a.2, a.0.len()), "mm: A does not fit");
    assert!(fits(k, n, b.1, 1, b.0.len()), "mm: B does not fit");
    assert!(fits(m, n, c.1, 1, c.0.len()), "mm: C does not fit");
    if m == 0 || n == 0 {
        return false;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c.0[r * c.1..r * c.1 + n].fill(F::ZERO);
            }
        }
        return false;
    }
    true
}

/// The checks every build of [`Kernels::mm_panels`] makes first: A and C fit
/// their slices, and the panels hold ceil(n/16)·k·16 values.
fn assert_panels_fit<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: (&[F], usize, usize),
    panels: &[F],
    c: (&[F], usize),
) {
    assert!(fits(m, k, a.1, a.2, a.0.len()), "mm_panels: A does not fit");
    let needed = (n.div_ceil(PANEL) * PANEL).checked_mul(k);
    assert!(
        needed.is_some_and(|needed| panels.len() >= needed),
        "mm_panels: B does not fit"
    );
    assert!(fits(m, n, c.1, 1, c.0.len()), "mm_panels: C does not fit");
}

/// Columns per panel of [`Kernels::pack_panels`]: two AVX2 vectors.
pub const PANEL: usize = 16;

/// The environment variable that forces the portable kernels: set to `1`,
/// the fast engine skips its AVX2 + FMA builds even on a CPU that has them
/// (the test command runs the trainer's tests once this way, so that a CPU
/// without AVX2 is covered too).
pub const PORTABLE_ENV: &str = "CHARM_PORTABLE_KERNELS";

/// Whether the fast engine runs the AVX2 + FMA builds of the kernels: the
/// CPU has both and [`PORTABLE_ENV`] is not `1`. Decided once per process.
#[inline]
pub fn has_avx2_fma() -> bool {
    static USE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USE.get_or_init(|| {
        let forced_portable = std::env::var_os(PORTABLE_ENV).is_some_and(|v| v == "1");
        cpu_has_avx2_fma() && !forced_portable
    })
}

/// Whether this CPU has AVX2 and FMA.
fn cpu_has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The kernels the fast engine runs on this machine, in words.
pub fn kernels_in_use() -> &'static str {
    if has_avx2_fma() {
        "AVX2+FMA kernels"
    } else if cpu_has_avx2_fma() {
        "portable kernels, forced by CHARM_PORTABLE_KERNELS=1"
    } else {
        "portable kernels"
    }
}

/// Result of [`Kernels::adagrad_clip`]: whether everything stayed finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finite {
    /// Every gradient entry (before clipping) was finite.
    pub grads: bool,
    /// Every updated weight is finite.
    pub params: bool,
}

/// The kernels of the fast engine, for `f32` (SIMD) and `f64` (plain loops).
pub trait Kernels: Gemm {
    /// `C = A·B` (or `C += A·B` with `accumulate`) for an m×k `A` whose element
    /// (r, k) is `a[r·rsa + k·csa]`, a row-major k×n `B` (row stride `ldb`) and
    /// a row-major m×n `C` (row stride `ldc`). Columns of `C` past `n` are not touched.
    ///
    /// Panics (a bug in the caller, never user data) if a matrix does not fit its slice.
    #[allow(clippy::too_many_arguments)]
    fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
    ) {
        Self::mm_dir(m, k, n, a, b, c, accumulate, false);
    }

    /// Up to this H, the fast engine runs even its largest window-level
    /// products on [`Kernels::mm`] rather than `matrixmultiply`: 0 for the
    /// plain loops; 128 for the AVX2 tiles, which read B straight from memory
    /// and beat packing while B's rows are at most 128 floats (measured
    /// at 16 rows per step: 25–35% faster at H 100, slower for dWhh from H 256).
    fn tiles_up_to_hidden() -> usize {
        0
    }

    /// [`Kernels::mm`] summing over k backwards when `reverse_k` (a hint,
    /// used by one-row products; others ignore it). The recurrence of batch 1
    /// alternates the direction from step to step: a matrix a bit larger than
    /// L1 read in the same direction every time misses L1 on every line, while
    /// reading it back and forth finds the lines read last still there.
    ///
    /// Panics, as [`Kernels::mm`], if a matrix does not fit its slice.
    #[allow(clippy::too_many_arguments)]
    fn mm_dir(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
        _reverse_k: bool,
    ) {
        if mm_checked_and_left(m, k, n, a, b, (&mut *c.0, c.1), accumulate) {
            mm_scalar(m, k, n, a, b, c, accumulate);
        }
    }

    /// `dst[j·ldd + i] = src[i·lds + j]` for i < rows, j < cols (a transposed copy).
    fn transpose(
        rows: usize,
        cols: usize,
        (src, lds): (&[Self], usize),
        (dst, ldd): (&mut [Self], usize),
    ) {
        assert!(fits(rows, cols, lds, 1, src.len()) && fits(cols, rows, ldd, 1, dst.len()));
        transpose_scalar(rows, cols, (src, lds), (dst, ldd));
    }

    /// Packs a row-major k×n matrix B (row stride `ldb`) into panels of
    /// [`PANEL`] columns: panel j holds rows 0..k of columns `PANEL·j ..
    /// PANEL·(j+1)` one after the other (zeros past n), for [`Kernels::mm_panels`].
    /// A product then reads B contiguously, however long B's rows are.
    fn pack_panels(k: usize, n: usize, (b, ldb): (&[Self], usize), out: &mut Vec<Self>) {
        assert!(fits(k, n, ldb, 1, b.len()));
        let np = n.div_ceil(PANEL);
        out.clear();
        out.resize(np * k * PANEL, Self::ZERO);
        for (j, panel) in out.chunks_exact_mut(k * PANEL).enumerate() {
            let (c0, w) = (j * PANEL, PANEL.min(n - j * PANEL));
            for (kk, dst) in panel.chunks_exact_mut(PANEL).enumerate() {
                dst[..w].copy_from_slice(&b[kk * ldb + c0..kk * ldb + c0 + w]);
            }
        }
    }

    /// [`Kernels::mm`] with B packed by [`Kernels::pack_panels`].
    ///
    /// Panics if A or C does not fit its slice, or the panels hold fewer
    /// than ceil(n/16)·k·16 values.
    fn mm_panels(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        panels: &[Self],
        c: (&mut [Self], usize),
        accumulate: bool,
    ) {
        assert_panels_fit(m, k, n, a, panels, (&*c.0, c.1));
        mm_panels_scalar(m, k, n, a, panels, c, accumulate);
    }

    /// Softmax + cross-entropy over the rows of `y` (row r is `y[r·ldy..r·ldy + v]`):
    /// adds the bias `by`, returns `Σ_r -ln p_r[targets[r]]`, and with `grad`
    /// replaces each row by `scale · (p_r - onehot(targets[r]))`, the exact
    /// gradient of softmax + cross-entropy with respect to the logits.
    /// Where `ldy` leaves room, the entries from `v` up to the next multiple of
    /// 8 in each row may be overwritten with 0 (the AVX2 kernel does).
    fn softmax_xent(
        y: &mut [Self],
        ldy: usize,
        v: usize,
        by: &[Self],
        targets: &[u32],
        scale: Self,
        grad: bool,
    ) -> Self {
        softmax_xent_scalar(y, ldy, v, by, targets, scale, grad)
    }

    /// `u[j] = tanh(u[j] + bias[j] + wx[j])` for j < u.len(): the
    /// pre-activation of one row of the forward recurrence, `H_t = tanh(U_t)`.
    /// The plain loops use charm-core's `tanh`; the AVX2 kernel the same
    /// rational form with fused multiply-adds and a refined reciprocal
    /// instead of the division (within 1e-6 of tanh, tested here).
    fn bias_tanh(u: &mut [Self], bias: &[Self], wx: &[Self]) {
        bias_tanh_scalar(u, bias, wx);
    }

    /// Fused gradient clipping and Adagrad (min-char-rnn's rule):
    /// `g = clamp(g, -clip, clip); mem += g²; w -= lr · g / sqrt(mem + 1e-8)`,
    /// bit-identical to `math::optim::clip` followed by the Adagrad update.
    /// Also reports whether the raw gradients and the new weights are finite.
    fn adagrad_clip(w: &mut [Self], g: &[Self], mem: &mut [Self], lr: Self, clip: Self) -> Finite {
        adagrad_clip_scalar(w, g, mem, lr, clip)
    }
}

impl Kernels for f64 {}

impl Kernels for f32 {
    fn tiles_up_to_hidden() -> usize {
        if has_avx2_fma() {
            128
        } else {
            0
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn mm_dir(
        m: usize,
        k: usize,
        n: usize,
        a: (&[f32], usize, usize),
        b: (&[f32], usize),
        c: (&mut [f32], usize),
        accumulate: bool,
        reverse_k: bool,
    ) {
        if !mm_checked_and_left(m, k, n, a, b, (&mut *c.0, c.1), accumulate) {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            let whole = n.div_ceil(8) * 8;
            let b_padded = b.1 >= whole && (k - 1) * b.1 + whole <= b.0.len();
            // SAFETY: `avx2::mm`'s contract holds: the CPU has AVX2 and FMA
            // (checked just above); `mm_checked_and_left` asserted that A
            // (m×k), B (k×n) and C (m×n) fit their slices with the given
            // strides, and that m, k, n ≥ 1. C is a `&mut` slice, so it
            // overlaps neither A nor B. `b_padded` holds only when every row
            // of B can be read up to a whole number of vectors inside B's
            // slice (`fits` showed (k-1)·ldb ≤ len, so nothing overflows).
            unsafe {
                avx2::mm(
                    m,
                    k,
                    n,
                    (a.0.as_ptr(), a.1, a.2),
                    (b.0.as_ptr(), b.1, b_padded),
                    (c.0.as_mut_ptr(), c.1),
                    accumulate,
                    reverse_k,
                )
            };
            return;
        }
        let _ = reverse_k;
        mm_scalar(m, k, n, a, b, c, accumulate);
    }

    fn transpose(
        rows: usize,
        cols: usize,
        (src, lds): (&[f32], usize),
        (dst, ldd): (&mut [f32], usize),
    ) {
        assert!(fits(rows, cols, lds, 1, src.len()) && fits(cols, rows, ldd, 1, dst.len()));
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: `avx2::transpose`'s contract holds: AVX2 present; both
            // matrices fit their slices (asserted just above), and `dst` is a
            // `&mut` slice, so it does not overlap `src`.
            unsafe { avx2::transpose(rows, cols, src.as_ptr(), lds, dst.as_mut_ptr(), ldd) };
            return;
        }
        transpose_scalar(rows, cols, (src, lds), (dst, ldd));
    }

    fn mm_panels(
        m: usize,
        k: usize,
        n: usize,
        a: (&[f32], usize, usize),
        panels: &[f32],
        c: (&mut [f32], usize),
        accumulate: bool,
    ) {
        assert_panels_fit(m, k, n, a, panels, (&*c.0, c.1));
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() && m > 0 && n > 0 && k > 0 {
            // SAFETY: `avx2::mm_panels`'s contract holds: AVX2 and FMA present;
            // m, k, n ≥ 1 (checked just above); `assert_panels_fit` asserted
            // that A and C fit and that the panels hold ceil(n/16)·k·16
            // floats; C is a `&mut` slice, so it overlaps neither A nor the panels.
            unsafe {
                avx2::mm_panels(
                    m,
                    k,
                    n,
                    (a.0.as_ptr(), a.1, a.2),
                    panels.as_ptr(),
                    (c.0.as_mut_ptr(), c.1),
                    accumulate,
                )
            };
            return;
        }
        mm_panels_scalar(m, k, n, a, panels, c, accumulate);
    }

    fn softmax_xent(
        y: &mut [f32],
        ldy: usize,
        v: usize,
        by: &[f32],
        targets: &[u32],
        scale: f32,
        grad: bool,
    ) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            let rows = targets.len();
            let whole = v.div_ceil(8) * 8;
            assert!(fits(rows, v, ldy, 1, y.len()) && by.len() >= v);
            assert!(targets.iter().all(|&t| (t as usize) < v));
            if v > 0 && ldy >= whole && fits(rows, whole, ldy, 1, y.len()) {
                // SAFETY: `avx2::softmax_xent`'s contract holds: AVX2/FMA present;
                // v ≥ 1 and every row r < rows has `whole` = 8·ceil(v/8)
                // elements inside `y` (checked), `by` has at least v
                // elements and every target is below v (asserted).
                return unsafe { avx2::softmax_xent(y, ldy, v, by, targets, scale, grad) };
            }
        }
        softmax_xent_scalar(y, ldy, v, by, targets, scale, grad)
    }

    fn bias_tanh(u: &mut [f32], bias: &[f32], wx: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            assert!(bias.len() >= u.len() && wx.len() >= u.len());
            // SAFETY: `avx2::bias_tanh`'s contract holds: AVX2/FMA present;
            // `bias` and `wx` are at least as long as `u` (asserted).
            unsafe { avx2::bias_tanh(u, bias, wx) };
            return;
        }
        bias_tanh_scalar(u, bias, wx);
    }

    fn adagrad_clip(w: &mut [f32], g: &[f32], mem: &mut [f32], lr: f32, clip: f32) -> Finite {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            assert!(g.len() == w.len() && mem.len() == w.len());
            // SAFETY: `avx2::adagrad_clip`'s contract holds: AVX2 present; the
            // three slices have the same length (asserted).
            return unsafe { avx2::adagrad_clip(w, g, mem, lr, clip) };
        }
        adagrad_clip_scalar(w, g, mem, lr, clip)
    }
}

#[allow(clippy::too_many_arguments)]
fn mm_scalar<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    (a, rsa, csa): (&[F], usize, usize),
    (b, ldb): (&[F], usize),
    (c, ldc): (&mut [F], usize),
    accumulate: bool,
) {
    for r in 0..m {
        let o = &mut c[r * ldc..r * ldc + n];
        if !accumulate {
            o.fill(F::ZERO);
        }
        for kk in 0..k {
            let x = a[r * rsa + kk * csa];
            for (s, &bv) in o.iter_mut().zip(&b[kk * ldb..kk * ldb + n]) {
                *s += x * bv;
            }
        }
    }
}

fn transpose_scalar<F: Float>(
    rows: usize,
    cols: usize,
    (src, lds): (&[F], usize),
    (dst, ldd): (&mut [F], usize),
) {
    for i in 0..rows {
        for j in 0..cols {
            dst[j * ldd + i] = src[i * lds + j];
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn mm_panels_scalar<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    (a, rsa, csa): (&[F], usize, usize),
    panels: &[F],
    (c, ldc): (&mut [F], usize),
    accumulate: bool,
) {
    for r in 0..m {
        for col in 0..n {
            let p = &panels[(col / PANEL) * k * PANEL + col % PANEL..];
            let mut sum = F::ZERO;
            for kk in 0..k {
                sum += a[r * rsa + kk * csa] * p[kk * PANEL];
            }
            let o = &mut c[r * ldc + col];
            *o = if accumulate { *o + sum } else { sum };
        }
    }
}

fn bias_tanh_scalar<F: Float>(u: &mut [F], bias: &[F], wx: &[F]) {
    for ((x, &b), &w) in u.iter_mut().zip(bias).zip(wx) {
        *x = (*x + b + w).tanh();
    }
}

fn softmax_xent_scalar<F: Float>(
    y: &mut [F],
    ldy: usize,
    v: usize,
    by: &[F],
    targets: &[u32],
    scale: F,
    grad: bool,
) -> F {
    let mut loss = F::ZERO;
    for (r, &tgt) in targets.iter().enumerate() {
        let row = &mut y[r * ldy..r * ldy + v];
        let tgt = tgt as usize;
        let mut max = row[0] + by[0];
        for (x, &b) in row.iter_mut().zip(by) {
            *x += b;
            if *x > max {
                max = *x;
            }
        }
        let y_t = row[tgt];
        let mut sum = F::ZERO;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        // -ln p[target] = ln Σ exp(y - max) - (y_target - max)
        loss += sum.ln() - (y_t - max);
        if grad {
            let k = scale / sum;
            for x in row.iter_mut() {
                *x *= k;
            }
            row[tgt] -= scale;
        }
    }
    loss
}

fn adagrad_clip_scalar<F: Float>(w: &mut [F], g: &[F], mem: &mut [F], lr: F, clip: F) -> Finite {
    let (mut gf, mut wf) = (true, true);
    for ((w, &g), m) in w.iter_mut().zip(g).zip(mem) {
        gf &= g.is_finite();
        let g = if g > clip {
            clip
        } else if g < -clip {
            -clip
        } else {
            g
        };
        *m += g * g;
        *w -= lr * g / (*m + F::from_f64(1e-8)).sqrt_();
        wf &= w.is_finite();
    }
    Finite {
        grads: gf,
        params: wf,
    }
}

/// Square root for the two float types (not in charm-core's `Float`).
trait Sqrt {
    fn sqrt_(self) -> Self;
}
impl<F: Float> Sqrt for F {
    fn sqrt_(self) -> Self {
        F::from_f64(self.to_f64().sqrt())
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7 + seed * 13) % 23) as f32 - 11.0) * 0.07)
            .collect()
    }

    #[test]
    fn mm_matches_scalar_for_every_tile_shape() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (1, 100, 104),
            (1, 9, 65),
            (5, 7, 19),
            (16, 33, 48),
            (4, 16, 16),
            (13, 25, 100),
            (65, 30, 100),
            (25, 300, 40),
        ] {
            for (transposed, accumulate) in [(false, false), (true, false), (false, true)] {
                let a = data(m * k, 1);
                let (rsa, csa) = if transposed { (1, m) } else { (k, 1) };
                let ldb = n + 3;
                let b = data(k * ldb, 2);
                let ldc = n + 5;
                let c0 = data(m * ldc, 3);
                let (mut c1, mut c2) = (c0.clone(), c0.clone());
                f32::mm(
                    m,
                    k,
                    n,
                    (&a, rsa, csa),
                    (&b, ldb),
                    (&mut c1, ldc),
                    accumulate,
                );
                mm_scalar(
                    m,
                    k,
                    n,
                    (&a, rsa, csa),
                    (&b, ldb),
                    (&mut c2, ldc),
                    accumulate,
                );
                // Summing backwards over k gives the same up to rounding.
                let mut c3 = c0.clone();
                let (a3, b3) = ((&a[..], rsa, csa), (&b[..], ldb));
                f32::mm_dir(m, k, n, a3, b3, (&mut c3, ldc), accumulate, true);
                for (x, y) in c3.iter().zip(&c2) {
                    assert!(
                        (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                        "reversed: {x} vs {y}"
                    );
                }
                for (i, (x, y)) in c1.iter().zip(&c2).enumerate() {
                    if i % ldc >= n {
                        assert_eq!(x, y, "column past n was touched");
                    }
                    assert!(
                        (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                        "{m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }

    /// Strides whose products overflow are refused by the shape checks (in
    /// every profile: wrapped, 2·(2^63) would be 0 and look like a fit).
    #[test]
    #[should_panic(expected = "mm: A does not fit")]
    fn mm_refuses_strides_that_overflow() {
        let (a, b, mut c) = ([1.0f32; 4], [1.0f32; 4], [0.0f32; 12]);
        f32::mm(3, 1, 1, (&a, 1 << 63, 1), (&b, 1), (&mut c, 4), false);
    }

    #[test]
    #[should_panic(expected = "mm_panels: B does not fit")]
    fn mm_panels_refuses_a_panel_size_that_overflows() {
        let (a, panels, mut c) = ([1.0f32; 4], [1.0f32; 64], [0.0f32; 4]);
        f32::mm_panels(1, 1 << 61, 1, (&a, 1, 0), &panels, (&mut c, 1), false);
    }

    #[test]
    fn mm_panels_matches_mm() {
        for &(m, k, n) in &[
            (2, 3, 5),
            (16, 100, 100),
            (7, 300, 40),
            (5, 9, 16),
            (1, 4, 17),
        ] {
            for accumulate in [false, true] {
                let a = data(m * k, 1);
                let b = data(k * (n + 2), 2);
                let ldc = n + 1;
                let c0 = data(m * ldc, 3);
                let (mut c1, mut c2) = (c0.clone(), c0.clone());
                let mut panels = Vec::new();
                f32::pack_panels(k, n, (&b, n + 2), &mut panels);
                f32::mm_panels(m, k, n, (&a, k, 1), &panels, (&mut c1, ldc), accumulate);
                mm_scalar(m, k, n, (&a, k, 1), (&b, n + 2), (&mut c2, ldc), accumulate);
                for (x, y) in c1.iter().zip(&c2) {
                    assert!(
                        (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                        "{m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }

    /// The worst relative error of an 8-lane exp against f64's over
    /// [-87, 0] (the softmax's arguments `y - max`), swept in steps of 0.0123.
    fn worst_exp_error(exp8: impl Fn([f32; 8]) -> [f32; 8]) -> f64 {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 0.0 {
            let xs: [f32; 8] = std::array::from_fn(|i| (x + i as f32 * 1e-3).min(0.0));
            for (&xi, &ei) in xs.iter().zip(&exp8(xs)) {
                let want = (xi as f64).exp();
                worst = worst.max((ei as f64 - want).abs() / want);
            }
            x += 0.0123;
        }
        worst
    }

    /// Every exp the f32 kernels run is within `E_EXP` (relative) of exp,
    /// the bound `math::rounding` builds on: the portable kernels' (charm-core's
    /// `Float::exp`, libm's `expf`) always, and the AVX2 one wherever the CPU
    /// has AVX2 and FMA, also when `CHARM_PORTABLE_KERNELS=1` keeps the engine
    /// off it (a CPU without them never runs it, so has nothing to check).
    #[test]
    fn exp_relative_error_is_below_e_exp() {
        use crate::math::rounding::E_EXP;
        let portable = worst_exp_error(|xs| xs.map(<f32 as Float>::exp));
        println!("portable exp: worst relative error {portable:e}");
        assert!(
            portable < E_EXP,
            "portable exp: worst relative error {portable:e}"
        );
        #[cfg(target_arch = "x86_64")]
        if cpu_has_avx2_fma() {
            // SAFETY: `avx2::exp8`'s contract holds: the CPU has AVX2 and FMA
            // (checked just above).
            let vector = worst_exp_error(|xs| unsafe { avx2::exp8(xs) });
            println!("AVX2 exp: worst relative error {vector:e}");
            assert!(vector < E_EXP, "AVX2 exp: worst relative error {vector:e}");
        }
    }

    /// Checks an 8-lane tanh against `E_TANH` (absolute, against f64's tanh)
    /// over [-12, 12] in steps of about 1e-4 (beyond ±7.9 both saturate),
    /// and on special values: NaN stays NaN, ±0 keep their sign, a tiny x
    /// gives x, ±∞ and -1e9 give ±1.
    fn check_tanh(what: &str, tanh8: impl Fn([f32; 8]) -> [f32; 8]) {
        use crate::math::rounding::E_TANH;
        let mut worst = 0.0f64;
        let mut x = -12.0f32;
        while x <= 12.0 {
            let xs: [f32; 8] = std::array::from_fn(|i| x + i as f32 * 1e-4);
            for (&xi, &ti) in xs.iter().zip(&tanh8(xs)) {
                worst = worst.max((ti as f64 - (xi as f64).tanh()).abs());
            }
            x += 0.000_93;
        }
        println!("{what} tanh: worst absolute error {worst:e}");
        assert!(
            worst < E_TANH,
            "{what} tanh: worst absolute error {worst:e}"
        );
        let t = tanh8([f32::NAN, 0.0, -0.0, 1e-30, f32::INFINITY, -1e9, 0.5, -0.5]);
        assert!(t[0].is_nan(), "{what}: NaN");
        assert_eq!((t[1].to_bits(), t[2].to_bits()), (0, (-0.0f32).to_bits()));
        // tanh(x) = x(1 - x²/3 + …): the difference is below an ulp of 1e-30.
        assert!(
            (t[3] - 1e-30).abs() < 1e-36,
            "{what}: tanh(1e-30) = {:e}",
            t[3]
        );
        assert!(t[4] > 0.999_999 && t[5] < -0.999_999, "{what}: saturation");
    }

    /// Every tanh the f32 kernels run is within `E_TANH` of tanh, the bound
    /// `math::rounding` builds on: the portable kernels' (charm-core's
    /// `tanh_f32`) always, and the AVX2 one wherever the CPU has AVX2 and
    /// FMA (as for exp above); and `bias_tanh`, on whichever kernels this
    /// process runs, adds before it takes the tanh.
    #[test]
    fn tanh_is_within_e_tanh_of_tanh() {
        use crate::math::rounding::E_TANH;
        check_tanh("portable", |xs| xs.map(<f32 as Float>::tanh));
        #[cfg(target_arch = "x86_64")]
        if cpu_has_avx2_fma() {
            // SAFETY: `avx2::tanh8_test`'s contract holds: the CPU has AVX2
            // and FMA (checked just above).
            check_tanh("AVX2", |xs| unsafe { avx2::tanh8_test(xs) });
        }
        let mut u = [0.3f32; 11];
        f32::bias_tanh(&mut u, &[0.1; 11], &[-0.2; 11]);
        // The f32 constants are within u·(0.3 + 0.1 + 0.2) of the decimals
        // and the two additions round within u·(0.4 + 0.2): 1.2u from 0.2 in
        // all, which tanh (slope ≤ 1) does not enlarge.
        let bound = E_TANH + 1.2 * crate::math::rounding::U;
        assert!(u.iter().all(|&v| (v as f64 - 0.2f64.tanh()).abs() < bound));
    }

    #[test]
    fn softmax_xent_matches_scalar() {
        let (v, ldy, rows) = (65, 72, 7);
        let y0 = data(rows * ldy, 4)
            .iter()
            .map(|x| x * 20.0)
            .collect::<Vec<_>>();
        let by = data(v, 5);
        let targets: Vec<u32> = (0..rows as u32).map(|r| (r * 11) % v as u32).collect();
        // Both kernels round x = y + by, the max and x - max the same way;
        // after that each exp is within E_EXP (relative) of exp, each sum
        // within γ_V of the sum of its terms, and k = scale/Σ and e·k add two
        // roundings: so each p̂·scale is within scale·p·r of the exact value,
        // r = (1+E_EXP)(1+γ_V)(1+2u)/((1-E_EXP)(1-γ_V)) - 1, and the target
        // entry's "- scale" adds u of it. Two kernels: twice that apart.
        use crate::math::rounding::{gamma, E_EXP, U};
        let r = (1.0 + E_EXP) * (1.0 + gamma(v)) * (1.0 + 2.0 * U)
            / ((1.0 - E_EXP) * (1.0 - gamma(v)))
            - 1.0;
        let scale = 0.25f32;
        for grad in [false, true] {
            let (mut y1, mut y2) = (y0.clone(), y0.clone());
            let l1 = f32::softmax_xent(&mut y1, ldy, v, &by, &targets, scale, grad);
            let l2 = softmax_xent_scalar(&mut y2, ldy, v, &by, &targets, scale, grad);
            // Per row, ln Σ moves by at most -ln(1 - r) in each kernel, and
            // ln and the two subtractions round (3u of the row's terms, each
            // below 50: logits of ±20 plus bias); the sum over rows, γ_rows.
            let row_bound = 2.0 * (-(1.0 - r).ln() + 3.0 * U * 50.0);
            let bound = rows as f64 * row_bound + 2.0 * gamma(rows + 1) * l2.abs() as f64;
            assert!(((l1 - l2).abs() as f64) <= bound, "{l1} vs {l2}");
            for (row, (r1, r2)) in y1.chunks(ldy).zip(y2.chunks(ldy)).enumerate() {
                let x: Vec<f64> = (0..v)
                    .map(|j| y0[row * ldy + j] as f64 + by[j] as f64)
                    .collect();
                let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = x.iter().map(|xj| (xj - max).exp()).sum();
                for (j, (a, b)) in r1[..v].iter().zip(&r2[..v]).enumerate() {
                    let e = (x[j] - max).exp();
                    let (p, t) = (e / sum, f64::from(u8::from(j == targets[row] as usize)));
                    // Without the gradient the rows keep e = exp(x - max).
                    let bound = match grad {
                        true => 2.0 * scale as f64 * (p * r + U * (p + t)),
                        false => 2.0 * E_EXP * e,
                    };
                    assert!(
                        ((a - b).abs() as f64) <= bound,
                        "{a} vs {b} (bound {bound:e})"
                    );
                }
                // The AVX2 kernel zeroes the lanes past v (the scalar one may leave them).
                if has_avx2_fma() {
                    assert!(r1[v..].iter().all(|&x| x == 0.0), "padding lanes");
                }
            }
        }
    }
}

#[cfg(test)]
mod transpose_tests {
    use super::*;

    #[test]
    fn transpose_matches_definition() {
        for (rows, cols) in [(1, 1), (8, 8), (13, 100), (100, 100), (65, 17)] {
            let (lds, ldd) = (cols + 3, rows + 5);
            let src: Vec<f32> = (0..rows * lds).map(|i| i as f32).collect();
            let mut dst = vec![-1.0f32; cols * ldd];
            f32::transpose(rows, cols, (&src, lds), (&mut dst, ldd));
            for j in 0..cols {
                for i in 0..ldd {
                    let want = if i < rows { src[i * lds + j] } else { -1.0 };
                    assert_eq!(dst[j * ldd + i], want, "({i}, {j})");
                }
            }
        }
    }
}
