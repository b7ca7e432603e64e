//! Shared parts of the tests of charm against PyTorch (`pytorch_fixture`,
//! `pytorch_cells`): the fixtures, `charm import` of one, the f32 rounding
//! constants their bounds are built from, and the check of a vector
//! against PyTorch's within a bound.
#![allow(dead_code)]

use crate::cli_support::ok;
use charm_core::AlignedBytes;
use charm_trainer::files::pytorch::read_torch;
use charm_trainer::math::torch_stack::TorchStack;
use std::path::{Path, PathBuf};

/// A file of `tests/fixtures/pytorch/` (made by `scripts/pytorch_fixture.py`).
pub fn fixture(name: &str) -> PathBuf {
    charm_tests::repo_root()
        .join("tests/fixtures/pytorch")
        .join(name)
}

/// `charm import --model FIXTURE --out m.charm` in `dir`: what it printed,
/// the file it wrote, and the fixture's tensors as PyTorch holds them.
pub fn import_fixture(dir: &Path, name: &str) -> (String, AlignedBytes, TorchStack) {
    let input = fixture(name);
    let report = String::from_utf8(ok(
        dir,
        &[
            "import".as_ref(),
            "--model".as_ref(),
            input.as_os_str(),
            "--out".as_ref(),
            "m.charm".as_ref(),
        ],
    ))
    .expect("charm import prints UTF-8");
    let bytes = AlignedBytes::from(&std::fs::read(dir.join("m.charm")).expect("m.charm")[..]);
    let torch = read_torch(&std::fs::read(&input).expect("the fixture"), None)
        .expect("the fixture reads")
        .torch;
    (report, bytes, torch)
}

/// Unit roundoff of f32 (round to nearest).
pub const U: f64 = 1.0 / (1u64 << 24) as f64;

/// Higham's γ_n = n·u / (1 − n·u): the relative error bound of a sum or
/// dot product of n terms in f32.
pub fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U;
    nu / (1.0 - nu)
}

/// charm's tanh against the exact tanh: 4.77e-7 against libm::tanhf
/// (`core/tests/tanh_error.rs`: every f32 with 0.25 ≤ |x| ≤ 9, and a dense
/// sweep of [-20, 20]) plus tanhf's own error, under 1 ulp ≤ 2⁻²⁴ on (−1, 1).
pub const CHARM_TANH: f64 = 4.77e-7 + U;
/// PyTorch's float32 sigmoid and tanh on a CPU (SLEEF's 1.0-ulp functions
/// in the vectorized path, oneDNN's or the C library's otherwise): we allow
/// 2 ulp of 1, 2·2⁻²⁴, the values lying in (−1, 1).
pub const TORCH_ACTIVATION: f64 = 2.0 * U;
/// Covers the f64 arithmetic of the bounds themselves (H·|W|·1e-16 ≪ 1e-12).
pub const F64_SLACK: f64 = 1e-12;

/// Asserts |charm − PyTorch| ≤ bound everywhere (and the three of one
/// length); returns (max |diff|, max bound).
pub fn within(what: &str, t: usize, charm: &[f32], torch: &[f32], bound: &[f64]) -> (f64, f64) {
    assert_eq!(
        (charm.len(), torch.len()),
        (bound.len(), bound.len()),
        "{what}"
    );
    let mut worst = (0.0f64, 0.0f64);
    for (k, ((&c, &p), &b)) in charm.iter().zip(torch).zip(bound).enumerate() {
        let diff = (f64::from(c) - f64::from(p)).abs();
        assert!(
            diff <= b,
            "{what} step {t} index {k}: charm {c}, PyTorch {p}, |diff| {diff:e} > bound {b:e}"
        );
        worst = (worst.0.max(diff), worst.1.max(b));
    }
    worst
}
