//! The host side of the comparisons: the `charm` CLI (what a user runs), and
//! charm-core's `Generator` called directly (for models made here, and to check
//! the firmware's parameter handling without the CLI).

use charm_core::{decode_any, AlignedBytes, SampleParams, Weights};
use charm_params::Params;
use charm_trainer::math::generate::generate_with;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

/// What `charm sample` prints for `model` and `p`, computed in process from
/// the bytes (models made here need no file): the trainer's generation loop
/// over charm-core's `Generator`, then the newline. f32 or int8 models.
pub fn core_sample(model: &[u8], p: &Params<'_>) -> Vec<u8> {
    let bytes = AlignedBytes::from(model);
    let file = decode_any(&bytes).expect("a valid model");
    let params = SampleParams {
        temperature: p.temperature,
        top_k: p.top_k as usize,
    };
    let len = p.len as usize;
    let text = match file.weights {
        Weights::F32(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
        Weights::Int8(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
        Weights::Int8Tiles(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
        Weights::Int8Fixed(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
        Weights::Stacked(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
        Weights::StackedInt8(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
        Weights::StackedTiles(m) => generate_with(m, file.vocab, len, params, p.seed, p.prime),
    };
    let mut out = text.expect("prime text in the vocabulary").into_bytes();
    out.push(b'\n');
    out
}

pub use charm_tests::charm_bin;

/// Runs `charm ARGS`, asserts success, returns stdout.
pub fn charm<S: AsRef<OsStr>>(args: &[S]) -> Vec<u8> {
    let out = Command::new(charm_bin())
        .args(args)
        .output()
        .expect("run the charm CLI");
    charm_tests::succeeded(out, args)
}

/// `charm sample --model MODEL --len N --temperature T --seed S [--top-k K] [--prime P]`.
pub fn cli_sample(model: &Path, p: &Params<'_>) -> Vec<u8> {
    let mut args: Vec<OsString> = vec!["sample".into(), "--model".into(), model.into()];
    args.extend(["--len".into(), p.len.to_string().into()]);
    args.extend(["--temperature".into(), p.temperature.to_string().into()]);
    args.extend(["--seed".into(), p.seed.to_string().into()]);
    if p.top_k != 0 {
        args.extend(["--top-k".into(), p.top_k.to_string().into()]);
    }
    if !p.prime.is_empty() {
        args.extend(["--prime".into(), p.prime.into()]);
    }
    charm(&args)
}

/// `charm train --data DATA --hidden H --steps N --seed S --out OUT --quiet --force`
/// (the scratch directory keeps the models of earlier test runs), plus `extra`.
pub fn cli_train(data: &Path, hidden: usize, steps: u64, seed: u64, out: &Path, extra: &[&str]) {
    let mut args: Vec<OsString> = vec!["train".into(), "--data".into(), data.into()];
    args.extend(["--hidden".into(), hidden.to_string().into()]);
    args.extend(["--steps".into(), steps.to_string().into()]);
    args.extend(["--seed".into(), seed.to_string().into()]);
    args.extend([
        "--out".into(),
        out.into(),
        "--quiet".into(),
        "--force".into(),
    ]);
    args.extend(extra.iter().map(OsString::from));
    charm(&args);
    assert!(out.is_file(), "charm train wrote no {}", out.display());
}
