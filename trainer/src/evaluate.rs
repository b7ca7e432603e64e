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

use crate::corpus::read_text;
use crate::error::CliError;
use crate::modelfile::ModelBytes;
use charm_core::{log_softmax_at, Recurrent, StateElement, Vocab, Weights};
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

/// Σ -ln p over `text` as one stream from h = 0, skipping (and counting)
/// characters outside `vocab`. Returns (Σ loss in nats, scored, skipped map).
///
/// For f32 models the step is `ModelView::step`; int8 files run charm-core's
/// int8 step, as the firmware does.
pub fn stream_loss<M: Recurrent>(
    model: &M,
    vocab: &Vocab<'_>,
    text: &str,
) -> (f64, u64, BTreeMap<char, u64>) {
    let (n_state, voc) = (model.state_len(), model.vocab());
    let zero = <M::State as StateElement>::ZERO;
    let (mut h, mut hn) = (vec![zero; n_state], vec![zero; n_state]);
    let mut y = model.output_bias().to_vec(); // y_0 = b_y
    let chars: Vec<char> = vocab.chars().collect();
    let (mut total, mut n) = (0.0f64, 0u64);
    let mut unknown = BTreeMap::new();
    for c in text.chars() {
        let Ok(x) = chars.binary_search(&c) else {
            *unknown.entry(c).or_insert(0) += 1;
            continue;
        };
        total -= log_softmax_at(&y, x) as f64;
        n += 1;
        debug_assert_eq!(y.len(), voc);
        model.step_state(&h, x, &mut hn, &mut y);
        std::mem::swap(&mut h, &mut hn);
    }
    (total, n, unknown)
}

/// Runs `charm eval`.
pub fn run(model_path: &Path, data: &Path) -> Result<EvalReport, CliError> {
    let model = ModelBytes::load(model_path)?;
    let file = model.file()?;
    let text = read_text(data)?;
    let (total, n, unknown) = match file.weights {
        Weights::F32(m) => stream_loss(&m, &file.vocab, &text),
        Weights::Int8(m) => stream_loss(&m, &file.vocab, &text),
    };
    if n == 0 {
        return Err(CliError::Usage(format!(
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
                "\nskipped {} characters not in the model's vocabulary ({} distinct: {}{}); they were left out of the stream and the score",
                self.unknown_chars,
                self.unknown.len(),
                list.join(", "),
                if self.unknown.len() > 20 { ", …" } else { "" }
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;

    #[test]
    fn uniform_model_scores_ln_v_and_skips_unknown() {
        let p = Params::<f32>::zeros(3, 4); // all-zero logits: p = 1/4 everywhere
        let vocab = Vocab::new("abcd").unwrap();
        let (total, n, unknown) = stream_loss(&p.view(), &vocab, "abzcdz!");
        assert_eq!(n, 4);
        assert!((total / 4.0 - 4f64.ln()).abs() < 1e-6);
        assert_eq!(unknown.get(&'z'), Some(&2));
        assert_eq!(unknown.get(&'!'), Some(&1));
    }
}
