//! The batched forward and backward pass: the same mathematics as
//! [`crate::backward`], with matrix-matrix products over the streams of a shard
//! and over the whole window.
//!
//! Per shard of `n` streams (row `t·n + b` of a matrix is stream `b` at time `t`):
//!
//! ```text
//! forward   U_t = H_{t-1} · Whhᵀ + bh + Wxh[x_t]      (n×H · H×H, then row lookups)
//!           H_t = tanh(U_t),  D_t = M_t ⊙ H_t          (dropout on the output path)
//!           Y   = D · Whyᵀ + by                       (one T·n × V product for the window)
//! backward  dY  = (P - onehot(targets)) / B            (exact softmax + cross-entropy gradient)
//!           dWhy = dYᵀ · D,  dby = Σ rows of dY        (one product: Σ_t dy_t h_tᵀ)
//!           dD  = dY · Why,  dH_t = M_t ⊙ dD_t
//!           for t = T..1:  dU_t = (1 - H_t ⊙ H_t) ⊙ (dH_t + dHnext),  dHnext = dU_t · Whh
//!           dWhh = dUᵀ · [H_0 … H_{T-1}],  dbh = Σ rows of dU,  dWxh[x] += rows of dU
//! ```
//!
//! These are the seed's equations (DESIGN.md) with the sums over time and
//! streams done as matrix products instead of rank-1 updates. The products use
//! `matrixmultiply` (trainer-only kernels, see [`crate::gemm`]), so the result
//! differs from the plain path by float rounding only; the tests bound that
//! difference, and the gradient check runs on this path too.
//!
//! The streams of a batch are cut into shards, one per thread; each shard
//! computes its own gradient and the shard gradients are added in shard order,
//! so the result does not depend on thread timing.

use crate::backward::{Mask, Window};
use crate::gemm::{small_m_gemm, Gemm};
use crate::params::Params;
use charm_core::Float;

/// Scratch memory of one shard, reused from window to window.
#[derive(Debug, Default)]
pub struct Workspace<F> {
    hs: Vec<F>,
    hd: Vec<F>,
    y: Vec<F>,
    dd: Vec<F>,
    du: Vec<F>,
    dhnext: Vec<F>,
    dtmp: Vec<F>,
    whh_t: Vec<F>,
}

fn resize<F: Float>(v: &mut Vec<F>, n: usize) {
    v.clear();
    v.resize(n, F::ZERO);
}

