//! The fast tanh against libm::tanhf: the documented 5e-7 bound.

use charm_core::tanh_f32;

const BOUND: f32 = 5e-7;

#[test]
fn dense_sweep_of_minus_20_to_20() {
    let n = 4_000_000u32;
    let mut worst = (0.0f32, 0.0f32);
    for i in 0..=n {
        let x = (-20.0 + 40.0 * (f64::from(i) / f64::from(n))) as f32;
        let e = (tanh_f32(x) - libm::tanhf(x)).abs();
        if e > worst.0 {
            worst = (e, x);
        }
    }
    assert!(
        worst.0 <= BOUND,
        "max error {:e} at x = {}",
        worst.0,
        worst.1
    );
}

#[test]
fn every_float_in_the_curved_region() {
    // Every f32 with |x| in [2, 9], where the error peaks (a few million values).
    let (lo, hi) = (2.0f32.to_bits(), 9.0f32.to_bits());
    for bits in (lo..=hi).step_by(3) {
        let x = f32::from_bits(bits);
        for x in [x, -x] {
            let e = (tanh_f32(x) - libm::tanhf(x)).abs();
            assert!(e <= BOUND, "error {e:e} at x = {x}");
        }
    }
}

#[test]
fn special_values() {
    assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    assert!(tanh_f32(f32::NAN).is_nan());
    assert!((tanh_f32(f32::INFINITY) - 1.0).abs() <= BOUND);
    assert!((tanh_f32(f32::NEG_INFINITY) + 1.0).abs() <= BOUND);
    assert!((tanh_f32(f32::MAX) - 1.0).abs() <= BOUND);
    for x in [
        f32::MIN_POSITIVE,
        1e-40,
        -1e-40,
        f32::from_bits(1),
        -f32::from_bits(1),
    ] {
        let e = (tanh_f32(x) - libm::tanhf(x)).abs();
        assert!(e <= 1e-38, "subnormal {x:e}: error {e:e}");
        assert_eq!(tanh_f32(x).is_sign_negative(), x.is_sign_negative());
    }
}
