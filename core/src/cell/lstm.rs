//! The long short-term memory cell, PyTorch's `nn.LSTM`.

use super::{Unit, MAX_GATES};
#[cfg(feature = "cells")]
use crate::int8::stacked::Int8Layout;
#[cfg(feature = "cells")]
use crate::math::soft_f32::{add, mul};
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

    /// The LSTM on state levels (`ONE` = `L::ONE`), the cell state `c` in
    /// f32:
    ///
    /// ```text
    /// iq, fq, oq = σ_L(x_i + h_i), σ_L(x_f + h_f), σ_L(x_o + h_o)    σ_L(u) = (tanh_L(u/2) + ONE + 1) >> 1
    /// gq  = tanh_L(x_g + h_g)
    /// c'  = (fq/ONE)·c + (iq/ONE)·(gq/ONE)                       (f32, this order, no FMA)
    /// hq' = round(oq·tanh_L(c') / ONE)                           = o ⊙ tanh(c'), exact in i32
    /// ```
    #[cfg(feature = "cells")]
    #[inline(always)]
    fn update_int8<L: Int8Layout>(
        x: &[f32; MAX_GATES],
        h: &[f32; MAX_GATES],
        prev: (i32, f32),
    ) -> (i32, f32) {
        let i = L::sigmoid(add(x[0], h[0]));
        let f = L::sigmoid(add(x[1], h[1]));
        let g = L::tanh(add(x[2], h[2]));
        let o = L::sigmoid(add(x[3], h[3]));
        let c = add(mul(L::to_f32(f), prev.1), mul(L::to_f32(i), L::to_f32(g)));
        (L::product(o, L::tanh(c)), c)
    }
}
