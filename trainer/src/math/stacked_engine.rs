//! The batched forward and backward pass of a model of any cell and depth:
//! the mathematics of [`crate::math::reference::stacked`] with the sums
//! over time and streams done as matrix products.
//!
//! Per shard of `n` streams (row `t·n + b` of a window matrix is stream `b`
//! at step `t`; `G·H` gate rows, PyTorch's gate order), layer by layer:
//!
//! ```text
//! forward   layer 1:   AX = rows wx[x_t] + b_i                    (row lookups)
//!           layer l>1: X_l = M_l ⊙ H_{l−1},  AX = X_l · W_iᵀ + b_i  (one T·n×H · H×G·H product)
//!           each t:    AH_t = H_{l,t−1} · W_hᵀ + b_h              (n×H · H×G·H)
//!                      H_{l,t}, C_{l,t} = the cell's update of AX_t, AH_t (row by row)
//!           Y = (M_0 ⊙ H_L) · W_hyᵀ + b_y                         (T·n×H · H×V)
//! backward  dY = (P − onehot(targets)) / B
//!           dW_hy = dYᵀ · D,  db_y = Σ rows dY,  dH_L = M_0 ⊙ (dY · W_hy)
//!           per layer from the top, t = T..1:
//!             the cell's backward of (dH_{l,t} + dHnext, dCnext) → dAX_t, dAH_t, direct terms
//!             dHnext = dAH_t · W_h + direct                      (n×G·H · G·H×H)
//!           dW_h = dAHᵀ · [H_{l,0} … H_{l,T−1}],  db_h = Σ rows dAH,  db_i = Σ rows dAX
//!           layer 1:   dwx[x_t] += rows of dAX
//!           layer l>1: dW_i = dAXᵀ · X_l,  dH_{l−1} = M_l ⊙ (dAX · W_i)
//! ```
//!
//! The recurrence's products run on [`Kernels::mm`] (AVX2 tiles where the
//! CPU has them, the portable loops otherwise); the window-level products
//! on [`crate::math::gemm`]'s `matrixmultiply` from 64 rows (`BIG_ROWS`) at
//! larger H, as in [`crate::math::engine`]. The cells' updates are
//! [`UnitGrad`]'s, applied row by row over contiguous gate slices (what the
//! forward saves is kept in planes), so that the AVX2 build vectorizes them
//! across units. Shards run on the engine's threads, and their gradients
//! are added in shard order.

use crate::math::cell::{Gru, Lstm, Rnn, UnitGrad, MAX_GATES};
use crate::math::kernels::Kernels;
use crate::math::params::{Params, Shape};
use crate::math::shards::{shard_pass_for_this_cpu, Shards};
use crate::math::window::{Mask, Window};
use charm_core::{padded, Cell, Float};

/// From this many rows per shard and window, window-level products use
/// `matrixmultiply` (when H is above [`Kernels::tiles_up_to_hidden`]).
const BIG_ROWS: usize = 64;

/// Makes `v` at least `n` long (new entries 0); old contents stay.
fn ensure<F: Float>(v: &mut Vec<F>, n: usize) {
    if v.len() < n {
        v.resize(n, F::ZERO);
    }
}

/// The buffers of one layer of one shard.
#[derive(Debug, Default)]
struct LayerWork<F> {
    /// `H_{l,0} … H_{l,T}`, rows of stride padded(H).
    hs: Vec<F>,
    /// `C_{l,0} … C_{l,T}` (LSTM).
    cs: Vec<F>,
    /// The layer's input `X_l = M_l ⊙ H_{l−1}` (l > 0), T·n rows.
    xin: Vec<F>,
    /// `AX`, then `dAX` (stride padded(G·H)).
    ax: Vec<F>,
    /// `dAH` (stride padded(G·H)).
    dah: Vec<F>,
    /// What each unit's forward saved: value k of unit (t, b, r) at
    /// `saved[k][(t·n + b)·H + r]` (planes, so that a row's update reads
    /// and writes contiguous memory).
    saved: [Vec<F>; 6],
    /// `W_hᵀ`, `W_iᵀ` (H × padded(G·H)).
    wh_t: Vec<F>,
    wx_t: Vec<F>,
}

