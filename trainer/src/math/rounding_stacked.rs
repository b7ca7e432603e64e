//! Test support and tests: [`crate::math::rounding`]'s bounded f64
//! reference for GRU, LSTM and stacked layers, and the check of the batched
//! engine ([`crate::math::stacked_engine`], on the kernels this process
//! runs: AVX2 + FMA, or the portable ones with `CHARM_PORTABLE_KERNELS=1`)
//! and the f32 reference ([`crate::math::reference::stacked`]) against it.
//!
//! The bound is the same running error analysis (see that module), with the
//! operations of the cells ([`crate::math::cell`]) modelled in the order the
//! code performs them, each product or difference of computed values rounded
//! once:
//!
//! - **sigmoid**: `|σ̂(Â) − σ(A)| ≤ E_SIGMOID + e_A · max_{|ξ−A|≤e_A} σ'(ξ)`,
//!   σ' = σ(1 − σ) ≤ 1/4, with [`E_SIGMOID`] charm-core's measured bound;
//! - **a sum or difference of two computed values**:
//!   `e_a + e_b + u·(|a ± b| + e_a + e_b)`;
//! - `1 − a`: `e_a + u·(|1 − a| + e_a)`.
//!
//! Every f32 evaluation of the same operations, in any summation order, with
//! or without fused multiply-adds, is within the bound.

use crate::math::params::{Params, Shape};
use crate::math::rounding::{exact, gamma, mul, softmax_xent, tanh, Bounded, Sum, F64_SLACK, U, V};
use crate::math::window::{Mask, Window};
use charm_core::{padded, Cell};

/// Absolute error of charm-core's `sigmoid_f32` (measured 1.03e-7; the test
/// `core/tests/sigmoid_error.rs` holds it to 1.2e-7).
pub const E_SIGMOID: f64 = 1.2e-7;

/// `σ(A)` of a computed argument.
fn sigmoid(a: V) -> V {
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let slope = if a.x.abs() <= a.e {
        0.25
    } else {
        let y = s(a.x.abs() - a.e);
        y * (1.0 - y)
    };
    V {
        x: s(a.x),
        e: E_SIGMOID + slope * a.e,
    }
}

/// `a + b` of two computed values.
fn add(a: V, b: V) -> V {
    let x = a.x + b.x;
    V {
        x,
        e: a.e + b.e + U * (x.abs() + a.e + b.e),
    }
}

/// `a − b` of two computed values.
fn sub(a: V, b: V) -> V {
    add(a, V { x: -b.x, e: b.e })
}

/// `1 − a` of a computed value.
fn one_minus(a: V) -> V {
    let x = 1.0 - a.x;
    V {
        x,
        e: a.e + U * (x.abs() + a.e),
    }
}

/// What one unit's forward leaves: its next h and c and the values its
/// backward reads (the cell's `Saved`, as bounded values).
#[derive(Clone, Copy, Default)]
struct Unit {
    h: V,
    c: V,
    saved: [V; 6],
}

/// The cell's forward of one unit, in the code's order of operations.
fn unit_forward(cell: Cell, x: &[V; 4], hs: &[V; 4], prev: [V; 2]) -> Unit {
    let z = V::default();
    match cell {
        Cell::Rnn => {
            let h = tanh(add(hs[0], x[0]));
            Unit {
                h,
                c: z,
                saved: [h, z, z, z, z, z],
            }
        }
        Cell::Gru => {
            let r = sigmoid(add(x[0], hs[0]));
            let zg = sigmoid(add(x[1], hs[1]));
            let n = tanh(add(x[2], mul(r, hs[2])));
            let h = add(mul(one_minus(zg), n), mul(zg, prev[0]));
            Unit {
                h,
                c: z,
                saved: [r, zg, n, hs[2], z, z],
            }
        }
        _ => {
            let i = sigmoid(add(x[0], hs[0]));
            let f = sigmoid(add(x[1], hs[1]));
            let g = tanh(add(x[2], hs[2]));
            let o = sigmoid(add(x[3], hs[3]));
            let c = add(mul(f, prev[1]), mul(i, g));
            let tc = tanh(c);
            Unit {
                h: mul(o, tc),
                c,
                saved: [i, f, g, o, tc, z],
            }
        }
    }
}

