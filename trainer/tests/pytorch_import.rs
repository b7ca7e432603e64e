//! `charm import`'s reader and `charm export`'s writer
//! ([`charm_trainer::files::pytorch`]): every wrong input is its own
//! [`ImportProblem`], and import of an export gives back the same `.charm`
//! bytes (proptest over random small models).

use charm_core::{encode, encode_any, Cell, Metadata, Vocab, Weights};
use charm_trainer::error::ImportProblem;
use charm_trainer::files::pytorch::{read_torch, stacked_torch_bytes, torch_bytes, VocabOverride};
use charm_trainer::math::params::Params;
use charm_trainer::math::torch_stack::{fold_dot, CharmModel, TorchLayer, TorchStack};
use proptest::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;

/// One tensor of a test file: name, element type, shape (data is zeros,
/// except f32 tensors, which count up from 0.01).
type Spec = (String, Dtype, Vec<usize>);

/// The tensors of `model.rnn = nn.RNN(V, H)` and `model.fc = nn.Linear(H, V)`.
fn rnn_specs(prefix: &str, h: usize, v: usize) -> Vec<Spec> {
    let f = |name: &str, shape: Vec<usize>| (format!("{prefix}{name}"), Dtype::F32, shape);
    vec![
        f("rnn.weight_ih_l0", vec![h, v]),
        f("rnn.weight_hh_l0", vec![h, h]),
        f("rnn.bias_ih_l0", vec![h]),
        f("rnn.bias_hh_l0", vec![h]),
        f("fc.weight", vec![v, h]),
        f("fc.bias", vec![v]),
    ]
}

fn safetensors_file(specs: &[Spec], metadata: &[(&str, &str)]) -> Vec<u8> {
    let data: Vec<Vec<u8>> = specs
        .iter()
        .map(|(_, dtype, shape)| {
            let n: usize = shape.iter().product();
            match dtype {
                Dtype::F32 => (0..n)
                    .flat_map(|i| (0.01 * i as f32).to_le_bytes())
                    .collect(),
                d => vec![0u8; n * d.bitsize() / 8],
            }
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = specs
        .iter()
        .zip(&data)
        .map(|((name, dtype, shape), d)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), d).unwrap(),
            )
        })
        .collect();
    let info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    safetensors::serialize(views, Some(info)).unwrap()
}

fn import(specs: &[Spec], metadata: &[(&str, &str)]) -> Result<(), ImportProblem> {
    read_torch(&safetensors_file(specs, metadata), None).map(|_| ())
}

const ABC: [(&str, &str); 1] = [("charm.vocab", "cab")];

fn set_shape(mut specs: Vec<Spec>, suffix: &str, shape: Vec<usize>) -> Vec<Spec> {
    let s = specs.iter_mut().find(|s| s.0.ends_with(suffix)).unwrap();
    s.2 = shape;
    specs
}

#[test]
fn a_model_under_any_prefix_imports_with_its_characters_sorted() {
    let file = safetensors_file(&rnn_specs("model.", 4, 3), &ABC);
    let imported = read_torch(&file, None).unwrap();
    assert_eq!(imported.names[0], "model.rnn.weight_ih_l0");
    assert_eq!(imported.names[5], "model.fc.bias");
    assert_eq!(imported.vocab, "cab");
    let (CharmModel::Rnn(params), sorted) = imported.to_charm() else {
        panic!("one tanh layer is the version-1 model")
    };
    assert_eq!(sorted, "abc");
    // by[a] is b_fc[1] (PyTorch's 'a' is index 1): 0.01.
    assert_eq!(params.view().by(), &[0.01, 0.02, 0.0]);
    assert!(imported.meta.train_loss.is_nan() && imported.meta.steps == 0);
}

