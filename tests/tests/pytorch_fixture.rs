//! charm against PyTorch itself: `tests/fixtures/pytorch/` holds a tiny
//! `nn.RNN(V, 16, tanh)` + `nn.Linear(16, V)` trained a few steps by
//! PyTorch and saved with `safetensors.torch.save_file`, and PyTorch's
//! float32 logits for a fixed input (made by `scripts/pytorch_fixture.py`,
//! whose docstring has the command). `charm import` reads it; charm's step
//! must give PyTorch's logits within the bound argued at [`logit_bounds`].
//! Also: `charm export` then `charm import` gives back the same file, and
//! the command line's refusals. (`cargo test -p charm-tests --test pytorch_fixture`)

mod cli_support;
mod pytorch_support;

use charm_core::{decode, AlignedBytes};
use charm_trainer::math::torch::TorchRnn;
use cli_support::{files, ok, run};
use pytorch_support::{
    fixture, gamma, import_fixture, within, CHARM_TANH, F64_SLACK, TORCH_ACTIVATION,
};
use std::path::Path;

/// PyTorch's record: its vocabulary order, the input, and its hidden
/// states and logits after each input character.
struct Recorded {
    vocab: Vec<char>,
    input: String,
    states: Vec<Vec<f32>>,
    logits: Vec<Vec<f32>>,
}

impl Recorded {
    /// PyTorch's index of a character.
    fn index(&self, c: char) -> usize {
        self.vocab.iter().position(|&v| v == c).unwrap()
    }

    /// The input characters as PyTorch's indices.
    fn inputs(&self) -> Vec<usize> {
        self.input.chars().map(|c| self.index(c)).collect()
    }

    /// charm's logits (in charm's sorted vocabulary `vocab`) in PyTorch's order.
    fn in_torch_order(&self, vocab: &charm_core::Vocab, logits: &[f32], out: &mut [f32]) {
        for (k, &y) in logits.iter().enumerate() {
            out[self.index(vocab.char_at(k).unwrap())] = y;
        }
    }
}

fn recorded() -> Recorded {
    let text = std::fs::read_to_string(fixture("tiny_rnn_logits.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let table = |key: &str| -> Vec<Vec<f32>> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|z| z.as_str().unwrap().parse::<f32>().unwrap())
                    .collect()
            })
            .collect()
    };
    Recorded {
        vocab: json["vocab"].as_str().unwrap().chars().collect(),
        input: json["input"].as_str().unwrap().into(),
        states: table("states"),
        logits: table("logits"),
    }
}

// ---------------------------------------------------------------- the bound
//
// Both charm and PyTorch compute, in f32, from the same f32 weights:
//
//   u_i = W_ih[i,x] + b_ih[i] + b_hh[i] + Σ_j W_hh[i,j]·h_j     (H + 3 terms;
//         PyTorch may multiply the one-hot vector out: its zero terms add exactly)
//   h_i = tanh(u_i)
//   y_k = b_fc[k] + Σ_i W_fc[k,i]·h_i                          (H + 1 terms)
//
// in different orders (charm: `(dot(W_hh[i], h) + fl(b_ih + b_hh)) + W_ih[i,x]`
// with 8 lane accumulators; PyTorch: its GEMM's blocking, perhaps with FMA).
// Whatever the order, a sum of n terms computed in f32 differs from the exact
// sum of the same terms by at most γ_n·Σ|terms| (Higham, Accuracy and
// Stability of Numerical Algorithms, 2nd ed., §3.1; a fused multiply-add only
// removes roundings). tanh has slope sech²(c) ≤ 1, largest where |c| is least,
// so an argument off by e moves it by at most sech²(max(0, |u| − e))·e; then
// each implementation's tanh adds its own error (CHARM_TANH, TORCH_ACTIVATION).
//
// One step from the same state (the state PyTorch recorded, as f32) therefore
// gives each implementation's h within `local` of the exact h and each logit
// within `W_fc`-weighted errors of the exact one; |charm − PyTorch| is at
// most the sum of the two implementations' bounds. That is [`step_bounds`].
//
// Over a whole sequence from a zero state, the state errors of earlier steps
// are carried through the recurrence: to first order (the neglected terms are
// products of two errors, below 1e-11 here) an error ε_s made at step s is
// ∂h_t/∂h_s · ε_s = J_t ⋯ J_{s+1} · ε_s at step t, with J = diag(1 − h²)·W_hh.
// Since only |ε_s| is known, |J_t ⋯ J_{s+1}|·|ε_s| bounds it; the product is
// taken before the absolute value, so the cancellations of a contracting
// recurrence count. That is [`run_bounds`].

