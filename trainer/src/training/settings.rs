//! What `charm train` was asked to do, validated by the command line.

use crate::training::cadence::Budget;
use crate::training::config::{Overrides, Preset};
use crate::training::early_stopping::Patience;
use std::path::PathBuf;

/// What `charm train` was asked to do, validated by the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    /// Training text; `None`: the built-in corpus.
    pub data: Option<PathBuf>,
    /// Where to write the model; `None`: beside the resumed state, or `charm.charm`.
    pub out: Option<PathBuf>,
    /// A checkpoint to continue (the `.state` file or the model beside it).
    pub resume: Option<PathBuf>,
    /// The defaults the overrides apply to (ignored when resuming).
    pub preset: Preset,
    /// Hyperparameters given explicitly.
    pub overrides: Overrides,
    /// When to stop.
    pub budget: Budget,
    /// When to stop before the budget is used up.
    pub patience: Patience,
    /// Seconds between checkpoints (also written at the end and on Ctrl-C).
    pub checkpoint_every: f64,
    /// No progress bar, samples or log lines.
    pub quiet: bool,
    /// Replace existing output files (never an input).
    pub force: bool,
    /// Testing aid: stop as if interrupted just before this step.
    pub interrupt_at: Option<u64>,
}

impl TrainSettings {
    /// The model path: `out`, else the resumed model, else `charm.charm`.
    pub fn out_path(&self) -> PathBuf {
        match (&self.out, &self.resume) {
            (Some(p), _) => p.clone(),
            (None, Some(r)) if r.extension().is_some_and(|e| e == "state") => {
                r.with_extension("charm")
            }
            (None, Some(r)) => r.clone(),
            (None, None) => PathBuf::from("charm.charm"),
        }
    }
}
