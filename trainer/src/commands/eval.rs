//! `charm eval`: the loss of a model over a whole text.
//!
//! The text is one stream from h_0 = 0, and every character is scored,
//! including the first (predicted from y_0 = W_hy·0 + b_y = b_y, as
//! [`charm_core::Generator`] samples it): loss = -(1/N) Σ_t ln p(c_t | c_<t).
//! The forward pass is charm-core's `ModelView::step`.
//!
//! Characters outside the model's vocabulary: they are skipped, i.e. removed
//! from the stream (neither scored nor fed), and counted; the report names how
//! many there were and which.

use crate::error::Error;
use crate::files::corpus::read_text;
use crate::files::model_file::ModelBytes;
use crate::math::loss::stream_loss;
use charm_core::Weights;
use std::collections::BTreeMap;
use std::path::Path;

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalReport {
    /// Model file.
    pub model: String,
    /// Text file.
    pub data: String,
    /// Characters scored.
    pub chars: u64,
    /// Mean loss, nats per character.
    pub loss_nats_per_char: f64,
    /// Mean loss, bits per character.
    pub loss_bits_per_char: f64,
    /// Perplexity per character, e^loss.
    pub perplexity: f64,
    /// Characters skipped because the vocabulary lacks them.
    pub unknown_chars: u64,
    /// The distinct skipped characters, with their counts.
    pub unknown: BTreeMap<char, u64>,
}

/// Runs `charm eval`.
pub fn run(model_path: &Path, data: &Path) -> Result<EvalReport, Error> {
    let model = ModelBytes::load(model_path)?;
    let file = model.file()?;
    let text = read_text(data)?;
    let (total, n, unknown) = match file.weights {
        Weights::F32(m) => stream_loss(&m, &file.vocab, &text),
        Weights::Int8(m) => stream_loss(&m, &file.vocab, &text),
        Weights::Int8Tiles(m) => stream_loss(&m, &file.vocab, &text),
        Weights::Int8Fixed(m) => stream_loss(&m, &file.vocab, &text),
        Weights::Stacked(m) => stream_loss(&m, &file.vocab, &text),
        Weights::StackedInt8(m) => stream_loss(&m, &file.vocab, &text),
        Weights::StackedTiles(m) => stream_loss(&m, &file.vocab, &text),
    };
    if n == 0 {
        return Err(Error::Usage(format!(
            "{} has no characters of the model's vocabulary to score; give a non-empty text like the training data",
            data.display()
        )));
    }
    let loss = total / n as f64;
    Ok(EvalReport {
        model: model_path.display().to_string(),
        data: data.display().to_string(),
        chars: n,
        loss_nats_per_char: loss,
        loss_bits_per_char: loss / std::f64::consts::LN_2,
        perplexity: loss.exp(),
        unknown_chars: unknown.values().sum(),
        unknown,
    })
}

impl EvalReport {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}: {:.4} nats/char, {:.4} bits/char (perplexity {:.3}) over {} characters of {}",
            self.model,
            self.loss_nats_per_char,
            self.loss_bits_per_char,
            self.perplexity,
            self.chars,
            self.data
        );
        if self.unknown_chars > 0 {
            let list: Vec<String> = self
                .unknown
                .iter()
                .take(20)
                .map(|(c, k)| format!("{c:?}×{k}"))
                .collect();
            s.push_str(&format!(
                "\nskipped {} not in the model's vocabulary ({} distinct: {}{}); they were left out of the stream and the score",
                count(self.unknown_chars, "character"),
                self.unknown.len(),
                list.join(", "),
                if self.unknown.len() > 20 { ", …" } else { "" }
            ));
        }
        s
    }
}

/// `1 character`, `2 characters`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
