//! The AVX2 + FMA builds of the kernels (x86-64; chosen at run time by the
//! callers in [`super`], which check the CPU and the shapes first).
//!
//! Every function here is `unsafe`: each states in its `# Safety` section
//! what its caller must have checked (the CPU features, and which memory the
//! raw pointers or slices must cover).

use super::Finite;
use std::arch::x86_64::*;

/// Mask of the first `n % 8` lanes (all lanes when `n % 8 == 0`).
///
/// # Safety
///
/// The CPU has AVX2 (this helper is inlined into the `#[target_feature]`
/// kernels of this module, which their callers run only after checking).
#[inline(always)]
unsafe fn tail_mask(n: usize) -> __m256i {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        let r = match n % 8 {
            0 => 8,
            r => r as i32,
        };
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(r), idx)
    }
}

/// One MR × (NV·8) tile of C: the accumulators stay in registers while k runs.
/// With `mask`, the last vector column of the tile is partial: it is stored
/// through the mask, and loaded from B through it when `MASKLOAD` (when B's
/// rows are not readable up to a whole vector; otherwise the lanes past n
/// are computed and dropped).
///
/// # Safety
///
/// The CPU has AVX2 and FMA. For r < MR and kk < k: `a + r·rsa + kk·csa`
/// is readable (`csa` may be negative: the walk backwards over k), and
/// `b + kk·ldb + [0, 8·NV)` is readable, except that with `MASKLOAD` the
/// last vector is read only in the lanes of `mask`. For r < MR:
/// `c + r·ldc + [0, 8·NV)` is readable and writable (with `mask`, the last
/// vector only in its lanes) and overlaps neither A nor B.
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
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
///
/// # Safety
///
/// The CPU has AVX2 and FMA; m, k, n ≥ 1. For r < m, kk < k and j < n:
/// `a + r·rsa + kk·csa` and `b + kk·ldb + j` are readable, and
/// `c + r·ldc + j` is readable and writable and overlaps neither A nor B.
/// With `b_padded`, each row of B is readable up to `8·ceil(n/8)` columns
/// (`b + kk·ldb + [0, 8·ceil(n/8))` for kk < k).
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
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        let nvec = n.div_ceil(8);
        let tail = (!n.is_multiple_of(8)).then(|| tail_mask(n));
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
}

/// See [`super::Kernels::mm_panels`]; the caller checked the shapes and the CPU.
///
/// # Safety
///
/// The CPU has AVX2 and FMA; m, k, n ≥ 1. For r < m and kk < k,
/// `a + r·rsa + kk·csa` is readable; `p` is readable for
/// `ceil(n/16)·k·16` floats; for r < m and j < n, `c + r·ldc + j` is
/// readable and writable and overlaps neither A nor the panels.
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
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        const KC: usize = 256; // a 256 × 16 block of a panel (16 kB) stays in L1
        let nvec = n.div_ceil(8);
        let tail = (!n.is_multiple_of(8)).then(|| tail_mask(n));
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
}

/// `dst[j·ldd + i] = src[i·lds + j]` for i < rows, j < cols; 8×8 blocks in registers.
///
/// # Safety
///
/// The CPU has AVX2. For i < rows and j < cols, `src + i·lds + j` is
/// readable and `dst + j·ldd + i` writable, and the two matrices do not overlap.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn transpose(
    rows: usize,
    cols: usize,
    src: *const f32,
    lds: usize,
    dst: *mut f32,
    ldd: usize,
) {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
}

/// `exp(x)` for x ≤ 0 (Cephes' `expf` polynomial; relative error < 3e-7;
/// inputs below -87 give about 1e-38 instead of less).
///
/// # Safety
///
/// The CPU has AVX2 and FMA (inlined into the `#[target_feature]` kernels).
#[inline(always)]
unsafe fn exp_neg(x: __m256) -> __m256 {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
}

/// `tanh(x)` in 8 lanes: charm-core's `tanh_f32` (clamp to ±7.905311, then
/// `x·P(x²) / Q(x²)`, the [13/6] rational minimax fit Eigen uses for
/// `ptanh`, same coefficients), with the Horner steps as fused
/// multiply-adds and `1/Q` as a reciprocal estimate refined by one Newton
/// step, `r ← r + r·(1 - Q·r)` (relative error about 1e-7 instead of a
/// division's 10+ cycles). NaN stays NaN.
///
/// # Safety
///
/// The CPU has AVX2 and FMA (inlined into the `#[target_feature]` kernels).
#[inline(always)]
unsafe fn tanh8(x: __m256) -> __m256 {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
}

/// See [`super::Kernels::bias_tanh`]; the caller checked the lengths.
///
/// # Safety
///
/// The CPU has AVX2 and FMA; `bias` and `wx` are at least as long as `u`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn bias_tanh(u: &mut [f32], bias: &[f32], wx: &[f32]) {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
}

/// Test-only access to the vector `tanh`.
///
/// # Safety
///
/// The CPU has AVX2 and FMA.
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn tanh8_test(x: [f32; 8]) -> [f32; 8] {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), tanh8(_mm256_loadu_ps(x.as_ptr())));
        out
    }
}

/// The sum of a vector's eight lanes.
///
/// # Safety
///
/// The CPU has AVX (inlined into the `#[target_feature]` kernels).
#[inline(always)]
unsafe fn hsum(v: __m256) -> f32 {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }
}

/// The largest of a vector's eight lanes.
///
/// # Safety
///
/// The CPU has AVX (inlined into the `#[target_feature]` kernels).
#[inline(always)]
unsafe fn hmax(v: __m256) -> f32 {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_max_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }
}

/// Test-only access to the vector `exp`.
///
/// # Safety
///
/// The CPU has AVX2 and FMA.
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn exp8(x: [f32; 8]) -> [f32; 8] {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), exp_neg(_mm256_loadu_ps(x.as_ptr())));
        out
    }
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
///
/// # Safety
///
/// The CPU has AVX2 and FMA; v ≥ 1; `by` holds at least v entries; every
/// target is below v; for each row r < `targets.len()`,
/// `y[r·ldy .. r·ldy + 8·ceil(v/8)]` lies inside `y`.
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
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
}

/// [`softmax_xent`] on `R` consecutive rows from `row0`, each pass over
/// all `R` rows before the next; returns their summed loss (row order).
///
/// # Safety
///
/// The CPU has AVX2 and FMA; 1 ≤ `nvec` and `full` ≤ `nvec`; `targets`
/// holds R entries, each below `8·nvec`; for i < R,
/// `row0 + i·ldy + [0, 8·nvec)` is readable and writable.
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
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
}

/// See [`super::Kernels::adagrad_clip`]; same operations in the same order
/// as the scalar rule (no fused multiply-add), so the same bits.
///
/// # Safety
///
/// The CPU has AVX2; `g` and `mem` are exactly as long as `w`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn adagrad_clip(
    w: &mut [f32],
    g: &[f32],
    mem: &mut [f32],
    lr: f32,
    clip: f32,
) -> Finite {
    // SAFETY: the contract above, which the caller upholds.
    unsafe {
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
