//! The gated recurrent unit, PyTorch's `nn.GRU`.

use super::{Unit, MAX_GATES};
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
}
