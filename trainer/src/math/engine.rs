//! The batched forward and backward pass: the same mathematics as
//! [`crate::math::reference`], with matrix-matrix products over the streams of a shard
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
//! streams done as matrix products instead of rank-1 updates. The products are
//! trainer-only kernels with fused multiply-adds (DESIGN.md invariant 2):
//! register-tile AVX2 kernels ([`crate::math::kernels`], chosen at run time) for the
//! recurrence, for small windows and for every product up to H 128,
//! `matrixmultiply` ([`crate::math::gemm`]) for the window-level products from 64
//! rows per shard on at larger H. The softmax uses a polynomial `exp`, the
//! recurrence a rational `tanh` with a refined reciprocal. So the result differs from the plain path by float
//! rounding only; the tests bound that difference on every path, and the
//! gradient check runs on this path too (in `f64`, with the plain-loop kernels).
//!
//! Where the time goes (H 100, T 25, batch 1, `charm bench`): about 70% in the
//! products, of which the 2·T matrix-vector products of the recurrence are the
//! latency-bound part; the fused clip + Adagrad update about 14%; transposes,
//! tanh and the softmax the rest. At batch 32 (two shards of 16 streams) the
//! products take about 88%, at 82–92% of the FMA peak each (one shard pass:
//! about 540 µs for 400 characters, 19.8 M multiply-adds), and the rest is
//! tanh, the softmax, transposes and the update. Nothing is allocated per
//! window once the buffers have grown.
//!
//! The streams of a batch are cut into shards, one per thread (persistent
//! workers, [`crate::math::pool`]); each shard computes its own gradient and the
//! shard gradients are added in shard order, so the result does not depend on
//! thread timing.

use crate::math::kernels::Kernels;
use crate::math::params::Params;
use crate::math::shards::{shard_pass_for_this_cpu, Shards};
use crate::math::window::{Mask, Window};
use charm_core::Float;

/// Scratch memory of one shard, reused from window to window (it grows to the
/// largest window seen and is never shrunk, so a training run allocates once).
#[derive(Debug, Default)]
pub struct Workspace<F> {
    /// `H_0 … H_T`, row `t·n + b` (stride `padded(H)`).
    hs: Vec<F>,
    /// `D = M ⊙ H` with dropout.
    hd: Vec<F>,
    /// Logits, then `dY` (stride `padded(V)`).
    y: Vec<F>,
    /// `dD`, then `dH`, then `dU` in place.
    dd: Vec<F>,
    /// `Whhᵀ` and `Whyᵀ`, contiguous.
    whh_t: Vec<F>,
    why_t: Vec<F>,
    /// `Whhᵀ` and `Whh` packed in column panels (shards of 2 or more streams).
    whh_t_p: Vec<F>,
    whh_p: Vec<F>,
    /// Inputs and targets in row order `t·n + b`.
    xs: Vec<u32>,
    ts: Vec<u32>,
}

/// From this many rows per shard and window, window-level products use
/// `matrixmultiply` (when H is above [`Kernels::tiles_up_to_hidden`]).
const BIG_ROWS: usize = 64;

/// Makes `v` at least `n` long (new entries 0); old contents stay.
fn ensure<F: Float>(v: &mut Vec<F>, n: usize) {
    if v.len() < n {
        v.resize(n, F::ZERO);
    }
}

shard_pass_for_this_cpu! {
    /// Forward (and, with `grads`, backward) over streams `first..first + n` of a window.
    ///
    /// `h` holds these streams' carried states (n × H) and is updated. With
    /// `grads`, it is overwritten with this shard's part of ∂L/∂θ, where
    /// `L = (1/B) Σ loss` over the whole batch of `w.batch` streams. Returns the
    /// shard's summed loss in nats.
    pub fn shard_pass<F: Kernels>(
        params: &Params<F>,
        w: &Window<'_>,
        first: usize,
        n: usize,
        h: &mut [F],
        mask: Mask<'_, F>,
        ws: &mut Workspace<F>,
        grads: Option<&mut Params<F>>,
    ) -> F = shard_pass_body;
}

/// The sizes of one shard pass.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// H, V, and the padded row strides of H and V.
    hid: usize,
    voc: usize,
    s: usize,
    sv: usize,
    /// T, the streams of the shard, and T·n rows of the window matrices.
    tl: usize,
    n: usize,
    rows: usize,
    /// The window-level products go to `matrixmultiply`.
    big: bool,
    /// The recurrence reads Whh from packed panels.
    panels: bool,
}

