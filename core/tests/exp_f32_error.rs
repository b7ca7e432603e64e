//! `exp_f32` against `exp` in f64: the bound its doc comment states.

use charm_core::exp_f32;

#[test]
fn exp_f32_error() {
    let n = 20_000_000u32;
    let mut worst = (0.0f64, 0.0f32);
    for i in 0..=n {
        let x = (-87.0 + 175.0 * (f64::from(i) / f64::from(n))) as f32;
        let exact = f64::from(x).exp();
        let rel = ((f64::from(exp_f32(x)) - exact) / exact).abs();
        if rel > worst.0 {
            worst = (rel, x);
        }
    }
    println!(
        "exp_f32: max relative error {:.3e} at x = {}",
        worst.0, worst.1
    );
    assert!(
        worst.0 <= 2.4e-7,
        "max relative error {} at {}",
        worst.0,
        worst.1
    );
}

#[test]
fn exp_f32_edges() {
    assert_eq!(exp_f32(0.0), 1.0);
    assert_eq!(exp_f32(-0.0), 1.0);
    assert_eq!(exp_f32(-87.5), 0.0);
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_f32(89.0), f32::INFINITY);
    assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    // monotonic over the range the sampler uses (x ≤ 0)
    let mut last = 0.0f32;
    for i in 0..=1_000_000 {
        let y = exp_f32(-87.0 + 87.0 * (i as f32 / 1_000_000.0));
        assert!(y >= last);
        last = y;
    }
}
