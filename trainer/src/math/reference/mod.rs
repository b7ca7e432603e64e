//! The plain forward and backward pass over one window: the reference.
//!
//! This file is the model of one tanh layer; [`stacked`] is that of any other
//! cell or depth, and [`forward_backward`] and [`loss_only`] take either.
//!
//! Forward: charm-core's [`charm_core::ModelView::step`], character by
//! character, stream by stream (DESIGN.md invariant 1). Backward: the seed's
//! equations (DESIGN.md, "the seed's eqs. 18-32"), cited line by line below,
//! with rank-1 updates. Generic over [`Float`], so the numerical gradient check
//! runs this very code in `f64`.
//!
//! The objective of one window of B streams × T characters is
//!
//! ```text
//! L = (1/B) Σ_b Σ_t -ln p_{b,t}[target_{b,t}]
//! ```
//!
//! summed over time as min-char-rnn does (so B = 1 is exactly its gradient) and
//! averaged over streams (so the step size does not grow with B).
//!
//! Dropout (training only) sits on the hidden-to-output path: `y_t = Why·(m_t ⊙ h_t) + by`
//! with `m_t` an inverted-dropout mask (entries 0 or 1/(1-p)); the recurrence
//! `h_t = tanh(...)` is untouched, so the model the firmware runs is the same.

pub mod stacked;

use crate::math::params::Params;
use crate::math::window::{Mask, Window};
use charm_core::{axpy, dot, log_softmax_at, matvec_bias, softmax, Float, StepError};

/// Forward and backward over one window with the plain path.
///
/// `h` holds the B carried states (B × H, stream-major; for a stacked shape
/// B × [`crate::math::params::Shape::state_len`], see [`stacked`]) and is
/// replaced by the states after the window. `grads` is overwritten with ∂L/∂θ (layout of
/// [`Params`]). Returns the summed loss `Σ_b Σ_t -ln p` in nats (not divided by B).
pub fn forward_backward<F: Float>(
    params: &Params<F>,
    w: &Window<'_>,
    h: &mut [F],
    mask: Mask<'_, F>,
    grads: &mut Params<F>,
) -> Result<F, StepError> {
    if !params.shape().is_vanilla() {
        return stacked::forward_backward(params, w, h, mask, grads);
    }
    let hid = params.hidden();
    let scale = F::ONE / F::from_f64(w.batch as f64);
    grads.clear();
    let mut buf = StreamBuffers::new(hid, params.vocab(), w.len);
    let mut loss = F::ZERO;
    for b in 0..w.batch {
        let s = Stream {
            inputs: &w.inputs[b * w.len..(b + 1) * w.len],
            targets: &w.targets[b * w.len..(b + 1) * w.len],
            mask: mask.map(|m| &m[b * w.len * hid..(b + 1) * w.len * hid]),
        };
        buf.hs[..hid].copy_from_slice(&h[b * hid..(b + 1) * hid]);
        forward_stream(params, &s, scale, &mut buf, &mut loss)?;
        backward_stream(params, &s, &mut buf, grads);
        h[b * hid..(b + 1) * hid].copy_from_slice(&buf.hs[w.len * hid..(w.len + 1) * hid]);
    }
    Ok(loss)
}

/// One stream of a window: T inputs, T targets, its T dropout masks.
struct Stream<'a, F> {
    inputs: &'a [u32],
    targets: &'a [u32],
    mask: Option<&'a [F]>,
}

/// What the backward pass of a stream needs from its forward pass, and its
/// own vectors.
struct StreamBuffers<F> {
    /// `hs[t]` = h_t for t = 0..=T (h_0 is the carried state).
    hs: Vec<F>,
    /// `hd[t]`: the state feeding the output (after dropout).
    hd: Vec<F>,
    /// `dys[t]` = dy_t.
    dys: Vec<F>,
    dh: Vec<F>,
    du: Vec<F>,
    dhnext: Vec<F>,
    wcol: Vec<F>,
}

