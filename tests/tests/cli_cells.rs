//! End to end through the `charm` CLI with `--cell` and `--layers`: a GRU,
//! an LSTM and two tanh layers train, are written as format version 5,
//! evaluate to the loss the training reported, sample, and resume exactly.
//! (`cargo test -p charm-tests --test cli_cells`)

mod cli_support;

use charm_core::{decode_any, AlignedBytes, Cell, Weights};
use charm_trainer::math::loss::pieces;
use charm_trainer::training::TrainState;
use cli_support::{
    assert_resume_completes_the_run, eval_json, info_json, ok, run, small_text, train,
    train_interrupted, write,
};

#[test]
fn cli_gru_lstm_and_two_tanh_layers_train_evaluate_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = small_text();
    let data = write(d, "small.txt", &text);
    // The validation part, exactly as the trainer splits it: the last 10% of the characters.
    let chars: Vec<char> = text.chars().collect();
    let n_val = (chars.len() as f64 * 0.1).floor() as usize;
    let val = &chars[chars.len() - n_val..];
    for (cell, name, layers) in [
        (Cell::Gru, "gru", "1"),
        (Cell::Lstm, "lstm", "1"),
        (Cell::Rnn, "rnn", "2"),
    ] {
        let model = format!("{name}{layers}.charm");
        train(
            d,
            &data,
            &model,
            &["--steps", "300", "--cell", name, "--layers", layers],
        );

        // Format version 5, of this cell and depth.
        let bytes = AlignedBytes::from(&std::fs::read(d.join(&model)).unwrap()[..]);
        let file = decode_any(&bytes).unwrap();
        assert_eq!(file.version, 5, "{model}");
        let Weights::Stacked(view) = file.weights else {
            panic!("{model} is not a stacked model");
        };
        assert_eq!(
            (view.cell(), view.depth().to_string()),
            (cell, layers.to_string())
        );
        let info = info_json(d, &model);
        assert_eq!(info["cell"].as_str(), Some(name));
        assert_eq!(info["layers"].as_u64(), Some(layers.parse().unwrap()));
        assert_eq!(info["format_version"].as_u64(), Some(5));
        let int8 = format!("{name}{layers}-int8.charm");
        ok(d, &["quantize", "--model", &model, "--out", &int8]);
        assert_stacked_fit(
            &info,
            &std::fs::read(d.join(&model)).unwrap(),
            &std::fs::read(d.join(&int8)).unwrap(),
        );

        // The validation loss of the model's weights (the state keeps it in
        // f64) is charm eval's over the validation part's pieces: each piece
        // one stream scored from its first character, as charm eval scores a
        // text. Σ n_i·loss_i / Σ n_i rebuilds the sum: eval's division and
        // this product round twice per piece (2·2⁻⁵³ relative each), the sum
        // of k ≤ 64 positive terms k·2⁻⁵³ and the final division once more:
        // ≤ (2·64 + 64 + 1)·1.1e-16 ≈ 2.2e-14 relative; 1e-13 is above it.
        let state_path = d.join(format!("{name}{layers}.state"));
        let state = TrainState::from_bytes(&std::fs::read(state_path).unwrap()).unwrap();
        let reported = state.best.expect("a validation was made").val_loss;
        let (k, l) = pieces(n_val, 16);
        let mut total = 0.0;
        for b in 0..k {
            let piece: String = val[b * l..(b + 1) * l].iter().collect();
            let path = write(d, "piece.txt", &piece);
            let json = eval_json(d, &model, &path);
            assert_eq!(json["chars"].as_u64(), Some(l as u64));
            total += json["loss_nats_per_char"].as_f64().unwrap() * l as f64;
        }
        let evaluated = total / (k * l) as f64;
        assert!(
            (evaluated - reported).abs() <= 1e-13 * reported,
            "{model}: charm eval {evaluated}, training reported {reported}"
        );
        // It learned: well below the uniform model's ln V.
        let v = info["vocab_size"].as_f64().unwrap();
        assert!(
            reported < 0.6 * v.ln(),
            "{model}: validation loss {reported}, ln V {}",
            v.ln()
        );

        // Sampling runs: the prime, 100 characters, the newline; one seed, one text.
        let args = [
            "sample", "--model", &model, "--len", "100", "--seed", "3", "--prime", "the ",
        ];
        let s = String::from_utf8(ok(d, &args)).unwrap();
        assert_eq!(s.chars().count(), 4 + 100 + 1, "{s:?}");
        assert_eq!(ok(d, &args), s.as_bytes());
    }
}

