//! The vanilla tanh cell, PyTorch's `nn.RNN(nonlinearity="tanh")`.

use super::{Unit, MAX_GATES};
#[cfg(feature = "cells")]
use crate::int8::stacked::Int8Layout;
#[cfg(feature = "cells")]
use crate::math::soft_f32::add;
use crate::Float;

/// `h' = tanh((W_h·h + b_h) + (W_i·x + b_i))`: one gate, state h.
pub(crate) struct Rnn;

impl Unit for Rnn {
    const GATES: usize = 1;
    const STATES: usize = 1;

    #[inline(always)]
    fn update<F: Float>(x: &[F; MAX_GATES], h: &[F; MAX_GATES], _prev: [F; 2]) -> [F; 2] {
        // the order of ModelView::step: the hidden term, then the input term
        [(h[0] + x[0]).tanh(), F::ZERO]
    }

    /// `hq' = tanh_L((W_h·h + b_h) + (W_i·x + b_i))`, the order of
    /// [`crate::QuantModelView::step`]'s `u_r`.
    #[cfg(feature = "cells")]
    #[inline(always)]
    fn update_int8<L: Int8Layout>(
        x: &[f32; MAX_GATES],
        h: &[f32; MAX_GATES],
        _prev: (i32, f32),
    ) -> (i32, f32) {
        (L::tanh(add(h[0], x[0])), 0.0)
    }
}
