//! Trainer-only compute kernels of the fast engine: small matrix products,
//! the softmax + cross-entropy rows, and the fused clip + Adagrad update.
//!
//! For `f32` on x86-64 with AVX2 and FMA (detected at run time) these are
//! hand-written with intrinsics; elsewhere, and always for `f64` (the numerical
//! gradient check), they are plain loops. They are allowed to differ from
//! charm-core's bit-exact inference kernels (DESIGN.md invariant 2): fused
//! multiply-adds and a different summation order in the products, and a
//! polynomial `exp` in the softmax (relative error below 3e-7, tested here).
//! The fast engine is checked against the plain path ([`crate::backward`],
//! built on `ModelView::step`) in `fast.rs` and `train.rs` tests.

use crate::gemm::Gemm;
use charm_core::Float;

/// Checks that every element of an r×c matrix with strides (rs, cs) is inside `len`.
fn fits(rows: usize, cols: usize, rs: usize, cs: usize, len: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * rs + (cols - 1) * cs < len
}

/// Columns per panel of [`Kernels::pack_panels`]: two AVX2 vectors.
pub const PANEL: usize = 16;

/// Whether this CPU runs the AVX2 + FMA builds of the kernels.
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // std caches the CPUID answer; this is a load and a test.
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
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
    #[allow(clippy::too_many_arguments)]
    fn mm_dir(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
        reverse_k: bool,
    ) {
        assert!(fits(m, k, a.1, a.2, a.0.len()), "mm: A does not fit");
        assert!(fits(k, n, b.1, 1, b.0.len()), "mm: B does not fit");
        assert!(fits(m, n, c.1, 1, c.0.len()), "mm: C does not fit");
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if !accumulate {
                for r in 0..m {
                    c.0[r * c.1..r * c.1 + n].fill(Self::ZERO);
                }
            }
            return;
        }
        Self::mm_unchecked(m, k, n, a, b, c, accumulate, reverse_k);
    }

    /// [`Kernels::mm_dir`] after its shape checks.
    #[allow(clippy::too_many_arguments)]
    fn mm_unchecked(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
        _reverse_k: bool,
    ) {
        mm_scalar(m, k, n, a, b, c, accumulate);
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
    fn mm_panels(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        panels: &[Self],
        c: (&mut [Self], usize),
        accumulate: bool,
    ) {
        assert!(fits(m, k, a.1, a.2, a.0.len()), "mm_panels: A does not fit");
        assert!(
            panels.len() >= n.div_ceil(PANEL) * k * PANEL,
            "mm_panels: B"
        );
        assert!(fits(m, n, c.1, 1, c.0.len()), "mm_panels: C does not fit");
        Self::mm_panels_unchecked(m, k, n, a, panels, c, accumulate);
    }

    /// [`Kernels::mm_panels`] after its shape checks.
    fn mm_panels_unchecked(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], usize, usize),
        panels: &[Self],
        c: (&mut [Self], usize),
        accumulate: bool,
    ) {
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
    /// bit-identical to [`crate::optim::clip`] followed by the Adagrad update.
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

    fn mm_unchecked(
        m: usize,
        k: usize,
        n: usize,
        a: (&[f32], usize, usize),
        b: (&[f32], usize),
        c: (&mut [f32], usize),
        accumulate: bool,
        reverse_k: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); `mm`
            // checked that A (m×k), B (k×n) and C (m×n) fit their slices with
            // the given strides. The kernel writes no element of C outside the
            // m×n matrix (the last partial vector of a row is stored through a
            // mask) and reads B past column n only when `b_padded` shows those
            // reads stay inside B's slice (`mm` handled k = 0 itself).
            let whole = n.div_ceil(8) * 8;
            let b_padded = b.1 >= whole && (k - 1) * b.1 + whole <= b.0.len();
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
            // SAFETY: AVX2 present; both matrices fit their slices (asserted),
            // and the kernel reads src only at (i < rows, j < cols) and writes
            // dst only at (j < cols, i < rows).
            unsafe { avx2::transpose(rows, cols, src.as_ptr(), lds, dst.as_mut_ptr(), ldd) };
            return;
        }
        transpose_scalar(rows, cols, (src, lds), (dst, ldd));
    }

    fn mm_panels_unchecked(
        m: usize,
        k: usize,
        n: usize,
        a: (&[f32], usize, usize),
        panels: &[f32],
        c: (&mut [f32], usize),
        accumulate: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() && m > 0 && n > 0 && k > 0 {
            // SAFETY: AVX2 and FMA present; `mm_panels` checked that A and C
            // fit and that the panels hold ceil(n/16) × k × 16 floats, all
            // of which the kernel may read; C is written only inside m×n.
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
                // SAFETY: AVX2/FMA present; every row r < rows has `whole`
                // elements inside `y` (checked), `by` has v elements, targets are < v.
                return unsafe { avx2::softmax_xent(y, ldy, v, by, targets, scale, grad) };
            }
        }
        softmax_xent_scalar(y, ldy, v, by, targets, scale, grad)
    }

    fn bias_tanh(u: &mut [f32], bias: &[f32], wx: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            assert!(bias.len() >= u.len() && wx.len() >= u.len());
            // SAFETY: AVX2/FMA present; `bias` and `wx` are at least as long as `u`.
            unsafe { avx2::bias_tanh(u, bias, wx) };
            return;
        }
        bias_tanh_scalar(u, bias, wx);
    }

    fn adagrad_clip(w: &mut [f32], g: &[f32], mem: &mut [f32], lr: f32, clip: f32) -> Finite {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            assert!(g.len() == w.len() && mem.len() == w.len());
            // SAFETY: AVX2 present; the three slices have the same length.
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
mod avx2 {
    use super::Finite;
    use std::arch::x86_64::*;

    /// Mask of the first `n % 8` lanes (all lanes when `n % 8 == 0`).
    #[inline(always)]
    unsafe fn tail_mask(n: usize) -> __m256i {
        let r = match n % 8 {
            0 => 8,
            r => r as i32,
        };
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(r), idx)
    }

    /// One MR × (NV·8) tile of C: the accumulators stay in registers while k runs.
    /// With `mask`, the last vector column of the tile is partial: it is stored
    /// through the mask, and loaded from B through it when `MASKLOAD` (when B's
    /// rows are not readable up to a whole vector; otherwise the lanes past n
    /// are computed and dropped).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const MR: usize, const NV: usize, const MASKLOAD: bool>(
        k: usize,
        a: *const f32,
        (rsa, csa): (usize, isize),
        b: *const f32,
        ldb: isize,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
        mask: Option<__m256i>,
    ) {
        let mut s = [[_mm256_setzero_ps(); NV]; MR];
        let mut bp = b;
        let mut ap = a;
        let lmask = if MASKLOAD {
            mask.unwrap_or(_mm256_set1_epi32(-1))
        } else {
            _mm256_set1_epi32(-1)
        };
        for _ in 0..k {
            let mut bv = [_mm256_setzero_ps(); NV];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = if MASKLOAD && j == NV - 1 {
                    _mm256_maskload_ps(bp.add(8 * j), lmask)
                } else {
                    _mm256_loadu_ps(bp.add(8 * j))
                };
            }
            for (r, row) in s.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*ap.add(r * rsa));
                for (acc, &bj) in row.iter_mut().zip(&bv) {
                    *acc = _mm256_fmadd_ps(x, bj, *acc);
                }
            }
            bp = bp.offset(ldb);
            ap = ap.offset(csa);
        }
        for (r, row) in s.iter().enumerate() {
            let cp = c.add(r * ldc);
            for (j, &acc) in row.iter().enumerate() {
                let p = cp.add(8 * j);
                match mask {
                    Some(mk) if j == NV - 1 => {
                        let v = if accumulate {
                            _mm256_add_ps(_mm256_maskload_ps(p, mk), acc)
                        } else {
                            acc
                        };
                        _mm256_maskstore_ps(p, mk, v);
                    }
                    _ => {
                        let v = if accumulate {
                            _mm256_add_ps(_mm256_loadu_ps(p), acc)
                        } else {
                            acc
                        };
                        _mm256_storeu_ps(p, v);
                    }
                }
            }
        }
    }

    /// Rows of the row block starting at `r0`: `m` is cut into blocks of
    /// near-equal height of at most `mr_max` (25 rows: 5 × 5, not 4 × 6 + 1,
    /// whose last one-row tile would run as slowly as a full one).
    #[inline(always)]
    fn row_block(m: usize, r0: usize, mr_max: usize) -> usize {
        let blocks = m.div_ceil(mr_max);
        let (base, extra) = (m / blocks, m % blocks);
        // Blocks 0..extra have base + 1 rows, the others base.
        if r0 < extra * (base + 1) {
            base + 1
        } else {
            base
        }
    }

    macro_rules! dispatch {
        ($mr:expr, $nv:expr, $ml:expr, $args:tt; $(($r:literal, $v:literal)),*) => {
            match ($mr, $nv, $ml) {
                $(($r, $v, false) => dispatch!(@call $r, $v, false, $args),
                  ($r, $v, true) => dispatch!(@call $r, $v, true, $args),)*
                _ => unreachable!("tile {}x{}", $mr, $nv),
            }
        };
        (@call $r:literal, $v:literal, $ml:literal, ($($a:expr),*)) => { tile::<$r, $v, $ml>($($a),*) };
    }

    /// See [`super::Kernels::mm`]; the caller checked the shapes and the CPU.
    /// `b_padded`: every row of B can be read up to a whole number of vectors.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        (a, rsa, csa): (*const f32, usize, usize),
        (b, ldb, b_padded): (*const f32, usize, bool),
        (c, ldc): (*mut f32, usize),
        accumulate: bool,
        reverse_k: bool,
    ) {
        let nvec = n.div_ceil(8);
        let tail = (n % 8 != 0).then(|| tail_mask(n));
        let maskload = tail.is_some() && !b_padded;
        // Tiles of at most 12 accumulators: 6 rows × 2 vectors (12 + 2 + 1
        // registers, no spills), or for fewer rows wider ones; a single row
        // (a matrix-vector product, batch 1) takes up to 14 vectors, with B
        // read as memory operands of the FMAs.
        let (mr_max, nv_max) = match m {
            1 => (1, 14),
            2 => (2, 6),
            3 => (3, 4),
            4 => (4, 2),
            _ => (6, 2),
        };
        // Column blocks of near-equal width (13 vectors: 7 + 6, not 12 + 1).
        let blocks = nvec.div_ceil(nv_max);
        // With several rows, k is cut into blocks of KC; later k blocks add to
        // C. Within a k block, each row tile runs over all column blocks, so
        // its KC × 6 slice of A stays in L1 while B streams past (measured:
        // 20–25% faster than column blocks outside for the window products at
        // H 100, whose A is read from L2 otherwise). A single row reads each
        // element of B once, so it takes k whole.
        const KC: usize = 128;
        let kc = if m == 1 { k.max(1) } else { KC };
        let rev = reverse_k && m == 1;
        let mut k0 = 0;
        while k0 < k {
            let kn = (k - k0).min(kc);
            let acc = accumulate || k0 > 0;
            let mut r0 = 0;
            while r0 < m {
                let mr = row_block(m, r0, mr_max);
                let mut c0 = 0;
                for blk in 0..blocks {
                    let nv = nvec / blocks + usize::from(blk < nvec % blocks);
                    let mask = if c0 + nv == nvec { tail } else { None };
                    let ml = maskload && mask.is_some();
                    let cp = c.add(r0 * ldc + 8 * c0);
                    // Backwards over k (one row, k in one block): start at the
                    // last row of B and step back.
                    let (k_first, step) = if rev { (k0 + kn - 1, -1isize) } else { (k0, 1) };
                    let ap = a.add(r0 * rsa + k_first * csa);
                    let bp = b.add(k_first * ldb + 8 * c0);
                    let (csa_s, ldb_s) = (step * csa as isize, step * ldb as isize);
                    dispatch!(mr, nv, ml, (kn, ap, (rsa, csa_s), bp, ldb_s, cp, ldc, acc, mask);
                    (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (1, 9),
                    (1, 10), (1, 11), (1, 12), (1, 13), (1, 14),
                    (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (2, 6),
                    (3, 1), (3, 2), (3, 3), (3, 4),
                    (4, 1), (4, 2), (5, 1), (5, 2), (6, 1), (6, 2));
                    c0 += nv;
                }
                r0 += mr;
            }
            k0 += kn;
        }
    }

    /// See [`super::Kernels::mm_panels`]; the caller checked the shapes and the CPU.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn mm_panels(
        m: usize,
        k: usize,
        n: usize,
        (a, rsa, csa): (*const f32, usize, usize),
        p: *const f32,
        (c, ldc): (*mut f32, usize),
        accumulate: bool,
    ) {
        const KC: usize = 256; // a 256 × 16 block of a panel (16 kB) stays in L1
        let nvec = n.div_ceil(8);
        let tail = (n % 8 != 0).then(|| tail_mask(n));
        let mr_max = m.min(6);
        let panels = n.div_ceil(super::PANEL);
        let mut k0 = 0;
        while k0 < k {
            let kn = (k - k0).min(KC);
            let acc = accumulate || k0 > 0;
            for j in 0..panels {
                let nv = (nvec - 2 * j).min(2);
                let mask = if 2 * j + nv == nvec { tail } else { None };
                let mut r0 = 0;
                while r0 < m {
                    let mr = row_block(m, r0, mr_max);
                    let ap = a.add(r0 * rsa + k0 * csa);
                    let bp = p.add((j * k + k0) * super::PANEL);
                    let cp = c.add(r0 * ldc + super::PANEL * j);
                    let (csa_s, ldb_s) = (csa as isize, super::PANEL as isize);
                    dispatch!(mr, nv, false, (kn, ap, (rsa, csa_s), bp, ldb_s, cp, ldc, acc, mask);
                        (1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2),
                        (4, 1), (4, 2), (5, 1), (5, 2), (6, 1), (6, 2));
                    r0 += mr;
                }
            }
            k0 += kn;
        }
    }

    /// `dst[j·ldd + i] = src[i·lds + j]` for i < rows, j < cols; 8×8 blocks in registers.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn transpose(
        rows: usize,
        cols: usize,
        src: *const f32,
        lds: usize,
        dst: *mut f32,
        ldd: usize,
    ) {
        let (r8, c8) = (rows / 8 * 8, cols / 8 * 8);
        for i in (0..r8).step_by(8) {
            for j in (0..c8).step_by(8) {
                let l = |r: usize| _mm256_loadu_ps(src.add((i + r) * lds + j));
                let (a0, a1, a2, a3, a4, a5, a6, a7) =
                    (l(0), l(1), l(2), l(3), l(4), l(5), l(6), l(7));
                let t0 = _mm256_unpacklo_ps(a0, a1);
                let t1 = _mm256_unpackhi_ps(a0, a1);
                let t2 = _mm256_unpacklo_ps(a2, a3);
                let t3 = _mm256_unpackhi_ps(a2, a3);
                let t4 = _mm256_unpacklo_ps(a4, a5);
                let t5 = _mm256_unpackhi_ps(a4, a5);
                let t6 = _mm256_unpacklo_ps(a6, a7);
                let t7 = _mm256_unpackhi_ps(a6, a7);
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let st = |r: usize, v: __m256| _mm256_storeu_ps(dst.add((j + r) * ldd + i), v);
                st(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
                st(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
                st(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
                st(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
                st(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
                st(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
                st(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
                st(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
            }
        }
        for i in 0..rows {
            let from = if i < r8 { c8 } else { 0 };
            for j in from..cols {
                *dst.add(j * ldd + i) = *src.add(i * lds + j);
            }
        }
    }

    /// `exp(x)` for x ≤ 0 (Cephes' `expf` polynomial; relative error < 3e-7;
    /// inputs below -87 give about 1e-38 instead of less).
    #[inline(always)]
    unsafe fn exp_neg(x: __m256) -> __m256 {
        let x = _mm256_max_ps(x, _mm256_set1_ps(-87.0));
        let fx = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)),
        );
        let r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693_359_4), x);
        let r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm256_set1_ps(1.987_569_1e-4);
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_9e-3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_452e-3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_6e-2));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666_666_5e-1));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
        let r2 = _mm256_mul_ps(r, r);
        let y = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0)));
        let e = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(fx),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(y, _mm256_castsi256_ps(e))
    }

    /// `tanh(x)` in 8 lanes: charm-core's `tanh_f32` (clamp to ±7.905311, then
    /// `x·P(x²) / Q(x²)`, the [13/6] rational minimax fit Eigen uses for
    /// `ptanh`, same coefficients), with the Horner steps as fused
    /// multiply-adds and `1/Q` as a reciprocal estimate refined by one Newton
    /// step, `r ← r + r·(1 - Q·r)` (relative error about 1e-7 instead of a
    /// division's 10+ cycles). NaN stays NaN.
    #[inline(always)]
    unsafe fn tanh8(x: __m256) -> __m256 {
        let c = _mm256_set1_ps(7.905_311);
        // max/min return their second operand when either is NaN.
        let x = _mm256_min_ps(c, _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), c), x));
        let x2 = _mm256_mul_ps(x, x);
        let f = |acc: __m256, k: f32| _mm256_fmadd_ps(acc, x2, _mm256_set1_ps(k));
        let p = _mm256_set1_ps(-2.760_768_5e-16);
        let p = f(
            f(
                f(
                    f(f(f(p, 2.000_188e-13), -8.604_672e-11), 5.122_297e-8),
                    1.485_722_4e-5,
                ),
                6.372_619_3e-4,
            ),
            4.893_524_6e-3,
        );
        let q = f(
            f(
                f(_mm256_set1_ps(1.198_258_4e-6), 1.185_347_1e-4),
                2.268_434_6e-3,
            ),
            4.893_525e-3,
        );
        let r = _mm256_rcp_ps(q);
        let r = _mm256_fmadd_ps(r, _mm256_fnmadd_ps(q, r, _mm256_set1_ps(1.0)), r);
        _mm256_mul_ps(_mm256_mul_ps(p, x), r)
    }

    /// See [`super::Kernels::bias_tanh`]; the caller checked the lengths.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn bias_tanh(u: &mut [f32], bias: &[f32], wx: &[f32]) {
        let n = u.len();
        let (up, bp, wp) = (u.as_mut_ptr(), bias.as_ptr(), wx.as_ptr());
        let mut j = 0;
        while j + 8 <= n {
            let x = _mm256_add_ps(
                _mm256_add_ps(_mm256_loadu_ps(up.add(j)), _mm256_loadu_ps(bp.add(j))),
                _mm256_loadu_ps(wp.add(j)),
            );
            _mm256_storeu_ps(up.add(j), tanh8(x));
            j += 8;
        }
        if j < n {
            let mut buf = [0.0f32; 8];
            for (i, b) in buf[..n - j].iter_mut().enumerate() {
                *b = *up.add(j + i) + *bp.add(j + i) + *wp.add(j + i);
            }
            _mm256_storeu_ps(buf.as_mut_ptr(), tanh8(_mm256_loadu_ps(buf.as_ptr())));
            std::ptr::copy_nonoverlapping(buf.as_ptr(), up.add(j), n - j);
        }
    }

    /// Test-only access to the vector `tanh`.
    #[cfg(test)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tanh8_test(x: [f32; 8]) -> [f32; 8] {
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), tanh8(_mm256_loadu_ps(x.as_ptr())));
        out
    }

    /// Horizontal sum and max of a vector.
    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }
    #[inline(always)]
    unsafe fn hmax(v: __m256) -> f32 {
        let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_max_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// Test-only access to the vector `exp`.
    #[cfg(test)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp8(x: [f32; 8]) -> [f32; 8] {
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), exp_neg(_mm256_loadu_ps(x.as_ptr())));
        out
    }

    /// See [`super::Kernels::softmax_xent`]; the caller checked shapes and
    /// targets, and that every row can be read and written up to `v` rounded
    /// up to a whole vector (the lanes past `v` come out 0).
    ///
    /// Per row: `x = y + by` and its max in one pass, `e = exp(x - max)` and
    /// Σe in a second, `e · scale/Σe` in a third; the row (at most a few
    /// hundred bytes) stays in L1 throughout. No masked load or store touches
    /// `y` (they are slow on AMD cores): the lanes past `v` are neutralized in
    /// registers (−∞ for the max, 0 for the sum).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn softmax_xent(
        y: &mut [f32],
        ldy: usize,
        v: usize,
        by: &[f32],
        targets: &[u32],
        scale: f32,
        grad: bool,
    ) -> f32 {
        let nvec = v.div_ceil(8);
        let full = v / 8;
        let keep = _mm256_castsi256_ps(tail_mask(v));
        // The bias of the last vector, read once (by has only v entries).
        let by_last = _mm256_maskload_ps(by.as_ptr().add(8 * (nvec - 1)), tail_mask(v));
        let bias = |j: usize| {
            if j < full {
                _mm256_loadu_ps(by.as_ptr().add(8 * j))
            } else {
                by_last
            }
        };
        let mut loss = 0.0f64;
        let yp = y.as_mut_ptr();
        // Rows go in groups of 4 through each pass: one row is a chain of
        // dependent steps (max, then exp, then sum, ln and scale), and
        // interleaving four independent chains keeps the core busy.
        let groups = targets.chunks_exact(4);
        let rest = groups.remainder();
        for (g, tg) in groups.enumerate() {
            let row0 = yp.add(4 * g * ldy);
            loss += softmax_rows::<4>(row0, ldy, nvec, full, keep, bias, tg, scale, grad);
        }
        for (i, t) in rest.chunks(1).enumerate() {
            let row = yp.add((targets.len() - rest.len() + i) * ldy);
            loss += softmax_rows::<1>(row, ldy, nvec, full, keep, bias, t, scale, grad);
        }
        loss as f32
    }

    /// [`softmax_xent`] on `R` consecutive rows from `row0`, each pass over
    /// all `R` rows before the next; returns their summed loss (row order).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn softmax_rows<const R: usize>(
        row0: *mut f32,
        ldy: usize,
        nvec: usize,
        full: usize,
        keep: __m256,
        bias: impl Fn(usize) -> __m256,
        targets: &[u32],
        scale: f32,
        grad: bool,
    ) -> f64 {
        let neg_inf = _mm256_set1_ps(f32::NEG_INFINITY);
        let row = |i: usize| row0.add(i * ldy);
        let mut mx = [neg_inf; R];
        for j in 0..nvec {
            let b = bias(j);
            for (i, m) in mx.iter_mut().enumerate() {
                let x = _mm256_add_ps(_mm256_loadu_ps(row(i).add(8 * j)), b);
                _mm256_storeu_ps(row(i).add(8 * j), x);
                let x = if j < full {
                    x
                } else {
                    _mm256_blendv_ps(neg_inf, x, keep)
                };
                *m = _mm256_max_ps(*m, x);
            }
        }
        let max: [f32; R] = std::array::from_fn(|i| hmax(mx[i]));
        // The target's logit, before the next pass turns it into its exp.
        let y_t: [f32; R] = std::array::from_fn(|i| *row(i).add(targets[i] as usize));
        let mut sum = [_mm256_setzero_ps(); R];
        for j in 0..nvec {
            for (i, s) in sum.iter_mut().enumerate() {
                let p = row(i).add(8 * j);
                let mut e = exp_neg(_mm256_sub_ps(_mm256_loadu_ps(p), _mm256_set1_ps(max[i])));
                if j == full {
                    e = _mm256_and_ps(e, keep);
                }
                _mm256_storeu_ps(p, e);
                *s = _mm256_add_ps(*s, e);
            }
        }
        let mut loss = 0.0f64;
        for (i, &tgt) in targets.iter().enumerate() {
            let sum = hsum(sum[i]);
            loss += (sum.ln() - (y_t[i] - max[i])) as f64;
            if grad {
                let k = _mm256_set1_ps(scale / sum);
                for j in 0..nvec {
                    let p = row(i).add(8 * j);
                    _mm256_storeu_ps(p, _mm256_mul_ps(_mm256_loadu_ps(p), k));
                }
                *row(i).add(tgt as usize) -= scale;
            }
        }
        loss
    }

    /// See [`super::Kernels::adagrad_clip`]; same operations in the same order
    /// as the scalar rule (no fused multiply-add), so the same bits.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn adagrad_clip(
        w: &mut [f32],
        g: &[f32],
        mem: &mut [f32],
        lr: f32,
        clip: f32,
    ) -> Finite {
        let n = w.len();
        let main = n / 8 * 8;
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), mem.as_mut_ptr());
        let (hi, lo) = (_mm256_set1_ps(clip), _mm256_set1_ps(-clip));
        let (lr8, eps) = (_mm256_set1_ps(lr), _mm256_set1_ps(1e-8));
        let zero = _mm256_setzero_ps();
        let (mut gbad, mut wbad) = (zero, zero);
        let mut i = 0;
        while i < main {
            let g = _mm256_loadu_ps(gp.add(i));
            // Eight gradients that are all +0.0 (in the W_xh rows of the
            // characters absent from a short window) change neither the
            // memory (m + 0 = m) nor the weights (w - 0/√… = w, also for
            // w = -0.0): skip the square root and the division.
            if _mm256_testz_si256(_mm256_castps_si256(g), _mm256_castps_si256(g)) != 0 {
                i += 8;
                continue;
            }
            // g - g is NaN exactly when g is NaN or infinite.
            gbad = _mm256_or_ps(
                gbad,
                _mm256_cmp_ps::<_CMP_NEQ_UQ>(_mm256_sub_ps(g, g), zero),
            );
            let g = _mm256_min_ps(_mm256_max_ps(g, lo), hi);
            let m = _mm256_add_ps(_mm256_loadu_ps(mp.add(i)), _mm256_mul_ps(g, g));
            _mm256_storeu_ps(mp.add(i), m);
            let step = _mm256_div_ps(_mm256_mul_ps(lr8, g), _mm256_sqrt_ps(_mm256_add_ps(m, eps)));
            let w = _mm256_sub_ps(_mm256_loadu_ps(wp.add(i)), step);
            wbad = _mm256_or_ps(
                wbad,
                _mm256_cmp_ps::<_CMP_NEQ_UQ>(_mm256_sub_ps(w, w), zero),
            );
            _mm256_storeu_ps(wp.add(i), w);
            i += 8;
        }
        let tail =
            super::adagrad_clip_scalar(&mut w[main..], &g[main..], &mut mem[main..], lr, clip);
        Finite {
            grads: tail.grads && _mm256_movemask_ps(gbad) == 0,
            params: tail.params && _mm256_movemask_ps(wbad) == 0,
        }
    }
}

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

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_exp_relative_error_is_below_3e_7() {
        if !has_avx2_fma() {
            return;
        }
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 0.0 {
            let xs: [f32; 8] = std::array::from_fn(|i| (x + i as f32 * 1e-3).min(0.0));
            // SAFETY: AVX2 and FMA are present (checked above).
            let e = unsafe { avx2::exp8(xs) };
            for (&xi, &ei) in xs.iter().zip(&e) {
                let want = (xi as f64).exp();
                worst = worst.max((ei as f64 - want).abs() / want);
            }
            x += 0.0123;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_tanh_is_within_1e_6_of_tanh() {
        if !has_avx2_fma() {
            return;
        }
        let mut worst = 0.0f64;
        let mut x = -12.0f32;
        while x <= 12.0 {
            let xs: [f32; 8] = std::array::from_fn(|i| x + i as f32 * 1e-4);
            // SAFETY: AVX2 and FMA are present (checked above).
            let t = unsafe { avx2::tanh8_test(xs) };
            for (&xi, &ti) in xs.iter().zip(&t) {
                worst = worst.max((ti as f64 - (xi as f64).tanh()).abs());
            }
            x += 0.000_93;
        }
        assert!(worst < 1e-6, "worst absolute error {worst:e}");
        // SAFETY: as above.
        let t = unsafe {
            avx2::tanh8_test([f32::NAN, 0.0, -0.0, 1e-30, f32::INFINITY, -1e9, 0.5, -0.5])
        };
        assert!(t[0].is_nan());
        assert_eq!((t[1].to_bits(), t[2].to_bits()), (0, (-0.0f32).to_bits()));
        assert!((t[3] - 1e-30).abs() < 1e-36);
        assert!(t[4] > 0.999_999 && t[5] < -0.999_999);
        let mut u = [0.3f32; 11];
        f32::bias_tanh(&mut u, &[0.1; 11], &[-0.2; 11]);
        assert!(u.iter().all(|&v| (v as f64 - 0.2f64.tanh()).abs() < 1e-6));
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
        for grad in [false, true] {
            let (mut y1, mut y2) = (y0.clone(), y0.clone());
            let l1 = f32::softmax_xent(&mut y1, ldy, v, &by, &targets, 0.25, grad);
            let l2 = softmax_xent_scalar(&mut y2, ldy, v, &by, &targets, 0.25, grad);
            assert!((l1 - l2).abs() <= 1e-5 * l2.abs(), "{l1} vs {l2}");
            for (r1, r2) in y1.chunks(ldy).zip(y2.chunks(ldy)) {
                for (x, y) in r1[..v].iter().zip(&r2[..v]) {
                    assert!((x - y).abs() <= 1e-6, "{x} vs {y}");
                }
                assert!(r1[v..].iter().all(|&x| x == 0.0), "padding lanes");
            }
        }
    }

    #[test]
    fn fused_adagrad_is_bit_identical_to_clip_then_update() {
        use crate::optim::{self, Hyper, Optimizer, OptimizerKind};
        use crate::params::Params;
        let mut p = Params::<f32>::init_normal(13, 5, 0.1, 1);
        let mut g = Params::<f32>::zeros(13, 5);
        for (i, x) in g.data.iter_mut().enumerate() {
            *x = ((i * 37 % 101) as f32 - 50.0) * 0.2;
        }
        let mut o = Optimizer::new(OptimizerKind::Adagrad, p.data.len());
        let (mut w2, mut m2) = (p.data.clone(), o.m.clone());
        for _ in 0..3 {
            let f = f32::adagrad_clip(&mut w2, &g.data, &mut m2, 0.1, 5.0);
            assert!(f.grads && f.params);
        }
        optim::clip(&mut g, 5.0);
        let hp = Hyper {
            lr: 0.1,
            weight_decay: 0.0,
        };
        for _ in 0..3 {
            o.update(&mut p, &g, hp);
        }
        assert_eq!(p.data, w2);
        assert_eq!(o.m, m2);
        let mut bad = g.data.clone();
        bad[3] = f32::NAN;
        assert!(!f32::adagrad_clip(&mut w2, &bad, &mut m2, 0.1, 5.0).grads);
        bad[3] = 0.0;
        let last = bad.len() - 1;
        bad[last] = f32::INFINITY;
        assert!(!f32::adagrad_clip(&mut w2, &bad, &mut m2, 0.1, 5.0).grads);
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
