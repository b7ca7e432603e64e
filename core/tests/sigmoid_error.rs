//! `sigmoid_f32` against `1 / (1 + exp(−x))` in f64: the bounds its doc
//! comment states.

use charm_core::sigmoid_f32;

/// Max abs error stated in the doc comment.
const ABS_BOUND: f64 = 1.2e-7;
/// Max relative error stated in the doc comment.
const REL_BOUND: f64 = 3.0e-7;

fn exact(x: f32) -> f64 {
    1.0 / (1.0 + (-f64::from(x)).exp())
}

/// The worst (abs, rel) errors over `xs`, and where.
fn worst(xs: impl Iterator<Item = f32>) -> ((f64, f32), (f64, f32)) {
    let (mut abs, mut rel) = ((0.0f64, 0.0f32), (0.0f64, 0.0f32));
    for x in xs {
        let (y, e) = (f64::from(sigmoid_f32(x)), exact(x));
        let a = (y - e).abs();
        if a > abs.0 {
            abs = (a, x);
        }
        if e > 0.0 && a / e > rel.0 {
            rel = (a / e, x);
        }
    }
    (abs, rel)
}

#[test]
fn every_third_float_with_magnitude_from_2_to_the_minus_10_to_20() {
    // Every third f32 in [2⁻¹⁰, 20] and its negative: 2 · 29 million
    // values, where the gates' pre-activations live (below 2⁻¹⁰ σ is
    // 1/2 + x/4 to within 2⁻³¹, and the sweep below covers it).
    let (lo, hi) = (2.0f32.powi(-10).to_bits(), 20.0f32.to_bits());
    let xs = (lo..=hi)
        .step_by(3)
        .map(f32::from_bits)
        .flat_map(|x| [x, -x]);
    let ((abs, at_abs), (rel, at_rel)) = worst(xs);
    println!(
        "sigmoid_f32: max abs error {abs:.3e} at {at_abs}, max relative {rel:.3e} at {at_rel}"
    );
    assert!(abs <= ABS_BOUND, "abs error {abs:e} at {at_abs}");
    assert!(rel <= REL_BOUND, "relative error {rel:e} at {at_rel}");
}

#[test]
fn dense_sweep_of_minus_100_to_100() {
    let n = 4_000_000u32;
    let xs = (0..=n).map(|i| (-100.0 + 200.0 * (f64::from(i) / f64::from(n))) as f32);
    let ((abs, at_abs), (rel, at_rel)) = worst(xs);
    assert!(abs <= ABS_BOUND, "abs error {abs:e} at {at_abs}");
    // below −87 exp_f32 is +inf and σ 0 exactly, against a true value
    // under 1.7e-38: the relative error there is 1, so the sweep checks
    // the relative bound down to −87 only
    let ((_, _), (rel_in, at_in)) =
        worst((0..=n).map(|i| (-87.0 + 187.0 * (f64::from(i) / f64::from(n))) as f32));
    assert!(rel_in <= REL_BOUND, "relative error {rel_in:e} at {at_in}");
    let _ = (rel, at_rel);
}

#[test]
fn special_values() {
    assert_eq!(sigmoid_f32(0.0), 0.5);
    assert_eq!(sigmoid_f32(-0.0), 0.5);
    assert_eq!(sigmoid_f32(f32::INFINITY), 1.0);
    assert_eq!(sigmoid_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(sigmoid_f32(100.0), 1.0);
    assert_eq!(sigmoid_f32(-100.0), 0.0);
    assert!(sigmoid_f32(f32::NAN).is_nan());
    // symmetric to within the bound: σ(−x) = 1 − σ(x)
    for x in [0.1f32, 1.0, 3.0, 10.0] {
        let s = f64::from(sigmoid_f32(x)) + f64::from(sigmoid_f32(-x));
        assert!((s - 1.0).abs() <= 2.0 * ABS_BOUND, "σ({x}) + σ(−{x}) = {s}");
    }
}
