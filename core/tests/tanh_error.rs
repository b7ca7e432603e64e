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

/// The largest |tanh_f32(x) − tanhf(x)| over the f32 with bit patterns
/// `bits` and their negatives, and where it is.
fn worst_over(bits: std::ops::Range<u32>) -> (f32, f32) {
    let mut worst = (0.0f32, 0.0f32);
    for b in bits {
        let x = f32::from_bits(b);
        for x in [x, -x] {
            let e = (tanh_f32(x) - libm::tanhf(x)).abs();
            if e > worst.0 {
                worst = (e, x);
            }
        }
    }
    worst
}

#[test]
fn every_float_with_magnitude_from_a_quarter_to_9() {
    // Every f32 with 0.25 ≤ |x| ≤ 9, both signs (86 million values), where
    // the error peaks (4.77e-7 at 5.9); in one contiguous range of bit
    // patterns per core. (All of [-9, 9], 2.18e9 values, takes about a
    // minute of CPU; below 0.25 the dense sweep above samples it.)
    let (start, end) = (0.25f32.to_bits(), 9.0f32.to_bits() + 1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let part = (end - start) / cores;
    let worst = std::thread::scope(|s| {
        let parts: Vec<_> = (0..cores)
            .map(|i| s.spawn(move || worst_over(start + part * i..start + part * (i + 1))))
            .collect();
        let rest = worst_over(start + part * cores..end);
        parts
            .into_iter()
            .map(|p| p.join().unwrap())
            .fold(rest, |a, b| if b.0 > a.0 { b } else { a })
    });
    println!("max error {:e} at x = {}", worst.0, worst.1);
    assert!(
        worst.0 <= BOUND,
        "max error {:e} at x = {}",
        worst.0,
        worst.1
    );
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