/// `charm info --json`'s fit check of a version-5 f32 model: flash the
/// file, and as int8 the file `charm quantize` writes (`int8_file`); RAM the
/// state and next state (L·H f32 values each, twice for an LSTM; as int8
/// the Q15 levels over H rounded up to 8, three slots a unit for an LSTM)
/// and V logits; every board with the cells firmware, the state within its
/// max H, and the f32 and int8 chars/s of charm-boards' cells cost model at
/// its clock.
fn assert_stacked_fit(info: &serde_json::Value, file: &[u8], int8_file: &[u8]) {
    let n = |key: &str| info[key].as_u64().unwrap();
    let (layers, hidden, vocab) = (n("layers"), n("hidden"), n("vocab_size"));
    let cell = charm_boards::Cell::from_name(info["cell"].as_str().unwrap()).unwrap();
    let values = layers * hidden * u64::from(cell.state_vectors());
    let q15_values = layers
        * hidden.div_ceil(8)
        * 8
        * if cell == charm_boards::Cell::Lstm {
            3
        } else {
            1
        };
    let device = info["device"].as_array().unwrap();
    assert_eq!(device.len(), 2, "{info}");
    assert_eq!(device[0]["element"], "f32");
    assert_eq!(device[0]["flash_bytes"].as_u64(), Some(file.len() as u64));
    assert_eq!(
        device[0]["state_ram_bytes"].as_u64(),
        Some(2 * 4 * values + 4 * vocab)
    );
    assert_eq!(device[1]["element"], "int8");
    assert_eq!(
        device[1]["flash_bytes"].as_u64(),
        Some(int8_file.len() as u64)
    );
    assert_eq!(
        device[1]["state_ram_bytes"].as_u64(),
        Some(2 * 2 * q15_values + 4 * vocab)
    );
    let shape = charm_boards::StackedShape {
        cell,
        layers: layers as u32,
        hidden: hidden as u32,
        vocab: vocab as u32,
    };
    let boards = info["boards"].as_array().unwrap();
    assert_eq!(boards.len(), charm_boards::BOARDS.len());
    for (fit, board) in boards.iter().zip(charm_boards::BOARDS) {
        assert_eq!(fit["board"], board.name);
        assert_eq!(fit["firmware_features"], "cells", "{fit}");
        // These small models fit every board, as f32 and as int8.
        assert!(q15_values <= u64::from(board.max_hidden));
        assert!(fit["f32_misfit"].is_null(), "{fit}");
        assert!(fit["int8_misfit"].is_null(), "{fit}");
        for (key, cost) in [
            ("f32_chars_per_second", Some(board.core.cells_speed.f32)),
            ("int8_chars_per_second", board.core.cells_speed.int8),
        ] {
            let expected = board
                .clock_hz
                .zip(cost)
                .map(|(hz, cost)| f64::from(hz) / cost.cycles(&shape) as f64);
            // charm info prints the f64 in the shortest form that reads back
            // to it; serde_json (without its float_roundtrip feature) may read
            // it one ulp off, 2.2e-16 relative: 1e-15 is above it.
            let found = fit[key].as_f64();
            match (found, expected) {
                (Some(f), Some(e)) => assert!((f - e).abs() <= 1e-15 * e, "{fit}: {e}"),
                _ => assert_eq!(found, expected, "{fit}"),
            }
        }
    }
}

