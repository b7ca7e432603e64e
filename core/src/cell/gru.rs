//! The gated recurrent unit, PyTorch's `nn.GRU`.

use super::{Unit, MAX_GATES};
#[cfg(feature = "cells")]
use crate::int8::stacked::Int8Layout;
#[cfg(feature = "cells")]
use crate::math::soft_f32::{add, mul};
use crate::Float;

/// PyTorch's `nn.GRU` equations, gates in its order r, z, n:
///
/// ```text
/// r  = σ((W_ir·x + b_ir) + (W_hr·h + b_hr))
/// z  = σ((W_iz·x + b_iz) + (W_hz·h + b_hz))
/// n  = tanh((W_in·x + b_in) + r ⊙ (W_hn·h + b_hn))      (b_hn inside the product)
/// h' = (1 − z) ⊙ n + z ⊙ h
/// ```
///
/// in this order of operations, without fused multiply-add.
pub(crate) struct Gru;

impl Unit for Gru {
    const GATES: usize = 3;
    const STATES: usize = 1;

    #[inline(always)]
    fn update<F: Float>(x: &[F; MAX_GATES], h: &[F; MAX_GATES], prev: [F; 2]) -> [F; 2] {
        let r = (x[0] + h[0]).sigmoid();
        let z = (x[1] + h[1]).sigmoid();
        let n = (x[2] + r * h[2]).tanh();
        [(F::ONE - z) * n + z * prev[0], F::ZERO]
    }

    /// The GRU on state levels (`ONE` = `L::ONE`, levels `q ≈ ONE·v`):
    ///
    /// ```text
    /// rq  = σ_L(x_r + h_r)                       σ_L(u) = (tanh_L(u/2) + ONE + 1) >> 1
    /// zq  = σ_L(x_z + h_z)
    /// nq  = tanh_L(x_n + (rq / ONE)·h_n)         (h_n includes b_hn, as in PyTorch)
    /// hq' = nq + round(zq·(hq − nq) / ONE)       = (1 − z)·n + z·h, exact in i32
    /// ```
    ///
    /// The f32 operations in this order, without fused multiply-add; the
    /// rounding of the last line is to the nearest integer (no ties: ONE
    /// is odd), so `hq'` lies between `nq` and `hq`.
    #[cfg(feature = "cells")]
    #[inline(always)]
    fn update_int8<L: Int8Layout>(
        x: &[f32; MAX_GATES],
        h: &[f32; MAX_GATES],
        prev: (i32, f32),
    ) -> (i32, f32) {
        let r = L::sigmoid(add(x[0], h[0]));
        let z = L::sigmoid(add(x[1], h[1]));
        let n = L::tanh(add(x[2], mul(L::to_f32(r), h[2])));
        (n + L::product(z, prev.0 - n), 0.0)
    }
}
