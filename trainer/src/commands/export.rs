//! `charm export`: a `.charm` model to another format. `--format
//! safetensors` writes PyTorch's `nn.RNN` + `nn.Linear` tensors
//! ([`crate::files::pytorch::EXPORT_NAMES`]), or for another cell or depth
//! `nn.GRU` / `nn.LSTM` / `nn.RNN(num_layers=L)` ones, with the vocabulary
//! as `charm.vocab`; `charm import` of the result gives back the same
//! file, bit for bit.

use crate::error::Error;
use crate::files::atomic::write_output;
use crate::files::model_file::ModelBytes;
use crate::files::outputs::{self, Input, Output};
use crate::files::pytorch::{stacked_torch_bytes, torch_bytes, EXPORT_NAMES};
use charm_core::Weights;
use std::path::{Path, PathBuf};

/// The formats `charm export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A safetensors file for PyTorch (`nn.RNN` + `nn.Linear`).
    Safetensors,
}

/// What `charm export` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSettings {
    /// The `.charm` model (f32).
    pub model: PathBuf,
    /// The format to write.
    pub format: ExportFormat,
    /// Where to write it.
    pub output: PathBuf,
    /// Whether an existing file at `output` may be replaced.
    pub force: bool,
}

/// What `charm export` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Hidden size H.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// For a model of another cell or depth than one tanh layer: `gru × 2`.
    pub stacked: Option<String>,
    /// Size of the written file in bytes.
    pub out_bytes: usize,
}

impl ExportReport {
    /// The line printed on stdout.
    pub fn text(&self, s: &ExportSettings) -> String {
        let (h, v) = (self.hidden, self.vocab);
        if let Some(what) = &self.stacked {
            return format!(
                "wrote {} (safetensors, {} bytes) from {}: {what} layers as rnn.weight_ih_l{{k}}, \
                 rnn.weight_hh_l{{k}}, rnn.bias_ih_l{{k}}, rnn.bias_hh_l{{k}} (PyTorch's gate order), \
                 fc.weight [{v}, {h}], fc.bias [{v}], vocabulary in __metadata__ charm.vocab",
                s.output.display(),
                self.out_bytes,
                s.model.display(),
            );
        }
        format!(
            "wrote {} (safetensors, {} bytes) from {}: {} [{h}, {v}], {} [{h}, {h}], {} [{h}], {} [{h}] (zeros), \
             {} [{v}, {h}], {} [{v}], vocabulary in __metadata__ charm.vocab",
            s.output.display(),
            self.out_bytes,
            s.model.display(),
            EXPORT_NAMES[0],
            EXPORT_NAMES[1],
            EXPORT_NAMES[2],
            EXPORT_NAMES[3],
            EXPORT_NAMES[4],
            EXPORT_NAMES[5],
        )
    }
}

/// Runs `charm export`.
pub fn run(s: &ExportSettings) -> Result<ExportReport, Error> {
    let out = Output {
        path: &s.output,
        what: "safetensors file",
        flag: "--out",
        replace: s.force,
    };
    let model = Input {
        path: &s.model,
        what: "model",
    };
    outputs::check(&[out], &[model])?;
    let m = ModelBytes::load(&s.model)?;
    let file = m.file()?;
    let (bytes, described) = match file.weights {
        Weights::F32(weights) => {
            let bytes = match s.format {
                ExportFormat::Safetensors => torch_bytes(&weights, &file.vocab, &file.meta),
            };
            (bytes, None)
        }
        Weights::Stacked(m) => {
            let bytes = match s.format {
                ExportFormat::Safetensors => stacked_torch_bytes(&m, &file.vocab, &file.meta),
            };
            let what = format!("{} × {}", m.cell().name(), m.depth());
            (bytes, Some(what))
        }
        Weights::Int8(_)
        | Weights::Int8Tiles(_)
        | Weights::Int8Fixed(_)
        | Weights::StackedInt8(_)
        | Weights::StackedTiles(_) => {
            return Err(Error::ExportInt8 {
                path: s.model.clone(),
            })
        }
    };
    let bytes = bytes.map_err(|e| write_error(&s.output, e))?;
    write_output(&s.output, &bytes)?;
    Ok(ExportReport {
        hidden: file.weights.hidden(),
        vocab: file.weights.vocab(),
        stacked: described,
        out_bytes: bytes.len(),
    })
}

/// The safetensors writer refused (it cannot for tensors of consistent
/// shapes): reported as a write error of the output.
fn write_error(path: &Path, e: safetensors::SafeTensorError) -> Error {
    Error::Write {
        path: path.into(),
        source: std::io::Error::other(e.to_string()),
    }
}
