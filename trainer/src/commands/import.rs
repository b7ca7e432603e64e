//! `charm import`: a PyTorch model (safetensors) to a `.charm` file.
//!
//! Reads `nn.RNN(tanh)`, `nn.GRU` or `nn.LSTM` (1 to 4 layers, an optional
//! `nn.Embedding` in front) + `nn.Linear(H, V)` ([`crate::files::pytorch`]),
//! puts its characters in charm's order (sorted by code point, the tensors
//! following them), and writes the f32 model atomically (never over an
//! input; over an existing file only with `force`): one tanh layer as
//! format version 1 with `bh = b_ih + b_hh` ([`crate::math::torch`]), any
//! other cell or depth as version 5 with every value copied
//! ([`crate::math::torch_stack`]).

use crate::commands::info;
use crate::error::Error;
use crate::files::atomic::write_output;
use crate::files::input::read_regular;
use crate::files::outputs::{self, Input, Output};
use crate::files::pytorch::{read_torch, VocabOverride};
use crate::math::torch_stack::CharmModel;
use charm_core::{encode, encode_any, FormatError, Vocab, Weights};
use std::path::PathBuf;

/// Largest safetensors file read: the largest model the format holds is far smaller.
const MAX_SAFETENSORS_BYTES: u64 = 4 << 30;
/// Largest --vocab file read (65,536 characters of at most 4 bytes each).
const MAX_VOCAB_FILE_BYTES: u64 = 4 * charm_core::MAX_VOCAB as u64;

/// What `charm import` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSettings {
    /// The safetensors file.
    pub input: PathBuf,
    /// A file holding the characters in index order, instead of the metadata's `charm.vocab`.
    pub vocab: Option<PathBuf>,
    /// The `.charm` file to write.
    pub output: PathBuf,
    /// Whether an existing file at `output` may be replaced.
    pub force: bool,
}

/// What `charm import` did, for its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Hidden size H.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// The tensors read and what they were read as.
    pub read: String,
    /// How the biases were stored: one tanh layer's `bh = b_ih + b_hh`.
    pub biases: Option<(String, String)>,
    /// Size of the written file in bytes.
    pub out_bytes: usize,
    /// Which boards the model fits ([`info::fit_line`]).
    pub fit: String,
}

impl ImportReport {
    /// The lines printed on stdout.
    pub fn text(&self, settings: &ImportSettings) -> String {
        let biases = match &self.biases {
            Some((ih, hh)) => format!("; bh = {ih} + {hh}"),
            None => String::new(),
        };
        format!(
            "wrote {} (f32, H {}, V {}, {} bytes) from {}: {}{biases}\n{}",
            settings.output.display(),
            self.hidden,
            self.vocab,
            self.out_bytes,
            settings.input.display(),
            self.read,
            self.fit
        )
    }
}

/// Runs `charm import`.
pub fn run(s: &ImportSettings) -> Result<ImportReport, Error> {
    let out = Output {
        path: &s.output,
        what: "charm model",
        flag: "--out",
        replace: s.force,
    };
    let mut inputs = vec![Input {
        path: &s.input,
        what: "safetensors model",
    }];
    if let Some(v) = &s.vocab {
        inputs.push(Input {
            path: v,
            what: "vocabulary file",
        });
    }
    outputs::check(&[out], &inputs)?;

    let bytes = read_regular(&s.input, MAX_SAFETENSORS_BYTES, "safetensors")?;
    let vocab_text = match &s.vocab {
        Some(path) => {
            let raw = read_regular(path, MAX_VOCAB_FILE_BYTES, "vocabulary")?;
            Some(String::from_utf8(raw).map_err(|e| Error::InvalidUtf8 {
                path: path.clone(),
                offset: e.utf8_error().valid_up_to(),
            })?)
        }
        None => None,
    };
    let vocab_name = s.vocab.as_ref().map(|p| p.display().to_string());
    let given = vocab_text
        .as_deref()
        .zip(vocab_name.as_deref())
        .map(|(text, source_name)| VocabOverride { text, source_name });
    let imported = read_torch(&bytes, given).map_err(|problem| Error::Import {
        path: s.input.clone(),
        problem,
    })?;
    let (model, sorted) = imported.to_charm();
    let vocab = Vocab::new(&sorted).expect("sorted distinct characters are a vocabulary");
    let model_error = |error| Error::Model {
        path: s.output.clone(),
        error,
    };
    let (hidden, v) = (imported.torch.hidden, imported.torch.vocab);
    let (file, biases) = match &model {
        CharmModel::Rnn(params) => (
            encode(&params.view(), &vocab, &imported.meta).map_err(model_error)?,
            Some((imported.names[2].clone(), imported.names[3].clone())),
        ),
        CharmModel::Stacked(tensors) => {
            // to_charm gives every tensor its length for the cell, H, V and
            // depth (1 to 4, H and V at least 1), all checked when reading.
            let view = tensors
                .view()
                .map_err(|_| model_error(FormatError::Malformed))?;
            let weights = Weights::Stacked(view);
            let file = encode_any(&weights, &vocab, &imported.meta).map_err(model_error)?;
            (file, None)
        }
    };
    write_output(&s.output, &file)?;
    Ok(ImportReport {
        hidden,
        vocab: v,
        read: imported.describe(),
        biases,
        out_bytes: file.len(),
        fit: match &model {
            CharmModel::Rnn(_) => info::fit_line(hidden, v, info::Element::F32, file.len()),
            // the boards whose cells firmware runs it
            CharmModel::Stacked(_) => {
                let (cell, depth) = (imported.torch.cell, imported.torch.layers.len());
                info::stacked_shape(cell, depth, hidden, v)
                    .map(|shape| info::stacked_fit_line(&shape, info::Element::F32, file.len()))
                    .unwrap_or_default()
            }
        },
    })
}