impl Shape {
    fn new<F: Kernels>(params: &Params<F>, w: &Window<'_>, n: usize) -> Self {
        let (hid, tl) = (params.hidden(), w.len);
        let rows = tl * n;
        Self {
            hid,
            voc: params.vocab(),
            s: params.stride(),
            sv: charm_core::padded(params.vocab()),
            tl,
            n,
            rows,
            // The products over the whole window (T·n rows) go to `matrixmultiply`
            // when they are large: it packs its operands into cache-sized blocks,
            // which pays from about 64 rows on (measured with `charm bench`); below
            // that the register-tile kernels of `math::kernels` win by skipping the
            // packing, and so they do at any size while H is small enough for them
            // to read their operands straight from cache ([`Kernels::tiles_up_to_hidden`]).
            big: rows >= BIG_ROWS && hid > F::tiles_up_to_hidden(),
            // With two or more streams, the recurrence reads Whh from column panels
            // (contiguous however large H is); a single stream reads each weight once
            // per step and takes the row-major copies directly.
            panels: n >= 2,
        }
    }
}

/// The body of [`shard_pass`], one phase per function; every phase is
/// inlined, so that its AVX2 build compiles all of them for AVX2.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn shard_pass_body<F: Kernels>(
    params: &Params<F>,
    w: &Window<'_>,
    first: usize,
    n: usize,
    h: &mut [F],
    mask: Mask<'_, F>,
    ws: &mut Workspace<F>,
    grads: Option<&mut Params<F>>,
) -> F {
    let sh = Shape::new(params, w, n);
    let view = params.view();
    // The register-tile products below write whole padded rows (n = s or sv
    // columns): the padding columns of their B operands are 0, so those of C
    // come out 0 (as the padding of every buffer and gradient must be), and
    // no partial vector needs a masked store (slow on AMD cores).
    prepare(ws, &sh, params, w, first, h, grads.is_some());
    forward_recurrence(ws, &sh, view.bh(), view.wxh());
    if let Some(m) = mask {
        apply_dropout(ws, &sh, m, first);
    }
    let scale = F::ONE / F::from_f64(w.batch as f64);
    let loss = logits_and_loss(ws, &sh, params, mask.is_some(), scale, grads.is_some());
    for b in 0..n {
        h[b * sh.hid..(b + 1) * sh.hid].copy_from_slice(&ws.hs[(sh.tl * n + b) * sh.s..][..sh.hid]);
    }
    if let Some(grads) = grads {
        output_gradients(ws, &sh, params, mask, first, grads);
        backward_through_time(ws, &sh, params.view().whh());
        recurrent_gradients(ws, &sh, grads);
    }
    loss
}

/// Grows the buffers, lays out the inputs, targets and carried states in
/// row order `t·n + b`, and transposes (and packs) the weights the products read.
#[inline(always)]
fn prepare<F: Kernels>(
    ws: &mut Workspace<F>,
    sh: &Shape,
    params: &Params<F>,
    w: &Window<'_>,
    first: usize,
    h: &[F],
    backward: bool,
) {
    let (hid, voc, s, sv, tl, n) = (sh.hid, sh.voc, sh.s, sh.sv, sh.tl, sh.n);
    let view = params.view();
    // Buffers only grow; every entry read below is written first in this pass,
    // except the padding columns, which are never written and so stay 0.
    ensure(&mut ws.hs, (tl + 1) * n * s);
    ensure(&mut ws.y, sh.rows * sv);
    ensure(&mut ws.whh_t, hid * s);
    ensure(&mut ws.why_t, hid * sv);
    ws.xs.clear();
    ws.ts.clear();
    for t in 0..tl {
        for b in first..first + n {
            ws.xs.push(w.inputs[b * tl + t]);
            ws.ts.push(w.targets[b * tl + t]);
        }
    }
    for b in 0..n {
        ws.hs[b * s..b * s + hid].copy_from_slice(&h[b * hid..(b + 1) * hid]);
    }
    // Whhᵀ and Whyᵀ, contiguous, so that the products below read rows.
    F::transpose(hid, hid, (view.whh(), s), (&mut ws.whh_t, s));
    F::transpose(voc, hid, (view.why(), s), (&mut ws.why_t, sv));
    if sh.panels {
        F::pack_panels(hid, hid, (&ws.whh_t, s), &mut ws.whh_t_p);
        if backward {
            F::pack_panels(hid, hid, (view.whh(), s), &mut ws.whh_p);
        }
    }
}

