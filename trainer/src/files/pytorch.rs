//! PyTorch models as safetensors files: reading `nn.RNN` (tanh), `nn.GRU` or
//! `nn.LSTM` with `num_layers` 1 to 4, an optional `nn.Embedding` in front
//! and the `nn.Linear` after it (found by name suffix and shape, whatever the
//! module prefixes), and writing charm's models back under PyTorch's names.
//!
//! What is read, for hidden size H, G gates (1 nn.RNN, 3 nn.GRU, 4 nn.LSTM),
//! vocabulary V and layers L:
//!
//! | tensor suffix | shape | role |
//! |---|---|---|
//! | `weight_hh_l{k}` | G·H × H | recurrent weights of layer k (fix H and G, hence the cell) |
//! | `weight_ih_l{k}` | G·H × I | input weights: I = V (one-hot), E (after an embedding) or H (k ≥ 1) |
//! | `bias_ih_l{k}`, `bias_hh_l{k}` | G·H | the layer's two biases |
//! | `.weight` with a `.bias` beside it | V × H | the Linear layer (fixes V) |
//! | `.weight` without a bias | V × E | `nn.Embedding(V, E)`, when the first layer reads E values |
//!
//! and the vocabulary, the characters in PyTorch's index order, from the
//! `__metadata__` entry `charm.vocab` or a `--vocab` file. Every other way a
//! file can be (a reverse direction, relu named in the metadata, more than 4
//! layers, f16/bf16/f64 tensors, shapes that disagree, two candidates for one
//! tensor) is an [`ImportProblem`].

use crate::error::ImportProblem;
use crate::files::safetensors_header::duplicate_key;
use crate::math::torch::TorchRnn;
use crate::math::torch_stack::{CharmModel, TorchEmbedding, TorchLayer, TorchStack};
use charm_core::{
    Cell, Metadata, ModelView, StackedModelView, Vocab, MAX_HIDDEN, MAX_LAYERS, MAX_VOCAB,
};
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
/// The metadata key of the cell (`rnn`, `gru` or `lstm`), written by `charm export`.
pub const CELL_KEY: &str = "charm.cell";

/// A model read from a safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchImport {
    /// The tensors.
    pub torch: TorchStack,
    /// The names they had in the file: each layer's W_ih, W_hh, b_ih and
    /// b_hh, then the Linear layer's weight and bias, then the embedding's
    /// table if there is one.
    pub names: Vec<String>,
    /// The vocabulary in PyTorch's index order, as given.
    pub vocab: String,
    /// charm's training metadata when the file carries it (written by
    /// `charm export`), else zeros with unknown (NaN) losses.
    pub meta: Metadata,
}

impl TorchImport {
    /// charm's model and vocabulary (sorted by code point; see
    /// [`crate::math::torch_stack`] for how the tensors follow the characters).
    pub fn to_charm(&self) -> (CharmModel, String) {
        let mut by_char: Vec<(char, usize)> = self.vocab.chars().zip(0..).collect();
        by_char.sort_unstable();
        let order: Vec<usize> = by_char.iter().map(|&(_, j)| j).collect();
        let sorted: String = by_char.iter().map(|&(c, _)| c).collect();
        (self.torch.to_charm(&order), sorted)
    }

