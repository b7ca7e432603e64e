//! Scalar arithmetic every target computes to the same bits: the float
//! type the model runs in, and branch-free approximations of `tanh`, `exp`
//! and the sigmoid with a fixed order of operations and a measured error.

pub(crate) mod exp;
mod float;
mod sigmoid;
pub(crate) mod soft_f32;
pub(crate) mod tanh;
pub(crate) mod wide;

pub use exp::exp_f32;
pub use float::Float;
pub use sigmoid::sigmoid_f32;
pub use tanh::tanh_f32;