/// The tensors of `model.rnn = nn.GRU / nn.LSTM / nn.RNN(V, H, num_layers =
/// depth)` (G gates) and `model.fc = nn.Linear(H, V)`.
fn stack_specs(gates: usize, h: usize, v: usize, depth: usize) -> Vec<Spec> {
    let f = |name: String, shape: Vec<usize>| (name, Dtype::F32, shape);
    let mut specs = Vec::new();
    for k in 0..depth {
        let input = if k == 0 { v } else { h };
        specs.push(f(format!("rnn.weight_ih_l{k}"), vec![gates * h, input]));
        specs.push(f(format!("rnn.weight_hh_l{k}"), vec![gates * h, h]));
        specs.push(f(format!("rnn.bias_ih_l{k}"), vec![gates * h]));
        specs.push(f(format!("rnn.bias_hh_l{k}"), vec![gates * h]));
    }
    specs.push(f("fc.weight".into(), vec![v, h]));
    specs.push(f("fc.bias".into(), vec![v]));
    specs
}

#[test]
fn a_gru_an_lstm_and_stacked_layers_import_as_their_cell_and_depth() {
    for (gates, cell, depth) in [
        (3, Cell::Gru, 1),
        (4, Cell::Lstm, 1),
        (1, Cell::Rnn, 2),
        (3, Cell::Gru, 4),
    ] {
        let file = safetensors_file(&stack_specs(gates, 4, 3, depth), &ABC);
        let imported = read_torch(&file, None).unwrap();
        assert_eq!(
            (imported.torch.cell, imported.torch.layers.len()),
            (cell, depth)
        );
        assert_eq!(imported.names.len(), 4 * depth + 2);
        let (CharmModel::Stacked(model), sorted) = imported.to_charm() else {
            panic!("{cell:?} × {depth} is a version-5 model")
        };
        assert_eq!(sorted, "abc");
        let view = model.view().unwrap();
        assert_eq!((view.cell(), view.depth(), view.hidden()), (cell, depth, 4));
        // bias_hh_l0 is kept apart from bias_ih_l0, value for value.
        let bias_hh = imported.torch.layers[0].bias_hh.clone();
        assert_eq!(view.layers()[0].bh, &bias_hh[..]);
    }
}

#[test]
fn rows_of_no_cell_five_layers_and_a_missing_layer_are_refused() {
    let specs = set_shape(rnn_specs("", 4, 3), "weight_hh_l0", vec![8, 4]);
    let e = import(&specs, &ABC).unwrap_err();
    assert_eq!(
        e,
        ImportProblem::Gates {
            name: "rnn.weight_hh_l0".into(),
            shape: vec![8, 4],
            rows: 8,
            hidden: 4
        }
    );
    assert!(
        e.to_string().contains("nn.GRU 3·H and nn.LSTM 4·H rows"),
        "{e}"
    );
    assert_eq!(
        import(&stack_specs(1, 4, 3, 5), &ABC).unwrap_err(),
        ImportProblem::Depth {
            name: "rnn.weight_hh_l4".into(),
            layer: 4
        }
    );
    let mut specs = stack_specs(3, 4, 3, 3);
    specs.retain(|s| s.0 != "rnn.bias_ih_l1");
    assert_eq!(
        import(&specs, &ABC).unwrap_err(),
        ImportProblem::LayerMissing {
            deepest: "rnn.weight_hh_l2".into(),
            missing: "rnn.bias_ih_l1".into()
        }
    );
}

#[test]
fn an_embedding_in_front_is_found_beside_a_linear_of_the_same_shape() {
    // nn.Embedding(3, 4) and nn.Linear(4, 3): both 3 × 4; the Linear has a bias.
    let mut specs = set_shape(stack_specs(3, 4, 3, 1), "weight_ih_l0", vec![12, 4]);
    specs.push(("emb.weight".into(), Dtype::F32, vec![3, 4]));
    let imported = read_torch(&safetensors_file(&specs, &ABC), None).unwrap();
    assert_eq!(imported.names.last().unwrap(), "emb.weight");
    assert_eq!(imported.torch.embedding.as_ref().unwrap().dim, 4);
    assert!(imported.describe().contains("as nn.Embedding(3, 4) folded"));
}