impl<F: Float> StreamBuffers<F> {
    fn new(hid: usize, voc: usize, t_len: usize) -> Self {
        Self {
            hs: vec![F::ZERO; (t_len + 1) * hid],
            hd: vec![F::ZERO; t_len * hid],
            dys: vec![F::ZERO; t_len * voc],
            dh: vec![F::ZERO; hid],
            du: vec![F::ZERO; hid],
            dhnext: vec![F::ZERO; hid],
            wcol: vec![F::ZERO; hid],
        }
    }
}

/// The forward pass of one stream from `buf.hs[0]`: fills `hs`, `hd` and
/// `dys` (dy_t · `scale`), and subtracts ln p_t[target] of every step from `loss`.
fn forward_stream<F: Float>(
    params: &Params<F>,
    s: &Stream<'_, F>,
    scale: F,
    buf: &mut StreamBuffers<F>,
    loss: &mut F,
) -> Result<(), StepError> {
    let (hid, voc, stride) = (params.hidden(), params.vocab(), params.stride());
    let view = params.view();
    for t in 0..s.inputs.len() {
        let (prev, next) = buf.hs.split_at_mut((t + 1) * hid);
        let logits = &mut buf.dys[t * voc..(t + 1) * voc];
        // h_t, y_t = step(h_{t-1}, x_t)  — charm-core's one forward step.
        view.step(
            &prev[t * hid..],
            s.inputs[t] as usize,
            &mut next[..hid],
            logits,
        )?;
        let hd_t = &mut buf.hd[t * hid..(t + 1) * hid];
        hd_t.copy_from_slice(&next[..hid]);
        if let Some(m) = s.mask {
            // Dropout on the output path: y_t = Why·(m_t ⊙ h_t) + by.
            for (x, &mj) in hd_t.iter_mut().zip(&m[t * hid..(t + 1) * hid]) {
                *x *= mj;
            }
            matvec_bias(logits, view.why(), stride, hd_t, view.by());
        }
        let target = s.targets[t] as usize;
        // Loss per character: -ln p_t[target].
        *loss -= log_softmax_at(logits, target);
        // p_t = softmax(y_t); dy = p - onehot(target). This is the exact
        // gradient of softmax + cross-entropy with respect to the logits
        // (the seed calls it the gradient of a quadratic error; it is not).
        softmax(logits, F::ONE);
        logits[target] -= F::ONE;
        for d in logits.iter_mut() {
            *d *= scale; // mean over the B streams
        }
    }
    Ok(())
}

/// The backward pass of one stream through time (the seed's eqs. 18-32),
/// adding its gradient into `grads`.
fn backward_stream<F: Float>(
    params: &Params<F>,
    s: &Stream<'_, F>,
    buf: &mut StreamBuffers<F>,
    grads: &mut Params<F>,
) {
    let (hid, voc, stride) = (params.hidden(), params.vocab(), params.stride());
    let view = params.view();
    let g = grads.tensors_mut();
    let StreamBuffers {
        hs,
        hd,
        dys,
        dh,
        du,
        dhnext,
        wcol,
    } = buf;
    dhnext.fill(F::ZERO); // dhnext = 0 at the end of the window
    for t in (0..s.inputs.len()).rev() {
        let dy = &dys[t * voc..(t + 1) * voc];
        let hd_t = &hd[t * hid..(t + 1) * hid];
        let h_t = &hs[(t + 1) * hid..(t + 2) * hid];
        let h_prev = &hs[t * hid..(t + 1) * hid];
        // dWhy += dy · h_tᵀ,  dby += dy   (h_t after dropout, when on)
        for (r, &d) in dy.iter().enumerate() {
            axpy(&mut g.why[r * stride..r * stride + hid], d, hd_t);
            g.by[r] += d;
        }
        // dh = Whyᵀ · dy + dhnext   (through the mask when dropout is on)
        dh.copy_from_slice(dhnext);
        for (r, &d) in dy.iter().enumerate() {
            let row = &view.why()[r * stride..r * stride + hid];
            match s.mask {
                Some(m) => {
                    let m_t = &m[t * hid..(t + 1) * hid];
                    for ((x, &wv), &mj) in dh.iter_mut().zip(row).zip(m_t) {
                        *x += d * wv * mj;
                    }
                }
                None => axpy(dh, d, row),
            }
        }
        // du = (1 - h_t ⊙ h_t) ⊙ dh   (tanh' = 1 - tanh²)
        for ((u, &x), &d) in du.iter_mut().zip(h_t).zip(dh.iter()) {
            *u = (F::ONE - x * x) * d;
        }
        // dbh += du,  dWxh[:, x_t] += du
        axpy(&mut g.bh[..hid], F::ONE, du);
        let x = s.inputs[t] as usize;
        axpy(&mut g.wxh[x * stride..x * stride + hid], F::ONE, du);
        // dWhh += du · h_{t-1}ᵀ
        for (i, &d) in du.iter().enumerate() {
            axpy(&mut g.whh[i * stride..i * stride + hid], d, h_prev);
        }
        // dhnext = Whhᵀ · du   (column j of Whh dotted with du)
        for (j, dn) in dhnext.iter_mut().enumerate() {
            for (i, c) in wcol.iter_mut().enumerate() {
                *c = view.whh()[i * stride + j];
            }
            *dn = dot(wcol, du);
        }
    }
}