/// One step of the exact model from state `h` (f64), with what the bound
/// needs: the new state, each unit's pre-activation `u` and Σ|terms| of `u`.
struct ExactStep {
    h: Vec<f64>,
    u: Vec<f64>,
    magnitude: Vec<f64>,
}

fn exact_step(t: &TorchRnn, h: &[f64], x: usize) -> ExactStep {
    let (hid, v) = (t.hidden, t.vocab);
    let mut out = ExactStep {
        h: vec![0.0; hid],
        u: vec![0.0; hid],
        magnitude: vec![0.0; hid],
    };
    for i in 0..hid {
        let fixed = [t.weight_ih[i * v + x], t.bias_ih[i], t.bias_hh[i]].map(f64::from);
        let terms = (0..hid).map(|j| f64::from(t.weight_hh[i * hid + j]) * h[j]);
        out.u[i] = fixed.iter().sum::<f64>() + terms.clone().sum::<f64>();
        out.magnitude[i] =
            fixed.iter().map(|a| a.abs()).sum::<f64>() + terms.map(f64::abs).sum::<f64>();
        out.h[i] = out.u[i].tanh();
    }
    out
}

/// The error one implementation makes in the new state, from an exact
/// input state: rounding of `u`, through tanh's slope, plus its tanh error.
fn local_state_error(t: &TorchRnn, s: &ExactStep, tanh_error: f64) -> Vec<f64> {
    let n = t.hidden + t.vocab + 3;
    (0..t.hidden)
        .map(|i| {
            let e = gamma(n) * s.magnitude[i];
            let nearest = (s.u[i].abs() - e).max(0.0);
            e / nearest.cosh().powi(2) + tanh_error
        })
        .collect()
}

/// |ŷ_k − y*_k| for a state off by at most `delta` from the exact `h`.
fn logit_error(t: &TorchRnn, h: &[f64], delta: &[f64], k: usize) -> f64 {
    let row = &t.fc_weight[k * t.hidden..(k + 1) * t.hidden];
    let carried: f64 = row
        .iter()
        .zip(delta)
        .map(|(&w, d)| f64::from(w).abs() * d)
        .sum();
    let magnitude: f64 = f64::from(t.fc_bias[k]).abs()
        + row
            .iter()
            .zip(h)
            .zip(delta)
            .map(|((&w, hi), d)| f64::from(w).abs() * (hi.abs() + d))
            .sum::<f64>();
    carried + gamma(t.hidden + 1) * magnitude
}

/// Bounds on |charm − PyTorch| for one step from the same state
/// (`states[t-1]`, zero for t = 0): (state bound per unit, logit bound per
/// character, PyTorch's order), per step.
fn step_bounds(t: &TorchRnn, inputs: &[usize], states: &[Vec<f32>]) -> Vec<(Vec<f64>, Vec<f64>)> {
    let zero = vec![0.0f32; t.hidden];
    let before = std::iter::once(&zero).chain(states);
    inputs
        .iter()
        .zip(before)
        .map(|(&x, h)| {
            let h: Vec<f64> = h.iter().map(|&a| f64::from(a)).collect();
            let s = exact_step(t, &h, x);
            let [dc, dt] = [CHARM_TANH, TORCH_ACTIVATION].map(|e| local_state_error(t, &s, e));
            let state: Vec<f64> = dc.iter().zip(&dt).map(|(a, b)| a + b + F64_SLACK).collect();
            let logits = (0..t.vocab)
                .map(|k| logit_error(t, &s.h, &dc, k) + logit_error(t, &s.h, &dt, k) + F64_SLACK)
                .collect();
            (state, logits)
        })
        .collect()
}

