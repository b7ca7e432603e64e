//! charm-trainer: the desktop side of charm.
//!
//! Training (full backpropagation through time of the vanilla tanh RNN of
//! `../shared/DESIGN.md`), sampling, evaluation and inspection of `.charm`
//! weight files. The forward step is charm-core's [`charm_core::ModelView::step`];
//! the parameters live in exactly the layout of [`charm_core::ModelView`], so a
//! view over the trainer's vectors *is* the model and `charm_core::encode`
//! writes it unchanged.
//!
//! Modules, one job each:
//! - [`cli`]: the `charm` command line (clap) and error reporting;
//! - [`corpus`]: reading a text file, vocabulary, train/validation split;
//! - [`params`]: the parameter vector and its initialization;
//! - [`backward`]: the plain forward (via `step`) and backward pass, generic over the float type;
//! - [`fast`]: the batched forward/backward with matrix-matrix products (verified against [`backward`]);
//! - [`gemm`]: a safe wrapper over `matrixmultiply`;
//! - [`kernels`]: trainer-only SIMD kernels (products, softmax, fused Adagrad);
//! - [`pool`]: persistent worker threads for the shards of a batch;
//! - [`optim`]: gradient clipping, Adagrad, Adam, learning-rate schedules;
//! - [`checkpoint`]: atomic writes, the resumable training state;
//! - [`modelfile`]: reading `.charm` files with one-sentence errors;
//! - [`train`], [`evaluate`], [`sample`], [`info`], [`bench`], [`quantize`]: the subcommands;
//! - [`progress`], [`plot`]: progress bar, CSV log and SVG loss curve;
//! - [`error`]: the typed errors the CLI prints as one sentence.
#![deny(missing_docs)]

pub mod backward;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod corpus;
pub mod error;
pub mod evaluate;
pub mod fast;
pub mod gemm;
pub mod info;
pub mod kernels;
pub mod modelfile;
pub mod optim;
pub mod params;
pub mod plot;
pub mod pool;
pub mod progress;
pub mod quantize;
pub mod sample;
pub mod train;
