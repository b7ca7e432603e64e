//! The mathematics of training: no files, no flags, no terminal.
//!
//! The model is the vanilla tanh RNN, whose forward step is charm-core's
//! [`charm_core::ModelView::step`], or L layers of a GRU, LSTM or tanh cell,
//! whose step is [`charm_core::StackedModelView::step`]; everything here
//! computes on plain numbers and slices.
//!
//! - [`cell`]: the GRU's, LSTM's and tanh cell's backward, one unit at a time;
//! - [`params`]: the parameter vector of a shape, in the layout of its model view, and its initialization;
//! - [`window`]: one window of B streams × T characters, and its dropout mask;
//! - [`mod@reference`]: the plain forward and backward pass through time (the seed's
//!   equations line by line, built on `step`, and its `stacked` part for the other
//!   cells and depths): the reference, generic over the float type;
//! - [`engine`]: the fast batched forward and backward pass (matrix-matrix
//!   products, sharded over threads), checked against [`mod@reference`];
//! - [`stacked_engine`]: the same for GRU, LSTM and stacked layers, checked
//!   against [`mod@reference`]'s loss by a numerical gradient check;
//! - [`shards`]: a batch cut into shards, one per thread, and their gradients summed in order;
//! - [`kernels`], [`gemm`], [`pool`]: what the engines run on (SIMD kernels,
//!   `matrixmultiply`, persistent worker threads);
//! - [`optim`]: gradient clipping, Adagrad, Adam, learning-rate schedules;
//! - [`loss`]: the loss over a whole text (one stream, or batched);
//! - [`generate`]: text from a model through charm-core's `Generator`;
//! - [`torch`]: the same model as PyTorch's `nn.RNN` + `nn.Linear` tensors, both ways;
//! - [`torch_stack`]: any cell and depth (and an `nn.Embedding` folded in) as PyTorch's tensors, both ways.

pub mod cell;
pub mod engine;
pub mod gemm;
pub mod generate;
pub mod kernels;
pub mod loss;
pub mod optim;
pub mod params;
pub mod pool;
pub mod reference;
#[cfg(test)]
pub mod rounding;
#[cfg(test)]
pub mod rounding_stacked;
pub mod shards;
pub mod stacked_engine;
pub mod torch;
pub mod torch_stack;
pub mod window;