/// Scratch memory of one shard, reused from window to window.
#[derive(Debug, Default)]
pub struct StackedWorkspace<F> {
    layers: Vec<LayerWork<F>>,
    /// `AH_t` of one step (n rows of padded(G·H)).
    ah: Vec<F>,
    /// `D = M_0 ⊙ H_L`, T·n rows.
    top: Vec<F>,
    /// Logits, then dY (stride padded(V)).
    y: Vec<F>,
    /// `W_hyᵀ` (H × padded(V)).
    why_t: Vec<F>,
    /// dH flowing into a layer from above, T·n rows; and its next one.
    dh_in: Vec<F>,
    dh_below: Vec<F>,
    /// dHnext and dCnext, n rows.
    dh_next: Vec<F>,
    dc_next: Vec<F>,
    /// Inputs and targets in row order `t·n + b`.
    xs: Vec<u32>,
    ts: Vec<u32>,
}

/// The sizes of one shard pass.
#[derive(Debug, Clone, Copy)]
struct Dims {
    hid: usize,
    voc: usize,
    /// padded(H), padded(G·H), padded(V).
    s: usize,
    gs: usize,
    sv: usize,
    gh: usize,
    tl: usize,
    n: usize,
    rows: usize,
    depth: usize,
    big: bool,
}

/// `C = A·B` for a row-major k×n B (row stride `ldb`): on `matrixmultiply`
/// when `big`, else on the kernels. Overwrites C's first n columns.
#[allow(clippy::too_many_arguments)]
fn product<F: Kernels>(
    big: bool,
    (m, k, n): (usize, usize, usize),
    a: (&[F], usize, usize),
    (b, ldb): (&[F], usize),
    (c, ldc): (&mut [F], usize),
) {
    if big {
        F::gemm(m, k, n, F::ONE, a, (b, ldb, 1), F::ZERO, (c, ldc, 1));
    } else {
        F::mm(m, k, n, a, (b, ldb), (c, ldc), false);
    }
}

shard_pass_for_this_cpu! {
    /// Forward (and, with `grads`, backward) over streams `first..first + n`.
    ///
    /// `h` holds these streams' carried states (n × [`Shape::state_len`]) and
    /// is updated; `grads` is overwritten with this shard's part of ∂L/∂θ.
    /// Returns the shard's summed loss in nats.
    pub fn stacked_shard_pass<F: Kernels>(
        params: &Params<F>,
        w: &Window<'_>,
        first: usize,
        n: usize,
        h: &mut [F],
        mask: Mask<'_, F>,
        ws: &mut StackedWorkspace<F>,
        grads: Option<&mut Params<F>>,
    ) -> F = shard_pass_body;
}

/// The body of [`stacked_shard_pass`]; every phase is inlined into it, so
/// that its AVX2 build compiles all of them for AVX2.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn shard_pass_body<F: Kernels>(
    params: &Params<F>,
    w: &Window<'_>,
    first: usize,
    n: usize,
    h: &mut [F],
    mask: Mask<'_, F>,
    ws: &mut StackedWorkspace<F>,
    grads: Option<&mut Params<F>>,
) -> F {
    match params.shape().cell {
        Cell::Rnn => pass::<Rnn, F>(params, w, first, n, h, mask, ws, grads),
        Cell::Gru => pass::<Gru, F>(params, w, first, n, h, mask, ws, grads),
        _ => pass::<Lstm, F>(params, w, first, n, h, mask, ws, grads),
    }
}

