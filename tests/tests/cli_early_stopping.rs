//! Early stopping through the `charm` CLI: a run whose validation loss has not
//! improved for `--patience` evaluations ends early with one line, its model
//! file holding the best weights; `--resume` counts on from the checkpoint.
//! (`cargo test -p charm-tests --test cli_early_stopping`)

mod cli_support;

use charm_trainer::training::TrainState;
use cli_support::{ok, run, write};
use std::path::Path;

/// Evaluations come every 1/20 of the budget: every 20 steps of these 400.
const STEPS: u64 = 400;
const EVERY: u64 = STEPS / 20;

/// The first 3,000 characters of tinyshakespeare: an H 64 model learns them
/// by heart within 400 steps, and its validation loss (on the last 300
/// characters) rises after about step 200.
fn overfit_corpus(dir: &Path) {
    let text =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tinyshakespeare.txt"))
            .expect("data/tinyshakespeare.txt is part of the repository");
    write(dir, "small.txt", &text[..3000]);
}

/// `charm train` on it (to m.charm unless `extra` gives --out); one
/// thread, so that the arithmetic is the same on every machine.
fn train_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["train", "--data", "small.txt"];
    if !extra.contains(&"--out") {
        a.extend_from_slice(&["--out", "m.charm"]);
    }
    a.extend_from_slice(&[
        "--hidden",
        "64",
        "--batch",
        "16",
        "--threads",
        "1",
        "--steps",
        "400",
    ]);
    a.extend_from_slice(extra);
    a
}

/// The step of the weights in a model file.
fn model_step(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let bytes = charm_core::AlignedBytes::from(&bytes[..]);
    charm_core::decode(&bytes)
        .expect("a whole model")
        .meta
        .steps
}

fn state(path: &Path) -> TrainState {
    TrainState::from_bytes(&std::fs::read(path).unwrap()).expect("a whole state")
}

/// The step in "stopped early at step S of 400 because …".
fn stop_step(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("stopped early at step "))
        .unwrap_or_else(|| panic!("no early stop in: {stdout}"));
    line["stopped early at step ".len()..]
        .split(' ')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no step in {line:?}"))
}

#[test]
fn cli_small_patience_stops_early_with_one_line_and_keeps_the_best_weights() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    overfit_corpus(d);
    let stdout = String::from_utf8(ok(d, &train_args(&["--patience", "2"]))).unwrap();
    let stop = stop_step(&stdout);
    assert!(
        stop < STEPS && stop.is_multiple_of(EVERY),
        "stopped at {stop}"
    );
    // Stopped at the second evaluation after the best one: the model file
    // holds the weights of two evaluations before the stop.
    let best = stop - 2 * EVERY;
    assert_eq!(model_step(&d.join("m.charm")), best);
    let s = state(&d.join("m.state"));
    assert_eq!(s.step, stop);
    let b = s.best.as_ref().expect("a best validation");
    assert_eq!(b.step, best);
    let expected = format!(
        "stopped early at step {stop} of {STEPS} because the validation loss has not \
         improved on {:.4} nats/char (step {best}) for 2 evaluations (--patience 2; --patience \
         off trains to the end of the budget)",
        b.val_loss
    );
    assert!(
        stdout.lines().any(|l| l == expected),
        "{expected:?} not in {stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("stopped")).count(),
        1
    );
}

#[test]
fn cli_patience_off_trains_to_the_budget_and_a_resumed_early_stop_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    overfit_corpus(d);
    // The whole budget with early stopping off.
    ok(
        d,
        &train_args(&["--patience", "off", "--out", "whole.charm", "--quiet"]),
    );
    let whole = state(&d.join("whole.state"));
    assert_eq!(whole.step, STEPS);

    // The same run, stopped early, then resumed with the same patience:
    // nothing to do, and every file stays as it was.
    let stdout = String::from_utf8(ok(d, &train_args(&["--patience", "2"]))).unwrap();
    let stop = stop_step(&stdout);
    let files = ["m.charm", "m.state", "m.csv", "m.svg"];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(d.join(f)).unwrap())
        .collect();
    let again = run(d, &train_args(&["--patience", "2", "--resume", "m.state"]));
    assert_eq!(again.status.code(), Some(0));
    let best = stop - 2 * EVERY;
    let s = state(&d.join("m.state"));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        format!(
            "nothing to do: the checkpoint m.state stopped early, its validation loss not improved \
             on {:.4} nats/char (step {best}) for 2 evaluations; give a --patience above 2 or \
             --patience off to train on (the files are unchanged)\n",
            s.best.as_ref().unwrap().val_loss
        )
    );
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(&std::fs::read(d.join(f)).unwrap(), b, "{f} changed");
    }

    // Resumed with patience off, it ends where the whole run ended, with
    // the same weights and optimizer state: the early stop only paused it.
    ok(
        d,
        &train_args(&["--patience", "0", "--resume", "m.state", "--quiet"]),
    );
    let resumed = state(&d.join("m.state"));
    assert_eq!(resumed.step, STEPS);
    assert_eq!(resumed.params, whole.params);
    assert_eq!(resumed.h, whole.h);
    assert_eq!(resumed.best.map(|b| b.step), whole.best.map(|b| b.step));
}

#[test]
fn cli_patience_values_outside_the_range_get_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    overfit_corpus(d);
    for bad in ["-1", "soon", "1000001", "2.5"] {
        let out = run(d, &train_args(&["--patience", bad]));
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "error: --patience must be a whole number from 0 to 1000000 or `off`, not \
                 {bad:?}\n"
            )
        );
        assert!(!d.join("m.charm").exists());
    }
}
