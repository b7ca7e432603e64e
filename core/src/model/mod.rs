//! Model views: weights borrowed where they lie (flash, a decoded file, the
//! trainer's parameters) and the forward step that reads them.

mod error;
mod rnn;
mod stacked;

pub(crate) use error::check_lengths;
pub use error::{ShapeError, StepError};
pub use rnn::{tensor_lengths, ModelView};
#[cfg(feature = "cells")]
pub(crate) use stacked::layer_tensor_name;
pub use stacked::{layer_tensor_lengths, LayerTensors, StackedModelView};