/// The tensors of a flat vector, in storage order.
fn tensors<'a, F>(shape: &Shape, data: &'a [F]) -> Vec<&'a [F]> {
    shape.tensors().iter().map(|t| &data[t.range()]).collect()
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pass<U: UnitGrad, F: Kernels>(
    params: &Params<F>,
    w: &Window<'_>,
    first: usize,
    n: usize,
    h: &mut [F],
    mask: Mask<'_, F>,
    ws: &mut StackedWorkspace<F>,
    grads: Option<&mut Params<F>>,
) -> F {
    let shape = params.shape();
    let (hid, voc, tl) = (shape.hidden, shape.vocab, w.len);
    let gh = U::GATES * hid;
    let rows = tl * n;
    let d = Dims {
        hid,
        voc,
        s: padded(hid),
        gs: padded(gh),
        sv: padded(voc),
        gh,
        tl,
        n,
        rows,
        depth: shape.layers,
        big: rows >= BIG_ROWS && hid > F::tiles_up_to_hidden(),
    };
    let t = tensors(&shape, &params.data);
    prepare::<U, F>(ws, &d, &t, w, first, h);
    let block = w.batch * tl * hid;
    let m = |k: usize, b: usize, step: usize| {
        mask.map(|m| &m[k * block + ((first + b) * tl + step) * hid..][..hid])
    };
    for l in 0..d.depth {
        forward_layer::<U, F>(ws, &d, &t, l, &m);
    }
    // D = M_0 ⊙ H_L, then Y = D·W_hyᵀ + b_y, the loss and dY
    let (s, sv) = (d.s, d.sv);
    {
        let top_h = &ws.layers[d.depth - 1].hs[n * s..(tl + 1) * n * s];
        ws.top[..rows * s].copy_from_slice(top_h);
        for step in 0..tl {
            for b in 0..n {
                if let Some(mk) = m(0, b, step) {
                    for (v, &k) in ws.top[(step * n + b) * s..][..hid].iter_mut().zip(mk) {
                        *v *= k;
                    }
                }
            }
        }
    }
    let k_out = t.len();
    let (why, by) = (t[k_out - 2], t[k_out - 1]);
    product(
        d.big,
        (rows, hid, sv),
        (&ws.top[..rows * s], s, 1),
        (&ws.why_t, sv),
        (&mut ws.y[..rows * sv], sv),
    );
    let scale = F::ONE / F::from_f64(w.batch as f64);
    let loss = F::softmax_xent(
        &mut ws.y[..rows * sv],
        sv,
        voc,
        by,
        &ws.ts,
        scale,
        grads.is_some(),
    );
    // the carried states after the window, in charm-core's layout
    let per_layer = shape.cell.state_vectors() * hid;
    for b in 0..n {
        let state = &mut h[b * shape.state_len()..(b + 1) * shape.state_len()];
        for (l, lw) in ws.layers.iter().enumerate() {
            let at = (tl * n + b) * s;
            state[l * per_layer..][..hid].copy_from_slice(&lw.hs[at..at + hid]);
            if per_layer > hid {
                state[l * per_layer + hid..][..hid].copy_from_slice(&lw.cs[at..at + hid]);
            }
        }
    }
    if let Some(grads) = grads {
        backward::<U, F>(ws, &d, &t, why, &m, grads);
    }
    loss
}

/// Grows the buffers, lays out inputs, targets and carried states in row
/// order `t·n + b`, and transposes the weights the products read.
#[inline(always)]
fn prepare<U: UnitGrad, F: Kernels>(
    ws: &mut StackedWorkspace<F>,
    d: &Dims,
    t: &[&[F]],
    w: &Window<'_>,
    first: usize,
    h: &[F],
) {
    let (hid, s, gs, sv, n, rows) = (d.hid, d.s, d.gs, d.sv, d.n, d.rows);
    let state_len = d.depth * if U::GATES == 4 { 2 } else { 1 } * hid;
    let per_layer = state_len / d.depth;
    ws.layers.resize_with(d.depth, LayerWork::default);
    for (l, lw) in ws.layers.iter_mut().enumerate() {
        ensure(&mut lw.hs, (d.tl + 1) * n * s);
        if per_layer > hid {
            ensure(&mut lw.cs, (d.tl + 1) * n * s);
        }
        ensure(&mut lw.ax, rows * gs);
        ensure(&mut lw.dah, rows * gs);
        for plane in &mut lw.saved {
            ensure(plane, rows * hid);
        }
        ensure(&mut lw.wh_t, hid * gs);
        F::transpose(d.gh, hid, (t[4 * l + 1], s), (&mut lw.wh_t, gs));
        if l > 0 {
            ensure(&mut lw.xin, rows * s);
            ensure(&mut lw.wx_t, hid * gs);
            F::transpose(d.gh, hid, (t[4 * l], s), (&mut lw.wx_t, gs));
        }
        for b in 0..n {
            let state = &h[b * state_len..(b + 1) * state_len];
            lw.hs[b * s..b * s + hid].copy_from_slice(&state[l * per_layer..][..hid]);
            if per_layer > hid {
                lw.cs[b * s..b * s + hid].copy_from_slice(&state[l * per_layer + hid..][..hid]);
            }
        }
    }
    ensure(&mut ws.ah, n * gs);
    ensure(&mut ws.top, rows * s);
    ensure(&mut ws.y, rows * sv);
    ensure(&mut ws.why_t, hid * sv);
    ensure(&mut ws.dh_in, rows * s);
    ensure(&mut ws.dh_below, rows * s);
    ensure(&mut ws.dh_next, n * s);
    ensure(&mut ws.dc_next, n * s);
    let k = t.len();
    F::transpose(d.voc, hid, (t[k - 2], s), (&mut ws.why_t, sv));
    ws.xs.clear();
    ws.ts.clear();
    for step in 0..d.tl {
        for b in first..first + n {
            ws.xs.push(w.inputs[b * d.tl + step]);
            ws.ts.push(w.targets[b * d.tl + step]);
        }
    }
}