    /// What was read, in words: `rnn.weight_ih_l0 … rnn.bias_hh_l1 as
    /// nn.GRU(num_layers=2), fc.weight and fc.bias as nn.Linear`.
    pub fn describe(&self) -> String {
        let t = &self.torch;
        let depth = t.layers.len();
        let module = match t.cell {
            Cell::Rnn => "nn.RNN(tanh",
            Cell::Gru => "nn.GRU(",
            _ => "nn.LSTM(",
        };
        let layers = match (t.cell, depth) {
            (Cell::Rnn, 1) => format!("{module})"),
            (Cell::Rnn, _) => format!("{module}, num_layers={depth})"),
            (_, _) => format!("{module}num_layers={depth})"),
        };
        let n = 4 * depth;
        // One layer names W_ih and W_hh (its biases are in the report's `bh = …`).
        let (first, last) = match depth {
            1 => (&self.names[0], &self.names[1]),
            _ => (&self.names[0], &self.names[n - 1]),
        };
        let between = if depth == 1 { "and" } else { "…" };
        let mut text = format!(
            "{first} {between} {last} as {layers}, {} and {} as nn.Linear",
            self.names[n],
            self.names[n + 1]
        );
        if let (Some(e), Some(name)) = (&t.embedding, self.names.get(n + 2)) {
            text.push_str(&format!(
                ", {name} as nn.Embedding({}, {}) folded into the first layer's input weights",
                t.vocab, e.dim
            ));
        }
        text
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
pub fn read_torch(
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

    let found = recurrent_layers(&tensors)?;
    let (hidden, input) = (found.hidden, found.input);
    let [(fc_name, fc), (fcb_name, fcb)] = linear_layer(&tensors, hidden)?;
    let vocab_size = fc.shape()[0];
    let embedding = embedding_table(&tensors, &fc_name, vocab_size, input, &found.names[0])?;
    if hidden == 0 || vocab_size == 0 || hidden > MAX_HIDDEN || vocab_size > MAX_VOCAB {
        return Err(ImportProblem::TooLarge {
            hidden,
            vocab: vocab_size,
            max_hidden: MAX_HIDDEN,
            max_vocab: MAX_VOCAB,
        });
    }

    let mut names = Vec::with_capacity(found.views.len() + 3);
    let mut values = Vec::with_capacity(found.views.len() + 3);
    let extra = embedding.iter().map(|(n, v)| (n.clone(), v.clone()));
    for (name, view) in found
        .views
        .into_iter()
        .chain([(fc_name, fc), (fcb_name, fcb)])
        .chain(extra)
    {
        values.push(f32_values(&name, &view)?);
        names.push(name);
    }
    let mut values = values.into_iter();
    let mut next = || values.next().unwrap_or_default();
    let layers = (0..found.depth)
        .map(|_| TorchLayer {
            weight_ih: next(),
            weight_hh: next(),
            bias_ih: next(),
            bias_hh: next(),
        })
        .collect();
    let (fc_weight, fc_bias) = (next(), next());
    let embedding = embedding.map(|_| TorchEmbedding {
        dim: input,
        weight: next(),
    });
    let torch = TorchStack {
        cell: found.cell,
        hidden,
        vocab: vocab_size,
        embedding,
        layers,
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

/// The recurrent module's layers as found in a file.
struct FoundLayers<'a> {
    cell: Cell,
    hidden: usize,
    /// The first layer's input size I (V one-hot, or E after an embedding).
    input: usize,
    depth: usize,
    /// Per layer W_ih, W_hh, b_ih, b_hh.
    views: Vec<Named<'a>>,
    /// Their names, for messages.
    names: Vec<String>,
}

/// The layer index `k` of a name ending in `{stem}_l{k}`.
fn layer_of(name: &str, stem: &str) -> Option<usize> {
    let (head, k) = name.rsplit_once("_l")?;
    head.ends_with(stem).then_some(())?;
    k.parse().ok()
}

/// Every layer's W_ih, W_hh, b_ih, b_hh (found by suffix under one prefix,
/// their shapes checked), with the cell (from W_hh's rows), H (its columns),
/// the first layer's input size and the depth.
fn recurrent_layers<'a>(tensors: &Listing<'a>) -> Result<FoundLayers<'a>, ImportProblem> {
    // weight_hh_l0 fixes H and the cell.
    let (hh_name, hh) = one_by_suffix(tensors, "weight_hh_l0", "the recurrent weights W_hh")?;
    let prefix = hh_name.trim_end_matches("weight_hh_l0").to_string();
    let (rows, hidden) = match hh.shape() {
        &[r, h] => (r, h),
        s => {
            return Err(shape_error(
                &hh_name,
                s,
                "W_hh must be a matrix, G·H × H".into(),
            ))
        }
    };
    let cell = match (hidden, rows.checked_div(hidden)) {
        (1.., Some(g)) if g * hidden == rows && [1, 3, 4].contains(&g) => match g {
            1 => Cell::Rnn,
            3 => Cell::Gru,
            _ => Cell::Lstm,
        },
        _ => {
            return Err(ImportProblem::Gates {
                name: hh_name,
                shape: hh.shape().to_vec(),
                rows,
                hidden,
            })
        }
    };
    // The deepest layer: the largest k of any W_hh under the same prefix.
    let deepest = tensors
        .iter()
        .filter(|(n, _)| n.starts_with(&prefix))
        .filter_map(|(n, _)| layer_of(n, "weight_hh").map(|k| (k, n)))
        .max_by_key(|&(k, _)| k);
    let (top, top_name) = deepest.map_or((0, hh_name.clone()), |(k, n)| (k, n.clone()));
    if top >= MAX_LAYERS {
        return Err(ImportProblem::Depth {
            name: top_name,
            layer: top,
        });
    }
    let mut views = Vec::with_capacity(4 * (top + 1));
    let mut input = 0;
    for k in 0..=top {
        for (stem, cols) in [("weight_ih", None), ("weight_hh", Some(hidden))] {
            let name = format!("{prefix}{stem}_l{k}");
            let view = by_name(tensors, &name, &top_name)?;
            let cols = match (cols, k) {
                (Some(c), _) => c,
                (None, 0) => match view.shape() {
                    &[_, i] => i,
                    s => {
                        return Err(shape_error(
                            &name,
                            s,
                            format!("W_ih must be a matrix, {rows} × I"),
                        ))
                    }
                },
                (None, _) => hidden,
            };
            if view.shape() != [rows, cols] || cols == 0 {
                return Err(shape_error(
                    &name,
                    view.shape(),
                    format!(
                        "{} has {rows} × {cols} with H {hidden} (the columns of {hh_name})",
                        if k == 0 {
                            "it"
                        } else {
                            "a layer above the first"
                        }
                    ),
                ));
            }
            if k == 0 && stem == "weight_ih" {
                input = cols;
            }
            views.push((name, view));
        }
        for stem in ["bias_ih", "bias_hh"] {
            let name = format!("{prefix}{stem}_l{k}");
            let view = by_name(tensors, &name, &top_name)?;
            if view.shape() != [rows] {
                return Err(shape_error(
                    &name,
                    view.shape(),
                    format!("a bias has shape [G·H] = [{rows}]"),
                ));
            }
            views.push((name, view));
        }
    }
    let names = views.iter().map(|(n, _)| n.clone()).collect();
    Ok(FoundLayers {
        cell,
        hidden,
        input,
        depth: top + 1,
        views,
        names,
    })
}

/// The tensor called exactly `name`: a layer's tensor that must be there
/// because `deepest` (a tensor of a layer above it) is.
fn by_name<'a>(
    tensors: &Listing<'a>,
    name: &str,
    deepest: &str,
) -> Result<TensorView<'a>, ImportProblem> {
    tensors
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ImportProblem::LayerMissing {
            deepest: deepest.into(),
            missing: name.into(),
        })
}