/// Forward (and, with `grads`, backward) over streams `first..first + n` of a window.
///
/// `h` holds these streams' carried states (n × H) and is updated. With
/// `grads`, it is overwritten with this shard's part of ∂L/∂θ, where
/// `L = (1/B) Σ loss` over the whole batch of `w.batch` streams. Returns the
/// shard's summed loss in nats.
#[allow(clippy::too_many_arguments)]
pub fn shard_pass<F: Gemm>(
    params: &Params<F>,
    w: &Window<'_>,
    first: usize,
    n: usize,
    h: &mut [F],
    mask: Mask<'_, F>,
    ws: &mut Workspace<F>,
    grads: Option<&mut Params<F>>,
) -> F {
    let (hid, voc, s, tl) = (params.hidden(), params.vocab(), params.stride(), w.len);
    let view = params.view();
    let (wxh, whh, bh, why, by) = (view.wxh(), view.whh(), view.bh(), view.why(), view.by());
    let rows = tl * n;
    resize(&mut ws.hs, (tl + 1) * n * s);
    resize(&mut ws.y, rows * voc);
    for b in 0..n {
        ws.hs[b * s..b * s + hid].copy_from_slice(&h[b * hid..(b + 1) * hid]);
    }
    let input = |b: usize, t: usize| w.inputs[(first + b) * tl + t] as usize;
    let target = |b: usize, t: usize| w.targets[(first + b) * tl + t] as usize;
    // Whhᵀ, contiguous, for the small products of the recurrence.
    resize(&mut ws.whh_t, hid * s);
    for (i, row) in whh.chunks_exact(s).enumerate() {
        for (j, &v) in row[..hid].iter().enumerate() {
            ws.whh_t[j * s + i] = v;
        }
    }
    // Forward recurrence: U_t = H_{t-1}·Whhᵀ + bh + Wxh[x_t], H_t = tanh(U_t).
    for t in 0..tl {
        let (prev, next) = ws.hs.split_at_mut((t + 1) * n * s);
        let prev = &prev[t * n * s..];
        let next = &mut next[..n * s];
        small_m_gemm(n, hid, hid, (prev, s), (&ws.whh_t, s), (next, s));
        for b in 0..n {
            let x = input(b, t);
            let row = &mut next[b * s..b * s + hid];
            for ((u, &bias), &wx) in row.iter_mut().zip(bh).zip(&wxh[x * s..x * s + hid]) {
                *u = (*u + bias + wx).tanh();
            }
        }
    }
    // D = M ⊙ H (or H itself).
    let dropped: &[F] = match mask {
        Some(m) => {
            resize(&mut ws.hd, rows * s);
            for t in 0..tl {
                for b in 0..n {
                    let src = &ws.hs[((t + 1) * n + b) * s..][..hid];
                    let m_t = &m[((first + b) * tl + t) * hid..][..hid];
                    let dst = &mut ws.hd[(t * n + b) * s..][..hid];
                    for ((d, &x), &mj) in dst.iter_mut().zip(src).zip(m_t) {
                        *d = x * mj;
                    }
                }
            }
            &ws.hd
        }
        None => &ws.hs[n * s..],
    };
    // Y = D · Whyᵀ + by, the logits of the whole window at once.
    F::gemm(
        rows,
        hid,
        voc,
        F::ONE,
        (dropped, s, 1),
        (why, 1, s),
        F::ZERO,
        (&mut ws.y, voc, 1),
    );
    let scale = F::ONE / F::from_f64(w.batch as f64);
    let mut loss = F::ZERO;
    for (r, y) in ws.y.chunks_exact_mut(voc).enumerate() {
        for (v, &b) in y.iter_mut().zip(by) {
            *v += b;
        }
        let (t, b) = (r / n, r % n);
        let tgt = target(b, t);
        loss -= charm_core::log_softmax_at(y, tgt);
        if grads.is_some() {
            // dy = p - onehot(target): exact gradient of softmax + cross-entropy.
            charm_core::softmax(y, F::ONE);
            y[tgt] -= F::ONE;
            for v in y.iter_mut() {
                *v *= scale;
            }
        }
    }
    for b in 0..n {
        h[b * hid..(b + 1) * hid].copy_from_slice(&ws.hs[(tl * n + b) * s..][..hid]);
    }
    let Some(grads) = grads else {
        return loss;
    };
    grads.clear();
    let g = grads.tensors_mut();
    // dWhy = dYᵀ · D,  dby = Σ rows dY.
    F::gemm(
        voc,
        rows,
        hid,
        F::ONE,
        (&ws.y, 1, voc),
        (dropped, s, 1),
        F::ZERO,
        (g.why, s, 1),
    );
    for y in ws.y.chunks_exact(voc) {
        for (gb, &d) in g.by.iter_mut().zip(y) {
            *gb += d;
        }
    }
    // dD = dY · Why, then dH = M ⊙ dD.
    resize(&mut ws.dd, rows * s);
    F::gemm(
        rows,
        voc,
        hid,
        F::ONE,
        (&ws.y, voc, 1),
        (why, s, 1),
        F::ZERO,
        (&mut ws.dd, s, 1),
    );
    if let Some(m) = mask {
        for t in 0..tl {
            for b in 0..n {
                let m_t = &m[((first + b) * tl + t) * hid..][..hid];
                for (d, &mj) in ws.dd[(t * n + b) * s..][..hid].iter_mut().zip(m_t) {
                    *d *= mj;
                }
            }
        }
    }
    // Backward through time: dU_t = (1 - H_t²) ⊙ (dH_t + dHnext), dHnext = dU_t · Whh.
    resize(&mut ws.du, rows * s);
    resize(&mut ws.dhnext, n * s);
    resize(&mut ws.dtmp, n * s);
    for t in (0..tl).rev() {
        let hrow = &ws.hs[(t + 1) * n * s..(t + 2) * n * s];
        let dd = &ws.dd[t * n * s..(t + 1) * n * s];
        let du = &mut ws.du[t * n * s..(t + 1) * n * s];
        for (((u, &x), &d), &dn) in du.iter_mut().zip(hrow).zip(dd).zip(&ws.dhnext) {
            *u = (F::ONE - x * x) * (d + dn);
        }
        if t > 0 {
            small_m_gemm(n, hid, hid, (du, s), (whh, s), (&mut ws.dtmp, s));
            std::mem::swap(&mut ws.dhnext, &mut ws.dtmp);
        }
    }
    // dWhh = dUᵀ · [H_0 … H_{T-1}],  dbh = Σ rows dU,  dWxh[x_t] += dU_t rows.
    F::gemm(
        hid,
        rows,
        hid,
        F::ONE,
        (&ws.du, 1, s),
        (&ws.hs, s, 1),
        F::ZERO,
        (g.whh, s, 1),
    );
    for (r, du) in ws.du.chunks_exact(s).enumerate() {
        let (t, b) = (r / n, r % n);
        let x = input(b, t);
        for ((gb, gx), &d) in
            g.bh.iter_mut()
                .zip(&mut g.wxh[x * s..x * s + hid])
                .zip(&du[..hid])
        {
            *gb += d;
            *gx += d;
        }
    }
    loss
}