/// Layer `l`'s forward over the window: its input terms for all T steps,
/// then the recurrence step by step.
#[inline(always)]
fn forward_layer<'m, U: UnitGrad, F: Kernels>(
    ws: &mut StackedWorkspace<F>,
    d: &Dims,
    t: &[&[F]],
    l: usize,
    m: &impl Fn(usize, usize, usize) -> Option<&'m [F]>,
) {
    let (hid, s, gs, gh, n, rows) = (d.hid, d.s, d.gs, d.gh, d.n, d.rows);
    let (wx, bx, bh) = (t[4 * l], t[4 * l + 2], t[4 * l + 3]);
    let (below, this) = ws.layers.split_at_mut(l);
    let lw = &mut this[0];
    if l == 0 {
        // AX_t = wx[x_t] + b_i: row lookups
        for (row, &x) in lw.ax[..rows * gs].chunks_exact_mut(gs).zip(&ws.xs) {
            let x = x as usize;
            for ((a, &wv), &bv) in row[..gh].iter_mut().zip(&wx[x * gs..x * gs + gh]).zip(bx) {
                *a = wv + bv;
            }
        }
    } else {
        // X_l = M_l ⊙ H_{l−1} (steps 1..T), AX = X_l·W_iᵀ + b_i
        let hb = &below[l - 1].hs[n * s..(d.tl + 1) * n * s];
        lw.xin[..rows * s].copy_from_slice(hb);
        for step in 0..d.tl {
            for b in 0..n {
                if let Some(mk) = m(l, b, step) {
                    for (v, &k) in lw.xin[(step * n + b) * s..][..hid].iter_mut().zip(mk) {
                        *v *= k;
                    }
                }
            }
        }
        product(
            d.big,
            (rows, hid, gs),
            (&lw.xin[..rows * s], s, 1),
            (&lw.wx_t, gs),
            (&mut lw.ax[..rows * gs], gs),
        );
        for row in lw.ax[..rows * gs].chunks_exact_mut(gs) {
            for (a, &bv) in row[..gh].iter_mut().zip(bx) {
                *a += bv;
            }
        }
    }
    let lstm = !lw.cs.is_empty() && U::GATES == 4;
    for step in 0..d.tl {
        let (prev, next) = lw.hs.split_at_mut((step + 1) * n * s);
        let prev = &prev[step * n * s..];
        // AH_t = H_{t−1}·W_hᵀ (+ b_h below)
        F::mm(
            n,
            hid,
            gs,
            (prev, s, 1),
            (&lw.wh_t, gs),
            (&mut ws.ah[..n * gs], gs),
            false,
        );
        let (c_before, c_after) = lw
            .cs
            .split_at_mut(if lstm { (step + 1) * n * s } else { 0 });
        for b in 0..n {
            let row = Row {
                ax: &lw.ax[(step * n + b) * gs..][..gh],
                ah: &ws.ah[b * gs..][..gh],
                bh,
                h_prev: &prev[b * s..][..hid],
                c_prev: if lstm {
                    &c_before[(step * n + b) * s..][..hid]
                } else {
                    &[]
                },
            };
            let at = (step * n + b) * hid;
            let [s0, s1, s2, s3, s4, s5] = &mut lw.saved;
            let saved = [
                &mut s0[at..at + hid],
                &mut s1[at..at + hid],
                &mut s2[at..at + hid],
                &mut s3[at..at + hid],
                &mut s4[at..at + hid],
                &mut s5[at..at + hid],
            ];
            let c_next: &mut [F] = if lstm {
                &mut c_after[b * s..][..hid]
            } else {
                &mut []
            };
            update_row::<U, F>(hid, &row, &mut next[b * s..][..hid], c_next, saved);
        }
    }
}

/// What the update of one stream's H units at one step reads.
struct Row<'a, F> {
    /// The input terms, G·H (gate-major).
    ax: &'a [F],
    /// The hidden products `W_h·h` without the bias, G·H.
    ah: &'a [F],
    /// b_h, G·H.
    bh: &'a [F],
    /// h and (LSTM) c before the step, H each (c empty otherwise).
    h_prev: &'a [F],
    c_prev: &'a [F],
}

