#![doc = include_str!("../README.md")]
//!
//! # The library
//!
//! Training (full backpropagation through time of min-char-rnn's vanilla
//! tanh RNN, h_t = tanh(Wxh·x_t + Whh·h_{t-1} + bh), y_t = Why·h_t + by),
//! sampling, evaluation and inspection of `.charm` weight files.
//!
//! The `charm` command is this library's [`cli`]. The forward step is
//! charm-core's [`charm_core::ModelView::step`]; the parameters live in
//! exactly the layout of [`charm_core::ModelView`], so a view over the
//! trainer's vectors *is* the model and `charm_core::encode` writes it
//! unchanged.
//!
//! ## Layers
//!
//! Each folder is a layer; a module imports only from its own layer and the
//! layers listed before it (checked by `tests/layers.rs`), and the modules of
//! a layer import each other without cycles.
//!
//! | layer | what it knows | where to find |
//! |---|---|---|
//! | [`math`] | numbers: no files, flags or terminal | the parameter vector, the reference backward pass ([`math::reference`]), the fast engine, kernels, optimizers, the loss over a text |
//! | [`error`] | what can go wrong, as one sentence each | [`error::Error`] |
//! | [`files`] | files and the terminal, not flags | the corpus, reading `.charm` files, atomic writes, the checkpoint framing ([`files::checkpoint`]), CSV/SVG log, progress bar |
//! | [`training`] | the algorithm as a run | the run and its steps ([`training::run`]), hyperparameters and presets, the data plan, the training state |
//! | [`commands`] | one file per subcommand | `charm eval` is [`commands::eval`], `charm train` is [`commands::train`], … |
//! | [`cli`] | the flags (clap) | parsing, settings, reporting |
#![deny(missing_docs)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::missing_safety_doc,
    clippy::undocumented_unsafe_blocks
)]

pub mod math;

pub mod error;

pub mod files;

pub mod training;

pub mod commands;

pub mod cli;
