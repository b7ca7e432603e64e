//! int8 models: weights quantized per row to int8, stepped with exact
//! integer dot products and a few f32 operations in a fixed order.
//!
//! Two layouts of the same quantized weights, each its own view and step:
//! [`row_pairs`] (a Q15 state; the DSP instructions of the Cortex-M4/M7/M33
//! and every other core) and [`tiles`] (an int8 state; Helium on the
//! Cortex-M55). Both take the state through a table-interpolated tanh
//! ([`tanh_q15`], [`tanh_i8`]).

pub(crate) mod fixed;
pub(crate) mod row_pairs;
#[cfg(feature = "cells")]
pub(crate) mod stacked;
pub(crate) mod tanh_i8;
pub(crate) mod tanh_q15;
pub(crate) mod tensors;
pub(crate) mod tiles;