/// The cell's update of the H units of one row: `h' = U(x terms, hidden
/// terms + b_h, h, c)` unit by unit, over contiguous slices (each gate's
/// terms one slice of H), so that the compiler may vectorize it across
/// units; writes h' (and c'), and what each unit saves, plane by plane.
#[inline(always)]
fn update_row<U: UnitGrad, F: Float>(
    hid: usize,
    row: &Row<'_, F>,
    h_next: &mut [F],
    c_next: &mut [F],
    saved: [&mut [F]; 6],
) {
    fn gate<F>(v: &[F], g: usize, gates: usize, hid: usize) -> &[F] {
        if g < gates {
            &v[g * hid..(g + 1) * hid]
        } else {
            &v[..hid]
        }
    }
    let gate = |v, g| gate(v, g, U::GATES, hid);
    let (ax, ah, bh) = (
        [
            gate(row.ax, 0),
            gate(row.ax, 1),
            gate(row.ax, 2),
            gate(row.ax, 3),
        ],
        [
            gate(row.ah, 0),
            gate(row.ah, 1),
            gate(row.ah, 2),
            gate(row.ah, 3),
        ],
        [
            gate(row.bh, 0),
            gate(row.bh, 1),
            gate(row.bh, 2),
            gate(row.bh, 3),
        ],
    );
    let h_prev = &row.h_prev[..hid];
    let h_next = &mut h_next[..hid];
    let mut saved = saved.map(|plane| &mut plane[..hid]);
    let c_prev = row.c_prev.get(..hid);
    let c_next = c_next.get_mut(..hid);
    let has_c = c_prev.is_some() && c_next.is_some();
    let (c_prev, c_next) = (c_prev.unwrap_or(&[]), c_next.unwrap_or(&mut []));
    // UNITS units at a time through arrays of their own, one per gate and
    // quantity: the slices here may alias for all the compiler knows, the
    // arrays cannot, so the chunk's loop is vectorized across units (one
    // AVX2 register), and the copies in and out are plain slice copies.
    let mut r0 = 0;
    while r0 < hid {
        let n = UNITS.min(hid - r0);
        let units = r0..r0 + n;
        let (mut x, mut h) = ([[F::ZERO; UNITS]; MAX_GATES], [[F::ZERO; UNITS]; MAX_GATES]);
        for g in 0..U::GATES {
            load(&mut x[g], &ax[g][units.clone()]);
            h[g] = sum(&ah[g][units.clone()], &bh[g][units.clone()]);
        }
        let (mut h0, mut c0) = ([F::ZERO; UNITS], [F::ZERO; UNITS]);
        load(&mut h0, &h_prev[units.clone()]);
        if has_c {
            load(&mut c0, &c_prev[units.clone()]);
        }
        let (mut h1, mut c1) = ([F::ZERO; UNITS], [F::ZERO; UNITS]);
        let mut values = [[F::ZERO; UNITS]; 6];
        for k in 0..UNITS {
            let (hc, v) = U::forward(
                &[x[0][k], x[1][k], x[2][k], x[3][k]],
                &[h[0][k], h[1][k], h[2][k], h[3][k]],
                [h0[k], c0[k]],
            );
            (h1[k], c1[k]) = (hc[0], hc[1]);
            for (plane, value) in values.iter_mut().zip(v) {
                plane[k] = value;
            }
        }
        store(&mut h_next[units.clone()], &h1);
        if has_c {
            store(&mut c_next[units.clone()], &c1);
        }
        for (plane, value) in saved.iter_mut().zip(&values) {
            store(&mut plane[units.clone()], value);
        }
        r0 += n;
    }
}

/// Units per chunk of [`update_row`]: one AVX2 register of f32.
const UNITS: usize = 8;

/// `chunk[..src.len()] = src` (at most [`UNITS`]), a fixed-size copy for a
/// whole chunk (a call to `memmove` otherwise).
#[inline(always)]
fn load<F: Float>(chunk: &mut [F; UNITS], src: &[F]) {
    match <&[F; UNITS]>::try_from(src) {
        Ok(whole) => *chunk = *whole,
        Err(_) => chunk[..src.len()].copy_from_slice(src),
    }
}

/// `a + b` element by element into a chunk (zero past their length, at
/// most [`UNITS`]), added over the whole chunk: no masked loads or stores.
#[inline(always)]
fn sum<F: Float>(a: &[F], b: &[F]) -> [F; UNITS] {
    let (mut x, mut y) = ([F::ZERO; UNITS], [F::ZERO; UNITS]);
    load(&mut x, a);
    load(&mut y, b);
    for (x, y) in x.iter_mut().zip(y) {
        *x += y;
    }
    x
}

/// `dst = chunk[..dst.len()]` (at most [`UNITS`]), as [`load`].
#[inline(always)]
fn store<F: Float>(dst: &mut [F], chunk: &[F; UNITS]) {
    if let Ok(whole) = <&mut [F; UNITS]>::try_from(&mut *dst) {
        *whole = *chunk;
    } else {
        let n = dst.len();
        dst.copy_from_slice(&chunk[..n]);
    }
}

