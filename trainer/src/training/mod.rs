//! Training: min-char-rnn's algorithm as a run with named steps.
//!
//! ```text
//! run = prepare(settings)                    validate; resume a checkpoint or initialize θ
//! until the budget is used up or Ctrl-C:
//!     loss = run.step(progress)              forward + BPTT over one window, clip, update
//!     every 1/20 of the budget: run.evaluate()   validation loss, a sample every 4th time;
//!         no better validation for --patience evaluations: stop early
//!     every --checkpoint-every seconds: run.checkpoint()
//! run.evaluate(); run.checkpoint()           finish
//! ```
//!
//! - [`config`]: the hyperparameters, presets, and the values given on top;
//! - [`data`]: which characters each step reads;
//! - [`settings`]: what `charm train` was asked to do;
//! - [`run`]: the run and its steps;
//! - [`session`]: the loop that takes a run to its end;
//! - [`state`]: what a checkpoint stores to continue exactly;
//! - [`cadence`]: the budget, and when to evaluate;
//! - [`early_stopping`]: when a run whose validation loss stopped improving ends;
//! - [`memory`]: the memory a run needs, checked before it starts.

pub mod cadence;
pub mod config;
pub mod data;
pub mod early_stopping;
pub mod memory;
pub mod run;
pub mod session;
pub mod settings;
pub mod state;

pub use cadence::Budget;
pub use config::{EngineKind, Overrides, Preset, TrainConfig};
pub use early_stopping::Patience;
pub use run::Run;
pub use session::{train, Outcome, Report};
pub use settings::TrainSettings;
pub use state::TrainState;