/// The cell's backward of one unit: (d input terms, d hidden terms, d prev).
fn unit_backward(cell: Cell, s: &[V; 6], prev: [V; 2], d: [V; 2]) -> ([V; 4], [V; 4], [V; 2]) {
    let z = V::default();
    match cell {
        Cell::Rnn => {
            let da = mul(one_minus(mul(s[0], s[0])), d[0]);
            ([da, z, z, z], [da, z, z, z], [z, z])
        }
        Cell::Gru => {
            let [r, zg, n, h_n, _, _] = *s;
            let delta = d[0];
            let da_n = mul(mul(delta, one_minus(zg)), one_minus(mul(n, n)));
            let dr = mul(da_n, h_n);
            let da_r = mul(mul(dr, r), one_minus(r));
            let da_z = mul(mul(mul(delta, sub(prev[0], n)), zg), one_minus(zg));
            (
                [da_r, da_z, da_n, z],
                [da_r, da_z, mul(da_n, r), z],
                [mul(delta, zg), z],
            )
        }
        _ => {
            let [i, f, g, o, tc, _] = *s;
            let [dh, dc_next] = d;
            let dc = add(dc_next, mul(mul(dh, o), one_minus(mul(tc, tc))));
            let da = [
                mul(mul(mul(dc, g), i), one_minus(i)),
                mul(mul(mul(dc, prev[1]), f), one_minus(f)),
                mul(mul(dc, i), one_minus(mul(g, g))),
                mul(mul(mul(dh, tc), o), one_minus(o)),
            ];
            (da, da, [z, mul(dc, f)])
        }
    }
}

