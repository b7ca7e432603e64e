//! The plain forward and backward pass of a model of any cell and depth
//! (format version 5) over one window: the reference of stacked models.
//!
//! Forward, per stream, per step t, layer by layer from the first, exactly
//! [`charm_core::StackedModelView::step`]'s arithmetic (the same [`dot`]s in
//! the same order, the cells' updates in charm-core's order; the test
//! `the_forward_is_charm_cores_step` checks the bits):
//!
//! ```text
//! layer 1:     x_t term  = wx[x_t] + bx                      (a row lookup)
//! layer l > 1: x_t term  = W_i·(m_{l,t} ⊙ h_{l−1,t}) + b_i   (inverted dropout on its input)
//! each layer:  h_t term  = W_h·h_{l,t−1} + b_h, then the cell's update (super::super::cell)
//! y_t = W_hy·(m_{0,t} ⊙ h_{L,t}) + b_y                        (dropout on the output path)
//! ```
//!
//! Without dropout every m is 1 and this is the model the board runs. The
//! objective is the vanilla reference's: `L = (1/B) Σ_b Σ_t −ln p_{b,t}[target]`.
//!
//! Backward through time, per step from the last, layer by layer from the
//! top: the cell's backward ([`UnitGrad::backward`]) gives ∂L/∂ of the
//! input and hidden terms `da_x`, `da_h` (G·H each), and then
//!
//! ```text
//! ∂b_i += da_x      ∂b_h += da_h
//! ∂W_h += da_h · h_{l,t−1}ᵀ           ∂h_{l,t−1} = W_hᵀ·da_h + (the cell's direct term)
//! layer 1:  ∂wx[x_t] += da_x
//! layer l>1: ∂W_i += da_x · (m ⊙ h_{l−1,t})ᵀ   ∂h_{l−1,t} += m ⊙ (W_iᵀ·da_x)
//! ∂W_hy += dy_t · (m_0 ⊙ h_{L,t})ᵀ    ∂b_y += dy_t    ∂h_{L,t} += m_0 ⊙ (W_hyᵀ·dy_t)
//! ```
//!
//! with ∂h and ∂c of every layer 0 after the window's last step.

use crate::math::cell::{Gru, Lstm, Rnn, Saved, UnitGrad, MAX_GATES};
use crate::math::params::{Params, Shape};
use crate::math::window::{Mask, Window};
use charm_core::{axpy, dot, log_softmax_at, matvec_bias, padded, softmax, Cell, Float, StepError};

/// Entries of the dropout mask of a window of `batch` × `len` for `shape`:
/// L blocks of B·T·H, block 0 the output path (the one block of one tanh
/// layer), block l (1 ≤ l < L) the input of layer l + 1; each block
/// stream-major, `m[(b·T + t)·H + j]`.
pub fn mask_len(shape: &Shape, batch: usize, len: usize) -> usize {
    shape.layers * batch * len * shape.hidden
}

/// [`super::forward_backward`] for a stacked shape: `h` holds the B carried
/// states (B × [`Shape::state_len`], each in charm-core's state layout) and
/// is replaced by the states after the window; `grads` is overwritten with
/// ∂L/∂θ. Returns the summed loss in nats (not divided by B).
pub fn forward_backward<F: Float>(
    params: &Params<F>,
    w: &Window<'_>,
    h: &mut [F],
    mask: Mask<'_, F>,
    grads: &mut Params<F>,
) -> Result<F, StepError> {
    match params.shape().cell {
        Cell::Rnn => run::<Rnn, F>(params, w, h, mask, Some(grads)),
        Cell::Gru => run::<Gru, F>(params, w, h, mask, Some(grads)),
        _ => run::<Lstm, F>(params, w, h, mask, Some(grads)),
    }
}

/// The loss alone, from the states `h`, without touching them.
pub fn loss_only<F: Float>(
    params: &Params<F>,
    w: &Window<'_>,
    h: &[F],
    mask: Mask<'_, F>,
) -> Result<F, StepError> {
    let mut h = h.to_vec();
    match params.shape().cell {
        Cell::Rnn => run::<Rnn, F>(params, w, &mut h, mask, None),
        Cell::Gru => run::<Gru, F>(params, w, &mut h, mask, None),
        _ => run::<Lstm, F>(params, w, &mut h, mask, None),
    }
}

/// The tensors of one layer, borrowed from the flat vector.
struct Layer<'a, F> {
    wx: &'a [F],
    wh: &'a [F],
    bx: &'a [F],
    bh: &'a [F],
}