#[test]
fn a_reverse_direction_and_relu_are_refused() {
    let mut specs = rnn_specs("", 4, 3);
    specs.push(("rnn.weight_ih_l0_reverse".into(), Dtype::F32, vec![4, 3]));
    assert_eq!(
        import(&specs, &ABC).unwrap_err(),
        ImportProblem::Bidirectional {
            name: "rnn.weight_ih_l0_reverse".into()
        }
    );
    let e = import(
        &rnn_specs("", 4, 3),
        &[ABC[0], ("charm.nonlinearity", "relu")],
    )
    .unwrap_err();
    assert_eq!(
        e,
        ImportProblem::Nonlinearity {
            key: "charm.nonlinearity".into(),
            found: "relu".into()
        }
    );
}

#[test]
fn half_and_double_precision_tensors_are_refused_by_name() {
    for (dtype, name) in [
        (Dtype::F16, "F16"),
        (Dtype::BF16, "BF16"),
        (Dtype::F64, "F64"),
    ] {
        let mut specs = rnn_specs("", 4, 3);
        specs[1].1 = dtype;
        let e = import(&specs, &ABC).unwrap_err();
        assert_eq!(
            e,
            ImportProblem::Dtype {
                name: "rnn.weight_hh_l0".into(),
                dtype: name.into()
            }
        );
        assert!(e.to_string().contains("model.float()"), "{e}");
    }
}

#[test]
fn shapes_that_disagree_are_refused_with_both_sides() {
    let cases = [
        ("weight_ih_l0", vec![5, 3], "rnn.weight_ih_l0"),
        ("weight_hh_l0", vec![4, 4, 1], "rnn.weight_hh_l0"),
        ("bias_hh_l0", vec![5], "rnn.bias_hh_l0"),
        ("bias_ih_l0", vec![4, 1], "rnn.bias_ih_l0"),
        ("fc.bias", vec![4], "fc.bias"),
    ];
    for (suffix, shape, name) in cases {
        let specs = set_shape(rnn_specs("", 4, 3), suffix, shape.clone());
        match import(&specs, &ABC).unwrap_err() {
            ImportProblem::Shape {
                name: n, shape: s, ..
            } => {
                assert_eq!((n.as_str(), s), (name, shape));
            }
            other => panic!("{suffix}: {other:?}"),
        }
    }
    // A Linear with another number of outputs than the RNN's inputs and no embedding table.
    let specs = set_shape(rnn_specs("", 4, 3), "fc.weight", vec![5, 4]);
    let specs = set_shape(specs, "fc.bias", vec![5]);
    let e = import(&specs, &ABC).unwrap_err();
    assert!(
        matches!(&e, ImportProblem::Shape { name, .. } if name == "rnn.weight_ih_l0"),
        "{e:?}"
    );
    assert!(e.to_string().contains("nn.Embedding"), "{e}");
}

#[test]
fn missing_and_ambiguous_tensors_list_what_the_file_has() {
    let mut specs = rnn_specs("", 4, 3);
    specs.remove(3);
    assert_eq!(
        import(&specs, &ABC).unwrap_err(),
        ImportProblem::LayerMissing {
            deepest: "rnn.weight_hh_l0".into(),
            missing: "rnn.bias_hh_l0".into()
        }
    );
    let mut specs = rnn_specs("", 4, 3);
    specs.remove(5);
    assert!(matches!(
        import(&specs, &ABC).unwrap_err(),
        ImportProblem::Missing {
            suffix: ".bias",
            ..
        }
    ));
    let mut specs = rnn_specs("a.", 4, 3);
    specs.extend(rnn_specs("b.", 4, 3));
    let e = import(&specs, &ABC).unwrap_err();
    assert_eq!(
        e,
        ImportProblem::Ambiguous {
            what: "the recurrent weights W_hh",
            candidates: vec!["a.rnn.weight_hh_l0".into(), "b.rnn.weight_hh_l0".into()]
        }
    );
    assert!(
        e.to_string()
            .starts_with("a.rnn.weight_hh_l0 and b.rnn.weight_hh_l0 could each be"),
        "{e}"
    );
    let mut specs = rnn_specs("", 4, 3);
    specs.push(("head2.weight".into(), Dtype::F32, vec![7, 4]));
    specs.push(("head2.bias".into(), Dtype::F32, vec![7]));
    assert!(
        matches!(import(&specs, &ABC).unwrap_err(), ImportProblem::Ambiguous { candidates, .. } if candidates == ["fc.weight", "head2.weight"])
    );
}

