//! The files one training run writes: the model and, beside it, the training
//! state, the CSV log and the SVG loss curve.

use crate::error::Error;
use crate::files::atomic::check_writable;
use crate::files::checkpoint::state_path;
use std::path::{Path, PathBuf};

/// Paths of everything a run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// The model (`.charm`).
    pub model: PathBuf,
    /// The training state (`.state`), for `--resume`.
    pub state: PathBuf,
    /// The log (`.csv`).
    pub csv: PathBuf,
    /// The loss curve (`.svg`).
    pub svg: PathBuf,
}

impl Outputs {
    /// The model at `model` and its side files, same name with other extensions.
    pub fn beside(model: &Path) -> Self {
        Self {
            model: model.into(),
            state: state_path(model),
            csv: model.with_extension("csv"),
            svg: model.with_extension("svg"),
        }
    }

    /// Checks, before any work, that the set can be written.
    pub fn check(&self) -> Result<(), Error> {
        if self.state == self.model {
            return Err(Error::Usage(format!(
                "--out {} ends in .state, the extension of the training state; use e.g. model.charm",
                self.model.display()
            )));
        }
        check_writable(&self.model)
    }
}