/// The tensors of a flat vector of `shape`: the layers, then why and by.
fn split<'a, F>(shape: &Shape, data: &'a [F]) -> (Vec<Layer<'a, F>>, &'a [F], &'a [F]) {
    let spans = shape.tensors();
    let t = |k: usize| &data[spans[k].range()];
    let layers = (0..shape.layers)
        .map(|l| Layer {
            wx: t(4 * l),
            wh: t(4 * l + 1),
            bx: t(4 * l + 2),
            bh: t(4 * l + 3),
        })
        .collect();
    let n = spans.len();
    (layers, t(n - 2), t(n - 1))
}

/// The tensors of a flat vector of `shape`, mutably, in storage order.
fn split_mut<'a, F>(shape: &Shape, mut data: &'a mut [F]) -> Vec<&'a mut [F]> {
    let mut parts = Vec::new();
    for span in shape.tensors() {
        let (part, rest) = data.split_at_mut(span.len());
        parts.push(part);
        data = rest;
    }
    parts
}

/// What one stream's forward keeps for its backward.
struct Tape<F> {
    /// `states[t]`: every layer's state after t steps (t = 0 the carried one),
    /// charm-core's layout (per layer h, then an LSTM's c).
    states: Vec<F>,
    /// `inputs[t][l]`: layer l's input `m ⊙ h_{l−1,t}` (l ≥ 1; l = 0 unused).
    inputs: Vec<F>,
    /// `saved[t][l][r]`: what unit r's forward kept.
    saved: Vec<Saved<F>>,
    /// `top[t]`: `m_0 ⊙ h_{L,t}`, what the output layer read.
    top: Vec<F>,
    /// `dys[t]`: dy_t (already divided by B).
    dys: Vec<F>,
}

/// The forward (and with `grads` the backward) of every stream of the window.
fn run<U: UnitGrad, F: Float>(
    params: &Params<F>,
    w: &Window<'_>,
    h: &mut [F],
    mask: Mask<'_, F>,
    mut grads: Option<&mut Params<F>>,
) -> Result<F, StepError> {
    let shape = params.shape();
    let (hid, voc, n_state) = (shape.hidden, shape.vocab, shape.state_len());
    if let Some(&x) = w
        .inputs
        .iter()
        .chain(w.targets)
        .find(|&&x| x as usize >= voc)
    {
        return Err(StepError::InputOutOfRange {
            index: x as usize,
            vocab: voc,
        });
    }
    if let Some(g) = grads.as_deref_mut() {
        g.clear();
    }
    let (layers, why, by) = split(&shape, &params.data);
    let scale = F::ONE / F::from_f64(w.batch as f64);
    let t_len = w.len;
    let mut tape = Tape {
        states: vec![F::ZERO; (t_len + 1) * n_state],
        inputs: vec![F::ZERO; t_len * shape.layers * hid],
        saved: vec![[F::ZERO; 6]; t_len * shape.layers * hid],
        top: vec![F::ZERO; t_len * hid],
        dys: vec![F::ZERO; t_len * voc],
    };
    let block = w.batch * t_len * hid; // one layer's mask
    let mut loss = F::ZERO;
    for b in 0..w.batch {
        let stream = b * t_len..(b + 1) * t_len;
        let (inputs, targets) = (&w.inputs[stream.clone()], &w.targets[stream]);
        // the mask of (layer block k, this stream, step t)
        let m = |k: usize, t: usize| mask.map(|m| &m[k * block + (b * t_len + t) * hid..][..hid]);
        tape.states[..n_state].copy_from_slice(&h[b * n_state..(b + 1) * n_state]);
        for t in 0..t_len {
            forward_step::<U, F>(&shape, &layers, &mut tape, t, inputs[t] as usize, &m);
            let (top, logits) = (
                &tape.top[t * hid..(t + 1) * hid],
                &mut tape.dys[t * voc..(t + 1) * voc],
            );
            // y_t = W_hy·(m_0 ⊙ h_L) + b_y
            matvec_bias(logits, why, padded(hid), top, by);
            let target = targets[t] as usize;
            loss -= log_softmax_at(logits, target);
            // dy = (softmax(y) − onehot(target)) / B
            softmax(logits, F::ONE);
            logits[target] -= F::ONE;
            for d in logits.iter_mut() {
                *d *= scale;
            }
        }
        if let Some(g) = grads.as_deref_mut() {
            backward_stream::<U, F>(&shape, &layers, why, &tape, inputs, &m, g);
        }
        h[b * n_state..(b + 1) * n_state].copy_from_slice(&tape.states[t_len * n_state..]);
    }
    Ok(loss)
}