/// Forward recurrence: `U_t = H_{t-1}·Whhᵀ + bh + Wxh[x_t]`, `H_t = tanh(U_t)`.
#[inline(always)]
fn forward_recurrence<F: Kernels>(ws: &mut Workspace<F>, sh: &Shape, bh: &[F], wxh: &[F]) {
    let (hid, s, n) = (sh.hid, sh.s, sh.n);
    for t in 0..sh.tl {
        let (prev, next) = ws.hs.split_at_mut((t + 1) * n * s);
        let prev = &prev[t * n * s..];
        let next = &mut next[..n * s];
        if sh.panels {
            F::mm_panels(n, hid, s, (prev, s, 1), &ws.whh_t_p, (next, s), false);
        } else {
            let rev = t % 2 == 1;
            F::mm_dir(
                n,
                hid,
                s,
                (prev, s, 1),
                (&ws.whh_t, s),
                (next, s),
                false,
                rev,
            );
        }
        // Whole padded rows, a whole number of vectors: the padding of U, bh
        // and Wxh is 0, and tanh(0) = 0 keeps that of H_t 0.
        for (row, &x) in next.chunks_exact_mut(s).zip(&ws.xs[t * n..(t + 1) * n]) {
            let x = x as usize;
            F::bias_tanh(row, bh, &wxh[x * s..(x + 1) * s]);
        }
    }
}

/// `D = M ⊙ H`: dropout on the output path.
#[inline(always)]
fn apply_dropout<F: Kernels>(ws: &mut Workspace<F>, sh: &Shape, m: &[F], first: usize) {
    let (hid, s, n, tl) = (sh.hid, sh.s, sh.n, sh.tl);
    ensure(&mut ws.hd, sh.rows * s);
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
}

/// What feeds the output layer: `D = M ⊙ H` with dropout, else `H_1 … H_T`.
fn dropped<'a, F>(hs: &'a [F], hd: &'a [F], sh: &Shape, dropout: bool) -> &'a [F] {
    if dropout {
        &hd[..sh.rows * sh.s]
    } else {
        &hs[sh.n * sh.s..(sh.tl + 1) * sh.n * sh.s]
    }
}

/// `Y = D · Whyᵀ + by`, the logits of the whole window at once; then the
/// loss, and with `grad`, `dY = (P - onehot(targets)) / B` in place of `Y`:
/// the exact gradient of softmax + cross-entropy with respect to the logits.
#[inline(always)]
fn logits_and_loss<F: Kernels>(
    ws: &mut Workspace<F>,
    sh: &Shape,
    params: &Params<F>,
    dropout: bool,
    scale: F,
    grad: bool,
) -> F {
    let (hid, voc, s, sv, rows) = (sh.hid, sh.voc, sh.s, sh.sv, sh.rows);
    let d = dropped(&ws.hs, &ws.hd, sh, dropout);
    let y = &mut ws.y[..rows * sv];
    if sh.big {
        let why = params.view().why();
        F::gemm(
            rows,
            hid,
            voc,
            F::ONE,
            (d, s, 1),
            (why, 1, s),
            F::ZERO,
            (y, sv, 1),
        );
    } else {
        F::mm(rows, hid, sv, (d, s, 1), (&ws.why_t, sv), (y, sv), false);
    }
    F::softmax_xent(y, sv, voc, params.view().by(), &ws.ts, scale, grad)
}