/// The loss alone (same objective as [`forward_backward`], summed, not divided
/// by B), from the given states, without touching them: for the gradient check.
pub fn loss_only<F: Float>(
    params: &Params<F>,
    w: &Window<'_>,
    h: &[F],
    mask: Mask<'_, F>,
) -> Result<F, StepError> {
    if !params.shape().is_vanilla() {
        return stacked::loss_only(params, w, h, mask);
    }
    let (hid, voc, stride) = (params.hidden(), params.vocab(), params.stride());
    let view = params.view();
    let mut loss = F::ZERO;
    let (mut a, mut b_next) = (vec![F::ZERO; hid], vec![F::ZERO; hid]);
    let mut logits = vec![F::ZERO; voc];
    let mut hd = vec![F::ZERO; hid];
    for b in 0..w.batch {
        a.copy_from_slice(&h[b * hid..(b + 1) * hid]);
        for t in 0..w.len {
            view.step(
                &a,
                w.inputs[b * w.len + t] as usize,
                &mut b_next,
                &mut logits,
            )?;
            if let Some(m) = mask {
                let m_t = &m[(b * w.len + t) * hid..][..hid];
                for ((d, &x), &mj) in hd.iter_mut().zip(&b_next).zip(m_t) {
                    *d = x * mj;
                }
                matvec_bias(&mut logits, view.why(), stride, &hd, view.by());
            }
            loss -= log_softmax_at(&logits, w.targets[b * w.len + t] as usize);
            std::mem::swap(&mut a, &mut b_next);
        }
    }
    Ok(loss)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use charm_core::Rng;

    /// A random window over `vocab` characters.
    pub(crate) fn random_window(
        batch: usize,
        len: usize,
        vocab: usize,
        seed: u64,
    ) -> (Vec<u32>, Vec<u32>) {
        let mut rng = Rng::new(seed);
        let mut draw = || (rng.next_u64() % vocab as u64) as u32;
        let xs = (0..batch * len).map(|_| draw()).collect();
        let ys = (0..batch * len).map(|_| draw()).collect();
        (xs, ys)
    }

    /// A random inverted-dropout mask with keep probability 0.75.
    pub(crate) fn random_mask<F: Float>(n: usize, seed: u64) -> Vec<F> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| {
                if rng.next_f32() < 0.75 {
                    F::from_f64(1.0 / 0.75)
                } else {
                    F::ZERO
                }
            })
            .collect()
    }

    /// Central differences on every real parameter entry against the analytic
    /// gradient of `analytic`; returns the worst relative error seen.
    ///
    /// relative error = |a - n| / max(|a| + |n|, FLOOR), FLOOR = 1e-4: entries
    /// whose gradients are both below ~1e-4 in magnitude are judged by absolute
    /// error / 1e-4, since their relative error is dominated by rounding.
    pub(crate) fn check_gradients(
        params: &Params<f64>,
        analytic: &Params<f64>,
        loss: impl Fn(&Params<f64>) -> f64,
    ) -> (f64, usize) {
        const EPS: f64 = 1e-5;
        const FLOOR: f64 = 1e-4;
        let mut worst = 0.0f64;
        let mut checked = 0;
        let mut p = params.clone();
        for i in 0..p.data.len() {
            if !p.is_real(i) {
                assert_eq!(analytic.data[i], 0.0, "padding gradient {:?}", p.locate(i));
                continue;
            }
            let orig = p.data[i];
            p.data[i] = orig + EPS;
            let up = loss(&p);
            p.data[i] = orig - EPS;
            let down = loss(&p);
            p.data[i] = orig;
            let numeric = (up - down) / (2.0 * EPS);
            let a = analytic.data[i];
            let rel = (a - numeric).abs() / (a.abs() + numeric.abs()).max(FLOOR);
            assert!(
                rel <= 1e-5,
                "{:?}: analytic {a:e}, numeric {numeric:e}, relative error {rel:e}",
                p.locate(i)
            );
            worst = worst.max(rel);
            checked += 1;
        }
        (worst, checked)
    }

    fn gradcheck(batch: usize, dropout: bool) {
        let (hid, voc, len) = (5, 4, 6);
        // Larger-than-default init so that tanh is in its nonlinear range, and
        // nonzero biases; padding stays zero.
        let mut params = Params::<f64>::init_normal(hid, voc, 0.5, 3);
        let bias_start = params.offsets()[2];
        for i in bias_start..params.data.len() {
            if params.is_real(i) && !params.is_matrix(i) {
                params.data[i] = 0.1 * ((i % 7) as f64 - 3.0);
            }
        }
        let (xs, ys) = random_window(batch, len, voc, 11);
        let w = Window {
            batch,
            len,
            inputs: &xs,
            targets: &ys,
        };
        let h0: Vec<f64> = (0..batch * hid)
            .map(|i| 0.3 * ((i % 5) as f64 - 2.0) / 2.0)
            .collect();
        let mask = dropout.then(|| random_mask::<f64>(batch * len * hid, 5));
        let mut grads = Params::zeros(hid, voc);
        let mut h = h0.clone();
        let total = forward_backward(&params, &w, &mut h, mask.as_deref(), &mut grads).unwrap();
        assert!((total - loss_only(&params, &w, &h0, mask.as_deref()).unwrap()).abs() < 1e-12);
        let scale = 1.0 / batch as f64;
        let (worst, checked) = check_gradients(&params, &grads, |p| {
            scale * loss_only(p, &w, &h0, mask.as_deref()).unwrap()
        });
        assert_eq!(checked, Params::<f64>::count(hid, voc));
        eprintln!("plain gradcheck batch {batch} dropout {dropout}: worst relative error {worst:e} over {checked} entries");
    }

    #[test]
    fn gradient_check_batch_1() {
        gradcheck(1, false);
    }

    #[test]
    fn gradient_check_batch_3() {
        gradcheck(3, false);
    }

    #[test]
    fn gradient_check_batch_2_with_dropout() {
        gradcheck(2, true);
    }

    #[test]
    fn carried_state_is_the_last_hidden_state() {
        let p = Params::<f32>::init_normal(4, 3, 0.3, 1);
        let (xs, ys) = random_window(1, 5, 3, 2);
        let w = Window {
            batch: 1,
            len: 5,
            inputs: &xs,
            targets: &ys,
        };
        let mut h = vec![0.0f32; 4];
        let mut g = Params::zeros(4, 3);
        forward_backward(&p, &w, &mut h, None, &mut g).unwrap();
        let (mut a, mut b, mut y) = (vec![0.0f32; 4], vec![0.0f32; 4], vec![0.0f32; 3]);
        for &x in &xs {
            p.view().step(&a, x as usize, &mut b, &mut y).unwrap();
            std::mem::swap(&mut a, &mut b);
        }
        assert_eq!(h, a);
    }
}
