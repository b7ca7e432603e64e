//! `charm quantize`: int8 models through the CLI — smaller, close in loss,
//! sampled reproducibly, and refused clearly when they cannot be made.
//! (`cargo test -p charm-tests cli_quantize`)

mod cli_support;

use cli_support::{eval_json, files, info_json, ok, run, small_text, write, TINY};

/// How far the int8 models' loss on the small text may sit from the f32
/// model's, in nats per character. The difference is one deterministic
/// number: the training run is seeded, and the AVX2 and the portable kernels
/// train models whose losses agree to 2e-10 nats (they differ in rounding
/// only). Measured (`charm train --data small.txt --steps 300 --hidden 32
/// --seq-len 16 --batch 4`, then `charm quantize [--layout tiles]` and `charm
/// eval --json`, with and without CHARM_PORTABLE_KERNELS=1): f32 0.753327,
/// row pairs +1.295e-4, tiles +6.56e-5. The bound is about 4× the larger: it
/// leaves room for the trained model to change with the trainer's defaults
/// (which moves the per-row scales and so the rounding of each weight, within
/// s/2 whatever the model), and is 30× tighter than 2% of the loss (0.015 nats).
const INT8_LOSS_BOUND: f64 = 5e-4;

/// Trains `m.charm` in `dir` on the small text for `steps` steps; returns the text's path.
fn train_tiny(dir: &std::path::Path, steps: &str) -> std::path::PathBuf {
    let data = write(dir, "small.txt", small_text());
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        "m.charm",
        "--steps",
        steps,
    ];
    args.extend_from_slice(TINY);
    ok(dir, &args);
    data
}

/// `charm quantize --model MODEL --out OUT [--layout LAYOUT]` in `dir`: its
/// report, and `charm info --json` of what it wrote.
fn quantize(
    dir: &std::path::Path,
    model: &str,
    out: &str,
    layout: Option<&str>,
) -> (String, serde_json::Value) {
    let mut args = vec!["quantize", "--model", model, "--out", out];
    args.extend(layout.map(|l| ["--layout", l]).iter().flatten());
    let report = String::from_utf8(ok(dir, &args)).unwrap();
    (report, info_json(dir, out))
}

/// `charm eval --json`'s loss of `model` on `data`, nats per character.
fn loss(dir: &std::path::Path, model: &str, data: &std::path::Path) -> f64 {
    eval_json(dir, model, data)["loss_nats_per_char"]
        .as_f64()
        .unwrap()
}

#[test]
fn cli_quantize_shrinks_the_model_and_keeps_its_loss() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = train_tiny(d, "300");
    let (report, info) = quantize(d, "m.charm", "q.charm", None);
    assert!(report.contains("int8"), "{report}");

    let (f32_len, int8_len) = (
        std::fs::metadata(d.join("m.charm")).unwrap().len(),
        std::fs::metadata(d.join("q.charm")).unwrap().len(),
    );
    assert!(
        int8_len * 3 < f32_len,
        "int8 {int8_len} bytes vs f32 {f32_len}"
    );

    assert_eq!(info["format_version"].as_u64(), Some(3), "{info}");
    assert_eq!(info["element"].as_str(), Some("int8"), "{info}");

    let (lf, lq) = (loss(d, "m.charm", &data), loss(d, "q.charm", &data));
    println!("f32 loss {lf}, int8 {lq} ({:+e})", lq - lf);
    assert!(
        (lq - lf).abs() <= INT8_LOSS_BOUND,
        "int8 loss {lq} vs f32 loss {lf}"
    );

    let sample = |seed: &str| {
        ok(
            d,
            &[
                "sample", "--model", "q.charm", "--len", "120", "--seed", seed, "--prime", "the ",
            ],
        )
    };
    let a = sample("5");
    assert_eq!(a, sample("5"));
    assert!(a.starts_with(b"the ") && a.ends_with(b"\n"));
    assert_eq!(String::from_utf8(a).unwrap().chars().count(), 4 + 120 + 1);
}

