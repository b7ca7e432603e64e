//! Test support: the forward and backward pass of one window in `f64`, with,
//! for every quantity, a bound on the error that *any* `f32` evaluation of it
//! can have — whatever its summation order, with or without fused
//! multiply-adds, with charm-core's tanh or the AVX2 one. The engine and the
//! plain path are both checked against it, entry by entry, so the tests hold
//! on any x86-64 (or other) host by construction rather than by a tolerance
//! that happened to pass on one CPU.
//!
//! # The bound (running error analysis, Wilkinson; Higham ch. 3)
//!
//! Each quantity `q` is carried as its exact value (in `f64`, whose own
//! error, ~1e-16 relative, is covered by a slack of 1e-12 of the magnitudes)
//! and a bound `e_q ≥ |q̂ - q|` on the error of its `f32` evaluation `q̂`.
//! With `u = 2⁻²⁴` (f32's unit roundoff) and `γ_n = n·u / (1 - n·u)`:
//!
//! - **sums of products**: `s = Σ_{i<n} a_i·b_i` (+ a bias) computed from
//!   inputs with errors `e_a`, `e_b`, in any order, FMA or not:
//!   `|ŝ - s| ≤ Σ [(|a|+e_a)(|b|+e_b) - |a||b|] + γ_{n+k}·Σ (|a|+e_a)(|b|+e_b)`,
//!   the first part the inputs' errors, the second the roundings (Higham
//!   Thm 3.4, applied to the computed terms); `k` counts the extra roundings
//!   of a term (a bias, a mask factor), 2 or 3 below;
//! - **tanh**: `|t̂anh(Û) - tanh(U)| ≤ E_TANH + e_U · max_{|ξ-U|≤e_U} (1 - tanh²ξ)`,
//!   with [`E_TANH`] the measured bound of the approximations themselves;
//! - **softmax**: with `E = max_j e_{y_j}`, the exact softmax of the
//!   computed logits is within a factor `e^{±2E}` of `p`; each `exp` adds a
//!   relative [`E_EXP`] and the rounding of its argument `u·|y_j - max|`,
//!   the sum `γ_V`, the division and the scale `2u`: so
//!   `|p̂_j - p_j| ≤ p_j · R_j`, `R_j` the product of those factors minus 1;
//! - **products of two computed values** (`du = (1 - h²)·a`, `dy·h`):
//!   `|x̂ŷ - xy| ≤ |x|e_y + |y|e_x + e_x e_y + u(|x|+e_x)(|y|+e_y)`.
//!
//! Nothing is dropped (no first-order truncation), so the bound is
//! rigorous up to the two measured kernel constants.

use crate::math::params::Params;
use crate::math::window::{Mask, Window};

/// f32's unit roundoff, 2⁻²⁴.
pub const U: f64 = 1.0 / 16_777_216.0;

/// Absolute error of every f32 tanh the trainer uses: charm-core's
/// `tanh_f32` is within 4.77e-7 of `libm::tanhf` (itself within an ulp,
/// < 1.2e-7, of tanh), the AVX2 `tanh8` within 1e-6 of tanh (both measured
/// over their whole range: core/tests/tanh_error.rs, kernels' tests).
pub const E_TANH: f64 = 1e-6;

/// Relative error of every f32 exp the trainer uses: `libm::expf` < 1 ulp
/// (1.2e-7), the AVX2 `exp_neg` < 3e-7 (measured over [-87, 0], kernels' tests).
pub const E_EXP: f64 = 3e-7;

/// Relative slack for the f64 reference's own rounding.
pub(crate) const F64_SLACK: f64 = 1e-12;

/// `γ_n = n·u / (1 - n·u)`.
pub fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U;
    nu / (1.0 - nu)
}

/// The exact results of one window and the bound on the error of any f32
/// evaluation of each.
pub struct Bounded {
    /// Σ_b Σ_t -ln p (not divided by B), and its bound.
    pub loss: (f64, f64),
    /// The carried states after the window (B × H), and their bounds.
    pub h: (Vec<f64>, Vec<f64>),
    /// ∂L/∂θ (layout of [`Params`]), and the bound of every entry.
    pub grad: (Params<f64>, Params<f64>),
}

