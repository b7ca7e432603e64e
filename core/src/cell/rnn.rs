//! The vanilla tanh cell, PyTorch's `nn.RNN(nonlinearity="tanh")`.

use super::{Unit, MAX_GATES};
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
}