/// Step t of one stream: every layer's new state into `states[t + 1]`, the
/// layers' inputs, the units' saved values and the output layer's input.
fn forward_step<'m, U: UnitGrad, F: Float>(
    shape: &Shape,
    layers: &[Layer<'_, F>],
    tape: &mut Tape<F>,
    t: usize,
    x: usize,
    m: &impl Fn(usize, usize) -> Option<&'m [F]>,
) {
    let (hid, n_state) = (shape.hidden, shape.state_len());
    let per_layer = shape.cell.state_vectors() * hid;
    let (rows, stride) = (U::GATES * hid, padded(hid));
    let (before, after) = tape.states.split_at_mut((t + 1) * n_state);
    let (prev_all, next_all) = (&before[t * n_state..], &mut after[..n_state]);
    for (l, layer) in layers.iter().enumerate() {
        let (below, this) = next_all.split_at_mut(l * per_layer);
        let prev = &prev_all[l * per_layer..(l + 1) * per_layer];
        let (h_prev, c_prev) = prev.split_at(hid);
        let input = &mut tape.inputs[(t * shape.layers + l) * hid..][..hid];
        if l > 0 {
            // layer l's input: m_l ⊙ h_{l−1,t}
            let h_below = &below[(l - 1) * per_layer..][..hid];
            input.copy_from_slice(h_below);
            if let Some(m) = m(l, t) {
                for (v, &k) in input.iter_mut().zip(m) {
                    *v *= k;
                }
            }
        }
        let (h_next, c_next) = this[..per_layer].split_at_mut(hid);
        for r in 0..hid {
            let (mut x_terms, mut h_terms) = ([F::ZERO; MAX_GATES], [F::ZERO; MAX_GATES]);
            for g in 0..U::GATES {
                let row = g * hid + r;
                h_terms[g] =
                    dot(&layer.wh[row * stride..(row + 1) * stride], h_prev) + layer.bh[row];
                x_terms[g] = if l == 0 {
                    layer.wx[x * padded(rows) + row] + layer.bx[row]
                } else {
                    dot(&layer.wx[row * stride..(row + 1) * stride], input) + layer.bx[row]
                };
            }
            let c = c_prev.get(r).copied().unwrap_or(F::ZERO);
            let ([h_new, c_new], saved) = U::forward(&x_terms, &h_terms, [h_prev[r], c]);
            h_next[r] = h_new;
            if let Some(slot) = c_next.get_mut(r) {
                *slot = c_new;
            }
            tape.saved[(t * shape.layers + l) * hid + r] = saved;
        }
    }
    let top = &mut tape.top[t * hid..(t + 1) * hid];
    top.copy_from_slice(&next_all[(shape.layers - 1) * per_layer..][..hid]);
    if let Some(m) = m(0, t) {
        for (v, &k) in top.iter_mut().zip(m) {
            *v *= k;
        }
    }
}

