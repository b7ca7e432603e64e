//! PyTorch models as safetensors files: reading `nn.RNN` + `nn.Linear`
//! tensors (found by name suffix and shape, whatever the module prefixes)
//! and writing them back under PyTorch's names.
//!
//! What is read, for hidden size H and vocabulary V:
//!
//! | tensor suffix | shape | role |
//! |---|---|---|
//! | `weight_ih_l0` | H × V | input weights: `Wxh` |
//! | `weight_hh_l0` | H × H | recurrent weights: `Whh` (fixes H) |
//! | `bias_ih_l0`, `bias_hh_l0` | H | `bh` is their f32 sum |
//! | `.weight` | V × H | the Linear layer's weights: `Why` |
//! | `.bias` (same prefix) | V | `by` |
//!
//! and the vocabulary, the characters in PyTorch's index order, from the
//! `__metadata__` entry `charm.vocab` or a `--vocab` file. Every other way a
//! file can be (an LSTM or GRU, a second layer, a reverse direction, relu
//! named in the metadata, f16/bf16/f64 tensors, shapes that disagree, two
//! candidates for one tensor) is an [`ImportProblem`].

use crate::error::ImportProblem;
use crate::files::safetensors_header::duplicate_key;
use crate::math::params::Params;
use crate::math::torch::TorchRnn;
use charm_core::{Metadata, ModelView, Vocab, MAX_HIDDEN, MAX_VOCAB};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

/// The names `charm export` gives the tensors (a model of
/// `rnn = nn.RNN(V, H)` and `fc = nn.Linear(H, V)`), in [`TorchRnn`] field order.
pub const EXPORT_NAMES: [&str; 6] = [
    "rnn.weight_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",
    "fc.weight",
    "fc.bias",
];

/// The metadata key of the vocabulary: the characters in index order, as one string.
pub const VOCAB_KEY: &str = "charm.vocab";
/// The metadata key of the nonlinearity (`tanh`, the only one charm runs).
pub const NONLINEARITY_KEY: &str = "charm.nonlinearity";

/// A model read from a safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchImport {
    /// The tensors.
    pub torch: TorchRnn,
    /// The names they had in the file, in [`TorchRnn`] field order.
    pub names: [String; 6],
    /// The vocabulary in PyTorch's index order, as given.
    pub vocab: String,
    /// charm's training metadata when the file carries it (written by
    /// `charm export`), else zeros with unknown (NaN) losses.
    pub meta: Metadata,
}

impl TorchImport {
    /// charm's parameters and vocabulary (sorted by code point; see
    /// [`crate::math::torch`] for how the tensors follow the characters).
    pub fn to_charm(&self) -> (Params<f32>, String) {
        let mut by_char: Vec<(char, usize)> = self.vocab.chars().zip(0..).collect();
        by_char.sort_unstable();
        let order: Vec<usize> = by_char.iter().map(|&(_, j)| j).collect();
        let sorted: String = by_char.iter().map(|&(c, _)| c).collect();
        (self.torch.to_params(&order), sorted)
    }
}

/// Where the vocabulary comes from when the file's metadata does not say.
#[derive(Debug, Clone, Copy)]
pub struct VocabOverride<'a> {
    /// The characters in index order.
    pub text: &'a str,
    /// What to call it in messages (the --vocab file's path).
    pub source_name: &'a str,
}

/// The tensors of the file, by name: (dtype, shape).
type Listing<'a> = Vec<Named<'a>>;

/// A tensor with its name in the file.
type Named<'a> = (String, TensorView<'a>);

/// Reads the model from the bytes of a safetensors file. `vocab`, when
/// given, is used instead of the metadata's `charm.vocab`.
pub fn read_torch_rnn(
    bytes: &[u8],
    vocab: Option<VocabOverride<'_>>,
) -> Result<TorchImport, ImportProblem> {
    let not_safetensors = |e: safetensors::SafeTensorError| ImportProblem::NotSafetensors {
        reason: e.to_string(),
    };
    let file = SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    if let Some(key) = duplicate_key(bytes) {
        return Err(ImportProblem::DuplicateKey { key });
    }
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut tensors: Listing<'_> = file.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    refuse_other_architectures(&tensors, &metadata)?;

    let ([(ih_name, ih), (hh_name, hh), (bih_name, bih), (bhh_name, bhh)], hidden, vocab_size) =
        recurrent_layer(&tensors)?;
    let [(fc_name, fc), (fcb_name, fcb)] = linear_layer(&tensors, hidden, vocab_size, &ih_name)?;
    if hidden == 0 || vocab_size == 0 || hidden > MAX_HIDDEN || vocab_size > MAX_VOCAB {
        return Err(ImportProblem::TooLarge {
            hidden,
            vocab: vocab_size,
            max_hidden: MAX_HIDDEN,
            max_vocab: MAX_VOCAB,
        });
    }

    let names = [ih_name, hh_name, bih_name, bhh_name, fc_name, fcb_name];
    let views = [&ih, &hh, &bih, &bhh, &fc, &fcb];
    let mut floats = Vec::with_capacity(6);
    for (name, view) in names.iter().zip(views) {
        floats.push(f32_values(name, view)?);
    }
    let [weight_ih, weight_hh, bias_ih, bias_hh, fc_weight, fc_bias]: [Vec<f32>; 6] =
        floats.try_into().expect("six tensors");
    let torch = TorchRnn {
        hidden,
        vocab: vocab_size,
        weight_ih,
        weight_hh,
        bias_ih,
        bias_hh,
        fc_weight,
        fc_bias,
    };
    let vocab = vocabulary(&metadata, vocab, vocab_size)?;
    let meta = training_metadata(&metadata)?;
    Ok(TorchImport {
        torch,
        names,
        vocab,
        meta,
    })
}