/// The cell's backward of the H units of one row, over contiguous slices
/// (as [`update_row`]): from `δ = dh_in + dh_next` and `dc_next` and what
/// the forward saved (`(saved planes, h_prev, c_prev)`), it writes the
/// gates' dAX and dAH (gate-major, G·H each) and replaces dh_next and
/// dc_next by the cells' direct terms to the previous state.
#[inline(always)]
fn backward_row<U: UnitGrad, F: Float>(
    hid: usize,
    (saved, h_prev, c_prev): ([&[F]; 6], &[F], &[F]),
    dh_in: &[F],
    (dh_next, dc_next): (&mut [F], &mut [F]),
    (dax, dah): (&mut [F], &mut [F]),
) {
    let [s0, s1, s2, s3, s4, s5] = saved;
    let (s0, s1, s2, s3, s4, s5) = (
        &s0[..hid],
        &s1[..hid],
        &s2[..hid],
        &s3[..hid],
        &s4[..hid],
        &s5[..hid],
    );
    let (h_prev, dh_in) = (&h_prev[..hid], &dh_in[..hid]);
    let (dh_next, dc_next) = (&mut dh_next[..hid], &mut dc_next[..hid]);
    let lstm = !c_prev.is_empty();
    for r in 0..hid {
        let c = if lstm { c_prev[r] } else { F::ZERO };
        let delta = dh_in[r] + dh_next[r];
        let u = U::backward(
            &[s0[r], s1[r], s2[r], s3[r], s4[r], s5[r]],
            [h_prev[r], c],
            [delta, dc_next[r]],
        );
        for (g, (x, h)) in dax
            .chunks_exact_mut(hid)
            .zip(dah.chunks_exact_mut(hid))
            .take(U::GATES)
            .enumerate()
        {
            x[r] = u.input_terms[g];
            h[r] = u.hidden_terms[g];
        }
        dh_next[r] = u.prev[0];
        dc_next[r] = u.prev[1];
    }
}