/// A value and its error bound.
#[derive(Clone, Copy, Default)]
pub(crate) struct V {
    pub(crate) x: f64,
    pub(crate) e: f64,
}

impl V {
    /// `|x| + e`: the largest magnitude the computed value can have.
    pub(crate) fn top(self) -> f64 {
        self.x.abs() + self.e
    }
}

/// `a·b` from two computed values: its value and the bound on the computed product.
pub(crate) fn mul(a: V, b: V) -> V {
    V {
        x: a.x * b.x,
        e: a.x.abs() * b.e + b.x.abs() * a.e + a.e * b.e + U * a.top() * b.top(),
    }
}

/// A running sum of products of computed values, rounded in any order.
#[derive(Clone, Copy, Default)]
pub(crate) struct Sum {
    x: f64,
    /// Σ [(|a|+e_a)(|b|+e_b) - |a||b|]: the inputs' errors.
    prop: f64,
    /// Σ (|a|+e_a)(|b|+e_b): the magnitude the roundings scale with.
    mag: f64,
}

impl Sum {
    pub(crate) fn add(&mut self, a: V, b: V) {
        self.x += a.x * b.x;
        let top = a.top() * b.top();
        self.prop += top - (a.x * b.x).abs();
        self.mag += top;
    }

    /// The sum with its bound, `n` roundings deep at most.
    pub(crate) fn done(self, n: usize) -> V {
        V {
            x: self.x,
            e: self.prop + (gamma(n) + F64_SLACK) * self.mag,
        }
    }
}

/// An exact input (a weight, a mask entry, a carried state).
pub(crate) fn exact(x: f64) -> V {
    V { x, e: 0.0 }
}

/// `tanh(U)` of a computed pre-activation.
pub(crate) fn tanh(u: V) -> V {
    let slope = if u.x.abs() <= u.e {
        1.0
    } else {
        let t = (u.x.abs() - u.e).tanh();
        1.0 - t * t
    };
    V {
        x: u.x.tanh(),
        e: E_TANH + slope * u.e,
    }
}

/// The weights as exact f64 inputs, and the shape.
struct Model<'a> {
    wxh: &'a [f32],
    whh: &'a [f32],
    bh: &'a [f32],
    why: &'a [f32],
    by: &'a [f32],
    hid: usize,
    voc: usize,
    s: usize,
}

impl Model<'_> {
    fn w(&self, m: &[f32], r: usize, c: usize) -> V {
        exact(m[r * self.s + c] as f64)
    }
}

/// One stream of the window: its inputs, targets and mask.
struct Stream<'a> {
    xs: &'a [u32],
    ys: &'a [u32],
    mask: Option<&'a [f32]>,
}

impl Stream<'_> {
    fn m(&self, t: usize, c: usize, hid: usize) -> f64 {
        self.mask.map_or(1.0, |m| m[t * hid + c] as f64)
    }
}

/// What one stream's forward pass leaves for its backward pass.
struct Forward {
    /// h_0 … h_T.
    hs: Vec<Vec<V>>,
    /// m ⊙ h_t, t = 1 … T.
    ds: Vec<Vec<V>>,
    /// dy_t.
    dys: Vec<Vec<V>>,
    /// Σ -ln p, its bound's propagated part, and the magnitude its roundings scale with.
    loss: (f64, f64, f64),
}