/// The recurrent layer's tensors W_ih, W_hh, b_ih, b_hh (found by suffix,
/// their shapes checked), with H (from W_hh) and V (from W_ih).
fn recurrent_layer<'a>(
    tensors: &Listing<'a>,
) -> Result<([Named<'a>; 4], usize, usize), ImportProblem> {
    // weight_hh_l0 fixes H.
    let (hh_name, hh) = one_by_suffix(tensors, "weight_hh_l0", "the recurrent weights W_hh")?;
    let hidden = match hh.shape() {
        &[_, h] => h,
        s => {
            return Err(shape_error(
                &hh_name,
                s,
                "W_hh must be a matrix, H × H".into(),
            ))
        }
    };
    check_rows(&hh_name, hh.shape(), hidden, "H × H")?;
    let (ih_name, ih) = one_by_suffix(tensors, "weight_ih_l0", "the input weights W_ih")?;
    let vocab_size = match ih.shape() {
        &[_, v] => v,
        s => {
            return Err(shape_error(
                &ih_name,
                s,
                format!("W_ih must be a matrix, H × V with H {hidden}"),
            ))
        }
    };
    check_rows(&ih_name, ih.shape(), hidden, "H × V")?;
    let (bih_name, bih) = one_by_suffix(tensors, "bias_ih_l0", "the input bias b_ih")?;
    let (bhh_name, bhh) = one_by_suffix(tensors, "bias_hh_l0", "the recurrent bias b_hh")?;
    for (name, b) in [(&bih_name, &bih), (&bhh_name, &bhh)] {
        check_rows(name, b.shape(), hidden, "H")?;
        if b.shape().len() != 1 {
            return Err(shape_error(
                name,
                b.shape(),
                format!("a bias has shape [H] = [{hidden}]"),
            ));
        }
    }

    Ok((
        [
            (ih_name, ih),
            (hh_name, hh),
            (bih_name, bih),
            (bhh_name, bhh),
        ],
        hidden,
        vocab_size,
    ))
}

/// The Linear layer: the `.weight` with H columns (V × H) and the `.bias`
/// beside it (V); `ih_name` names the tensor V was taken from.
fn linear_layer<'a>(
    tensors: &Listing<'a>,
    hidden: usize,
    vocab_size: usize,
    ih_name: &str,
) -> Result<[Named<'a>; 2], ImportProblem> {
    let (fc_name, fc) = linear_weight(tensors, hidden)?;
    if fc.shape()[0] != vocab_size {
        return Err(shape_error(
            &fc_name,
            fc.shape(),
            format!(
                "the RNN takes V {vocab_size} one-hot inputs (from {ih_name}), so the Linear layer must \
                 have V × H = [{vocab_size}, {hidden}] (an nn.Embedding in front is not what charm runs)"
            ),
        ));
    }
    let fcb_name = format!("{}bias", fc_name.strip_suffix("weight").unwrap_or_default());
    let fcb = tensors
        .iter()
        .find(|(n, _)| *n == fcb_name)
        .map(|(_, t)| t.clone())
        .ok_or_else(|| ImportProblem::Missing {
            suffix: ".bias",
            what: "the Linear layer's bias, beside its weight (nn.Linear(H, V, bias=True))",
            found: tensors.iter().map(|(n, _)| n.clone()).collect(),
        })?;
    if fcb.shape() != [vocab_size] {
        return Err(shape_error(
            &fcb_name,
            fcb.shape(),
            format!("the Linear layer's bias has shape [V] = [{vocab_size}]"),
        ));
    }
    Ok([(fc_name, fc), (fcb_name, fcb)])
}