/// Backward: the output layer, then every layer from the top, through time.
#[inline(always)]
fn backward<'m, U: UnitGrad, F: Kernels>(
    ws: &mut StackedWorkspace<F>,
    d: &Dims,
    t: &[&[F]],
    why: &[F],
    m: &impl Fn(usize, usize, usize) -> Option<&'m [F]>,
    grads: &mut Params<F>,
) {
    let (hid, voc, s, gs, sv, gh, n, rows, tl) =
        (d.hid, d.voc, d.s, d.gs, d.sv, d.gh, d.n, d.rows, d.tl);
    grads.clear();
    let shape = grads.shape();
    let spans = shape.tensors();
    let mut g: Vec<&mut [F]> = Vec::with_capacity(spans.len());
    let mut rest = &mut grads.data[..];
    for span in &spans {
        let (part, tail) = rest.split_at_mut(span.len());
        g.push(part);
        rest = tail;
    }
    let k_out = g.len();
    let y = &ws.y[..rows * sv];
    // dW_hy = dYᵀ·D, db_y = Σ rows dY
    product(
        d.big,
        (voc, rows, s),
        (y, 1, sv),
        (&ws.top[..rows * s], s),
        (&mut *g[k_out - 2], s),
    );
    for yr in y.chunks_exact(sv) {
        for (gb, &dy) in g[k_out - 1].iter_mut().zip(yr) {
            *gb += dy;
        }
    }
    // dH_L = M_0 ⊙ (dY·W_hy)
    product(
        d.big,
        (rows, voc, s),
        (y, sv, 1),
        (why, s),
        (&mut ws.dh_in[..rows * s], s),
    );
    for step in 0..tl {
        for b in 0..n {
            if let Some(mk) = m(0, b, step) {
                for (v, &k) in ws.dh_in[(step * n + b) * s..][..hid].iter_mut().zip(mk) {
                    *v *= k;
                }
            }
        }
    }
    for l in (0..d.depth).rev() {
        let wh = t[4 * l + 1];
        let lw = &mut ws.layers[l];
        let lstm = !lw.cs.is_empty() && U::GATES == 4;
        ws.dh_next[..n * s].fill(F::ZERO);
        ws.dc_next[..n * s].fill(F::ZERO);
        for step in (0..tl).rev() {
            let hprev = &lw.hs[step * n * s..(step + 1) * n * s];
            for b in 0..n {
                let at = (step * n + b) * hid;
                let saved: [&[F]; 6] = std::array::from_fn(|k| &lw.saved[k][at..at + hid]);
                let c_prev: &[F] = if lstm {
                    &lw.cs[(step * n + b) * s..][..hid]
                } else {
                    &[]
                };
                backward_row::<U, F>(
                    hid,
                    (saved, &hprev[b * s..][..hid], c_prev),
                    &ws.dh_in[(step * n + b) * s..][..hid],
                    (
                        &mut ws.dh_next[b * s..][..hid],
                        &mut ws.dc_next[b * s..][..hid],
                    ),
                    (
                        &mut lw.ax[(step * n + b) * gs..][..gh],
                        &mut lw.dah[(step * n + b) * gs..][..gh],
                    ),
                );
            }
            // dHnext = dAH_t·W_h + the cells' direct terms
            let dah_t = &lw.dah[step * n * gs..(step + 1) * n * gs];
            F::mm(
                n,
                gh,
                s,
                (dah_t, gs, 1),
                (wh, s),
                (&mut ws.dh_next[..n * s], s),
                true,
            );
        }
        let (dax, dah) = (&lw.ax[..rows * gs], &lw.dah[..rows * gs]);
        // dW_h = dAHᵀ·[H_{l,0} … H_{l,T−1}]
        product(
            d.big,
            (gh, rows, s),
            (dah, 1, gs),
            (&lw.hs[..rows * s], s),
            (&mut *g[4 * l + 1], s),
        );
        // db_i = Σ rows dAX, db_h = Σ rows dAH
        for (ra, rh) in dax.chunks_exact(gs).zip(dah.chunks_exact(gs)) {
            for (gb, &v) in g[4 * l + 2].iter_mut().zip(&ra[..gh]) {
                *gb += v;
            }
            for (gb, &v) in g[4 * l + 3].iter_mut().zip(&rh[..gh]) {
                *gb += v;
            }
        }
        if l == 0 {
            // dwx[x_t] += rows of dAX
            for (ra, &x) in dax.chunks_exact(gs).zip(&ws.xs) {
                let x = x as usize;
                for (gx, &v) in g[0][x * gs..x * gs + gh].iter_mut().zip(&ra[..gh]) {
                    *gx += v;
                }
            }
        } else {
            // dW_i = dAXᵀ·X_l, dH_{l−1} = M_l ⊙ (dAX·W_i)
            product(
                d.big,
                (gh, rows, s),
                (dax, 1, gs),
                (&lw.xin[..rows * s], s),
                (&mut *g[4 * l], s),
            );
            product(
                d.big,
                (rows, gh, s),
                (dax, gs, 1),
                (t[4 * l], s),
                (&mut ws.dh_below[..rows * s], s),
            );
            for step in 0..tl {
                for b in 0..n {
                    if let Some(mk) = m(l, b, step) {
                        for (v, &k) in ws.dh_below[(step * n + b) * s..][..hid].iter_mut().zip(mk) {
                            *v *= k;
                        }
                    }
                }
            }
            std::mem::swap(&mut ws.dh_in, &mut ws.dh_below);
        }
    }
}

/// The batched engine of stacked models: shards, their workspaces and
/// gradients, and threads (as [`crate::math::engine::Engine`]).
#[derive(Debug)]
pub struct StackedEngine<F> {
    shards: Shards<F, StackedWorkspace<F>>,
}

impl<F: Kernels> StackedEngine<F> {
    /// Bytes the engine holds for windows of `seq_len` over `batch` streams
    /// in `shards` shards, once its buffers have grown: per shard and layer
    /// the states (and an LSTM's cell states), the input, AX/dAX, dAH
    /// (padded G·H), the saved values (6 per unit) and two transposed
    /// weights; per shard the output's input, dY, three dH buffers and
    /// W_hyᵀ; and the gradients of shards 1 and up.
    pub fn memory_bytes(shape: &Shape, batch: usize, seq_len: usize, shards: usize) -> u64 {
        let k = shards.clamp(1, batch.max(1)) as u64;
        let n = batch.div_ceil(k as usize) as u64;
        let (h, t) = (shape.hidden as u64, seq_len as u64);
        let s = padded(shape.hidden) as u64;
        let gs = padded(shape.cell.gates() * shape.hidden) as u64;
        let sv = padded(shape.vocab) as u64;
        let sv_states = shape.cell.state_vectors() as u64;
        let per_layer =
            sv_states * (t + 1) * n * s + t * n * s + 2 * t * n * gs + 6 * t * n * h + 2 * h * gs;
        let per_shard =
            shape.layers as u64 * per_layer + 3 * t * n * s + t * n * sv + h * sv + n * gs;
        std::mem::size_of::<F>() as u64 * (k * per_shard + (k - 1) * shape.len() as u64)
    }

