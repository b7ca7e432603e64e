//! The long short-term memory cell, PyTorch's `nn.LSTM`.

use super::{Unit, MAX_GATES};
use crate::Float;

/// PyTorch's `nn.LSTM` equations, gates in its order i, f, g, o:
///
/// ```text
/// i  = σ((W_ii·x + b_ii) + (W_hi·h + b_hi))
/// f  = σ((W_if·x + b_if) + (W_hf·h + b_hf))
/// g  = tanh((W_ig·x + b_ig) + (W_hg·h + b_hg))
/// o  = σ((W_io·x + b_io) + (W_ho·h + b_ho))
/// c' = f ⊙ c + i ⊙ g
/// h' = o ⊙ tanh(c')
/// ```
///
/// in this order of operations, without fused multiply-add. A layer carries
/// two state vectors, h and c.
pub(crate) struct Lstm;

impl Unit for Lstm {
    const GATES: usize = 4;
    const STATES: usize = 2;

    #[inline(always)]
    fn update<F: Float>(x: &[F; MAX_GATES], h: &[F; MAX_GATES], prev: [F; 2]) -> [F; 2] {
        let i = (x[0] + h[0]).sigmoid();
        let f = (x[1] + h[1]).sigmoid();
        let g = (x[2] + h[2]).tanh();
        let o = (x[3] + h[3]).sigmoid();
        let c = f * prev[1] + i * g;
        [o * c.tanh(), c]
    }
}