/// Backpropagation through time of one stream, adding its gradient into `grads`.
fn backward_stream<'m, U: UnitGrad, F: Float>(
    shape: &Shape,
    layers: &[Layer<'_, F>],
    why: &[F],
    tape: &Tape<F>,
    inputs: &[u32],
    m: &impl Fn(usize, usize) -> Option<&'m [F]>,
    grads: &mut Params<F>,
) {
    let (hid, voc, n_state, depth) = (shape.hidden, shape.vocab, shape.state_len(), shape.layers);
    let per_layer = shape.cell.state_vectors() * hid;
    let (rows, stride) = (U::GATES * hid, padded(hid));
    let mut g = split_mut(shape, &mut grads.data);
    let n = g.len();
    // ∂L/∂h and ∂L/∂c of every layer's state from the step after (0 after the window)
    let mut dh_next = vec![F::ZERO; depth * hid];
    let mut dc_next = vec![F::ZERO; depth * hid];
    let (mut dh_above, mut dh, mut dh_prev) =
        (vec![F::ZERO; hid], vec![F::ZERO; hid], vec![F::ZERO; hid]);
    let (mut dax, mut dah) = (vec![F::ZERO; rows], vec![F::ZERO; rows]);
    for t in (0..inputs.len()).rev() {
        let dy = &tape.dys[t * voc..(t + 1) * voc];
        let top = &tape.top[t * hid..(t + 1) * hid];
        // ∂W_hy += dy·(m_0 ⊙ h_L)ᵀ, ∂b_y += dy, ∂h_L = m_0 ⊙ (W_hyᵀ·dy)
        dh_above.fill(F::ZERO);
        for (r, &d) in dy.iter().enumerate() {
            axpy(&mut g[n - 2][r * stride..r * stride + hid], d, top);
            g[n - 1][r] += d;
            axpy(&mut dh_above, d, &why[r * stride..r * stride + hid]);
        }
        if let Some(m) = m(0, t) {
            for (v, &k) in dh_above.iter_mut().zip(m) {
                *v *= k;
            }
        }
        let prev_all = &tape.states[t * n_state..(t + 1) * n_state];
        for l in (0..depth).rev() {
            let layer = &layers[l];
            let prev = &prev_all[l * per_layer..(l + 1) * per_layer];
            let (h_prev, c_prev) = prev.split_at(hid);
            // ∂L/∂h_{l,t}: from above (the output or layer l+1) and from step t+1
            for ((d, &a), &b) in dh.iter_mut().zip(&dh_above).zip(&dh_next[l * hid..]) {
                *d = a + b;
            }
            for r in 0..hid {
                let saved = &tape.saved[(t * depth + l) * hid + r];
                let c = c_prev.get(r).copied().unwrap_or(F::ZERO);
                let u = U::backward(saved, [h_prev[r], c], [dh[r], dc_next[l * hid + r]]);
                for k in 0..U::GATES {
                    dax[k * hid + r] = u.input_terms[k];
                    dah[k * hid + r] = u.hidden_terms[k];
                }
                dh_prev[r] = u.prev[0];
                dc_next[l * hid + r] = u.prev[1];
            }
            // ∂b_i += da_x, ∂b_h += da_h
            axpy(g[4 * l + 2], F::ONE, &dax);
            axpy(g[4 * l + 3], F::ONE, &dah);
            // ∂W_h += da_h·h_{l,t−1}ᵀ, ∂h_{l,t−1} += W_hᵀ·da_h
            for (row, &d) in dah.iter().enumerate() {
                axpy(
                    &mut g[4 * l + 1][row * stride..row * stride + hid],
                    d,
                    h_prev,
                );
                axpy(&mut dh_prev, d, &layer.wh[row * stride..row * stride + hid]);
            }
            dh_next[l * hid..(l + 1) * hid].copy_from_slice(&dh_prev);
            if l == 0 {
                // ∂wx[x_t] += da_x (the one-hot input selects row x_t)
                let x = inputs[t] as usize;
                axpy(
                    &mut g[0][x * padded(rows)..x * padded(rows) + rows],
                    F::ONE,
                    &dax,
                );
            } else {
                // ∂W_i += da_x·inputᵀ, ∂h_{l−1,t} = m_l ⊙ (W_iᵀ·da_x)
                let input = &tape.inputs[(t * depth + l) * hid..][..hid];
                dh_above.fill(F::ZERO);
                for (row, &d) in dax.iter().enumerate() {
                    axpy(&mut g[4 * l][row * stride..row * stride + hid], d, input);
                    axpy(
                        &mut dh_above,
                        d,
                        &layer.wx[row * stride..row * stride + hid],
                    );
                }
                if let Some(m) = m(l, t) {
                    for (v, &k) in dh_above.iter_mut().zip(m) {
                        *v *= k;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::reference::tests::{check_gradients, random_mask, random_window};
    use crate::math::reference::{forward_backward as any_forward_backward, loss_only as any_loss};

    fn shape(cell: Cell, layers: usize) -> Shape {
        Shape {
            cell,
            layers,
            hidden: 5,
            vocab: 4,
        }
    }

    /// Carried states in charm-core's layout with nonzero h (and c).
    fn states<F: Float>(shape: &Shape, batch: usize) -> Vec<F> {
        (0..batch * shape.state_len())
            .map(|i| F::from_f64(0.3 * ((i % 5) as f64 - 2.0) / 2.0))
            .collect()
    }

    /// Without dropout the reference computes charm-core's step, bit for
    /// bit: the states after every step and the loss of every character,
    /// in f32 (the trainer's type) and f64 (the gradient check's).
    fn forward_is_core_step<F: Float + std::fmt::Debug>() {
        for cell in Cell::ALL {
            for layers in 1..=3 {
                let s = shape(cell, layers);
                let p = Params::<F>::init(s, 0.3, 4);
                let (xs, ys) = random_window(2, 6, s.vocab, 8);
                let h0 = states::<F>(&s, 2);
                let mut h = h0.clone();
                let mut g = Params::zeros_shaped(s);
                let w = Window {
                    batch: 2,
                    len: 6,
                    inputs: &xs,
                    targets: &ys,
                };
                let loss = any_forward_backward(&p, &w, &mut h, None, &mut g).unwrap();
                let n = s.state_len();
                let mut expected = F::ZERO;
                let mut core_h = h0.clone();
                let (mut next, mut y) = (vec![F::ZERO; n], vec![F::ZERO; s.vocab]);
                for b in 0..2 {
                    let state = &mut core_h[b * n..(b + 1) * n];
                    for t in 0..6 {
                        if s.is_vanilla() {
                            p.view()
                                .step(state, xs[b * 6 + t] as usize, &mut next, &mut y)
                        } else {
                            p.stacked_view()
                                .step(state, xs[b * 6 + t] as usize, &mut next, &mut y)
                        }
                        .unwrap();
                        expected -= log_softmax_at(&y, ys[b * 6 + t] as usize);
                        state.copy_from_slice(&next);
                    }
                }
                assert_eq!(h, core_h, "{} states", s.describe());
                assert_eq!(loss, expected, "{} loss", s.describe());
            }
        }
    }

    #[test]
    fn the_forward_is_charm_cores_step() {
        forward_is_core_step::<f32>();
        forward_is_core_step::<f64>();
    }

    /// The analytic gradient against central differences of the loss, on
    /// every real entry, with check_gradients' tolerance: relative error
    /// ≤ 1e-5 over max(|a| + |n|, 1e-4). Derivation: with ε = 1e-5 the
    /// central difference's truncation error is ε²/6·|L'''| ≈ 2e-11·|L'''|
    /// and its rounding error ε_f64·|L|/ε ≈ 2.2e-16 · 14 / 1e-5 ≈ 3e-10
    /// (L ≤ B·T·ln V·(a few) ≈ 14 nats here); both stay below 1e-9 for
    /// |L'''| up to 50, i.e. 1e-5 of the 1e-4 floor. A wrong term of the
    /// backward is off by the size of that term, orders of magnitude more.
    fn gradcheck(cell: Cell, layers: usize, dropout: bool) {
        let s = shape(cell, layers);
        let (batch, len) = (2, 5);
        // PyTorch's U(−1/√5, 1/√5) init: gates well inside their nonlinear range.
        let params = Params::<f64>::init(s, 0.5, 3 + layers as u64);
        let (xs, ys) = random_window(batch, len, s.vocab, 11);
        let w = Window {
            batch,
            len,
            inputs: &xs,
            targets: &ys,
        };
        let h0 = states::<f64>(&s, batch);
        let mask = dropout.then(|| random_mask::<f64>(mask_len(&s, batch, len), 5));
        let mut grads = Params::zeros_shaped(s);
        let mut h = h0.clone();
        let total = any_forward_backward(&params, &w, &mut h, mask.as_deref(), &mut grads).unwrap();
        assert_eq!(total, any_loss(&params, &w, &h0, mask.as_deref()).unwrap());
        let scale = 1.0 / batch as f64;
        let (worst, checked) = check_gradients(&params, &grads, |p| {
            scale * any_loss(p, &w, &h0, mask.as_deref()).unwrap()
        });
        assert_eq!(checked, s.count());
        eprintln!(
            "gradcheck {} dropout {dropout}: worst relative error {worst:e} over {checked} entries",
            s.describe()
        );
    }

    #[test]
    fn gradient_check_rnn_at_1_2_3_layers() {
        for layers in 1..=3 {
            gradcheck(Cell::Rnn, layers, false);
            gradcheck(Cell::Rnn, layers, true);
        }
    }

    #[test]
    fn gradient_check_gru_at_1_2_3_layers() {
        for layers in 1..=3 {
            gradcheck(Cell::Gru, layers, false);
            gradcheck(Cell::Gru, layers, true);
        }
    }

    #[test]
    fn gradient_check_lstm_at_1_2_3_layers() {
        for layers in 1..=3 {
            gradcheck(Cell::Lstm, layers, false);
            gradcheck(Cell::Lstm, layers, true);
        }
    }

    #[test]
    fn a_character_outside_the_vocabulary_is_an_error() {
        let s = shape(Cell::Gru, 2);
        let p = Params::<f32>::init(s, 0.1, 1);
        let w = Window {
            batch: 1,
            len: 1,
            inputs: &[4],
            targets: &[0],
        };
        let mut h = vec![0.0; s.state_len()];
        let e = any_forward_backward(&p, &w, &mut h, None, &mut Params::zeros_shaped(s));
        assert!(matches!(
            e,
            Err(StepError::InputOutOfRange { index: 4, vocab: 4 })
        ));
    }
}