    /// Cuts `batch` streams into `shards` contiguous shards of near-equal
    /// size, run by the calling thread and `shards − 1` workers.
    pub fn new(shape: Shape, batch: usize, shards: usize) -> Self {
        Self {
            shards: Shards::new(batch, shards, || Params::zeros_shaped(shape)),
        }
    }

    /// Forward and backward over a window: `grads` gets ∂L/∂θ (the shard
    /// gradients summed in shard order), `h` (B × state) the new states.
    /// Returns Σ loss in nats.
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

    /// Forward only: updates `h`, returns Σ loss in nats.
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
        let state = params.shape().state_len();
        self.shards.run(h, state, grads, |first, n, hp, ws, g| {
            stacked_shard_pass(params, w, first, n, hp, mask, ws, g)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::reference::loss_only;
    use crate::math::reference::stacked::mask_len;
    use crate::math::reference::tests::{check_gradients, random_mask, random_window};

    /// The engine's gradient in f64 (the portable kernels' plain loops)
    /// against central differences of the reference's loss, on every real
    /// entry, with check_gradients' derived tolerance (relative 1e-5 over a
    /// 1e-4 floor; see the reference's gradient check): three streams in two
    /// shards, so the shard sum is checked too. The loss the engine returns
    /// is the reference's up to f64 rounding in another summation order
    /// (relative ~1e-15); 1e-5 relative is a coarse check that catches a
    /// wrong term (of order 1e-2 and more here), not a rounding measure. The carried
    /// states after the window feed a second window whose gradient is
    /// checked the same way (a wrong carried state makes it wrong).
    fn engine_gradcheck(cell: Cell, layers: usize, dropout: bool) {
        let shape = Shape {
            cell,
            layers,
            hidden: 5,
            vocab: 4,
        };
        let (batch, len) = (3, 4);
        let params = Params::<f64>::init(shape, 0.5, 7 + layers as u64);
        let mut engine = StackedEngine::<f64>::new(shape, batch, 2);
        let mut h: Vec<f64> = (0..batch * shape.state_len())
            .map(|i| 0.3 * ((i % 5) as f64 - 2.0) / 2.0)
            .collect();
        for window in 0..2 {
            let (xs, ys) = random_window(batch, len, shape.vocab, 11 + window);
            let w = Window {
                batch,
                len,
                inputs: &xs,
                targets: &ys,
            };
            let mask =
                dropout.then(|| random_mask::<f64>(mask_len(&shape, batch, len), 5 + window));
            let h0 = h.clone();
            let mut grads = Params::zeros_shaped(shape);
            let total = engine.forward_backward(&params, &w, &mut h, mask.as_deref(), &mut grads);
            let reference = loss_only(&params, &w, &h0, mask.as_deref()).unwrap();
            assert!((total - reference).abs() <= 1e-5 * reference.abs().max(1e-4));
            let scale = 1.0 / batch as f64;
            let (worst, checked) = check_gradients(&params, &grads, |p| {
                scale * loss_only(p, &w, &h0, mask.as_deref()).unwrap()
            });
            assert_eq!(checked, shape.count());
            eprintln!(
                "engine gradcheck {} dropout {dropout} window {window}: worst {worst:e}",
                shape.describe()
            );
        }
    }

    #[test]
    fn engine_gradient_check_every_cell_at_1_2_3_layers() {
        for cell in [Cell::Gru, Cell::Lstm] {
            for layers in 1..=3 {
                engine_gradcheck(cell, layers, false);
                engine_gradcheck(cell, layers, true);
            }
        }
        for layers in 2..=3 {
            engine_gradcheck(Cell::Rnn, layers, false);
            engine_gradcheck(Cell::Rnn, layers, true);
        }
    }

    /// The f32 instantiation on the kernels this process runs (AVX2 or
    /// portable) keeps every padding entry of the gradient 0 (the f64
    /// gradient check above vouches for the arithmetic).
    #[test]
    fn f32_engine_keeps_padding_zero() {
        let shape = Shape {
            cell: Cell::Lstm,
            layers: 2,
            hidden: 13,
            vocab: 7,
        };
        let params = Params::<f32>::init(shape, 0.0, 1);
        let (xs, ys) = random_window(5, 6, 7, 3);
        let w = Window {
            batch: 5,
            len: 6,
            inputs: &xs,
            targets: &ys,
        };
        let mut h = vec![0.0f32; 5 * shape.state_len()];
        let mut g = Params::zeros_shaped(shape);
        StackedEngine::new(shape, 5, 2).forward_backward(&params, &w, &mut h, None, &mut g);
        for (i, &x) in g.data.iter().enumerate() {
            if !g.is_real(i) {
                assert_eq!(x, 0.0, "padding {:?}", g.locate(i));
            }
        }
    }
}