/// Bounds on |charm − PyTorch| for the logits of a whole run from a zero
/// state, per step and character (PyTorch's order), to first order.
fn run_bounds(t: &TorchRnn, inputs: &[usize]) -> Vec<Vec<f64>> {
    let hid = t.hidden;
    let mut h = vec![0.0f64; hid];
    // For each earlier step s: |ε_s| (both implementations) and J_t ⋯ J_{s+1}.
    let mut carried: Vec<([Vec<f64>; 2], Vec<f64>)> = Vec::new();
    let mut bounds = Vec::new();
    for &x in inputs {
        let s = exact_step(t, &h, x);
        // J = diag(1 − h²)·W_hh; every product so far is multiplied by it.
        let jacobian: Vec<f64> = (0..hid * hid)
            .map(|ij| (1.0 - s.h[ij / hid].powi(2)) * f64::from(t.weight_hh[ij]))
            .collect();
        for (_, product) in &mut carried {
            let mut next = vec![0.0; hid * hid];
            for i in 0..hid {
                for k in 0..hid {
                    next[i * hid + k] = (0..hid)
                        .map(|j| jacobian[i * hid + j] * product[j * hid + k])
                        .sum();
                }
            }
            *product = next;
        }
        let identity: Vec<f64> = (0..hid * hid)
            .map(|ij| f64::from(u8::from(ij / hid == ij % hid)))
            .collect();
        carried.push((
            [CHARM_TANH, TORCH_ACTIVATION].map(|e| local_state_error(t, &s, e)),
            identity,
        ));
        let delta = |which: usize| -> Vec<f64> {
            (0..hid)
                .map(|i| {
                    carried
                        .iter()
                        .map(|(eps, p)| {
                            (0..hid)
                                .map(|k| p[i * hid + k].abs() * eps[which][k])
                                .sum::<f64>()
                        })
                        .sum::<f64>()
                })
                .collect()
        };
        let (dc, dt) = (delta(0), delta(1));
        bounds.push(
            (0..t.vocab)
                .map(|k| logit_error(t, &s.h, &dc, k) + logit_error(t, &s.h, &dt, k) + F64_SLACK)
                .collect(),
        );
        h = s.h;
    }
    bounds
}

/// The fixture imported with `charm import` into `dir/m.charm`, read back.
fn imported(dir: &Path) -> (AlignedBytes, TorchRnn) {
    let (report, bytes, torch) = import_fixture(dir, "tiny_rnn.safetensors");
    assert!(
        report.starts_with("wrote m.charm (f32, H 16, V 26, "),
        "{report}"
    );
    assert!(report.contains("rnn.weight_ih_l0 and rnn.weight_hh_l0 as nn.RNN(tanh), fc.weight and fc.bias as nn.Linear; bh = rnn.bias_ih_l0 + rnn.bias_hh_l0"), "{report}");
    (bytes, torch.as_rnn().unwrap())
}

#[test]
fn one_step_from_pytorchs_state_gives_pytorchs_state_and_logits_within_the_rounding_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, torch) = imported(dir.path());
    let file = decode(&bytes).unwrap();
    let rec = recorded();
    let inputs = rec.inputs();
    let bounds = step_bounds(&torch, &inputs, &rec.states);
    let (h, v) = (file.model.hidden(), file.model.vocab());
    let (mut state, mut logits) = (vec![0.0f32; h], vec![0.0f32; v]);
    let mut in_torch_order = vec![0.0f32; v];
    let (mut states, mut logit) = ((0.0f64, 0.0f64), (0.0f64, 0.0f64));
    for (t, c) in rec.input.chars().enumerate() {
        let before = if t == 0 {
            vec![0.0f32; h]
        } else {
            rec.states[t - 1].clone()
        };
        file.model
            .step(
                &before,
                file.vocab.index_of(c).unwrap(),
                &mut state,
                &mut logits,
            )
            .unwrap();
        rec.in_torch_order(&file.vocab, &logits, &mut in_torch_order);
        let s = within("state", t, &state, &rec.states[t], &bounds[t].0);
        let l = within("logit", t, &in_torch_order, &rec.logits[t], &bounds[t].1);
        states = (states.0.max(s.0), states.1.max(s.1));
        logit = (logit.0.max(l.0), logit.1.max(l.1));
    }
    println!("one step from PyTorch's state: max |Δh| {:e} (bound up to {:e}), max |Δlogit| {:e} (bound up to {:e})", states.0, states.1, logit.0, logit.1);
    assert!(logit.1 < 1e-4, "the bound says something: {:e}", logit.1);
}

#[test]
fn a_whole_run_from_a_zero_state_gives_pytorchs_logits_within_the_carried_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, torch) = imported(dir.path());
    let file = decode(&bytes).unwrap();
    let rec = recorded();
    let inputs = rec.inputs();
    let bounds = run_bounds(&torch, &inputs);
    let (h, v) = (file.model.hidden(), file.model.vocab());
    let (mut state, mut next, mut logits) = (vec![0.0f32; h], vec![0.0f32; h], vec![0.0f32; v]);
    let mut in_torch_order = vec![0.0f32; v];
    let mut worst = (0.0f64, 0.0f64);
    for (t, c) in rec.input.chars().enumerate() {
        file.model
            .step(
                &state,
                file.vocab.index_of(c).unwrap(),
                &mut next,
                &mut logits,
            )
            .unwrap();
        std::mem::swap(&mut state, &mut next);
        rec.in_torch_order(&file.vocab, &logits, &mut in_torch_order);
        let w = within("logit", t, &in_torch_order, &rec.logits[t], &bounds[t]);
        worst = (worst.0.max(w.0), worst.1.max(w.1));
    }
    println!(
        "whole run of {} characters: max |Δlogit| {:e} (bound up to {:e})",
        rec.input.chars().count(),
        worst.0,
        worst.1
    );
    // Logits here are of size 1 to 4: a bound of 1e-3 still says something.
    assert!(worst.1 < 1e-3, "the bound says something: {:e}", worst.1);
    assert!(worst.0 > 0.0, "two summation orders differ somewhere");
}