/// A model whose state is larger than the micro:bit's state buffers (4 LSTM
/// layers of H 65: 520 values, the micro:bit's cells build holds 256) does
/// not fit it, and `charm info` says why; every other board's cells build
/// holds 6,144 (10,240 on the Cortex-M55) and runs it. Its text names the
/// cells firmware.
#[test]
fn cli_info_fits_stacked_models_by_their_state() {
    use charm_core::{layer_tensor_lengths, padded, LayerTensors, StackedModelView, Vocab};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vocab = Vocab::new("abc").unwrap();
    let (hidden, v) = (65, 3);
    let layers: Vec<[Vec<f32>; 4]> = (0..4)
        .map(|l| layer_tensor_lengths(Cell::Lstm, hidden, v, l).map(|n| vec![0.0; n]))
        .collect();
    let views: Vec<LayerTensors<'_, f32>> = layers
        .iter()
        .map(|[wx, wh, bx, bh]| LayerTensors { wx, wh, bx, bh })
        .collect();
    let (why, by) = (vec![0.0; v * padded(hidden)], vec![0.0; v]);
    let model = StackedModelView::new(Cell::Lstm, hidden, v, &views, &why, &by).unwrap();
    let bytes =
        charm_core::encode_any(&Weights::Stacked(model), &vocab, &Default::default()).unwrap();
    write(d, "lstm4.charm", &bytes);
    let info = info_json(d, "lstm4.charm");
    let fits = info["boards"].as_array().unwrap();
    assert_eq!(fits.len(), charm_boards::BOARDS.len());
    for fit in fits {
        let board = charm_boards::board(fit["board"].as_str().unwrap()).unwrap();
        // the state first, then the file (536,576 bytes of zeros in f32)
        let expected = if board.max_state < 520 {
            Some(format!(
                "520 state values > the {} the state buffers hold",
                board.max_state
            ))
        } else if bytes.len() as u64 > u64::from(board.weights_bytes) {
            Some(format!(
                "{} bytes > the {}-byte weights region",
                bytes.len(),
                board.weights_bytes
            ))
        } else {
            None
        };
        assert_eq!(fit["f32_misfit"].as_str(), expected.as_deref(), "{fit}");
        assert_eq!(
            fit["f32_chars_per_second"].is_null(),
            expected.is_some() || board.clock_hz.is_none(),
            "{fit}"
        );
    }
    let state_misfits = fits
        .iter()
        .filter(|f| {
            f["f32_misfit"]
                .as_str()
                .is_some_and(|m| m.contains("state values"))
        })
        .count();
    assert_eq!(
        state_misfits, 1,
        "only the micro:bit's state buffers are too small"
    );
    let text = String::from_utf8(ok(d, &["info", "--model", "lstm4.charm"])).unwrap();
    // As int8 row pairs each layer keeps 3·72 Q15 values (h over H rounded
    // up to 8, and c in two slots a unit): 864.
    ok(
        d,
        &[
            "quantize",
            "--model",
            "lstm4.charm",
            "--out",
            "lstm4-int8.charm",
        ],
    );
    let int8_bytes = std::fs::read(d.join("lstm4-int8.charm")).unwrap().len();
    assert!(
        text.contains(&format!(
            "\non a device:     f32: {} bytes of flash (this file), {} bytes of RAM for the state \
             (520 f32 values: layers x H x 2 for h and c, as state and next state, and V logits)\n\
             {:<17}int8: {} bytes of flash (as row pairs, after charm quantize), {} bytes of RAM \
             for the state (864 Q15 values: layers x H rounded up to 8, x 3 for h and the f32 c, \
             as state and next state, and V logits)\n\
             boards:          microbit: f32 does not fit: 520 state values > the 256 the state \
             buffers hold; int8 does not fit: 864 state values > the 256 the state buffers \
             hold — BBC micro:bit",
            bytes.len(),
            2 * 4 * 520 + 4 * 3,
            "",
            int8_bytes,
            2 * 2 * 864 + 4 * 3
        )),
        "{text}"
    );
    assert!(
        text.contains("every board with the firmware built with --features cells"),
        "{text}"
    );
}

/// Interrupt (as Ctrl-C does) an LSTM of 2 layers with dropout between
/// them at step 23 of 60, resume: the same bytes as an uninterrupted run,
/// on both engines. A resume with another cell or depth is refused with a
/// sentence.
#[test]
fn cli_a_resumed_stacked_run_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    for engine in ["fast", "plain"] {
        let extra = [
            "--steps",
            "60",
            "--dropout",
            "0.2",
            "--cell",
            "lstm",
            "--layers",
            "2",
            "--engine",
            engine,
            "--force",
        ];
        train(d, &data, "full.charm", &extra);
        let (_, state) = train_interrupted(d, &data, &extra, 23);
        assert_eq!(
            (state.step, state.config.cell, state.config.layers),
            (23, Cell::Lstm, 2)
        );
        for (flag, value, stored) in [("--cell", "gru", "lstm"), ("--layers", "3", "2")] {
            let out = run(
                d,
                &[
                    "train",
                    "--data",
                    data.to_str().unwrap(),
                    "--resume",
                    "part.state",
                    flag,
                    value,
                    "--quiet",
                ],
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(
                err.contains(flag) && err.contains(value) && err.contains(stored),
                "{err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
        assert_resume_completes_the_run(d, &data, &extra, engine);
    }
}

#[test]
fn cli_layers_outside_1_to_4_are_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "small.txt", small_text());
    for layers in ["0", "5", "two"] {
        let out = run(
            d,
            &[
                "train",
                "--data",
                data.to_str().unwrap(),
                "--layers",
                layers,
                "--steps",
                "1",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("--layers") && err.contains("1 to 4"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!d.join("charm.charm").exists());
    }
}