/// `dWhy = dYᵀ · D`, `dby = Σ rows dY`; then `dD = dY · Why` and
/// `dH = M ⊙ dD` (into `ws.dd`). Overwrites every gradient tensor but whh's
/// real entries, which [`recurrent_gradients`] writes.
#[inline(always)]
fn output_gradients<F: Kernels>(
    ws: &mut Workspace<F>,
    sh: &Shape,
    params: &Params<F>,
    mask: Mask<'_, F>,
    first: usize,
    grads: &mut Params<F>,
) {
    let (hid, voc, s, sv, rows, n, tl) = (sh.hid, sh.voc, sh.s, sh.sv, sh.rows, sh.n, sh.tl);
    let why = params.view().why();
    let d = dropped(&ws.hs, &ws.hd, sh, mask.is_some());
    let y = &ws.y[..rows * sv];
    let g = grads.tensors_mut();
    // whh and why are overwritten except for their row padding, which is set
    // to 0 here; the others accumulate.
    for row in g.whh.chunks_exact_mut(s).chain(g.why.chunks_exact_mut(s)) {
        row[hid..].fill(F::ZERO);
    }
    g.wxh.fill(F::ZERO);
    g.bh.fill(F::ZERO);
    g.by.fill(F::ZERO);
    // dWhy = dYᵀ · D,  dby = Σ rows dY.
    if sh.big {
        F::gemm(
            voc,
            rows,
            hid,
            F::ONE,
            (y, 1, sv),
            (d, s, 1),
            F::ZERO,
            (g.why, s, 1),
        );
    } else {
        F::mm(voc, rows, s, (y, 1, sv), (d, s), (g.why, s), false);
    }
    for yr in y.chunks_exact(sv) {
        for (gb, &dy) in g.by.iter_mut().zip(yr) {
            *gb += dy;
        }
    }
    // dD = dY · Why, then dH = M ⊙ dD.
    ensure(&mut ws.dd, rows * s);
    let dd = &mut ws.dd[..rows * s];
    if sh.big {
        F::gemm(
            rows,
            voc,
            hid,
            F::ONE,
            (y, sv, 1),
            (why, s, 1),
            F::ZERO,
            (dd, s, 1),
        );
    } else {
        F::mm(rows, voc, s, (y, sv, 1), (why, s), (dd, s), false);
    }
    if let Some(m) = mask {
        for t in 0..tl {
            for b in 0..n {
                let m_t = &m[((first + b) * tl + t) * hid..][..hid];
                for (x, &mj) in dd[(t * n + b) * s..][..hid].iter_mut().zip(m_t) {
                    *x *= mj;
                }
            }
        }
    }
}

/// Backward through time, in place in `ws.dd`: `dU_t = (1 - H_t²) ⊙ (dH_t +
/// dHnext)`, with `dHnext = dU_{t+1} · Whh` added into `dH_t` by the product
/// (dHnext = 0 at the end of the window).
#[inline(always)]
fn backward_through_time<F: Kernels>(ws: &mut Workspace<F>, sh: &Shape, whh: &[F]) {
    let (hid, s, n) = (sh.hid, sh.s, sh.n);
    let dd = &mut ws.dd[..sh.rows * s];
    for t in (0..sh.tl).rev() {
        let (before, at) = dd.split_at_mut(t * n * s);
        let du = &mut at[..n * s];
        let hrow = &ws.hs[(t + 1) * n * s..(t + 2) * n * s];
        for (u, &x) in du.iter_mut().zip(hrow) {
            *u *= F::ONE - x * x;
        }
        if t > 0 {
            let prev = &mut before[(t - 1) * n * s..];
            if sh.panels {
                F::mm_panels(n, hid, s, (du, s, 1), &ws.whh_p, (prev, s), true);
            } else {
                let rev = t % 2 == 1;
                F::mm_dir(n, hid, s, (du, s, 1), (whh, s), (prev, s), true, rev);
            }
        }
    }
}

/// `dWhh = dUᵀ · [H_0 … H_{T-1}]`, `dbh = Σ rows dU`, `dWxh[x_t] += dU_t` rows.
#[inline(always)]
fn recurrent_gradients<F: Kernels>(ws: &mut Workspace<F>, sh: &Shape, grads: &mut Params<F>) {
    let (hid, s, rows) = (sh.hid, sh.s, sh.rows);
    let dd = &ws.dd[..rows * s];
    let g = grads.tensors_mut();
    if sh.big {
        F::gemm(
            hid,
            rows,
            hid,
            F::ONE,
            (dd, 1, s),
            (&ws.hs, s, 1),
            F::ZERO,
            (g.whh, s, 1),
        );
    } else {
        F::mm(hid, rows, s, (dd, 1, s), (&ws.hs, s), (g.whh, s), false);
    }
    for (du, &x) in dd.chunks_exact(s).zip(&ws.xs) {
        let x = x as usize;
        for ((gb, gx), &d) in
            g.bh.iter_mut()
                .zip(&mut g.wxh[x * s..x * s + hid])
                .zip(&du[..hid])
        {
            *gb += d;
            *gx += d;
        }
    }
}

