//! `tanh_q15` against `32767·tanh` in f64: the bound its doc comment states.

use charm_core::tanh_q15;

/// Max |tanh_q15(u) − 32767·tanh(u)| over `n` evenly spaced points of [-8, 8].
fn max_error(n: u32) -> (f64, f32) {
    let mut worst = (0.0f64, 0.0f32);
    for i in 0..=n {
        let u = -8.0 + 16.0 * (f64::from(i) / f64::from(n));
        let u = u as f32;
        let err = (f64::from(tanh_q15(u)) - 32767.0 * f64::from(u).tanh()).abs();
        if err > worst.0 {
            worst = (err, u);
        }
    }
    worst
}

#[test]
fn tanh_q15_error() {
    let (err, at) = max_error(12_000_000);
    println!("tanh_q15: max error {err:.4} Q15 steps at u = {at}");
    assert!(err <= 1.15, "max error {err} at {at}");
}

#[test]
fn tanh_q15_is_odd_monotonic_and_saturates() {
    let mut last = tanh_q15(-10.0);
    assert_eq!(last, -32767);
    for i in 0..=2_000_000 {
        let u = -10.0 + 20.0 * (i as f32 / 2_000_000.0);
        let y = tanh_q15(u);
        assert!(y >= last, "not monotonic at {u}");
        assert_eq!(tanh_q15(-u), -y, "not odd at {u}");
        last = y;
    }
    for u in [f32::INFINITY, f32::MAX, 1e9, 6.0] {
        assert_eq!(tanh_q15(u), 32767);
        assert_eq!(tanh_q15(-u), -32767);
    }
    assert_eq!(tanh_q15(f32::NAN), 0);
    assert_eq!(tanh_q15(-0.0), 0);
    assert_eq!(tanh_q15(f32::MIN_POSITIVE), 0);
}