fn charm_import(dir: &Path, args: &[&str]) -> std::process::Output {
    let input = fixture("tiny_rnn.safetensors");
    let mut all = vec!["import", "--model", input.to_str().unwrap()];
    all.extend_from_slice(args);
    run(dir, &all)
}

#[test]
fn export_then_import_gives_back_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(charm_import(d, &["--out", "m.charm"]).status.success());
    let report = String::from_utf8(ok(
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
    ))
    .unwrap();
    // An imported model has no training record, and `charm info` says so.
    let info = String::from_utf8(ok(d, &["info", "--model", "m.charm"])).unwrap();
    assert!(
        info.contains("\ntraining:        none recorded in this file (made by charm import, not charm train)\non a device:"),
        "{info}"
    );
    assert!(report.contains("rnn.weight_ih_l0 [16, 26], rnn.weight_hh_l0 [16, 16], rnn.bias_ih_l0 [16], rnn.bias_hh_l0 [16] (zeros), fc.weight [26, 16], fc.bias [26], vocabulary in __metadata__ charm.vocab"), "{report}");
    ok(
        d,
        &["import", "--model", "m.safetensors", "--out", "back.charm"],
    );
    assert_eq!(
        std::fs::read(d.join("m.charm")).unwrap(),
        std::fs::read(d.join("back.charm")).unwrap()
    );
    // The same with a vocabulary file in the fixture's order.
    let vocab: String = recorded().vocab.into_iter().collect();
    std::fs::write(d.join("vocab.txt"), &vocab).unwrap();
    assert!(
        charm_import(d, &["--vocab", "vocab.txt", "--out", "v.charm"])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(d.join("m.charm")).unwrap(),
        std::fs::read(d.join("v.charm")).unwrap()
    );
}

/// Exit status 1, one line on stderr, and nothing written.
fn refused(out: std::process::Output, dir: &Path, before: &[String], expected: &str) {
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}\nexpected: {expected}");
    assert_eq!(files(dir), before, "{stderr}");
}

#[test]
fn import_and_export_refuse_in_one_sentence_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("vocab.txt"), "abc\n").unwrap();
    let before = files(d);
    refused(
        charm_import(d, &["--vocab", "vocab.txt", "--out", "m.charm"]),
        d,
        &before,
        "the vocabulary (vocab.txt) has 4 characters but the model has V 26 (its final newline counts as a character",
    );
    std::fs::write(d.join("m.charm"), "mine").unwrap();
    let before = files(d);
    refused(
        charm_import(d, &["--out", "m.charm"]),
        d,
        &before,
        "m.charm exists and charm replaces a file only when asked",
    );
    assert_eq!(std::fs::read(d.join("m.charm")).unwrap(), b"mine");
    refused(
        charm_import(d, &["--vocab", "vocab.txt", "--out", "vocab.txt"]),
        d,
        &before,
        "vocab.txt is the vocabulary file this command reads",
    );
    refused(
        run(d, &["import", "--model", "m.charm", "--out", "x.charm"]),
        d,
        &before,
        "m.charm: this is not a safetensors file",
    );
    assert!(charm_import(d, &["--out", "m.charm", "--force"])
        .status
        .success());
    ok(d, &["quantize", "--model", "m.charm", "--out", "q.charm"]);
    let before = files(d);
    refused(
        run(
            d,
            &[
                "export",
                "--model",
                "q.charm",
                "--format",
                "safetensors",
                "--out",
                "q.safetensors",
            ],
        ),
        d,
        &before,
        "q.charm is an int8 model; export the f32 model it was quantized from",
    );
    refused(
        run(
            d,
            &[
                "export",
                "--model",
                "m.charm",
                "--format",
                "safetensors",
                "--out",
                "m.charm",
                "--force",
            ],
        ),
        d,
        &before,
        "m.charm is the model this command reads",
    );
}
