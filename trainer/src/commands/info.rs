//! `charm info`: what is in a model file.

use crate::error::Error;
use crate::files::model_file::ModelBytes;
use crate::math::params::Params;
use std::path::Path;

/// Everything `charm info` reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Info {
    /// The file.
    pub file: String,
    /// Size in bytes.
    pub file_size: usize,
    /// Weight format version.
    pub format_version: u16,
    /// Tensor element type: "f32" or "int8".
    pub element: String,
    /// Bytes of tensor data.
    pub tensor_bytes: usize,
    /// Hidden size H.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab_size: usize,
    /// The vocabulary, in index order.
    pub vocab: String,
    /// Real parameters: 2·V·H + H·H + H + V.
    pub parameters: usize,
    /// Optimizer steps.
    pub steps: u64,
    /// Training characters consumed.
    pub chars_seen: u64,
    /// Smoothed training loss at the end, nats/char.
    pub train_loss_nats_per_char: f64,
    /// Validation loss at the end, nats/char (trainer's estimate).
    pub val_loss_nats_per_char: f64,
    /// CRC-32 of the training corpus.
    pub corpus_crc32: String,
    /// Training corpus length in characters.
    pub corpus_chars: u64,
    /// Training seed.
    pub seed: u64,
}

/// Reads a model file's facts.
pub fn run(path: &Path) -> Result<Info, Error> {
    let m = ModelBytes::load(path)?;
    let f = m.file()?;
    let (hidden, vocab_size) = (f.weights.hidden(), f.weights.vocab());
    Ok(Info {
        file: path.display().to_string(),
        file_size: m.size(),
        format_version: f.version,
        element: f.weights.element_name().to_string(),
        tensor_bytes: f.weights.tensor_bytes(),
        hidden,
        vocab_size,
        vocab: f.vocab.as_str().to_string(),
        parameters: Params::<f32>::count(hidden, vocab_size),
        steps: f.meta.steps,
        chars_seen: f.meta.chars_seen,
        train_loss_nats_per_char: f.meta.train_loss as f64,
        val_loss_nats_per_char: f.meta.val_loss as f64,
        corpus_crc32: format!("{:08x}", f.meta.corpus_crc32),
        corpus_chars: f.meta.corpus_chars,
        seed: f.meta.seed,
    })
}

impl Info {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let vocab: String = self.vocab.escape_debug().collect();
        format!(
            "file:            {} ({} bytes)\nformat version:  {} ({} weights, {} bytes of tensors)\nhidden size H:   {}\nvocabulary V:    {} characters: \"{}\"\n\
             parameters:      {}\ntraining:        {} steps, {} characters seen, seed {}\n\
             loss:            train {:.4} nats/char, validation {:.4} nats/char ({:.4} bits/char)\n\
             corpus:          {} characters, CRC-32 {}",
            self.file,
            self.file_size,
            self.format_version,
            self.element,
            self.tensor_bytes,
            self.hidden,
            self.vocab_size,
            vocab,
            self.parameters,
            self.steps,
            self.chars_seen,
            self.seed,
            self.train_loss_nats_per_char,
            self.val_loss_nats_per_char,
            self.val_loss_nats_per_char / std::f64::consts::LN_2,
            self.corpus_chars,
            self.corpus_crc32
        )
    }
}