/// The Linear layer: the one `*.weight` with H columns that has a `.bias`
/// beside it, of its rows (V × H and V).
fn linear_layer<'a>(tensors: &Listing<'a>, hidden: usize) -> Result<[Named<'a>; 2], ImportProblem> {
    let bias_of = |name: &str| {
        let bias = format!("{}bias", name.strip_suffix("weight").unwrap_or_default());
        tensors.iter().find(|(n, _)| *n == bias).cloned()
    };
    let with_h_columns: Vec<&Named<'a>> = tensors
        .iter()
        .filter(|(n, t)| is_plain_weight(n) && matches!(t.shape(), &[_, h] if h == hidden))
        .collect();
    let found: Vec<(Named<'a>, Named<'a>)> = with_h_columns
        .iter()
        .filter_map(|&w| bias_of(&w.0).map(|b| (w.clone(), b)))
        .collect();
    match (&found[..], &with_h_columns[..]) {
        ([(w, b)], _) => {
            let rows = w.1.shape()[0];
            if b.1.shape() != [rows] {
                return Err(shape_error(
                    &b.0,
                    b.1.shape(),
                    format!("the Linear layer's bias has shape [V] = [{rows}]"),
                ));
            }
            Ok([w.clone(), b.clone()])
        }
        ([], [_]) => Err(ImportProblem::Missing {
            suffix: ".bias",
            what: "the Linear layer's bias, beside its weight (nn.Linear(H, V, bias=True))",
            found: tensors.iter().map(|(n, _)| n.clone()).collect(),
        }),
        ([], _) => Err(ImportProblem::Missing {
            suffix: ".weight",
            what: "the Linear layer's weights, V × H, with its bias beside them",
            found: tensors.iter().map(|(n, _)| n.clone()).collect(),
        }),
        _ => Err(ImportProblem::Ambiguous {
            what: "the Linear layer's weights (V × H, with a bias)",
            candidates: found.iter().map(|((n, _), _)| n.clone()).collect(),
        }),
    }
}

/// `weight` or `*.weight`: a module's weight, not a recurrent tensor.
fn is_plain_weight(name: &str) -> bool {
    name == "weight" || name.ends_with(".weight")
}