/// The batched engine: shards, their workspaces and gradients, and threads.
#[derive(Debug)]
pub struct Engine<F> {
    shards: Vec<(usize, usize)>,
    work: Vec<(Workspace<F>, Params<F>)>,
}

impl<F: Gemm> Engine<F> {
    /// Cuts `batch` streams into `shards` contiguous shards of near-equal size
    /// (at most `batch`); each runs on its own thread.
    pub fn new(hidden: usize, vocab: usize, batch: usize, shards: usize) -> Self {
        let k = shards.clamp(1, batch.max(1));
        let shards: Vec<(usize, usize)> = (0..k)
            .map(|i| (i * batch / k, (i + 1) * batch / k - i * batch / k))
            .collect();
        let work = shards
            .iter()
            .map(|_| (Workspace::default(), Params::zeros(hidden, vocab)))
            .collect();
        Self { shards, work }
    }

    /// Forward and backward over a window: `grads` gets ∂L/∂θ (sum of the shard
    /// gradients in shard order), `h` (B × H) the new states. Returns Σ loss in nats.
    pub fn forward_backward(
        &mut self,
        params: &Params<F>,
        w: &Window<'_>,
        h: &mut [F],
        mask: Mask<'_, F>,
        grads: &mut Params<F>,
    ) -> F {
        let loss = self.run(params, w, h, mask, true);
        grads.data.copy_from_slice(&self.work[0].1.data);
        for (_, g) in &self.work[1..] {
            for (a, &b) in grads.data.iter_mut().zip(&g.data) {
                *a += b;
            }
        }
        loss
    }

    /// Forward only (evaluation, or the loss for a gradient check): updates
    /// `h`, returns Σ loss in nats.
    pub fn forward(
        &mut self,
        params: &Params<F>,
        w: &Window<'_>,
        h: &mut [F],
        mask: Mask<'_, F>,
    ) -> F {
        self.run(params, w, h, mask, false)
    }