#[test]
fn the_vocabulary_must_be_given_have_v_characters_and_no_repeats() {
    let specs = rnn_specs("", 4, 3);
    assert_eq!(
        import(&specs, &[]).unwrap_err(),
        ImportProblem::VocabMissing
    );
    assert_eq!(
        import(&specs, &[("charm.vocab", "abcd")]).unwrap_err(),
        ImportProblem::VocabLength {
            source_name: "__metadata__ charm.vocab".into(),
            chars: 4,
            vocab: 3,
            ends_in_newline: false
        }
    );
    assert_eq!(
        import(&specs, &[("charm.vocab", "aba")]).unwrap_err(),
        ImportProblem::VocabRepeated {
            source_name: "__metadata__ charm.vocab".into(),
            character: 'a',
            first: 0,
            second: 2
        }
    );
    let file = safetensors_file(&specs, &[]);
    let given = VocabOverride {
        text: "xy\n\n",
        source_name: "v.txt",
    };
    let e = read_torch(&file, Some(given)).unwrap_err();
    assert!(
        e.to_string()
            .contains("its final newline counts as a character"),
        "{e}"
    );
    let given = VocabOverride {
        text: "xé\n",
        source_name: "v.txt",
    };
    assert_eq!(read_torch(&file, Some(given)).unwrap().vocab, "xé\n");
}

#[test]
fn other_bytes_and_non_finite_weights_are_refused() {
    assert!(matches!(
        read_torch(b"CHRM not safetensors", None),
        Err(ImportProblem::NotSafetensors { .. })
    ));
    let specs = rnn_specs("", 2, 3);
    let mut file = safetensors_file(&specs, &ABC);
    // The last element of fc.bias (safetensors orders the data itself).
    let at = {
        let st = safetensors::SafeTensors::deserialize(&file).unwrap();
        let bias = st.tensor("fc.bias").unwrap().data();
        bias.as_ptr() as usize - file.as_ptr() as usize + 8
    };
    file[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        read_torch(&file, None).unwrap_err(),
        ImportProblem::NonFinite {
            name: "fc.bias".into(),
            index: 2
        }
    );
    let e = import(&specs, &[ABC[0], ("charm.steps", "many")]).unwrap_err();
    assert_eq!(
        e,
        ImportProblem::BadMetadata {
            key: "charm.steps".into(),
            value: "many".into()
        }
    );
}

