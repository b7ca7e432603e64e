//! End to end through the `charm` CLI: train a tiny model, sample, evaluate,
//! inspect; determinism and resuming. (`cargo test -p charm-tests cli`)

mod cli_support;

use charm_trainer::training::TrainState;
use cli_support::{
    assert_resume_completes_the_run, eval_json, files, info_json, ok, small_text, train,
    train_interrupted, write,
};

#[test]
fn cli_train_sample_eval_info() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = small_text();
    let data = write(d, "small.txt", &text);
    train(d, &data, "m.charm", &["--steps", "300"]);
    for f in ["m.charm", "m.state", "m.csv", "m.svg"] {
        assert!(d.join(f).is_file(), "missing {f}: {:?}", files(d));
    }
    let csv = std::fs::read_to_string(d.join("m.csv")).unwrap();
    assert!(csv.starts_with("step,chars_seen,train_loss_nats,val_loss_nats,seconds\n"));
    assert!(csv.lines().count() >= 10, "{csv}");
    assert!(std::fs::read_to_string(d.join("m.svg"))
        .unwrap()
        .contains("<polyline"));

    // The validation part, exactly as the trainer splits it: the last 10% of the characters.
    let chars: Vec<char> = text.chars().collect();
    let n_val = (chars.len() as f64 * 0.1).floor() as usize;
    let val: String = chars[chars.len() - n_val..].iter().collect();
    let val_path = write(d, "val.txt", &val);
    let json = eval_json(d, "m.charm", &val_path);
    let info = info_json(d, "m.charm");
    let v = info["vocab_size"].as_u64().unwrap() as f64;
    let loss = json["loss_nats_per_char"].as_f64().unwrap();
    assert!(
        loss < 0.3 * v.ln(),
        "validation loss {loss} is not well below ln V = {}",
        v.ln()
    );
    assert!(
        (json["loss_bits_per_char"].as_f64().unwrap() - loss / std::f64::consts::LN_2).abs() < 1e-9
    );
    assert_eq!(json["chars"].as_u64().unwrap() as usize, n_val);
    assert_eq!(json["unknown_chars"].as_u64(), Some(0));
    assert_eq!(info["hidden"].as_u64(), Some(32));
    assert_eq!(info["steps"].as_u64(), Some(300));
    assert_eq!(
        info["parameters"].as_u64().unwrap() as f64,
        2.0 * v * 32.0 + 32.0 * 32.0 + 32.0 + v
    );
    assert_eq!(
        info["file_size"].as_u64(),
        Some(std::fs::metadata(d.join("m.charm")).unwrap().len())
    );

    // Sampling: prime + N characters + newline, reproducible for one seed.
    let s1 = ok(
        d,
        &[
            "sample", "--model", "m.charm", "--len", "150", "--seed", "5", "--prime", "the ",
        ],
    );
    let s2 = ok(
        d,
        &[
            "sample", "--model", "m.charm", "--len", "150", "--seed", "5", "--prime", "the ",
        ],
    );
    let s3 = ok(
        d,
        &[
            "sample", "--model", "m.charm", "--len", "150", "--seed", "6", "--prime", "the ",
        ],
    );
    assert_eq!(s1, s2, "same seed, different text");
    assert_ne!(s1, s3, "different seeds, same text");
    let s = String::from_utf8(s1).unwrap();
    assert!(s.starts_with("the ") && s.ends_with('\n'), "{s:?}");
    assert_eq!(s.chars().count(), 4 + 150 + 1);
    // A trained model writes words of its corpus.
    assert!(s.contains("the") && s.contains(". "), "{s}");
    // Defaults: 200 characters, then the newline.
    let d200 = String::from_utf8(ok(d, &["sample", "--model", "m.charm"])).unwrap();
    assert_eq!(d200.chars().count(), 201);
    // Greedy sampling is deterministic whatever the seed.
    let g1 = ok(
        d,
        &[
            "sample",
            "--model",
            "m.charm",
            "--temperature",
            "0",
            "--seed",
            "1",
        ],
    );
    let g2 = ok(
        d,
        &[
            "sample",
            "--model",
            "m.charm",
            "--temperature",
            "0",
            "--seed",
            "2",
        ],
    );
    assert_eq!(g1, g2);
}

#[test]
fn cli_same_flags_give_bit_identical_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    train(d, &data, "a.charm", &["--steps", "40", "--seed", "3"]);
    train(d, &data, "b.charm", &["--steps", "40", "--seed", "3"]);
    train(d, &data, "c.charm", &["--steps", "40", "--seed", "4"]);
    let (a, b, c) = (
        std::fs::read(d.join("a.charm")).unwrap(),
        std::fs::read(d.join("b.charm")).unwrap(),
        std::fs::read(d.join("c.charm")).unwrap(),
    );
    assert_eq!(a, b, "same flags and seed, different files");
    assert_ne!(a, c, "different seeds, same file");
}

/// Interrupt (as Ctrl-C does) at step 37 of 120, resume: the same bytes as an
/// uninterrupted run. Both engines, with dropout (whose masks must resume too).
#[test]
fn cli_resume_gives_the_same_model_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    for engine in ["fast", "plain"] {
        let extra = [
            "--steps",
            "120",
            "--dropout",
            "0.2",
            "--engine",
            engine,
            "--force",
        ];
        train(d, &data, "full.charm", &extra);
        let (err, state) = train_interrupted(d, &data, &extra, 37);
        assert!(err.contains("--resume"), "{err}");
        assert_eq!(state.step, 37);
        assert_resume_completes_the_run(d, &data, &extra, engine);
    }
}

