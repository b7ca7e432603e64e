//! The f32 step against an independent f64 implementation written here from
//! the equations, on random weights of several shapes.

mod common_model;
use common_model::OwnedModel;

/// Independent reference: plain loops, f64, `f64::tanh` from std, no lanes.
///   u = Wxh[:, x] + Whh·h + bh;  h' = tanh(u);  y = Why·h' + by
fn reference_step(m: &OwnedModel<f64>, h: &[f64], x: usize) -> (Vec<f64>, Vec<f64>) {
    let stride = charm_core::padded(m.hidden);
    let [wxh, whh, bh, why, by] = &m.tensors;
    let mut h_next = vec![0.0; m.hidden];
    for (r, hr) in h_next.iter_mut().enumerate() {
        let mut u = wxh[x * stride + r] + bh[r];
        for c in 0..m.hidden {
            u += whh[r * stride + c] * h[c];
        }
        *hr = u.tanh();
    }
    let mut y = vec![0.0; m.vocab];
    for (r, yr) in y.iter_mut().enumerate() {
        let mut s = by[r];
        for c in 0..m.hidden {
            s += why[r * stride + c] * h_next[c];
        }
        *yr = s;
    }
    (h_next, y)
}

/// Runs 20 steps with both implementations (each carrying its own state) and
/// returns the largest |logit difference| seen.
fn max_logit_diff(hidden: usize, vocab: usize, seed: u64) -> f64 {
    // Scale 1/sqrt(H) keeps u in tanh's interesting range, as after training.
    let scale = 1.5 / (hidden as f32).sqrt();
    let m32 = OwnedModel::random(hidden, vocab, scale, seed);
    let m64 = m32.to_f64();
    let view = m32.view();
    let (mut h32, mut next32, mut y32) =
        (vec![0f32; hidden], vec![0f32; hidden], vec![0f32; vocab]);
    let mut h64 = vec![0f64; hidden];
    let mut worst = 0.0f64;
    let mut rng = charm_core::Rng::new(seed ^ 0xABCD);
    for _ in 0..20 {
        let x = (rng.next_u64() % vocab as u64) as usize;
        view.step(&h32, x, &mut next32, &mut y32).unwrap();
        std::mem::swap(&mut h32, &mut next32);
        let (hn, y64) = reference_step(&m64, &h64, x);
        h64 = hn;
        for (a, b) in y32.iter().zip(&y64) {
            worst = worst.max((f64::from(*a) - b).abs());
        }
    }
    worst
}

#[test]
fn step_matches_f64_reference_on_all_shapes() {
    for hidden in [8, 64, 100, 256] {
        for vocab in [5, 65, 300] {
            let diff = max_logit_diff(hidden, vocab, (hidden * 1000 + vocab) as u64);
            assert!(
                diff <= 1e-4,
                "H={hidden} V={vocab}: max |logit diff| {diff:e} > 1e-4"
            );
        }
    }
}

#[test]
fn f64_step_matches_reference_to_rounding() {
    // The generic step in f64 (what the trainer's gradient check runs) agrees
    // with the reference to ~1e-13: same equations, different summation order.
    let m = OwnedModel::random(100, 65, 0.15, 3).to_f64();
    let [a, b, c, d, e] = &m.tensors;
    let view = charm_core::ModelView::new(100, 65, a, b, c, d, e).unwrap();
    let h: Vec<f64> = (0..100).map(|i| ((i as f64) * 0.37).sin() * 0.9).collect();
    let (mut hn, mut y) = (vec![0.0; 100], vec![0.0; 65]);
    view.step(&h, 7, &mut hn, &mut y).unwrap();
    let (hr, yr) = reference_step(&m, &h, 7);
    for (a, b) in hn.iter().zip(&hr).chain(y.iter().zip(&yr)) {
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
    }
}

#[test]
fn step_rejects_bad_input_index_and_buffers() {
    use charm_core::{ShapeError, StepError};
    let m = OwnedModel::random(8, 5, 0.1, 1);
    let v = m.view();
    let (h, mut hn, mut y) = (vec![0f32; 8], vec![0f32; 8], vec![0f32; 5]);
    assert_eq!(
        v.step(&h, 5, &mut hn, &mut y),
        Err(StepError::InputOutOfRange { index: 5, vocab: 5 })
    );
    let mut short = vec![0f32; 4];
    assert_eq!(
        v.step(&h, 0, &mut hn, &mut short),
        Err(StepError::Shape(ShapeError::BufferLength {
            buffer: "logits",
            expected: 5,
            found: 4
        }))
    );
}