/// The f64 forward and backward pass of `w` from the carried states `h0`,
/// with the bounds of every f32 evaluation (see the module docs).
pub fn reference(params: &Params<f32>, w: &Window<'_>, h0: &[f32], mask: Mask<'_, f32>) -> Bounded {
    let v = params.view();
    let (hid, voc) = (params.hidden(), params.vocab());
    let model = Model {
        wxh: v.wxh(),
        whh: v.whh(),
        bh: v.bh(),
        why: v.why(),
        by: v.by(),
        hid,
        voc,
        s: params.stride(),
    };
    let (b_n, t_n) = (w.batch, w.len);
    let scale = 1.0 / b_n as f64;
    let n_rows = b_n * t_n + b_n + 1; // terms of each gradient sum, and the shard sums
    let mut g = vec![Sum::default(); params.data.len()];
    let (mut loss, mut loss_e, mut loss_mag) = (0.0, 0.0, 0.0);
    let (mut h_out, mut h_out_e) = (vec![0.0; b_n * hid], vec![0.0; b_n * hid]);
    for b in 0..b_n {
        let stream = Stream {
            xs: &w.inputs[b * t_n..(b + 1) * t_n],
            ys: &w.targets[b * t_n..(b + 1) * t_n],
            mask: mask.map(|m| &m[b * t_n * hid..(b + 1) * t_n * hid]),
        };
        let h_start: Vec<V> = (0..hid).map(|c| exact(h0[b * hid + c] as f64)).collect();
        let f = forward(&model, &stream, h_start, scale);
        loss += f.loss.0;
        loss_e += f.loss.1;
        loss_mag += f.loss.2;
        for (c, h) in f.hs[t_n].iter().enumerate() {
            h_out[b * hid + c] = h.x;
            h_out_e[b * hid + c] = h.e;
        }
        backward(&model, &stream, &f, params.offsets(), &mut g);
    }
    let mut grad = Params::<f64>::zeros(hid, voc);
    let mut grad_e = Params::<f64>::zeros(hid, voc);
    for (i, sum) in g.into_iter().enumerate() {
        let v = sum.done(n_rows);
        grad.data[i] = v.x;
        grad_e.data[i] = v.e;
    }
    Bounded {
        loss: (loss, loss_e + (gamma(n_rows) + F64_SLACK) * loss_mag),
        h: (h_out, h_out_e),
        grad: (grad, grad_e),
    }
}

/// One stream forward from `h_start`: h_t = tanh(Whh·h_{t-1} + bh + Wxh[x_t]),
/// d_t = m_t ⊙ h_t, y_t = Why·d_t + by, the loss and dy_t, with bounds.
fn forward(m: &Model<'_>, s: &Stream<'_>, h_start: Vec<V>, scale: f64) -> Forward {
    let (hid, voc) = (m.hid, m.voc);
    let mut f = Forward {
        hs: vec![h_start],
        ds: Vec::new(),
        dys: Vec::new(),
        loss: (0.0, 0.0, 0.0),
    };
    for (t, (&x, &target)) in s.xs.iter().zip(s.ys).enumerate() {
        let prev = &f.hs[t];
        let h_t: Vec<V> = (0..hid)
            .map(|r| {
                let mut u = Sum::default();
                for (c, &hc) in prev.iter().enumerate() {
                    u.add(m.w(m.whh, r, c), hc);
                }
                u.add(exact(m.bh[r] as f64), exact(1.0));
                u.add(m.w(m.wxh, x as usize, r), exact(1.0));
                tanh(u.done(hid + 2))
            })
            .collect();
        let d: Vec<V> = (0..hid)
            .map(|c| mul(h_t[c], exact(s.m(t, c, hid))))
            .collect();
        let y: Vec<V> = (0..voc)
            .map(|j| {
                let mut sum = Sum::default();
                for (c, &dc) in d.iter().enumerate() {
                    sum.add(m.w(m.why, j, c), dc);
                }
                sum.add(exact(m.by[j] as f64), exact(1.0));
                sum.done(hid + 2)
            })
            .collect();
        let (row_loss, row_e, dy) = softmax_xent(&y, target as usize, scale);
        f.loss.0 += row_loss;
        f.loss.1 += row_e;
        f.loss.2 += row_loss.abs() + row_e;
        f.hs.push(h_t);
        f.ds.push(d);
        f.dys.push(dy);
    }
    f
}