/// A random model: H in 1..=20, V in 1..=12 characters (some non-ASCII),
/// weights of any finite f32 (signed zeros and subnormals included), random metadata.
fn model_strategy() -> impl Strategy<Value = (Params<f32>, String, Metadata)> {
    let weight = prop_oneof![
        4 => -2.0f32..2.0,
        1 => Just(-0.0f32),
        1 => Just(0.0f32),
        1 => Just(1.0e-40f32),
        1 => proptest::num::f32::NORMAL,
    ];
    (
        1usize..=20,
        proptest::collection::btree_set(proptest::char::range('\n', 'ω'), 1..=12),
    )
        .prop_flat_map(move |(h, chars)| {
            let v = chars.len();
            let vocab: String = chars.into_iter().collect();
            let n = Params::<f32>::count(h, v);
            (
                Just(h),
                Just(vocab),
                proptest::collection::vec(weight.clone(), n),
                (
                    any::<u64>(),
                    any::<u64>(),
                    0.0f32..10.0, // a loss, -ln p, is at least 0 (charm import refuses less)
                    any::<u32>(),
                    any::<u64>(),
                ),
            )
        })
        .prop_map(|(h, vocab, data, (steps, chars_seen, loss, crc, seed))| {
            let v = vocab.chars().count();
            let mut p = Params::<f32>::zeros(h, v);
            // Real entries only: the padding of each row stays 0.
            for (i, w) in data.into_iter().enumerate() {
                if p.is_real(i) {
                    p.data[i] = w;
                }
            }
            let meta = Metadata {
                steps,
                chars_seen,
                train_loss: loss,
                val_loss: f32::NAN,
                corpus_crc32: crc,
                corpus_chars: seed / 3,
                seed,
            };
            (p, vocab, meta)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn import_of_an_export_is_the_same_charm_file((params, vocab, meta) in model_strategy()) {
        let vocab = Vocab::new(&vocab).unwrap();
        let charm = encode(&params.view(), &vocab, &meta).unwrap();
        let torch = torch_bytes(&params.view(), &vocab, &meta).unwrap();
        let imported = read_torch(&torch, None).unwrap();
        let (CharmModel::Rnn(back), sorted) = imported.to_charm() else {
            panic!("one tanh layer is the version-1 model")
        };
        let again = encode(&back.view(), &Vocab::new(&sorted).unwrap(), &imported.meta).unwrap();
        prop_assert_eq!(charm, again);
    }
}

/// A random model of any cell and depth 1–4: H 1..=12, V 1..=9 characters,
/// weights of any finite f32 (signed zeros and subnormals included).
fn stacked_strategy() -> impl Strategy<Value = (Cell, usize, usize, String, Vec<f32>)> {
    let weight = prop_oneof![
        4 => -2.0f32..2.0,
        1 => Just(-0.0f32),
        1 => Just(1.0e-40f32),
        1 => proptest::num::f32::NORMAL,
    ];
    (
        prop_oneof![Just(Cell::Rnn), Just(Cell::Gru), Just(Cell::Lstm)],
        1usize..=4,
        1usize..=12,
        proptest::collection::btree_set(proptest::char::range('\n', 'ω'), 1..=9),
    )
        .prop_filter("one tanh layer is the version-1 model", |(c, d, _, _)| {
            (*c, *d) != (Cell::Rnn, 1)
        })
        .prop_flat_map(move |(cell, depth, h, chars)| {
            let vocab: String = chars.into_iter().collect();
            let v = vocab.chars().count();
            let dense = torch_stack_len(cell, h, v, depth);
            (
                Just(cell),
                Just(depth),
                Just(h),
                Just(vocab),
                proptest::collection::vec(weight.clone(), dense),
            )
        })
}

/// Values in PyTorch's dense tensors of such a model.
fn torch_stack_len(cell: Cell, h: usize, v: usize, depth: usize) -> usize {
    let rows = cell.gates() * h;
    (0..depth)
        .map(|k| rows * (if k == 0 { v } else { h } + h + 2))
        .sum::<usize>()
        + v * h
        + v
}

/// The values cut into PyTorch's tensors, in [`stacked_strategy`]'s order.
fn torch_stack(cell: Cell, depth: usize, h: usize, v: usize, values: &[f32]) -> TorchStack {
    let mut rest = values;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head.to_vec()
    };
    let rows = cell.gates() * h;
    let layers = (0..depth)
        .map(|k| TorchLayer {
            weight_ih: take(rows * if k == 0 { v } else { h }),
            weight_hh: take(rows * h),
            bias_ih: take(rows),
            bias_hh: take(rows),
        })
        .collect();
    TorchStack {
        cell,
        hidden: h,
        vocab: v,
        embedding: None,
        layers,
        fc_weight: take(v * h),
        fc_bias: take(v),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn import_of_an_export_of_any_cell_and_depth_is_the_same_charm_file(
        (cell, depth, h, vocab, values) in stacked_strategy()
    ) {
        let v = vocab.chars().count();
        let order: Vec<usize> = (0..v).collect();
        let CharmModel::Stacked(model) = torch_stack(cell, depth, h, v, &values).to_charm(&order) else {
            panic!("not one tanh layer")
        };
        let vocab = Vocab::new(&vocab).unwrap();
        let meta = Metadata { steps: 3, val_loss: 1.25, ..Metadata::default() };
        let weights = Weights::Stacked(model.view().unwrap());
        let charm = encode_any(&weights, &vocab, &meta).unwrap();
        let torch = stacked_torch_bytes(&model.view().unwrap(), &vocab, &meta).unwrap();
        let imported = read_torch(&torch, None).unwrap();
        let (CharmModel::Stacked(back), sorted) = imported.to_charm() else {
            panic!("not one tanh layer")
        };
        let weights = Weights::Stacked(back.view().unwrap());
        let again = encode_any(&weights, &Vocab::new(&sorted).unwrap(), &imported.meta).unwrap();
        prop_assert_eq!(charm, again);
    }
}

// ------------------------------------------------------- the embedding fold
//
// fold_dot(w, x) is Σ w_e·x_e summed in f64 and rounded once to f32; its
// bound (charm_trainer::math::torch_stack's docs) is
//   |fold − S| ≤ 2⁻²⁴·|S| + (1 + 2⁻²⁴)·γ_E⁽⁶⁴⁾·Σ|w_e·x_e|,   S the exact sum.
// The test computes S exactly: every value drawn is a multiple of 2⁻³⁰
// below 2⁴ in magnitude, so every product is an integer multiple of 2⁻⁶⁰
// below 2⁸, and a sum of at most 64 of them an integer below 2⁷⁴ · 2⁶ —
// exact in i128.

/// The exact sum Σ w_e·x_e as an integer count of 2⁻⁶⁰, and Σ|w_e·x_e| as f64.
fn exact_dot(w: &[f32], x: &[f32]) -> (i128, f64) {
    let fixed = |a: f32| (f64::from(a) * (1u64 << 30) as f64) as i128; // exact: a multiple of 2⁻³⁰
    let sum = w.iter().zip(x).map(|(&a, &b)| fixed(a) * fixed(b)).sum();
    let magnitude = w
        .iter()
        .zip(x)
        .map(|(&a, &b)| (f64::from(a) * f64::from(b)).abs())
        .sum();
    (sum, magnitude)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn the_fold_is_within_its_bound_of_the_exact_sum(
        pairs in proptest::collection::vec(
            ((-(1i64 << 34)..(1i64 << 34)), (-(1i64 << 34)..(1i64 << 34))),
            1..=64,
        )
    ) {
        let scale = 1.0 / (1u64 << 30) as f64;
        // Multiples of 2⁻³⁰ below 2⁴; f32 keeps 24 bits, so round to f32 and
        // keep only what is still a multiple of 2⁻³⁰ (every f32 ≥ 2⁻⁷ is).
        let value = |n: i64| {
            let a = (n as f64 * scale) as f32;
            if f64::from(a) * (1u64 << 30) as f64 == (f64::from(a) * (1u64 << 30) as f64).trunc() { a } else { 0.0 }
        };
        let (w, x): (Vec<f32>, Vec<f32>) = pairs.iter().map(|&(a, b)| (value(a), value(b))).unzip();
        let fold = fold_dot(&w, &x);
        let (exact, magnitude) = exact_dot(&w, &x);
        let exact = exact as f64 / (1u128 << 60) as f64; // within 2⁻⁵³ relatively: see below
        let e = w.len() as f64;
        let gamma = e * f64::EPSILON / 2.0 / (1.0 - e * f64::EPSILON / 2.0);
        let u32_ = 1.0 / (1u64 << 24) as f64;
        // The exact sum as f64 is itself rounded once (≤ 2⁻⁵³·|S|): added to the bound.
        let bound = u32_ * exact.abs() + (1.0 + u32_) * gamma * magnitude
            + exact.abs() * f64::EPSILON / 2.0;
        prop_assert!(
            (f64::from(fold) - exact).abs() <= bound,
            "fold {fold} exact {exact} bound {bound}"
        );
    }
}
