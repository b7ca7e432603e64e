//! charm against PyTorch for every cell: `tests/fixtures/pytorch/` holds
//! tiny models PyTorch trained and saved with `safetensors.torch.save_file`
//! (`scripts/pytorch_fixture.py DIR cells`, whose docstring has the
//! command): an `nn.GRU`, an `nn.LSTM`, a 2-layer `nn.RNN` and an
//! `nn.Embedding` + 2-layer `nn.GRU`, each with its `nn.Linear`, and what
//! PyTorch computed for a fixed input one character at a time: every
//! layer's state and the logits. `charm import` reads each; one step of
//! charm's model from PyTorch's recorded state must give PyTorch's next
//! state and logits within the bound argued at [`Bounds`].
//! (`cargo test -p charm-tests --test pytorch_cells`)

mod cli_support;
mod pytorch_support;

use charm_core::{decode_any, AlignedBytes, Cell, StackedModelView, Weights};
use charm_trainer::math::torch_stack::{TorchLayer, TorchStack};
use cli_support::ok;
use pytorch_support::{
    fixture, gamma, import_fixture, within, CHARM_TANH, F64_SLACK, TORCH_ACTIVATION, U,
};
use std::path::Path;

/// What PyTorch recorded after one input character.
struct Step {
    /// Per layer: h.
    h: Vec<Vec<f32>>,
    /// Per layer: c (an LSTM only).
    c: Vec<Vec<f32>>,
    logits: Vec<f32>,
}

/// PyTorch's record of one fixture.
struct Recorded {
    vocab: Vec<char>,
    input: String,
    steps: Vec<Step>,
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_str().unwrap().parse::<f32>().unwrap())
        .collect()
}