/// The embedding table in front of the first layer: the one `*.weight`
/// of V × I other than the Linear layer's, with no bias beside it. Needed
/// when the first layer reads I ≠ V values; with I = V there is none unless
/// the file has such a table.
fn embedding_table<'a>(
    tensors: &Listing<'a>,
    fc_name: &str,
    vocab: usize,
    input: usize,
    ih_name: &str,
) -> Result<Option<Named<'a>>, ImportProblem> {
    let has_bias = |name: &str| {
        let bias = format!("{}bias", name.strip_suffix("weight").unwrap_or_default());
        tensors.iter().any(|(n, _)| *n == bias)
    };
    let found: Vec<&Named<'a>> = tensors
        .iter()
        .filter(|(n, t)| {
            is_plain_weight(n) && n != fc_name && t.shape() == [vocab, input] && !has_bias(n)
        })
        .collect();
    match found[..] {
        [one] => Ok(Some(one.clone())),
        [] if input == vocab => Ok(None),
        [] => Err(ImportProblem::Shape {
            name: ih_name.into(),
            shape: tensors
                .iter()
                .find(|(n, _)| n == ih_name)
                .map(|(_, t)| t.shape().to_vec())
                .unwrap_or_default(),
            expected: format!(
                "the Linear layer has V {vocab} outputs, so the first layer reads V {vocab} \
                 one-hot values, or E values from an nn.Embedding({vocab}, E) table (V × E, no \
                 bias), and the file has no table of {vocab} × {input}"
            ),
        }),
        _ => Err(ImportProblem::Ambiguous {
            what: "the embedding table in front of the first layer (V × E, no bias)",
            candidates: found.iter().map(|(n, _)| n.clone()).collect(),
        }),
    }
}

/// The reverse direction, and a nonlinearity other than tanh in the metadata.
fn refuse_other_architectures(
    tensors: &Listing<'_>,
    metadata: &HashMap<String, String>,
) -> Result<(), ImportProblem> {
    if let Some((name, _)) = tensors.iter().find(|(n, _)| n.contains("_reverse")) {
        return Err(ImportProblem::Bidirectional { name: name.clone() });
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

fn shape_error(name: &str, shape: &[usize], expected: String) -> ImportProblem {
    ImportProblem::Shape {
        name: name.into(),
        shape: shape.to_vec(),
        expected,
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
    let shapes = TorchRnn::shapes(torch.hidden, torch.vocab);
    let tensors: Vec<(String, Vec<usize>, &[f32])> = EXPORT_NAMES
        .iter()
        .zip(shapes)
        .zip(torch.tensors())
        .map(|((name, shape), t)| (name.to_string(), shape, t))
        .collect();
    serialize(&tensors, vocab, meta, Cell::Rnn)
}

/// The bytes of a safetensors file holding a model of any cell and depth
/// as PyTorch's `rnn = nn.RNN / nn.GRU / nn.LSTM(V, H, num_layers=L)` and
/// `fc = nn.Linear(H, V)` (`rnn.weight_ih_l{k}`, …, `fc.weight`,
/// `fc.bias`), every value copied; the metadata as [`torch_bytes`] writes
/// it, with the cell as `charm.cell`.
pub fn stacked_torch_bytes(
    model: &StackedModelView<'_, f32>,
    vocab: &Vocab<'_>,
    meta: &Metadata,
) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let torch = TorchStack::from_stacked(model);
    let mut tensors: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
    for (k, layer) in torch.layers.iter().enumerate() {
        let values = [
            &layer.weight_ih,
            &layer.weight_hh,
            &layer.bias_ih,
            &layer.bias_hh,
        ];
        let stems = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
        for ((stem, shape), t) in stems.iter().zip(torch.layer_shapes(k)).zip(values) {
            tensors.push((format!("rnn.{stem}_l{k}"), shape, t));
        }
    }
    let (h, v) = (torch.hidden, torch.vocab);
    tensors.push(("fc.weight".into(), vec![v, h], &torch.fc_weight));
    tensors.push(("fc.bias".into(), vec![v], &torch.fc_bias));
    serialize(&tensors, vocab, meta, torch.cell)
}

/// Named f32 tensors and charm's metadata as safetensors bytes.
fn serialize(
    tensors: &[(String, Vec<usize>, &[f32])],
    vocab: &Vocab<'_>,
    meta: &Metadata,
    cell: Cell,
) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, t)| t.iter().flat_map(|w| w.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(tensors.len());
    for ((name, shape, _), data) in tensors.iter().zip(&bytes) {
        views.push((
            name.as_str(),
            TensorView::new(Dtype::F32, shape.clone(), data)?,
        ));
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
    match cell {
        Cell::Rnn => info.insert(NONLINEARITY_KEY.into(), "tanh".into()),
        _ => info.insert(CELL_KEY.into(), cell.name().into()),
    };
    safetensors::serialize(views, Some(info))
}
