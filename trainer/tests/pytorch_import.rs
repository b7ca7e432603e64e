//! `charm import`'s reader and `charm export`'s writer
//! ([`charm_trainer::files::pytorch`]): every wrong input is its own
//! [`ImportProblem`], and import of an export gives back the same `.charm`
//! bytes (proptest over random small models).

use charm_core::{encode, Metadata, Vocab};
use charm_trainer::error::ImportProblem;
use charm_trainer::files::pytorch::{read_torch_rnn, torch_bytes, VocabOverride};
use charm_trainer::math::params::Params;
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
    read_torch_rnn(&safetensors_file(specs, metadata), None).map(|_| ())
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
    let imported = read_torch_rnn(&file, None).unwrap();
    assert_eq!(imported.names[0], "model.rnn.weight_ih_l0");
    assert_eq!(imported.names[5], "model.fc.bias");
    assert_eq!(imported.vocab, "cab");
    let (params, sorted) = imported.to_charm();
    assert_eq!(sorted, "abc");
    // by[a] is b_fc[1] (PyTorch's 'a' is index 1): 0.01.
    assert_eq!(params.view().by(), &[0.01, 0.02, 0.0]);
    assert!(imported.meta.train_loss.is_nan() && imported.meta.steps == 0);
}

#[test]
fn an_lstm_or_a_gru_is_named_as_such() {
    for (gates, kind) in [(4, "LSTM"), (3, "GRU")] {
        let specs = rnn_specs("", 4, 3);
        let specs = set_shape(specs, "weight_ih_l0", vec![gates * 4, 3]);
        let e = import(&specs, &ABC).unwrap_err();
        assert_eq!(
            e,
            ImportProblem::Gated {
                name: "rnn.weight_ih_l0".into(),
                shape: vec![gates * 4, 3],
                hidden: 4,
                gates,
                kind
            }
        );
        assert!(
            e.to_string().contains(&format!(
                "this is an {kind}; charm runs nn.RNN(V, H, nonlinearity=\"tanh\", num_layers=1)"
            )),
            "{e}"
        );
    }
}

#[test]
fn two_layers_a_reverse_direction_and_relu_are_refused() {
    let mut specs = rnn_specs("", 4, 3);
    specs.push(("rnn.weight_ih_l1".into(), Dtype::F32, vec![4, 4]));
    assert_eq!(
        import(&specs, &ABC).unwrap_err(),
        ImportProblem::Layers {
            name: "rnn.weight_ih_l1".into(),
            layer: 1
        }
    );
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
    // A Linear with another number of outputs than the RNN's inputs (an embedding in front).
    let specs = set_shape(rnn_specs("", 4, 3), "fc.weight", vec![5, 4]);
    let specs = set_shape(specs, "fc.bias", vec![5]);
    let e = import(&specs, &ABC).unwrap_err();
    assert!(
        matches!(&e, ImportProblem::Shape { name, .. } if name == "fc.weight"),
        "{e:?}"
    );
    assert!(e.to_string().contains("nn.Embedding"), "{e}");
}

#[test]
fn missing_and_ambiguous_tensors_list_what_the_file_has() {
    let mut specs = rnn_specs("", 4, 3);
    specs.remove(3);
    let e = import(&specs, &ABC).unwrap_err();
    assert!(
        matches!(&e, ImportProblem::Missing { suffix: "bias_hh_l0", found, .. } if found.len() == 5),
        "{e:?}"
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
    let e = read_torch_rnn(&file, Some(given)).unwrap_err();
    assert!(
        e.to_string()
            .contains("its final newline counts as a character"),
        "{e}"
    );
    let given = VocabOverride {
        text: "xé\n",
        source_name: "v.txt",
    };
    assert_eq!(read_torch_rnn(&file, Some(given)).unwrap().vocab, "xé\n");
}

#[test]
fn other_bytes_and_non_finite_weights_are_refused() {
    assert!(matches!(
        read_torch_rnn(b"CHRM not safetensors", None),
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
        read_torch_rnn(&file, None).unwrap_err(),
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
        let imported = read_torch_rnn(&torch, None).unwrap();
        let (back, sorted) = imported.to_charm();
        let again = encode(&back.view(), &Vocab::new(&sorted).unwrap(), &imported.meta).unwrap();
        prop_assert_eq!(charm, again);
    }
}