fn recorded(name: &str) -> Recorded {
    let text = std::fs::read_to_string(fixture(&format!("tiny_{name}_steps.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let layers = |v: &serde_json::Value| -> Vec<Vec<f32>> {
        v.as_array()
            .map_or(Vec::new(), |a| a.iter().map(floats).collect())
    };
    Recorded {
        vocab: json["vocab"].as_str().unwrap().chars().collect(),
        input: json["input"].as_str().unwrap().into(),
        steps: json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| Step {
                h: layers(&s["h"]),
                c: layers(&s["c"]),
                logits: floats(&s["logits"]),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------- the bound
//
// Both implementations compute each step in f32 from the same f32 weights
// and the same f32 state (PyTorch's recorded one), with PyTorch's equations
// (core/src/cell/*.rs) but in different orders: charm sums with 8-lane
// accumulators, PyTorch with its GEMM's blocking (perhaps with FMA, perhaps
// adding b_ih + b_hh first). Whatever the order, a sum of n terms computed
// in f32 is within γ_n·Σ|terms| of the exact sum (Higham, Accuracy and
// Stability of Numerical Algorithms, 2nd ed., §3.1; γ_n = n·u/(1 − n·u),
// u = 2⁻²⁴), so each implementation's pre-activation p of a gate is within
//
//   e_p = γ_{n}·(Σ|input terms| + Σ|hidden terms|) + Σ_k |W_i[r,k]|·e_in[k]
//
// of the exact one, n the number of terms (input: 2 for a one-hot
// character, E + 1 after an embedding, H + 1 above the first layer; hidden:
// H + 1), e_in the error of the layer below's new h (0 for the first). The
// GRU keeps its n gate's two terms apart (r ⊙ (W_hn·h + b_hn)); each is
// bounded alone. A nonlinearity f of slope f' moves an argument error e by
// at most max f' over [p − e, p + e] (σ' = σ(1 − σ), tanh' = 1 − tanh², both
// largest nearest 0) and adds its implementation's error (CHARM_SIGMOID,
// CHARM_TANH; TORCH_ACTIVATION). Each product or sum of two computed values
// a·b adds |a|·e_b + |b|·e_a + e_a·e_b and one rounding u·|a·b|; the GRU's
// h' = (1 − z)·n + z·h (charm) or n + z·(h − n) (PyTorch) has at most four
// roundings of values below |n| + |h|: 4u·(|n| + |h|). The logits add
// γ_{H+1}·(Σ|W_fc·h| + |b_fc|) + Σ|W_fc|·e_h. The f64 arithmetic of the
// bound itself is ~1e-16 relative (F64_SLACK). The bound on
// |charm − PyTorch| is the sum of the two implementations' bounds.

/// charm's sigmoid, 1/(1 + exp_f32(−x)): max absolute error 1.03e-7
/// against the f64 sigmoid (`core/tests/sigmoid_error.rs`).
const CHARM_SIGMOID: f64 = 1.03e-7;

/// One implementation's activation errors.
#[derive(Clone, Copy)]
struct Implementation {
    sigmoid: f64,
    tanh: f64,
}

const CHARM: Implementation = Implementation {
    sigmoid: CHARM_SIGMOID,
    tanh: CHARM_TANH,
};
const TORCH: Implementation = Implementation {
    sigmoid: TORCH_ACTIVATION,
    tanh: TORCH_ACTIVATION,
};

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// f(p) computed from an argument within `e` of `p`: (exact f(p), error bound).
fn through_sigmoid(p: f64, e: f64, own: f64) -> (f64, f64) {
    let s = sigmoid((p.abs() - e).max(0.0));
    (sigmoid(p), s * (1.0 - s) * e + own)
}

fn through_tanh(p: f64, e: f64, own: f64) -> (f64, f64) {
    let t = (p.abs() - e).max(0.0).tanh();
    (p.tanh(), (1.0 - t * t) * e + own)
}

/// A value and one implementation's error bound on it.
#[derive(Clone, Copy, Debug)]
struct Bounded {
    value: f64,
    error: f64,
}

fn product(a: Bounded, b: Bounded) -> Bounded {
    let value = a.value * b.value;
    Bounded {
        value,
        error: a.value.abs() * b.error
            + b.value.abs() * a.error
            + a.error * b.error
            + U * (value.abs() + a.error * b.value.abs() + b.error * a.value.abs()),
    }
}

/// A layer's input: a character (PyTorch's index), through the embedding
/// or one-hot, or the layer below's new h with its error.
enum Input<'a> {
    Character(usize),
    Below(&'a [Bounded]),
}

/// `Σ_k w[k]·x[k] + b` exactly, with Σ|terms|, the term count and the
/// error carried from `x`.
struct Affine {
    value: f64,
    magnitude: f64,
    terms: usize,
    carried: f64,
}

fn affine(w: &[f32], x: &[Bounded], b: f32) -> Affine {
    let mut a = Affine {
        value: f64::from(b),
        magnitude: f64::from(b).abs(),
        terms: x.len() + 1,
        carried: 0.0,
    };
    for (&w, x) in w.iter().zip(x) {
        let w = f64::from(w);
        a.value += w * x.value;
        a.magnitude += (w * x.value).abs() + w.abs() * x.error;
        a.carried += w.abs() * x.error;
    }
    a
}

/// The bounds of the two implementations for one layer's step.
struct LayerStep {
    /// Per implementation (charm, PyTorch): the new h and c with their errors.
    h: [Vec<Bounded>; 2],
    c: [Vec<Bounded>; 2],
}

/// One layer's step for both implementations from the previous state `h`,
/// `c` of each (exact values, each implementation's error bound on them:
/// zero for PyTorch's recorded state; `c` empty unless an LSTM).
fn layer_step(
    t: &TorchStack,
    k: usize,
    input: [Input<'_>; 2],
    h_prev: [&[Bounded]; 2],
    c_prev: [&[Bounded]; 2],
) -> LayerStep {
    let layer: &TorchLayer = &t.layers[k];
    let hid = t.hidden;
    let mut out = LayerStep {
        h: [Vec::new(), Vec::new()],
        c: [Vec::new(), Vec::new()],
    };
    for (which, (imp, input)) in [CHARM, TORCH].into_iter().zip(input).enumerate() {
        let exact_prev = h_prev[which];
        // The input vector of this layer, as exact values with carried errors.
        let (x, one_hot): (Vec<Bounded>, bool) = match input {
            Input::Character(j) => match &t.embedding {
                Some(e) => (
                    e.weight[j * e.dim..(j + 1) * e.dim]
                        .iter()
                        .map(|&v| Bounded {
                            value: f64::from(v),
                            error: 0.0,
                        })
                        .collect(),
                    false,
                ),
                None => (
                    (0..t.vocab)
                        .map(|i| Bounded {
                            value: f64::from(u8::from(i == j)),
                            error: 0.0,
                        })
                        .collect(),
                    true,
                ),
            },
            Input::Below(h) => (h.to_vec(), false),
        };
        let width = x.len();
        let gate = |g: usize, r: usize| -> (Affine, Affine) {
            let row = g * hid + r;
            let a = affine(
                &layer.weight_ih[row * width..(row + 1) * width],
                &x,
                layer.bias_ih[row],
            );
            let c = affine(
                &layer.weight_hh[row * hid..(row + 1) * hid],
                exact_prev,
                layer.bias_hh[row],
            );
            (a, c)
        };
        // The input term's own count of terms: 2 for a one-hot character.
        let input_terms = |a: &Affine| if one_hot { 2 } else { a.terms };
        // A gate whose two terms may be summed in any order.
        let summed = |g: usize, r: usize| -> (f64, f64) {
            let (a, c) = gate(g, r);
            let n = input_terms(&a) + c.terms;
            (
                a.value + c.value,
                gamma(n) * (a.magnitude + c.magnitude) + a.carried + c.carried,
            )
        };
        for (r, &h_old) in exact_prev.iter().enumerate().take(hid) {
            let zero = Bounded {
                value: 0.0,
                error: 0.0,
            };
            let c_old = c_prev[which].get(r).copied().unwrap_or(zero);
            let (h_new, c_new) = match t.cell {
                Cell::Rnn => {
                    let (p, e) = summed(0, r);
                    let (h, e) = through_tanh(p, e, imp.tanh);
                    (Bounded { value: h, error: e }, None)
                }
                Cell::Gru => {
                    let (pr, er) = summed(0, r);
                    let (pz, ez) = summed(1, r);
                    let (rv, re) = through_sigmoid(pr, er, imp.sigmoid);
                    let (zv, ze) = through_sigmoid(pz, ez, imp.sigmoid);
                    let (an, cn) = gate(2, r);
                    let a_n = Bounded {
                        value: an.value,
                        error: gamma(input_terms(&an)) * an.magnitude + an.carried,
                    };
                    let c_n = Bounded {
                        value: cn.value,
                        error: gamma(cn.terms) * cn.magnitude + cn.carried,
                    };
                    let rc = product(
                        Bounded {
                            value: rv,
                            error: re,
                        },
                        c_n,
                    );
                    let q = a_n.value + rc.value;
                    let eq = a_n.error + rc.error + U * (a_n.value.abs() + rc.value.abs());
                    let (n, en) = through_tanh(q, eq, imp.tanh);
                    // h' = (1 − z)·n + z·h: ∂/∂z = h − n, ∂/∂n = 1 − z, ∂/∂h = z.
                    let (h, eh) = (h_old.value, h_old.error);
                    let value = (1.0 - zv) * n + zv * h;
                    let error = ((h - n).abs() + eh + en) * ze
                        + (1.0 - zv).abs() * en
                        + zv * eh
                        + 4.0 * U * (n.abs() + en + h.abs() + eh);
                    (Bounded { value, error }, None)
                }
                _ => {
                    let (pi, ei) = summed(0, r);
                    let (pf, ef) = summed(1, r);
                    let (pg, eg) = summed(2, r);
                    let (po, eo) = summed(3, r);
                    let (iv, ie) = through_sigmoid(pi, ei, imp.sigmoid);
                    let (fv, fe) = through_sigmoid(pf, ef, imp.sigmoid);
                    let (gv, ge) = through_tanh(pg, eg, imp.tanh);
                    let (ov, oe) = through_sigmoid(po, eo, imp.sigmoid);
                    let bounded = |value, error| Bounded { value, error };
                    let fc = product(bounded(fv, fe), c_old);
                    let ig = product(bounded(iv, ie), bounded(gv, ge));
                    let c = fc.value + ig.value;
                    let ec = fc.error + ig.error + U * (fc.value.abs() + ig.value.abs());
                    let (tc, te) = through_tanh(c, ec, imp.tanh);
                    let h = product(bounded(ov, oe), bounded(tc, te));
                    (h, Some(bounded(c, ec)))
                }
            };
            out.h[which].push(h_new);
            if let Some(c) = c_new {
                out.c[which].push(c);
            }
        }
    }
    out
}

/// The bounds on |charm − PyTorch| for one step of the whole model from
/// PyTorch's recorded state `before` (zeros at the start): per layer the h
/// and c bounds, and the logits' (PyTorch's character order).
struct Bounds {
    h: Vec<Vec<f64>>,
    c: Vec<Vec<f64>>,
    logits: Vec<f64>,
}

fn step_bounds(t: &TorchStack, x: usize, before_h: &[Vec<f64>], before_c: &[Vec<f64>]) -> Bounds {
    let exact = |v: &[f64]| -> Vec<Bounded> {
        v.iter()
            .map(|&value| Bounded { value, error: 0.0 })
            .collect()
    };
    let mut bounds = Bounds {
        h: Vec::new(),
        c: Vec::new(),
        logits: Vec::new(),
    };
    let mut below: [Vec<Bounded>; 2] = [Vec::new(), Vec::new()];
    for k in 0..t.layers.len() {
        let inputs = if k == 0 {
            [Input::Character(x), Input::Character(x)]
        } else {
            [Input::Below(&below[0]), Input::Below(&below[1])]
        };
        let h_prev = exact(&before_h[k]);
        let c_prev = match t.cell {
            Cell::Lstm => exact(&before_c[k]),
            _ => Vec::new(),
        };
        let step = layer_step(t, k, inputs, [&h_prev, &h_prev], [&c_prev, &c_prev]);
        let sum = |a: &[Bounded], b: &[Bounded]| -> Vec<f64> {
            a.iter()
                .zip(b)
                .map(|(a, b)| a.error + b.error + F64_SLACK)
                .collect()
        };
        bounds.h.push(sum(&step.h[0], &step.h[1]));
        bounds.c.push(sum(&step.c[0], &step.c[1]));
        below = step.h;
    }
    let hid = t.hidden;
    bounds.logits = (0..t.vocab)
        .map(|k| {
            let row = &t.fc_weight[k * hid..(k + 1) * hid];
            below
                .iter()
                .map(|h| {
                    let y = affine(row, h, t.fc_bias[k]);
                    gamma(y.terms) * y.magnitude + y.carried
                })
                .sum::<f64>()
                + F64_SLACK
        })
        .collect();
    bounds
}

/// The fixture `tiny_NAME.safetensors` imported with `charm import` into
/// `dir`, read back, and its tensors as PyTorch holds them.
fn imported(dir: &Path, name: &str, describes: &str) -> (AlignedBytes, TorchStack) {
    let (report, bytes, torch) = import_fixture(dir, &format!("tiny_{name}.safetensors"));
    assert!(report.contains(describes), "{report}");
    (bytes, torch)
}

/// charm's state vector (per layer h, then c for an LSTM) from PyTorch's.
fn charm_state(cell: Cell, h: &[Vec<f32>], c: &[Vec<f32>]) -> Vec<f32> {
    let mut s = Vec::new();
    for (k, h) in h.iter().enumerate() {
        s.extend_from_slice(h);
        if cell == Cell::Lstm {
            s.extend_from_slice(&c[k]);
        }
    }
    s
}

/// Every step of `name`'s input from PyTorch's state before it: charm's
/// state and logits within the bound of PyTorch's.
fn steps_match(name: &str, describes: &str, cell: Cell, depth: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, torch) = imported(dir.path(), name, describes);
    let file = decode_any(&bytes).unwrap();
    let Weights::Stacked(model) = file.weights else {
        panic!("{name} is a version-5 model")
    };
    let model: StackedModelView<'_, f32> = model;
    assert_eq!((model.cell(), model.depth()), (cell, depth));
    let rec = recorded(name);
    let hid = model.hidden();
    let zeros = vec![vec![0.0f32; hid]; depth];
    let mut next = vec![0.0f32; model.state_len()];
    let mut logits = vec![0.0f32; model.vocab()];
    let mut worst = [(0.0f64, 0.0f64); 3];
    for (t, ch) in rec.input.chars().enumerate() {
        let (h_before, c_before) = match t.checked_sub(1) {
            None => (&zeros, &zeros),
            Some(s) => (&rec.steps[s].h, &rec.steps[s].c),
        };
        let c_before = if cell == Cell::Lstm { c_before } else { &zeros };
        let state = charm_state(cell, h_before, c_before);
        model
            .step(
                &state,
                file.vocab.index_of(ch).unwrap(),
                &mut next,
                &mut logits,
            )
            .unwrap();
        let exact = |v: &Vec<Vec<f32>>| -> Vec<Vec<f64>> {
            v.iter()
                .map(|l| l.iter().map(|&a| f64::from(a)).collect())
                .collect()
        };
        let x = rec.vocab.iter().position(|&v| v == ch).unwrap();
        let b = step_bounds(&torch, x, &exact(h_before), &exact(c_before));
        let per_layer = cell.state_vectors() * hid;
        let step = &rec.steps[t];
        for k in 0..depth {
            let h = &next[k * per_layer..k * per_layer + hid];
            let w = within(&format!("{name} layer {k} h"), t, h, &step.h[k], &b.h[k]);
            worst[0] = (worst[0].0.max(w.0), worst[0].1.max(w.1));
            if cell == Cell::Lstm {
                let c = &next[k * per_layer + hid..(k + 1) * per_layer];
                let w = within(&format!("{name} layer {k} c"), t, c, &step.c[k], &b.c[k]);
                worst[1] = (worst[1].0.max(w.0), worst[1].1.max(w.1));
            }
        }
        // charm's logits in PyTorch's character order.
        let in_torch_order: Vec<f32> = rec
            .vocab
            .iter()
            .map(|&c| logits[file.vocab.index_of(c).unwrap()])
            .collect();
        let w = within(
            &format!("{name} logits"),
            t,
            &in_torch_order,
            &step.logits,
            &b.logits,
        );
        worst[2] = (worst[2].0.max(w.0), worst[2].1.max(w.1));
    }
    println!(
        "{name}: max |charm − PyTorch| / max bound: h {:.2e} / {:.2e}, c {:.2e} / {:.2e}, logits {:.2e} / {:.2e}",
        worst[0].0, worst[0].1, worst[1].0, worst[1].1, worst[2].0, worst[2].1
    );
}

// ------------------------------------------------- the loss of a whole text
//
// Over a whole text from a zero state, the state errors of earlier steps are
// carried through the recurrence. To first order (the neglected terms are
// products of two errors, ~1e-13 here) an error ε_s made at step s is
// J_t ⋯ J_{s+1}·ε_s at step t, J the Jacobian of the exact step with respect
// to the whole state (every layer's h, and c for an LSTM). Only |ε_s| is
// known, so |J_t ⋯ J_{s+1}|·|ε_s| bounds it; the product is taken before the
// absolute value, so the cancellations of a contracting recurrence count.
// J is taken by central differences of the exact f64 step (step 2⁻²⁰:
// truncation ~2⁻⁴⁰ times the third derivative, rounding ~2⁻³³, both below
// 1e-9 per entry); the carried part gets a relative margin of 1e-3 for it.
// ε_s is the local bound of [`layer_step`] from the exact state. A logit off
// by at most ε_k moves −ln softmax(y)[x] = ln Σ_k e^{y_k} − y_x by at most
// Σ_k p_k·ε_k + ε_x ≤ max_k ε_k + ε_x. Each implementation's own log-softmax
// in f32 (charm-core's `log_softmax_at`: y_x − m − ln Σ_k exp(y_k − m)) adds
// the rounding of y_k − m (u·D, D = max |y_k − m|, carried through exp),
// exp's relative error, the sum's γ_V, ln's ulp and two subtractions:
//   (u·D + E_exp + γ_V)·(1 + 1e-3) + 2u·|ln Σ| + u·D + u·|result|
// with E_exp = 2.4e-7 for charm-core's exp_f32 (core/src/math/exp.rs) and
// 2u for PyTorch's (SLEEF's 1-ulp expf). charm adds the per-character losses
// in f64 (T·2⁻⁵³, negligible); PyTorch takes the mean of T f32 values,
// within γ_T·Σ|loss_t| / T.

/// One implementation's rounding of −ln softmax(y)[x] in f32.
fn log_softmax_error(y: &[f64], x: usize, exp_error: f64) -> f64 {
    let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let d = y.iter().map(|v| (v - m).abs()).fold(0.0, f64::max);
    let sum: f64 = y.iter().map(|v| (v - m).exp()).sum();
    let result = y[x] - m - sum.ln();
    (U * d + exp_error + gamma(y.len())) * 1.001
        + 2.0 * U * sum.ln().abs()
        + U * d
        + U * result.abs()
}

/// One exact step from `state` (per layer h, then c for an LSTM) on
/// character `x` (PyTorch's index): the next state, and each
/// implementation's local error bound on it (from an exact `state`).
fn exact_step(t: &TorchStack, state: &[f64], x: usize) -> (Vec<f64>, [Vec<f64>; 2]) {
    let hid = t.hidden;
    let per_layer = t.cell.state_vectors() * hid;
    let exact = |v: &[f64]| -> Vec<Bounded> {
        v.iter()
            .map(|&value| Bounded { value, error: 0.0 })
            .collect()
    };
    let mut next = Vec::with_capacity(state.len());
    let mut local = [Vec::new(), Vec::new()];
    let mut below: [Vec<Bounded>; 2] = [Vec::new(), Vec::new()];
    for k in 0..t.layers.len() {
        let layer_state = &state[k * per_layer..(k + 1) * per_layer];
        let h = exact(&layer_state[..hid]);
        let c = exact(&layer_state[hid..]);
        let inputs = if k == 0 {
            [Input::Character(x), Input::Character(x)]
        } else {
            [Input::Below(&below[0]), Input::Below(&below[1])]
        };
        let step = layer_step(t, k, inputs, [&h, &h], [&c, &c]);
        next.extend(step.h[0].iter().map(|b| b.value));
        next.extend(step.c[0].iter().map(|b| b.value));
        for (which, local) in local.iter_mut().enumerate() {
            local.extend(step.h[which].iter().map(|b| b.error));
            local.extend(step.c[which].iter().map(|b| b.error));
        }
        below = step.h;
    }
    (next, local)
}

/// The Jacobian of [`exact_step`] at `state` (row-major, n × n), by central differences.
fn jacobian(t: &TorchStack, state: &[f64], x: usize) -> Vec<f64> {
    let n = state.len();
    let step = 1.0 / f64::from(1u32 << 20);
    let mut j = vec![0.0; n * n];
    let mut s = state.to_vec();
    for col in 0..n {
        s[col] = state[col] + step;
        let (up, _) = exact_step(t, &s, x);
        s[col] = state[col] - step;
        let (down, _) = exact_step(t, &s, x);
        s[col] = state[col];
        for row in 0..n {
            j[row * n + col] = (up[row] - down[row]) / (2.0 * step);
        }
    }
    j
}

/// The exact mean loss of `text` (PyTorch's indices) from a zero state, as
/// `charm eval` scores it, and each implementation's bound on its
/// difference from it (charm, PyTorch).
fn run_loss(t: &TorchStack, text: &[usize]) -> (f64, [f64; 2]) {
    let (hid, depth) = (t.hidden, t.layers.len());
    let n = depth * t.cell.state_vectors() * hid;
    let top = (depth - 1) * t.cell.state_vectors() * hid;
    let mut state = vec![0.0f64; n];
    // For each earlier step: both implementations' |ε_s| and J_t ⋯ J_{s+1}.
    let mut carried: Vec<([Vec<f64>; 2], Vec<f64>)> = Vec::new();
    // y_0 = b_fc exactly in both (the zero state's logits).
    let mut y: Vec<f64> = t.fc_bias.iter().map(|&b| f64::from(b)).collect();
    let mut y_error = [vec![0.0; t.vocab], vec![0.0; t.vocab]];
    let (mut total, mut magnitude, mut error) = (0.0f64, 0.0f64, [0.0f64; 2]);
    for &x in text {
        let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let loss = m + y.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - y[x];
        total += loss;
        magnitude += loss.abs();
        for (which, exp_error) in [(0, 2.4e-7), (1, 2.0 * U)] {
            let worst = y_error[which].iter().copied().fold(0.0, f64::max);
            error[which] += worst + y_error[which][x] + log_softmax_error(&y, x, exp_error);
        }
        let j = jacobian(t, &state, x);
        let (next, local) = exact_step(t, &state, x);
        for (_, product) in &mut carried {
            let mut p = vec![0.0; n * n];
            for r in 0..n {
                for c in 0..n {
                    p[r * n + c] = (0..n).map(|i| j[r * n + i] * product[i * n + c]).sum();
                }
            }
            *product = p;
        }
        let identity = (0..n * n)
            .map(|rc| f64::from(u8::from(rc / n == rc % n)))
            .collect();
        carried.push((local, identity));
        state = next;
        // Each implementation's error on the new state, then on the logits.
        for (which, y_error) in y_error.iter_mut().enumerate() {
            let delta: Vec<f64> = (0..n)
                .map(|r| {
                    carried
                        .iter()
                        .map(|(eps, p)| {
                            let through: f64 =
                                (0..n).map(|c| p[r * n + c].abs() * eps[which][c]).sum();
                            through * 1.001 // the difference Jacobian's margin
                        })
                        .sum()
                })
                .collect();
            let h: Vec<Bounded> = (0..hid)
                .map(|i| Bounded {
                    value: state[top + i],
                    error: delta[top + i],
                })
                .collect();
            for (k, (y, e)) in y.iter_mut().zip(y_error.iter_mut()).enumerate() {
                let a = affine(&t.fc_weight[k * hid..(k + 1) * hid], &h, t.fc_bias[k]);
                *y = a.value;
                *e = gamma(a.terms) * a.magnitude + a.carried;
            }
        }
    }
    let count = text.len() as f64;
    error[1] += gamma(text.len()) * magnitude;
    (
        total / count,
        [error[0] / count + F64_SLACK, error[1] / count + F64_SLACK],
    )
}

/// `charm eval` of the imported model on the fixture's input against
/// PyTorch's loss on it.
fn eval_matches(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, torch) = imported(d, name, "wrote m.charm");
    let text_path = d.join("input.txt");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("tiny_{name}_steps.json"))).unwrap(),
    )
    .unwrap();
    let input = json["input"].as_str().unwrap();
    std::fs::write(&text_path, input).unwrap();
    let torch_loss: f32 = json["loss"].as_str().unwrap().parse().unwrap();
    let charm_loss = cli_support::eval_json(d, "m.charm", &text_path)["loss_nats_per_char"]
        .as_f64()
        .unwrap();
    let rec = recorded(name);
    let indices: Vec<usize> = input
        .chars()
        .map(|ch| rec.vocab.iter().position(|&v| v == ch).unwrap())
        .collect();
    let (exact, [charm_bound, torch_bound]) = run_loss(&torch, &indices);
    let torch_loss = f64::from(torch_loss);
    // The f32 the mean was stored as: half an ulp.
    let torch_bound = torch_bound + U * torch_loss.abs();
    println!(
        "{name}: charm eval {charm_loss:.9}, PyTorch {torch_loss:.9}, exact {exact:.9}; \
         |charm − PyTorch| {:.2e} ≤ {:.2e}",
        (charm_loss - torch_loss).abs(),
        charm_bound + torch_bound
    );
    assert!(
        (charm_loss - exact).abs() <= charm_bound,
        "{name}: charm {charm_loss} exact {exact} bound {charm_bound:e}"
    );
    assert!(
        (torch_loss - exact).abs() <= torch_bound,
        "{name}: PyTorch {torch_loss} exact {exact} bound {torch_bound:e}"
    );
    assert!((charm_loss - torch_loss).abs() <= charm_bound + torch_bound);
}

#[test]
fn charm_eval_of_each_imported_model_is_pytorchs_loss_within_the_rounding_bound() {
    for name in ["gru", "lstm", "rnn2", "emb_gru2"] {
        eval_matches(name);
    }
}

#[test]
fn a_gru_steps_as_pytorchs_nn_gru() {
    steps_match("gru", "as nn.GRU(num_layers=1)", Cell::Gru, 1);
}

#[test]
fn an_lstm_steps_as_pytorchs_nn_lstm_its_cell_state_included() {
    steps_match("lstm", "as nn.LSTM(num_layers=1)", Cell::Lstm, 1);
}

#[test]
fn two_tanh_layers_step_as_pytorchs_nn_rnn_of_two_layers() {
    steps_match("rnn2", "as nn.RNN(tanh, num_layers=2)", Cell::Rnn, 2);
}

#[test]
fn an_embedding_folded_into_two_gru_layers_steps_as_pytorchs_model() {
    steps_match(
        "emb_gru2",
        "emb.weight as nn.Embedding(27, 8) folded into the first layer's input weights",
        Cell::Gru,
        2,
    );
}

#[test]
fn export_then_import_of_each_cell_gives_back_the_same_file() {
    for name in ["gru", "lstm", "rnn2", "emb_gru2"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        imported(d, name, "wrote m.charm");
        ok(
            d,
            &[
                "export",
                "--model",
                "m.charm",
                "--format",
                "safetensors",
                "--out",
                "m.safetensors",
            ],
        );
        ok(
            d,
            &["import", "--model", "m.safetensors", "--out", "back.charm"],
        );
        let [a, b] = ["m.charm", "back.charm"].map(|f| std::fs::read(d.join(f)).unwrap());
        assert!(a == b, "{name}: export then import changed the file");
    }
}