#[test]
fn cli_quantize_refuses_an_int8_input_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_tiny(d, "20");
    ok(d, &["quantize", "--model", "m.charm", "--out", "q.charm"]);
    let before = files(d);
    let out = run(d, &["quantize", "--model", "q.charm", "--out", "qq.charm"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("already an int8 model"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(files(d), before, "no output file may be left");

    let out = run(
        d,
        &["quantize", "--model", "missing.charm", "--out", "x.charm"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("missing.charm"));
    assert_eq!(files(d), before);
}

#[test]
fn cli_quantize_layout_tiles_writes_version_4_close_in_loss() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = train_tiny(d, "300");
    ok(d, &["quantize", "--model", "m.charm", "--out", "q.charm"]);
    let (report, info) = quantize(d, "m.charm", "t.charm", Some("tiles"));
    assert!(report.contains("(int8 tiles, "), "{report}");
    assert!(report.contains("Cortex-M55"), "{report}");
    assert_eq!(info["format_version"].as_u64(), Some(4), "{info}");
    assert_eq!(info["element"].as_str(), Some("int8 tiles"), "{info}");

    // The int8 state's 255 levels cost about as much as the int8 weights:
    // both quantized models within INT8_LOSS_BOUND of the f32 loss.
    let (lf, lt) = (loss(d, "m.charm", &data), loss(d, "t.charm", &data));
    println!("f32 loss {lf}, int8 tiles {lt} ({:+e})", lt - lf);
    assert!(
        (lt - lf).abs() <= INT8_LOSS_BOUND,
        "tiles loss {lt} vs f32 loss {lf}"
    );

    let sample = || {
        ok(
            d,
            &["sample", "--model", "t.charm", "--len", "80", "--seed", "3"],
        )
    };
    let a = sample();
    assert_eq!(a, sample());
    assert_eq!(String::from_utf8(a).unwrap().chars().count(), 80 + 1);

    // An int8 model of either layout is refused as input, and nothing is written.
    let before = files(d);
    for input in ["q.charm", "t.charm"] {
        let out = run(
            d,
            &[
                "quantize", "--model", input, "--out", "x.charm", "--layout", "tiles",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("already an int8 model"), "{err}");
    }
    assert_eq!(files(d), before);
}

/// `charm quantize --layout fixed` writes the fixed int8 layout, and the fit
/// check prices it by the fixed layout's own cost model: its flash is the
/// file, its chars/s on each board charm-boards' `Element::Int8Fixed`
/// figure, and the Cortex-M4F boards, whose default firmware leaves the
/// layout out, name the feature that builds it.
#[test]
fn cli_quantize_layout_fixed_is_priced_as_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_tiny(d, "50");
    let (report, info) = quantize(d, "m.charm", "f.charm", Some("fixed"));
    assert!(report.contains("as int8 fixed (see"), "{report}");
    assert!(report.contains("--features fixed"), "{report}");
    assert_eq!(info["element"].as_str(), Some("int8 fixed"), "{info}");
    let (h, v) = (
        info["hidden"].as_u64().unwrap() as u32,
        info["vocab_size"].as_u64().unwrap() as u32,
    );
    assert_eq!(info["device"][1]["element"].as_str(), Some("int8 fixed"));
    assert_eq!(
        info["device"][1]["flash_bytes"].as_u64(),
        Some(std::fs::metadata(d.join("f.charm")).unwrap().len())
    );
    let boards = info["boards"].as_array().unwrap();
    for b in charm_boards::BOARDS {
        let fit = boards
            .iter()
            .find(|f| f["board"] == b.name)
            .unwrap_or_else(|| panic!("no {} in {info}", b.name));
        // serde_json writes an f64 in its shortest form, and its default
        // parser (no float_roundtrip feature) reads it back within one ulp,
        // which is at most ε·|x|
        let expected = b.chars_per_second(h, v, charm_boards::Element::Int8Fixed);
        let read = fit["int8_chars_per_second"].as_f64();
        match (read, expected) {
            (Some(r), Some(e)) => {
                assert!((r - e).abs() <= f64::EPSILON * e, "{}: {r} vs {e}", b.name)
            }
            _ => assert_eq!(read, expected, "{}", b.name),
        }
        let features = (!b.core.fixed_by_default).then_some("fixed");
        assert_eq!(fit["firmware_features"].as_str(), features, "{}", b.name);
    }
    // the fixed layout is slower than row pairs on the FPU cores and faster
    // on the others: the two models differ there
    let rp2040 = charm_boards::board("rp2040").unwrap();
    let (pairs, fixed) = (
        rp2040.chars_per_second(h, v, charm_boards::Element::Int8),
        rp2040.chars_per_second(h, v, charm_boards::Element::Int8Fixed),
    );
    assert!(
        fixed > pairs,
        "RP2040: fixed {fixed:?}, row pairs {pairs:?}"
    );
    let text = String::from_utf8(ok(d, &["info", "--model", "f.charm"])).unwrap();
    assert!(
        text.contains("int8 fixed fits")
            && text.contains("(the firmware built with --features fixed)"),
        "{text}"
    );
}

/// How far the int8 forms of the GRU, LSTM and two-rnn-layer models of
/// [`cli_quantize_takes_models_of_every_cell_and_depth`] may score from
/// their f32 model on the small text, in nats per character. Measured (the
/// test's `charm train ... --steps 300 --cell C --layers L`, then `charm
/// quantize [--layout tiles]` and `charm eval --json`; the test prints
/// them with `-- --nocapture`): row pairs +2.7e-4 (GRU), +3.6e-4 (LSTM),
/// +7.0e-5 (two rnn layers); tiles, whose int8 state has 255 levels,
/// +1.72e-3, −1.97e-3, +1.8e-4. The bound is 2.5× the largest, and 2×
/// tighter than 2% of the smallest loss (0.504 nats: 0.010).
const INT8_CELLS_LOSS_BOUND: f64 = 5e-3;

#[test]
fn cli_quantize_takes_models_of_every_cell_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    let mut largest = 0.0f64;
    for (cell, layers) in [("gru", "1"), ("lstm", "1"), ("rnn", "2")] {
        let model = format!("{cell}{layers}.charm");
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            &model,
            "--steps",
            "300",
            "--cell",
            cell,
            "--layers",
            layers,
        ];
        args.extend_from_slice(TINY);
        ok(d, &args);
        let f32_loss = loss(d, &model, &data);
        for (layout, element) in [("pairs", "int8"), ("tiles", "int8 tiles")] {
            let out = format!("{cell}{layers}-{layout}.charm");
            let (report, info) = quantize(d, &model, &out, Some(layout));
            assert!(report.contains(element), "{report}");
            assert!(report.contains("--features cells"), "{report}");
            assert_eq!(info["format_version"].as_u64(), Some(5), "{out}");
            assert_eq!(info["element"].as_str(), Some(element), "{out}");
            assert_eq!(info["cell"].as_str(), Some(cell), "{out}");
            assert_eq!(info["layers"].as_u64(), Some(layers.parse().unwrap()));
            let int8_loss = loss(d, &out, &data);
            let diff = (int8_loss - f32_loss).abs();
            println!("{out}: f32 {f32_loss:.6}, {element} {int8_loss:.6}, difference {diff:.3e}");
            largest = largest.max(diff);
            assert!(
                diff <= INT8_CELLS_LOSS_BOUND,
                "{out}: {int8_loss} vs f32 {f32_loss}"
            );
            // reproducible: the same seed, the same text
            let sample = ["sample", "--model", &out, "--len", "80", "--seed", "3"];
            let text = ok(d, &sample);
            assert_eq!(text, ok(d, &sample));
            assert_eq!(text.len(), 81, "80 ASCII characters and a newline");
            // an int8 model is not quantized again
            let again = run(d, &["quantize", "--model", &out, "--out", "x.charm"]);
            assert!(!again.status.success());
            let err = String::from_utf8_lossy(&again.stderr);
            assert!(err.contains("already an int8 model"), "{err}");
        }
    }
    println!("largest difference {largest:.3e}");
}