/// One stream backward through time (dhnext = 0 at the end of the window),
/// adding its terms to the gradient sums `g` (tensor offsets `o`).
fn backward(m: &Model<'_>, s: &Stream<'_>, f: &Forward, o: [usize; 6], g: &mut [Sum]) {
    let (hid, voc, st) = (m.hid, m.voc, m.s);
    let mut du_next = vec![V::default(); hid];
    for t in (0..s.xs.len()).rev() {
        let x = s.xs[t] as usize;
        let du: Vec<V> = (0..hid)
            .map(|c| {
                // a = Σ_j dy_j·Why[j,c]·m_c + Σ_i du_next_i·Whh[i,c]
                let mut a = Sum::default();
                for (j, &dy) in f.dys[t].iter().enumerate() {
                    a.add(exact(m.why[j * st + c] as f64 * s.m(t, c, hid)), dy);
                }
                for (i, &dn) in du_next.iter().enumerate() {
                    a.add(m.w(m.whh, i, c), dn);
                }
                let a = a.done(voc + hid + 3);
                // g = 1 - h², computed: |ĝ - g| ≤ (2|h| + e_h)·e_h + 3u.
                let h = f.hs[t + 1][c];
                let gv = V {
                    x: 1.0 - h.x * h.x,
                    e: (2.0 * h.x.abs() + h.e) * h.e + 3.0 * U,
                };
                mul(gv, a)
            })
            .collect();
        for (j, &dy) in f.dys[t].iter().enumerate() {
            for (c, &dc) in f.ds[t].iter().enumerate() {
                g[o[3] + j * st + c].add(dy, dc);
            }
            g[o[4] + j].add(dy, exact(1.0));
        }
        for (r, &dur) in du.iter().enumerate() {
            for (c, &hc) in f.hs[t].iter().enumerate() {
                g[o[1] + r * st + c].add(dur, hc);
            }
            g[o[2] + r].add(dur, exact(1.0));
            g[o[0] + x * st + r].add(dur, exact(1.0));
        }
        du_next = du;
    }
}

/// Softmax + cross-entropy of one row of computed logits: (-ln p[target],
/// its bound, dy = scale·(p - onehot) with bounds).
pub(crate) fn softmax_xent(y: &[V], target: usize, scale: f64) -> (f64, f64, Vec<V>) {
    let v = y.len();
    let max = y.iter().map(|q| q.x).fold(f64::NEG_INFINITY, f64::max);
    let big_e = y.iter().map(|q| q.e).fold(0.0, f64::max);
    let sum: f64 = y.iter().map(|q| (q.x - max).exp()).sum();
    // exp's own error and that of its rounded argument |y - max|·u (the
    // argument is formed from computed logits, within 2E of y - max).
    let eta: Vec<f64> = y
        .iter()
        .map(|q| (1.0 + E_EXP) * (U * ((q.x - max).abs() + 2.0 * big_e)).exp() - 1.0)
        .collect();
    let eta_max = eta.iter().copied().fold(0.0, f64::max);
    let spread = (2.0 * big_e).exp();
    let dy = y
        .iter()
        .enumerate()
        .map(|(j, q)| {
            let p = (q.x - max).exp() / sum;
            let up =
                spread * (1.0 + eta[j]) * (1.0 + 2.0 * U) / ((1.0 - eta_max) * (1.0 - gamma(v)));
            let down =
                (1.0 - eta[j]) * (1.0 - 2.0 * U) / (spread * (1.0 + eta_max) * (1.0 + gamma(v)));
            let r = (up - 1.0).max(1.0 - down);
            let t = if j == target { 1.0 } else { 0.0 };
            V {
                x: scale * (p - t),
                e: scale * (p * r + 3.0 * U * (p * (1.0 + r) + t)),
            }
        })
        .collect();
    // -ln p_t = ln Σ exp(y - max) - (y_t - max); the logits' errors move it
    // by at most 2E, the sum's by ln(1 + η + γ_V), the logarithm (< 1 ulp)
    // and the two subtractions by u each of what they round.
    let lse = sum.ln();
    let loss = lse - (y[target].x - max);
    let rel = (1.0 + eta_max) * (1.0 + gamma(v)) - 1.0;
    let e = 2.0 * big_e - (1.0 - rel).ln()
        + 2.0 * U * (lse.abs() + rel)
        + U * ((y[target].x - max).abs() + 2.0 * big_e)
        + U * (loss.abs() + 4.0 * big_e + 1.0);
    (loss, e, dy)
}
