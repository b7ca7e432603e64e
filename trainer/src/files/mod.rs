//! Files and the terminal: reading texts and models, writing checkpoints,
//! logs and progress. Nothing here knows the command-line flags.
//!
//! - [`corpus`]: a training text, its vocabulary and train/validation split;
//! - [`model_file`]: reading `.charm` files, with one-sentence errors;
//! - [`atomic`]: writing a file so that a crash leaves the old or the new one;
//! - [`checkpoint`]: the framing of the `.state` file;
//! - [`outputs`]: the set of files one training run writes;
//! - [`log`]: the CSV log and the SVG loss curve;
//! - [`progress`]: the progress bar and the lines above it.

pub mod atomic;
pub mod checkpoint;
pub mod corpus;
pub mod log;
pub mod model_file;
pub mod outputs;
pub mod progress;