/// The f64 forward and backward of a stacked model over `w` from the
/// carried states `h0` (B × state, charm-core's layout), with the bound of
/// every f32 evaluation.
pub fn reference_stacked(
    params: &Params<f32>,
    w: &Window<'_>,
    h0: &[f32],
    mask: Mask<'_, f32>,
) -> Bounded {
    let shape = params.shape();
    let (cell, depth, hid, voc) = (shape.cell, shape.layers, shape.hidden, shape.vocab);
    let (gates, s) = (cell.gates(), padded(hid));
    let (gh, gs) = (gates * hid, padded(gates * hid));
    let spans = shape.tensors();
    let t = |k: usize| &params.data[spans[k].range()];
    let (why, by) = (t(spans.len() - 2), t(spans.len() - 1));
    let w_at = |m: &[f32], r: usize, c: usize, stride: usize| exact(m[r * stride + c] as f64);
    let (b_n, t_n) = (w.batch, w.len);
    let block = b_n * t_n * hid;
    let msk = |k: usize, b: usize, step: usize, c: usize| {
        mask.map_or(1.0, |m| m[k * block + (b * t_n + step) * hid + c] as f64)
    };
    let scale = 1.0 / b_n as f64;
    let n_rows = b_n * t_n + b_n + 1;
    let mut g = vec![Sum::default(); params.data.len()];
    let (mut loss, mut loss_e, mut loss_mag) = (0.0, 0.0, 0.0);
    let n_state = shape.state_len();
    let per_layer = cell.state_vectors() * hid;
    let (mut h_out, mut h_out_e) = (vec![0.0; b_n * n_state], vec![0.0; b_n * n_state]);
    for b in 0..b_n {
        let xs = &w.inputs[b * t_n..(b + 1) * t_n];
        let ys = &w.targets[b * t_n..(b + 1) * t_n];
        // units[t][l][r]: step t's unit (t = 0 the carried state); inputs[t][l]
        let mut units = vec![vec![vec![Unit::default(); hid]; depth]];
        for l in 0..depth {
            for r in 0..hid {
                let st = &h0[b * n_state + l * per_layer..];
                units[0][l][r].h = exact(st[r] as f64);
                if per_layer > hid {
                    units[0][l][r].c = exact(st[hid + r] as f64);
                }
            }
        }
        let mut inputs: Vec<Vec<Vec<V>>> = Vec::new();
        let mut tops = Vec::new();
        let mut dys = Vec::new();
        for step in 0..t_n {
            let mut layers_t: Vec<Vec<Unit>> = Vec::new();
            let mut inputs_t = Vec::new();
            for l in 0..depth {
                let (wx, wh, bx, bh) = (t(4 * l), t(4 * l + 1), t(4 * l + 2), t(4 * l + 3));
                let xin: Vec<V> = if l == 0 {
                    Vec::new()
                } else {
                    (0..hid)
                        .map(|c| mul(layers_t[l - 1][c].h, exact(msk(l, b, step, c))))
                        .collect()
                };
                let prev = &units[step][l];
                let row_units: Vec<Unit> = (0..hid)
                    .map(|r| {
                        let (mut xt, mut ht) = ([V::default(); 4], [V::default(); 4]);
                        for k in 0..gates {
                            let row = k * hid + r;
                            let mut hsum = Sum::default();
                            for (c, u) in prev.iter().enumerate() {
                                hsum.add(w_at(wh, row, c, s), u.h);
                            }
                            hsum.add(exact(bh[row] as f64), exact(1.0));
                            ht[k] = hsum.done(hid + 2);
                            let mut xsum = Sum::default();
                            if l == 0 {
                                xsum.add(w_at(wx, xs[step] as usize, row, gs), exact(1.0));
                            } else {
                                for (c, &v) in xin.iter().enumerate() {
                                    xsum.add(w_at(wx, row, c, s), v);
                                }
                            }
                            xsum.add(exact(bx[row] as f64), exact(1.0));
                            xt[k] = xsum.done(hid + 2);
                        }
                        unit_forward(cell, &xt, &ht, [prev[r].h, prev[r].c])
                    })
                    .collect();
                layers_t.push(row_units);
                inputs_t.push(xin);
            }
            let d: Vec<V> = (0..hid)
                .map(|c| mul(layers_t[depth - 1][c].h, exact(msk(0, b, step, c))))
                .collect();
            let y: Vec<V> = (0..voc)
                .map(|j| {
                    let mut sum = Sum::default();
                    for (c, &dc) in d.iter().enumerate() {
                        sum.add(w_at(why, j, c, s), dc);
                    }
                    sum.add(exact(by[j] as f64), exact(1.0));
                    sum.done(hid + 2)
                })
                .collect();
            let (row_loss, row_e, dy) = softmax_xent(&y, ys[step] as usize, scale);
            loss += row_loss;
            loss_e += row_e;
            loss_mag += row_loss.abs() + row_e;
            units.push(layers_t);
            inputs.push(inputs_t);
            tops.push(d);
            dys.push(dy);
        }
        for (l, layer) in units[t_n].iter().enumerate() {
            for (r, u) in layer.iter().enumerate() {
                let at = b * n_state + l * per_layer;
                (h_out[at + r], h_out_e[at + r]) = (u.h.x, u.h.e);
                if per_layer > hid {
                    (h_out[at + hid + r], h_out_e[at + hid + r]) = (u.c.x, u.c.e);
                }
            }
        }
        // backward through time
        let k_out = spans.len();
        let (o_why, o_by) = (spans[k_out - 2].start, spans[k_out - 1].start);
        let mut dh_next = vec![vec![V::default(); hid]; depth];
        let mut dc_next = vec![vec![V::default(); hid]; depth];
        for step in (0..t_n).rev() {
            for (j, &dy) in dys[step].iter().enumerate() {
                for (c, &dc) in tops[step].iter().enumerate() {
                    g[o_why + j * s + c].add(dy, dc);
                }
                g[o_by + j].add(dy, exact(1.0));
            }
            let mut dh_above: Vec<V> = (0..hid)
                .map(|c| {
                    let mut a = Sum::default();
                    for (j, &dy) in dys[step].iter().enumerate() {
                        a.add(w_at(why, j, c, s), dy);
                    }
                    mul(a.done(voc + 1), exact(msk(0, b, step, c)))
                })
                .collect();
            for l in (0..depth).rev() {
                let (wx, wh) = (t(4 * l), t(4 * l + 1));
                let o = [
                    spans[4 * l].start,
                    spans[4 * l + 1].start,
                    spans[4 * l + 2].start,
                    spans[4 * l + 3].start,
                ];
                let prev = &units[step][l];
                let mut dax = vec![V::default(); gh];
                let mut dah = vec![V::default(); gh];
                let mut direct = vec![V::default(); hid];
                for r in 0..hid {
                    let delta = add(dh_above[r], dh_next[l][r]);
                    let u = &units[step + 1][l][r];
                    let (dx, dhh, dp) = unit_backward(
                        cell,
                        &u.saved,
                        [prev[r].h, prev[r].c],
                        [delta, dc_next[l][r]],
                    );
                    for k in 0..gates {
                        dax[k * hid + r] = dx[k];
                        dah[k * hid + r] = dhh[k];
                    }
                    direct[r] = dp[0];
                    dc_next[l][r] = dp[1];
                }
                for row in 0..gh {
                    g[o[2] + row].add(dax[row], exact(1.0));
                    g[o[3] + row].add(dah[row], exact(1.0));
                    for (c, u) in prev.iter().enumerate() {
                        g[o[1] + row * s + c].add(dah[row], u.h);
                    }
                    if l == 0 {
                        g[o[0] + xs[step] as usize * gs + row].add(dax[row], exact(1.0));
                    } else {
                        for (c, &v) in inputs[step][l].iter().enumerate() {
                            g[o[0] + row * s + c].add(dax[row], v);
                        }
                    }
                }
                dh_next[l] = (0..hid)
                    .map(|c| {
                        let mut a = Sum::default();
                        for (row, &d) in dah.iter().enumerate() {
                            a.add(w_at(wh, row, c, s), d);
                        }
                        a.add(direct[c], exact(1.0));
                        a.done(gh + 2)
                    })
                    .collect();
                if l > 0 {
                    dh_above = (0..hid)
                        .map(|c| {
                            let mut a = Sum::default();
                            for (row, &d) in dax.iter().enumerate() {
                                a.add(w_at(wx, row, c, s), d);
                            }
                            mul(a.done(gh + 1), exact(msk(l, b, step, c)))
                        })
                        .collect();
                }
            }
        }
    }
    let mut grad = Params::<f64>::zeros_shaped(shape);
    let mut grad_e = Params::<f64>::zeros_shaped(shape);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::reference::forward_backward;
    use crate::math::reference::stacked::mask_len;
    use crate::math::reference::tests::{random_mask, random_window};
    use crate::math::stacked_engine::StackedEngine;

    /// Checks the loss, the carried states and every gradient entry of one
    /// f32 evaluation against the bounded reference; padding must be 0.
    /// Returns the worst |error| / bound.
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
            check(format!("state[{i}]"), x, r.h.0[i], r.h.1[i]);
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

    /// The bound must catch a wrong gradient: in every tensor the widest
    /// bound is below `limit` of its largest |gradient| (an error of that
    /// fraction of a tensor's scale anywhere fails the check). The limit is
    /// 1e-3, the one-layer test's, for one layer; below the top layer the
    /// bound of the lowest layer's biases keeps its absolute terms (the
    /// tanh's 1e-6, the sigmoid's 1.2e-7) while their gradient shrinks
    /// through the contracting layers above: measured up to 6.9e-4 of it at
    /// 2 layers of H 12, 2.7e-3 at 2 layers of H 136 and 3.5e-3 at 3 layers
    /// of H 12, so 1e-2 from 2 layers on.
    fn bound_is_tight(r: &Bounded, limit: f64) -> f64 {
        let (g, e) = (&r.grad.0, &r.grad.1);
        let (mut loosest, mut name) = (0.0f64, "");
        for t in g.shape().tensors() {
            let scale = g.data[t.range()].iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let widest = e.data[t.range()].iter().fold(0.0f64, |m, x| m.max(*x));
            if scale > 0.0 && widest / scale > loosest {
                (loosest, name) = (widest / scale, t.name);
            }
        }
        assert!(
            loosest < limit,
            "{name}: widest bound {loosest:e} of its largest gradient"
        );
        loosest
    }

    /// `p` with every recurrent and between-layer matrix (W_h, and W_i of
    /// layers above the first) scaled so that its widest row has ℓ1 norm
    /// 0.5: the recurrence and the stack contract, so that the bound of an
    /// early step or a low layer is not amplified past usefulness (as the
    /// one-layer engine test does with W_hh).
    fn contracting(mut p: Params<f32>) -> Params<f32> {
        let shape = p.shape();
        for (k, t) in shape.tensors().iter().enumerate() {
            let norm = match k % 4 {
                _ if k >= 4 * shape.layers => continue,
                1 => 0.5,
                0 if k > 0 => 0.5,
                _ => continue,
            };
            let m = &mut p.data[t.range()];
            let widest = m
                .chunks_exact(t.stride)
                .map(|row| row[..t.cols].iter().map(|w| w.abs()).sum::<f32>())
                .fold(0.0f32, f32::max);
            for w in m.iter_mut() {
                *w *= norm / widest;
            }
        }
        p
    }

    /// The engine (2 shards of 5 streams of 6 steps, then a second window
    /// from the states the first left) and the f32 reference, against the
    /// bound.
    fn check(cell: Cell, layers: usize, dropout: bool) {
        check_shape(cell, layers, dropout, (12, 7), (5, 6, 2));
    }

    /// [`check`] for H and V `(hidden, vocab)` and windows of `(batch, len)`
    /// in `shards` shards.
    fn check_shape(
        cell: Cell,
        layers: usize,
        dropout: bool,
        (hidden, vocab): (usize, usize),
        (batch, len, shards): (usize, usize, usize),
    ) {
        let shape = Shape {
            cell,
            layers,
            hidden,
            vocab,
        };
        let p = contracting(Params::<f32>::init(shape, 0.0, 3 + layers as u64));
        let mut engine = StackedEngine::<f32>::new(shape, batch, shards);
        let mut h: Vec<f32> = vec![0.0; batch * shape.state_len()];
        for window in 0..2 {
            let (xs, ys) = random_window(batch, len, shape.vocab, 21 + window);
            let w = Window {
                batch,
                len,
                inputs: &xs,
                targets: &ys,
            };
            let mask =
                dropout.then(|| random_mask::<f32>(mask_len(&shape, batch, len), 9 + window));
            let bounded = reference_stacked(&p, &w, &h, mask.as_deref());
            let tight = bound_is_tight(&bounded, if layers == 1 { 1e-3 } else { 1e-2 });
            let mut h_ref = h.clone();
            let mut g_ref = Params::zeros_shaped(shape);
            let loss_ref =
                forward_backward(&p, &w, &mut h_ref, mask.as_deref(), &mut g_ref).unwrap();
            let worst_ref = within_bound("reference", &bounded, (loss_ref, &h_ref, &g_ref));
            let mut g = Params::zeros_shaped(shape);
            let loss = engine.forward_backward(&p, &w, &mut h, mask.as_deref(), &mut g);
            let worst = within_bound("engine", &bounded, (loss, &h, &g));
            eprintln!(
                "{} dropout {dropout} window {window}: engine {worst:.3}, reference {worst_ref:.3} \
                 of the bound (widest bound {tight:.1e} of its tensor's scale)",
                shape.describe()
            );
        }
    }

    #[test]
    fn the_engine_and_the_reference_are_within_the_rounding_bound_gru() {
        for layers in 1..=3 {
            check(Cell::Gru, layers, false);
            check(Cell::Gru, layers, true);
        }
    }

    #[test]
    fn the_engine_and_the_reference_are_within_the_rounding_bound_lstm() {
        for layers in 1..=3 {
            check(Cell::Lstm, layers, false);
            check(Cell::Lstm, layers, true);
        }
    }

    /// 72 rows per shard at H 136 (above the AVX2 tiles' 128): the
    /// window-level products on `matrixmultiply`, on either kernels.
    #[test]
    fn the_window_level_products_on_matrixmultiply_are_within_the_rounding_bound() {
        check_shape(Cell::Gru, 2, true, (136, 9), (8, 9, 1));
        check_shape(Cell::Lstm, 1, false, (136, 9), (8, 9, 1));
    }

    #[test]
    fn the_engine_and_the_reference_are_within_the_rounding_bound_rnn() {
        for layers in 2..=3 {
            check(Cell::Rnn, layers, false);
            check(Cell::Rnn, layers, true);
        }
    }
}