/// The batched engine: shards, their workspaces and gradients, and threads.
#[derive(Debug)]
pub struct Engine<F> {
    shards: Shards<F, Workspace<F>>,
}

impl<F: Kernels> Engine<F> {
    /// Bytes the engine holds for windows of `seq_len` over `batch` streams in
    /// `shards` shards, once its buffers have grown: per shard the states
    /// H_0…H_T, D, dY and dD (rows of padded H or V), the transposed and
    /// packed weights; and the gradients of shards 1 and up.
    pub fn memory_bytes(
        hidden: usize,
        vocab: usize,
        batch: usize,
        seq_len: usize,
        shards: usize,
    ) -> u64 {
        let k = shards.clamp(1, batch.max(1)) as u64;
        let n = batch.div_ceil(k as usize) as u64; // streams of the largest shard
        let (s, sv, h, t) = (
            charm_core::padded(hidden) as u64,
            charm_core::padded(vocab) as u64,
            hidden as u64,
            seq_len as u64,
        );
        let per_shard = (t + 1) * n * s + 2 * t * n * s + t * n * sv + 3 * h * s + h * sv;
        let params = charm_core::tensor_lengths(hidden, vocab)
            .iter()
            .sum::<usize>() as u64;
        std::mem::size_of::<F>() as u64 * (k * per_shard + (k - 1) * params)
    }

    /// Cuts `batch` streams into `shards` contiguous shards of near-equal size
    /// (at most `batch`), run by the calling thread and `shards - 1`
    /// persistent worker threads (each thread takes the next shard not yet
    /// taken, see [`crate::math::pool`]).
    pub fn new(hidden: usize, vocab: usize, batch: usize, shards: usize) -> Self {
        Self {
            shards: Shards::new(batch, shards, || Params::zeros(hidden, vocab)),
        }
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
        self.run(params, w, h, mask, Some(grads))
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
        self.run(params, w, h, mask, None)
    }