/// LSTM/GRU names, extra layers, the reverse direction, and a nonlinearity
/// other than tanh in the metadata.
fn refuse_other_architectures(
    tensors: &Listing<'_>,
    metadata: &HashMap<String, String>,
) -> Result<(), ImportProblem> {
    for (name, _) in tensors {
        if name.contains("_reverse") {
            return Err(ImportProblem::Bidirectional { name: name.clone() });
        }
        // `..._l{k}` with k >= 1 is layer k of a stacked RNN.
        if let Some((_, layer)) = name.rsplit_once("_l") {
            if let Ok(layer @ 1..) = layer.parse::<usize>() {
                if ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
                    .iter()
                    .any(|p| name.contains(p))
                {
                    return Err(ImportProblem::Layers {
                        name: name.clone(),
                        layer,
                    });
                }
            }
        }
    }
    for key in [NONLINEARITY_KEY, "nonlinearity"] {
        if let Some(found) = metadata.get(key) {
            if found != "tanh" {
                return Err(ImportProblem::Nonlinearity {
                    key: key.into(),
                    found: found.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The one tensor whose name ends in `suffix`.
fn one_by_suffix<'a>(
    tensors: &Listing<'a>,
    suffix: &'static str,
    what: &'static str,
) -> Result<(String, TensorView<'a>), ImportProblem> {
    let found: Vec<&(String, TensorView<'a>)> = tensors
        .iter()
        .filter(|(n, _)| n.ends_with(suffix))
        .collect();
    match found[..] {
        [(name, view)] => Ok((name.clone(), view.clone())),
        [] => Err(ImportProblem::Missing {
            suffix,
            what,
            found: tensors.iter().map(|(n, _)| n.clone()).collect(),
        }),
        _ => Err(ImportProblem::Ambiguous {
            what,
            candidates: found.iter().map(|(n, _)| n.clone()).collect(),
        }),
    }
}

/// The recurrent tensors have H rows; 4H is an LSTM, 3H a GRU.
fn check_rows(
    name: &str,
    shape: &[usize],
    hidden: usize,
    expected: &str,
) -> Result<(), ImportProblem> {
    let rows = shape.first().copied().unwrap_or(0);
    if rows == hidden && hidden > 0 {
        return Ok(());
    }
    for (gates, kind) in [(4, "LSTM"), (3, "GRU")] {
        if hidden > 0 && rows == gates * hidden {
            return Err(ImportProblem::Gated {
                name: name.into(),
                shape: shape.to_vec(),
                hidden,
                gates,
                kind,
            });
        }
    }
    Err(shape_error(
        name,
        shape,
        format!("it must be {expected} with H {hidden} (the columns of W_hh)"),
    ))
}

fn shape_error(name: &str, shape: &[usize], expected: String) -> ImportProblem {
    ImportProblem::Shape {
        name: name.into(),
        shape: shape.to_vec(),
        expected,
    }
}

/// The Linear layer's weight: the one `*.weight` (or `weight`) matrix with H columns.
fn linear_weight<'a>(
    tensors: &Listing<'a>,
    hidden: usize,
) -> Result<(String, TensorView<'a>), ImportProblem> {
    let is_weight = |n: &str| n == "weight" || n.ends_with(".weight");
    let found: Vec<&(String, TensorView<'a>)> = tensors
        .iter()
        .filter(|(n, t)| is_weight(n) && matches!(t.shape(), &[_, h] if h == hidden))
        .collect();
    match found[..] {
        [(name, view)] => Ok((name.clone(), view.clone())),
        [] => Err(ImportProblem::Missing {
            suffix: ".weight",
            what: "the Linear layer's weights, V × H",
            found: tensors.iter().map(|(n, _)| n.clone()).collect(),
        }),
        _ => Err(ImportProblem::Ambiguous {
            what: "the Linear layer's weights (V × H)",
            candidates: found.iter().map(|(n, _)| n.clone()).collect(),
        }),
    }
}

/// The elements of a float32 tensor (little-endian, any alignment), all finite.
fn f32_values(name: &str, view: &TensorView<'_>) -> Result<Vec<f32>, ImportProblem> {
    if view.dtype() != Dtype::F32 {
        return Err(ImportProblem::Dtype {
            name: name.into(),
            dtype: format!("{:?}", view.dtype()),
        });
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(index) = values.iter().position(|w| !w.is_finite()) {
        return Err(ImportProblem::NonFinite {
            name: name.into(),
            index,
        });
    }
    Ok(values)
}

/// The characters in index order: `--vocab` if given, else `charm.vocab`;
/// exactly V of them, each once.
fn vocabulary(
    metadata: &HashMap<String, String>,
    given: Option<VocabOverride<'_>>,
    v: usize,
) -> Result<String, ImportProblem> {
    let (text, source_name) = match given {
        Some(g) => (g.text.to_string(), g.source_name.to_string()),
        None => match metadata.get(VOCAB_KEY) {
            Some(t) => (t.clone(), format!("__metadata__ {VOCAB_KEY}")),
            None => return Err(ImportProblem::VocabMissing),
        },
    };
    let chars = text.chars().count();
    if chars != v {
        return Err(ImportProblem::VocabLength {
            source_name,
            chars,
            vocab: v,
            ends_in_newline: text.ends_with('\n'),
        });
    }
    let mut seen: HashMap<char, usize> = HashMap::new();
    for (second, character) in text.chars().enumerate() {
        if let Some(&first) = seen.get(&character) {
            return Err(ImportProblem::VocabRepeated {
                source_name,
                character,
                first,
                second,
            });
        }
        seen.insert(character, second);
    }
    Ok(text)
}

/// The `charm.*` metadata keys of [`Metadata`]'s fields.
const META_KEYS: [&str; 7] = [
    "charm.steps",
    "charm.chars_seen",
    "charm.train_loss",
    "charm.val_loss",
    "charm.corpus_crc32",
    "charm.corpus_chars",
    "charm.seed",
];

/// charm's training metadata from the file's `charm.*` entries; absent
/// entries are 0 (NaN for the losses: unknown).
fn training_metadata(metadata: &HashMap<String, String>) -> Result<Metadata, ImportProblem> {
    fn parse<T: std::str::FromStr>(
        m: &HashMap<String, String>,
        key: &str,
        absent: T,
    ) -> Result<T, ImportProblem> {
        match m.get(key) {
            None => Ok(absent),
            Some(value) => value.parse().map_err(|_| ImportProblem::BadMetadata {
                key: key.into(),
                value: value.clone(),
            }),
        }
    }
    /// A loss in nats/char: NaN (unknown, as `charm export` writes it),
    /// or finite and not negative (−ln p ≥ 0 for every p ≤ 1).
    fn loss(m: &HashMap<String, String>, key: &str) -> Result<f32, ImportProblem> {
        let value: f32 = parse(m, key, f32::NAN)?;
        if value.is_nan() || (value.is_finite() && value >= 0.0) {
            Ok(value)
        } else {
            Err(ImportProblem::BadLoss {
                key: key.into(),
                value: m.get(key).cloned().unwrap_or_default(),
            })
        }
    }
    let [steps, chars_seen, train_loss, val_loss, crc, corpus_chars, seed] = META_KEYS;
    Ok(Metadata {
        steps: parse(metadata, steps, 0)?,
        chars_seen: parse(metadata, chars_seen, 0)?,
        train_loss: loss(metadata, train_loss)?,
        val_loss: loss(metadata, val_loss)?,
        corpus_crc32: parse(metadata, crc, 0)?,
        corpus_chars: parse(metadata, corpus_chars, 0)?,
        seed: parse(metadata, seed, 0)?,
    })
}

/// The bytes of a safetensors file holding `model` as PyTorch's `nn.RNN` +
/// `nn.Linear` ([`EXPORT_NAMES`]), its vocabulary as `charm.vocab` and its
/// metadata as `charm.*` entries (f32 written in Rust's shortest
/// round-trip form, so they read back to the same bits).
pub fn torch_bytes(
    model: &ModelView<'_, f32>,
    vocab: &Vocab<'_>,
    meta: &Metadata,
) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let torch = TorchRnn::from_view(model);
    let bytes: Vec<Vec<u8>> = torch
        .tensors()
        .iter()
        .map(|t| t.iter().flat_map(|w| w.to_le_bytes()).collect())
        .collect();
    let shapes = TorchRnn::shapes(torch.hidden, torch.vocab);
    let mut views = Vec::with_capacity(6);
    for ((name, shape), data) in EXPORT_NAMES.iter().zip(shapes).zip(&bytes) {
        views.push((*name, TensorView::new(Dtype::F32, shape, data)?));
    }
    let values = [
        meta.steps.to_string(),
        meta.chars_seen.to_string(),
        meta.train_loss.to_string(),
        meta.val_loss.to_string(),
        meta.corpus_crc32.to_string(),
        meta.corpus_chars.to_string(),
        meta.seed.to_string(),
    ];
    let mut info: HashMap<String, String> = META_KEYS
        .iter()
        .map(|k| k.to_string())
        .zip(values)
        .collect();
    info.insert(VOCAB_KEY.into(), vocab.as_str().into());
    info.insert(NONLINEARITY_KEY.into(), "tanh".into());
    safetensors::serialize(views, Some(info))
}