    fn run(
        &mut self,
        params: &Params<F>,
        w: &Window<'_>,
        h: &mut [F],
        mask: Mask<'_, F>,
        backward: bool,
    ) -> F {
        let hid = params.hidden();
        let mut h_parts: Vec<&mut [F]> = Vec::new();
        let mut rest = h;
        for &(_, n) in &self.shards {
            let (a, b) = std::mem::take(&mut rest).split_at_mut(n * hid);
            h_parts.push(a);
            rest = b;
        }
        let losses: Vec<F> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            let mut jobs = self.shards.iter().zip(self.work.iter_mut()).zip(h_parts);
            let first_job = jobs.next();
            for ((&(first, n), (ws, g)), hp) in jobs {
                handles.push(scope.spawn(move || {
                    shard_pass(params, w, first, n, hp, mask, ws, backward.then_some(g))
                }));
            }
            let mut out = Vec::new();
            if let Some(((&(first, n), (ws, g)), hp)) = first_job {
                out.push(shard_pass(
                    params,
                    w,
                    first,
                    n,
                    hp,
                    mask,
                    ws,
                    backward.then_some(g),
                ));
            }
            for hd in handles {
                out.push(hd.join().expect("a training thread panicked"));
            }
            out
        });
        losses.into_iter().fold(F::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backward::tests::{check_gradients, random_mask, random_window};
    use crate::backward::{forward_backward, loss_only};

    fn close(a: &[f32], b: &[f32], tol: f32) -> f32 {
        let mut worst = 0.0f32;
        for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
            let rel = (x - y).abs() / (x.abs().max(y.abs())).max(1e-2);
            assert!(rel <= tol, "entry {i}: {x} vs {y} (relative {rel})");
            worst = worst.max(rel);
        }
        worst
    }

    #[test]
    fn fast_gradients_match_plain_path() {
        let (hid, voc, batch, len) = (13, 7, 5, 9);
        let p = Params::<f32>::init_normal(hid, voc, 0.3, 4);
        let (xs, ys) = random_window(batch, len, voc, 8);
        let w = Window {
            batch,
            len,
            inputs: &xs,
            targets: &ys,
        };
        let mask = random_mask::<f32>(batch * len * hid, 9);
        for m in [None, Some(&mask[..])] {
            let h0: Vec<f32> = (0..batch * hid)
                .map(|i| ((i % 7) as f32 - 3.0) * 0.1)
                .collect();
            let (mut h1, mut h2) = (h0.clone(), h0.clone());
            let (mut g1, mut g2) = (Params::zeros(hid, voc), Params::zeros(hid, voc));
            let l1 = forward_backward(&p, &w, &mut h1, m, &mut g1).unwrap();
            let l2 = Engine::new(hid, voc, batch, 2).forward_backward(&p, &w, &mut h2, m, &mut g2);
            assert!((l1 - l2).abs() / l1 < 1e-5, "loss {l1} vs {l2}");
            close(&h1, &h2, 1e-5);
            close(&g1.data, &g2.data, 1e-4);
        }
    }

    #[test]
    fn gradient_check_fast_path_f64() {
        let (hid, voc, len) = (5, 4, 6);
        for (batch, shards, dropout) in [(1, 1, false), (4, 2, false), (3, 2, true)] {
            let p = Params::<f64>::init_normal(hid, voc, 0.5, 3);
            let (xs, ys) = random_window(batch, len, voc, 12);
            let w = Window {
                batch,
                len,
                inputs: &xs,
                targets: &ys,
            };
            let h0: Vec<f64> = (0..batch * hid)
                .map(|i| 0.1 * ((i % 5) as f64 - 2.0))
                .collect();
            let mask = dropout.then(|| random_mask::<f64>(batch * len * hid, 5));
            let mut g = Params::zeros(hid, voc);
            let mut h = h0.clone();
            let mut e = Engine::new(hid, voc, batch, shards);
            let total = e.forward_backward(&p, &w, &mut h, mask.as_deref(), &mut g);
            let reference = loss_only(&p, &w, &h0, mask.as_deref()).unwrap();
            assert!((total - reference).abs() < 1e-10);
            let (worst, checked) = check_gradients(&p, &g, |q| {
                let mut hh = h0.clone();
                Engine::new(hid, voc, batch, shards).forward(q, &w, &mut hh, mask.as_deref())
                    / batch as f64
            });
            eprintln!("fast gradcheck batch {batch}: worst relative error {worst:e} over {checked} entries");
        }
    }
}