    fn run(
        &mut self,
        params: &Params<F>,
        w: &Window<'_>,
        h: &mut [F],
        mask: Mask<'_, F>,
        grads: Option<&mut Params<F>>,
    ) -> F {
        self.shards
            .run(h, params.hidden(), grads, |first, n, hp, ws, g| {
                shard_pass(params, w, first, n, hp, mask, ws, g)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::optim::{Hyper, Optimizer, OptimizerKind};
    use crate::math::reference::tests::{check_gradients, random_mask, random_window};
    use crate::math::reference::{forward_backward, loss_only};
    use crate::math::rounding::{self, Bounded};

    /// Checks the loss, the carried states and every gradient entry of one
    /// f32 evaluation (`what`) against the f64 reference and its rounding
    /// bound ([`crate::math::rounding`]); padding entries must be exactly 0.
    /// Returns the worst |error| / bound seen.
    fn within_bound(what: &str, r: &Bounded, (loss, h, g): (f32, &[f32], &Params<f32>)) -> f64 {
        let mut worst = 0.0f64;
        let mut check = |name: String, got: f32, want: f64, bound: f64| {
            let err = (got as f64 - want).abs();
            assert!(
                err <= bound,
                "{what}: {name}: {got} vs {want} (error {err:e} > bound {bound:e})"
            );
            if bound > 0.0 {
                worst = worst.max(err / bound);
            }
        };
        check("loss".into(), loss, r.loss.0, r.loss.1);
        for (i, &x) in h.iter().enumerate() {
            check(format!("h[{i}]"), x, r.h.0[i], r.h.1[i]);
        }
        for (i, &x) in g.data.iter().enumerate() {
            if !g.is_real(i) {
                assert_eq!(x, 0.0, "{what}: padding {:?}", g.locate(i));
                continue;
            }
            let (name, at) = g.locate(i);
            check(
                format!("{name}[{at}]"),
                x,
                r.grad.0.data[i],
                r.grad.1.data[i],
            );
        }
        worst
    }

    /// The bound must be tight enough to catch a wrong gradient: in every
    /// tensor, the largest bound is below 1e-3 of the largest |gradient|
    /// (an error of 0.1% of a tensor's scale anywhere fails the check).
    fn bound_is_tight(r: &Bounded) -> f64 {
        let (g, e) = (&r.grad.0, &r.grad.1);
        let o = g.offsets();
        let mut loosest = 0.0f64;
        for t in 0..5 {
            let scale = g.data[o[t]..o[t + 1]]
                .iter()
                .fold(0.0f64, |m, x| m.max(x.abs()));
            let widest = e.data[o[t]..o[t + 1]].iter().fold(0.0f64, |m, x| m.max(*x));
            if scale > 0.0 {
                loosest = loosest.max(widest / scale);
            }
        }
        assert!(
            loosest < 1e-3,
            "widest bound {loosest:e} of its tensor's largest gradient"
        );
        loosest
    }

    /// Both f32 paths — the engine (AVX2+FMA kernels where the CPU has them,
    /// else the portable ones) and the plain path on charm-core's step —
    /// against the f64 reference of one window, within the rounding bound.
    fn both_paths_within_bound(
        p: &Params<f32>,
        w: &Window<'_>,
        h0: &[f32],
        mask: Mask<'_, f32>,
        engine: &mut Engine<f32>,
        what: &str,
    ) -> (f64, f64) {
        let r = rounding::reference(p, w, h0, mask);
        let (hid, voc) = (p.hidden(), p.vocab());
        let (mut h1, mut h2) = (h0.to_vec(), h0.to_vec());
        let mut g1 = Params::zeros(hid, voc);
        // Garbage in the output buffer must not survive.
        let mut g2 = Params::from_vec(hid, voc, vec![7.0; g1.data.len()]).unwrap();
        let l1 = forward_backward(p, w, &mut h1, mask, &mut g1).unwrap();
        let l2 = engine.forward_backward(p, w, &mut h2, mask, &mut g2);
        let worst_plain = within_bound(&format!("{what}, plain"), &r, (l1, &h1, &g1));
        let worst_fast = within_bound(&format!("{what}, fast"), &r, (l2, &h2, &g2));
        let mut h3 = h0.to_vec();
        let l3 = engine.forward(p, w, &mut h3, mask);
        assert_eq!((l2, &h2), (l3, &h3), "{what}: forward alone");
        (worst_plain.max(worst_fast), bound_is_tight(&r))
    }

    /// `p` with W_hh scaled so that every row has Σ_c |W_hh[r, c]| ≤ 1/2.
    ///
    /// The rounding bound compounds through time by the largest such row sum
    /// per step (the error of h_{t-1} reaches h_t through |W_hh|, that of
    /// dU_{t+1} reaches dU_t through |W_hhᵀ|), so it stays informative over
    /// a window only where that sum is below 1; Wxh and Why (std 1/√H, which
    /// keeps the pre-activations O(1)) enter once and need no such care.
    /// The through-time terms still carry a third of the gradient or more,
    /// so a mistake there is far above the bound.
    fn contracting(mut p: Params<f32>) -> Params<f32> {
        let (hid, s) = (p.hidden(), p.stride());
        let whh = p.tensors_mut().whh;
        let widest = whh
            .chunks_exact(s)
            .map(|row| row[..hid].iter().map(|w| w.abs()).sum::<f32>())
            .fold(0.0f32, f32::max);
        for w in whh.iter_mut() {
            *w *= 0.5 / widest;
        }
        p
    }

    /// Every code path of the engine against the f64 reference: one stream
    /// (matrix-vector tiles), shards of several streams (packed panels), one
    /// and several threads, small windows (register-tile kernels), large ones
    /// at small H (≥ BIG_ROWS rows per shard, register tiles with k blocks)
    /// and at H 150 (`matrixmultiply`), H past one panel and past a k block,
    /// with and without dropout; the plain path on the same windows.
    #[test]
    fn fast_and_plain_gradients_are_within_the_rounding_bound() {
        for (hid, voc, batch, len, shards) in [
            (13, 7, 5, 9, 2),
            (13, 7, 1, 9, 1),
            (40, 9, 2, 6, 1),
            (20, 9, 12, 12, 2),
            (150, 11, 6, 11, 1),
            (20, 9, 6, 5, 3),
            (150, 11, 3, 4, 1),
        ] {
            let p = contracting(Params::<f32>::init_normal(
                hid,
                voc,
                1.0 / (hid as f64).sqrt(),
                4,
            ));
            let (xs, ys) = random_window(batch, len, voc, 8);
            let w = Window {
                batch,
                len,
                inputs: &xs,
                targets: &ys,
            };
            let mask = random_mask::<f32>(batch * len * hid, 9);
            let mut engine = Engine::new(hid, voc, batch, shards);
            let h0: Vec<f32> = (0..batch * hid)
                .map(|i| ((i % 7) as f32 - 3.0) * 0.1)
                .collect();
            for m in [None, Some(&mask[..])] {
                let what = format!(
                    "H {hid} B {batch} T {len} shards {shards} dropout {}",
                    m.is_some()
                );
                let (worst, tight) = both_paths_within_bound(&p, &w, &h0, m, &mut engine, &what);
                eprintln!("{what}: worst error / bound {worst:.3}, widest bound {tight:.1e} of the gradient");
            }
        }
    }

    #[test]
    fn gradient_check_fast_path_f64() {
        let (hid, voc, len) = (5, 4, 6);
        // Batch 1; shards of 2 streams on 2 threads (panels); 12 streams × 6
        // = 72 rows in one shard (the `matrixmultiply` path); dropout.
        for (batch, shards, dropout) in [(1, 1, false), (4, 2, false), (3, 2, true), (12, 1, true)]
        {
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

    /// Along a short training run (the engine's gradients, clipped, then
    /// the update, as training takes them), the gradients of both paths at
    /// the weights and states of every step are within the rounding bound.
    /// Comparing weights instead would amplify rounding: Adam's and
    /// Adagrad's first steps are ±lr whatever the gradient's size, so an
    /// entry whose gradient is near 0 turns a rounding difference into a
    /// step of 2·lr.
    ///
    /// The run starts from [`contracting`] weights, and its rate keeps every
    /// row sum of |W_hh| below 0.9 over its 5 steps: an Adagrad step moves an
    /// entry by at most lr (|g| / √Σg² ≤ 1), an Adam step by at most
    /// lr·(1-β₁)/√(1-β₂) < 3.2·lr (Kingma & Ba, §2.1), so a row sum by H
    /// times that; lr = 0.4 / (5·H·3.2) for Adam and 0.4 / (5·H) for Adagrad.
    #[test]
    fn along_a_training_run_both_paths_stay_within_the_rounding_bound() {
        let cases = [
            ((24, 9, 4, 12), 2, OptimizerKind::Adam, true),
            ((100, 65, 1, 25), 1, OptimizerKind::Adagrad, false),
            ((24, 9, 8, 12), 2, OptimizerKind::Adagrad, false),
            ((24, 9, 16, 20), 2, OptimizerKind::Adam, true),
        ];
        for ((hid, voc, batch, len), threads, kind, dropout) in cases {
            let step_bound = if kind == OptimizerKind::Adam {
                3.2
            } else {
                1.0
            };
            let lr = (0.4 / (5.0 * hid as f64 * step_bound)) as f32;
            let mut p = contracting(Params::<f32>::init_normal(hid, voc, 0.1, 5));
            let mut opt = Optimizer::new(kind, p.data.len());
            let mut h = vec![0.0f32; batch * hid];
            let mut engine = Engine::new(hid, voc, batch, threads);
            let mut g = Params::zeros(hid, voc);
            let mut mask = vec![0.0f32; batch * len * hid];
            let (mut worst, mut tight) = (0.0f64, 0.0f64);
            for step in 0..5u64 {
                let (xs, ys) = random_window(batch, len, voc, 100 + step);
                let w = Window {
                    batch,
                    len,
                    inputs: &xs,
                    targets: &ys,
                };
                crate::math::window::fill_dropout_mask(&mut mask, 0.2, 3, step);
                let m = dropout.then_some(&mask[..]);
                let what = format!(
                    "(H, V, B, T) {:?}, {kind:?}, step {step}",
                    (hid, voc, batch, len)
                );
                let (wst, tgt) = both_paths_within_bound(&p, &w, &h, m, &mut engine, &what);
                (worst, tight) = (worst.max(wst), tight.max(tgt));
                // The step itself, as training takes it.
                engine.forward_backward(&p, &w, &mut h, m, &mut g);
                let hp = Hyper {
                    lr,
                    weight_decay: 0.0,
                };
                let finite = opt.clip_update(&mut p, &mut g, 5.0, hp);
                assert!(finite.grads && finite.params);
            }
            eprintln!(
                "5 {kind:?} steps, (H, V, B, T) {:?}, {threads} thread(s): worst error / bound \
                 {worst:.3}, widest bound {tight:.1e} of the gradient",
                (hid, voc, batch, len)
            );
        }
    }
}
