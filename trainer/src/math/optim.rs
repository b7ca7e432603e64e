//! Gradient clipping, optimizers and learning-rate schedules.
//!
//! Both optimizers update every entry of the flat parameter vector. Padding
//! entries have zero gradient and zero weight, and both rules map (w = 0, g = 0)
//! to w = 0, so padding stays zero (the layout invariant of `ModelView`).

use crate::math::kernels::{Finite, Kernels};
use crate::math::params::Params;
use serde::{Deserialize, Serialize};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// min-char-rnn's: `mem += g²; w -= lr · g / sqrt(mem + 1e-8)`.
    Adagrad,
    /// Adam (Kingma & Ba 2015) with bias correction; weight decay is decoupled (AdamW).
    Adam,
}

/// How the learning rate changes over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// The same rate throughout (min-char-rnn).
    Constant,
    /// Cosine decay from `lr` to `lr · 0.02` over the run (steps, or wall-clock
    /// time with `--minutes`).
    Cosine,
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Adam => "adam",
        })
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        })
    }
}

impl Schedule {
    /// The multiplier of the base rate at `progress` ∈ [0, 1] of the run.
    pub fn factor(self, progress: f64) -> f64 {
        match self {
            Schedule::Constant => 1.0,
            Schedule::Cosine => {
                let p = progress.clamp(0.0, 1.0);
                const FLOOR: f64 = 0.02;
                FLOOR + (1.0 - FLOOR) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}

/// The linear warm-up of the rate: `(step + 1) / warmup` for the first
/// `warmup` steps, then 1 (0 steps: always 1). Adam's first updates are
/// ±lr on every entry whatever the gradient (its moments are estimated from
/// one or a few gradients); starting low keeps them from undoing the
/// initialization before the moments mean something.
pub fn warmup_factor(step: u64, warmup: u64) -> f64 {
    if warmup == 0 {
        1.0
    } else {
        ((step + 1) as f64 / warmup as f64).min(1.0)
    }
}

/// Scales the whole gradient down to L2 norm `max` when its norm is above
/// it (Pascanu, Mikolov & Bengio 2013: a window whose gradient explodes
/// through W_hh then moves the weights as far as an ordinary one, in the
/// same direction). Returns the norm before scaling. Non-finite gradients
/// are left as they are (the update reports them).
pub fn clip_norm(grads: &mut Params<f32>, max: f32) -> f64 {
    let norm = grads
        .data
        .iter()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt();
    if norm.is_finite() && norm > f64::from(max) {
        let k = (f64::from(max) / norm) as f32;
        for g in &mut grads.data {
            *g *= k;
        }
    }
    norm
}

/// Clips every gradient entry to `[-clip, clip]` (min-char-rnn's `np.clip(d, -5, 5)`).
pub fn clip(grads: &mut Params<f32>, clip: f32) {
    for g in &mut grads.data {
        *g = g.clamp(-clip, clip);
    }
}

/// The optimizer state: per-entry memories, in the layout of [`Params`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    /// The rule.
    pub kind: OptimizerKind,
    /// Adagrad: Σ g². Adam: first moment.
    pub m: Vec<f32>,
    /// Adam: second moment (empty for Adagrad).
    pub v: Vec<f32>,
    /// Updates taken (Adam's bias correction).
    pub t: u64,
}

/// Hyperparameters of one update.
#[derive(Debug, Clone, Copy)]
pub struct Hyper {
    /// Learning rate for this step (schedule applied).
    pub lr: f32,
    /// Decoupled weight decay per unit learning rate (Adam only; weight matrices only).
    pub weight_decay: f32,
}

impl Optimizer {
    /// Fresh state for a parameter vector of `n` entries.
    pub fn new(kind: OptimizerKind, n: usize) -> Self {
        let v = match kind {
            OptimizerKind::Adagrad => Vec::new(),
            OptimizerKind::Adam => vec![0.0; n],
        };
        Self {
            kind,
            m: vec![0.0; n],
            v,
            t: 0,
        }
    }

    /// Clips the gradient to `[-clip, clip]` and applies one update, in one
    /// pass over memory for Adagrad (the same bits as [`clip`] then
    /// [`Optimizer::update`]). Reports whether the raw gradient and the new
    /// weights are finite; a caller stops training when they are not.
    pub fn clip_update(
        &mut self,
        params: &mut Params<f32>,
        grads: &mut Params<f32>,
        clip_at: f32,
        hp: Hyper,
    ) -> Finite {
        if self.kind == OptimizerKind::Adagrad {
            self.t += 1;
            return f32::adagrad_clip(&mut params.data, &grads.data, &mut self.m, hp.lr, clip_at);
        }
        let grads_ok = grads.data.iter().all(|g| g.is_finite());
        clip(grads, clip_at);
        self.update(params, grads, hp);
        Finite {
            grads: grads_ok,
            params: params.data.iter().all(|w| w.is_finite()),
        }
    }

    /// Applies one update to `params` with gradient `grads`.
    pub fn update(&mut self, params: &mut Params<f32>, grads: &Params<f32>, hp: Hyper) {
        self.t += 1;
        match self.kind {
            OptimizerKind::Adagrad => {
                for ((w, &g), mem) in params.data.iter_mut().zip(&grads.data).zip(&mut self.m) {
                    *mem += g * g;
                    *w -= hp.lr * g / (*mem + 1e-8).sqrt();
                }
            }
            OptimizerKind::Adam => {
                const B1: f32 = 0.9;
                const B2: f32 = 0.999;
                const EPS: f32 = 1e-8;
                let t = self.t.min(i32::MAX as u64) as i32;
                let c1 = 1.0 / (1.0 - B1.powi(t));
                let c2 = 1.0 / (1.0 - B2.powi(t));
                let matrices = params.matrix_ranges();
                let decay = 1.0 - hp.lr * hp.weight_decay;
                for (i, ((w, &g), (m, v))) in params
                    .data
                    .iter_mut()
                    .zip(&grads.data)
                    .zip(self.m.iter_mut().zip(&mut self.v))
                    .enumerate()
                {
                    *m = B1 * *m + (1.0 - B1) * g;
                    *v = B2 * *v + (1.0 - B2) * g * g;
                    // Weight decay on the matrices (wxh, whh, why; each layer's
                    // wx and wh), not on biases.
                    if matrices.iter().any(|r| r.contains(&i)) {
                        *w *= decay;
                    }
                    *w -= hp.lr * (*m * c1) / ((*v * c2).sqrt() + EPS);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::kernels::Kernels;

    #[test]
    fn adagrad_matches_min_char_rnn_formula() {
        let mut p = Params::<f32>::zeros(1, 1);
        let mut g = Params::<f32>::zeros(1, 1);
        g.data[0] = 2.0;
        let mut o = Optimizer::new(OptimizerKind::Adagrad, p.data.len());
        o.update(
            &mut p,
            &g,
            Hyper {
                lr: 0.1,
                weight_decay: 0.0,
            },
        );
        assert!((p.data[0] - (-0.1 * 2.0 / (4.0f32 + 1e-8).sqrt())).abs() < 1e-7);
        assert!(p.data[1..8].iter().all(|&w| w == 0.0), "padding stays 0");
    }

    #[test]
    fn adam_first_step_is_lr_times_sign() {
        let mut p = Params::<f32>::zeros(2, 1);
        let mut g = Params::<f32>::zeros(2, 1);
        g.data[0] = 0.3;
        g.data[1] = -7.0;
        let mut o = Optimizer::new(OptimizerKind::Adam, p.data.len());
        o.update(
            &mut p,
            &g,
            Hyper {
                lr: 0.01,
                weight_decay: 0.1,
            },
        );
        // Step 1: m̂ = g, v̂ = g², so Δ = lr·g/(|g| + ε) = ±lr·(1 - ε/|g|):
        // within 1e-9 of ±lr (ε/|g| ≤ 3.4e-8) plus a few f32 roundings of lr
        // (2⁻²⁴·0.01 each), far inside 1e-6; weight decay scales w = 0 to 0.
        assert!((p.data[0] + 0.01).abs() < 1e-6 && (p.data[1] - 0.01).abs() < 1e-6);
        assert!(p.data[2..8].iter().all(|&w| w == 0.0), "padding stays 0");
    }

    #[test]
    fn clip_norm_scales_only_a_gradient_above_the_bound() {
        let mut g = Params::<f32>::zeros(1, 1);
        g.data[0] = 3.0;
        g.data[1] = 4.0;
        assert_eq!(clip_norm(&mut g, 10.0), 5.0);
        assert_eq!(&g.data[..2], &[3.0, 4.0]);
        assert_eq!(clip_norm(&mut g, 1.0), 5.0);
        assert!((g.data[0] - 0.6).abs() < 1e-7 && (g.data[1] - 0.8).abs() < 1e-7);
    }

    #[test]
    fn clipping_and_schedule() {
        let mut g = Params::<f32>::zeros(1, 1);
        g.data[0] = 9.0;
        g.data[1] = -6.0;
        clip(&mut g, 5.0);
        assert_eq!(&g.data[..2], &[5.0, -5.0]);
        assert_eq!(Schedule::Cosine.factor(0.0), 1.0);
        assert!((Schedule::Cosine.factor(1.0) - 0.02).abs() < 1e-12);
        assert_eq!(Schedule::Constant.factor(0.7), 1.0);
    }

    #[test]
    fn fused_adagrad_is_bit_identical_to_clip_then_update() {
        let mut p = Params::<f32>::init_normal(13, 5, 0.1, 1);
        let mut g = Params::<f32>::zeros(13, 5);
        for (i, x) in g.data.iter_mut().enumerate() {
            *x = ((i * 37 % 101) as f32 - 50.0) * 0.2;
        }
        let mut o = Optimizer::new(OptimizerKind::Adagrad, p.data.len());
        let (mut w2, mut m2) = (p.data.clone(), o.m.clone());
        for _ in 0..3 {
            let f = f32::adagrad_clip(&mut w2, &g.data, &mut m2, 0.1, 5.0);
            assert!(f.grads && f.params);
        }
        clip(&mut g, 5.0);
        let hp = Hyper {
            lr: 0.1,
            weight_decay: 0.0,
        };
        for _ in 0..3 {
            o.update(&mut p, &g, hp);
        }
        assert_eq!(p.data, w2);
        assert_eq!(o.m, m2);
        let mut bad = g.data.clone();
        bad[3] = f32::NAN;
        assert!(!f32::adagrad_clip(&mut w2, &bad, &mut m2, 0.1, 5.0).grads);
        bad[3] = 0.0;
        let last = bad.len() - 1;
        bad[last] = f32::INFINITY;
        assert!(!f32::adagrad_clip(&mut w2, &bad, &mut m2, 0.1, 5.0).grads);
    }
}