#[test]
fn cli_min_char_rnn_preset_and_default_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The exact baseline runs (H 100, seq-len 25, batch 1, Adagrad 0.1, plain engine).
    let data = write(d, "small.txt", small_text());
    ok(
        d,
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--preset",
            "min-char-rnn",
            "--steps",
            "100",
            "--out",
            "mcr.charm",
            "-q",
        ],
    );
    let info = info_json(d, "mcr.charm");
    assert_eq!(info["hidden"].as_u64(), Some(100));
    // The model file holds the step of the best validation loss: 25 characters each.
    let steps = info["steps"].as_u64().unwrap();
    assert_eq!(info["chars_seen"].as_u64(), Some(steps * 25));
    // No --data: the built-in corpus; no --out: charm.charm in the current directory,
    // and the output says where.
    let out = String::from_utf8(ok(
        d,
        &[
            "train",
            "--steps",
            "3",
            "--hidden",
            "16",
            "--batch",
            "2",
            "--seq-len",
            "16",
        ],
    ))
    .unwrap();
    assert!(
        out.contains("built-in corpus") && out.contains("charm.charm"),
        "{out}"
    );
    assert!(out.contains("sample at step"), "{out}");
    assert!(d.join("charm.charm").is_file());
}

#[test]
fn cli_eval_counts_characters_outside_the_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    train(d, &data, "m.charm", &["--steps", "5"]);
    let other = write(d, "other.txt", "the cat sat. XYZ the dog! Q");
    let json = eval_json(d, "m.charm", &other);
    assert_eq!(json["unknown_chars"].as_u64(), Some(5));
    assert_eq!(json["chars"].as_u64(), Some(27 - 5));
    let text = String::from_utf8(ok(
        d,
        &[
            "eval",
            "--model",
            "m.charm",
            "--data",
            other.to_str().unwrap(),
        ],
    ))
    .unwrap();
    assert!(
        text.contains("skipped 5 characters not in the model's vocabulary"),
        "{text}"
    );
}

#[test]
fn cli_help_on_every_subcommand() {
    let d = std::env::temp_dir();
    for sub in ["train", "sample", "eval", "info", "bench"] {
        let out = String::from_utf8(ok(&d, &[sub, "--help"])).unwrap();
        assert!(
            out.contains("Usage: charm") && out.contains(sub),
            "{sub}: {out}"
        );
    }
    let top = String::from_utf8(ok(&d, &["--help"])).unwrap();
    for sub in ["train", "sample", "eval", "info"] {
        assert!(top.contains(sub));
    }
}

#[test]
fn cli_bench_reports_chars_per_second() {
    let d = std::env::temp_dir();
    let out = String::from_utf8(ok(
        &d,
        &[
            "bench",
            "--hidden",
            "16",
            "--seq-len",
            "8",
            "--batch",
            "4",
            "--steps",
            "2",
            "--runs",
            "3",
        ],
    ))
    .unwrap();
    let rate: f64 = out
        .split(" chars/s")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate > 0.0, "{out}");
    assert!(out.contains("median of 3 runs"), "{out}");
}

/// The model file holds the weights of the lowest validation loss of the
/// run: its metadata is that row of the CSV log, and its weights are those
/// a run stopped at that step has in its training state (constant rate and
/// no warm-up, so the rate does not depend on the budget and the two runs
/// agree up to that step).
#[test]
fn cli_model_file_keeps_the_best_validation_weights() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    // A high constant rate without dropout overfits the small text; no
    // early stop, so that the run goes on well past its best weights.
    let flags = [
        "--patience",
        "off",
        "--lr",
        "0.03",
        "--dropout",
        "0",
        "--schedule",
        "constant",
        "--warmup",
        "0",
    ];
    train(
        d,
        &data,
        "long.charm",
        &[&["--steps", "400"][..], &flags].concat(),
    );
    let csv = std::fs::read_to_string(d.join("long.csv")).unwrap();
    let rows: Vec<(u64, f64)> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].parse().ok()?, f[3].parse().ok()?))
        })
        .collect();
    let (best_step, best_val) = rows
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(best_step < 400, "the run should overfit: {csv}");
    let info = info_json(d, "long.charm");
    assert_eq!(info["steps"].as_u64(), Some(best_step));
    let val = info["val_loss_nats_per_char"].as_f64().unwrap();
    assert!((val - best_val).abs() < 1e-5, "{val} vs {best_val}"); // the CSV rounds to 5 decimals
    let short_steps = best_step.to_string();
    train(
        d,
        &data,
        "short.charm",
        &[&["--steps", &short_steps][..], &flags].concat(),
    );
    let short = TrainState::from_bytes(&std::fs::read(d.join("short.state")).unwrap()).unwrap();
    assert_eq!(short.step, best_step);
    let bytes = charm_core::AlignedBytes::from(&std::fs::read(d.join("long.charm")).unwrap()[..]);
    let long = charm_core::decode(&bytes).unwrap().model;
    let tensors = [long.wxh(), long.whh(), long.bh(), long.why(), long.by()].concat();
    assert_eq!(
        tensors, short.params,
        "the model file holds the weights of step {best_step}"
    );
}
