//! The LSTM's backward (PyTorch's `nn.LSTM`).

use super::{Saved, UnitGrad, UnitGradients, MAX_GATES};
use charm_core::Float;

/// Forward (charm-core's, gates i, f, g, o):
///
/// ```text
/// i = σ(x_i + h_i)   f = σ(x_f + h_f)   g = tanh(x_g + h_g)   o = σ(x_o + h_o)
/// c' = f ⊙ c + i ⊙ g
/// h' = o ⊙ tanh(c')
/// ```
///
/// Backward, with `δh = ∂L/∂h'` and `δc = ∂L/∂c'` (from the next step):
///
/// ```text
/// ∂L/∂c' (total) = δc + δh o (1 − tanh²(c'))
/// ∂L/∂o = δh tanh(c')        ∂L/∂a_o = ∂L/∂o o (1 − o)
/// ∂L/∂i = ∂L/∂c' g           ∂L/∂a_i = ∂L/∂i i (1 − i)
/// ∂L/∂g = ∂L/∂c' i           ∂L/∂a_g = ∂L/∂g (1 − g²)
/// ∂L/∂f = ∂L/∂c' c           ∂L/∂a_f = ∂L/∂f f (1 − f)
/// ∂L/∂c (direct) = ∂L/∂c' f  ∂L/∂x_k = ∂L/∂h_k = ∂L/∂a_k for each gate k
/// ```
pub struct Lstm;

impl UnitGrad for Lstm {
    const GATES: usize = 4;

    #[inline(always)]
    fn forward<F: Float>(
        x: &[F; MAX_GATES],
        h: &[F; MAX_GATES],
        prev: [F; 2],
    ) -> ([F; 2], Saved<F>) {
        let i = (x[0] + h[0]).sigmoid();
        let f = (x[1] + h[1]).sigmoid();
        let g = (x[2] + h[2]).tanh();
        let o = (x[3] + h[3]).sigmoid();
        let c = f * prev[1] + i * g;
        let tc = c.tanh();
        ([o * tc, c], [i, f, g, o, tc, F::ZERO])
    }

    #[inline(always)]
    fn backward<F: Float>(saved: &Saved<F>, prev: [F; 2], d: [F; 2]) -> UnitGradients<F> {
        let [i, f, g, o, tc, _] = *saved;
        let [dh, dc_next] = d;
        let dc = dc_next + dh * o * (F::ONE - tc * tc);
        let da = [
            dc * g * i * (F::ONE - i),
            dc * prev[1] * f * (F::ONE - f),
            dc * i * (F::ONE - g * g),
            dh * tc * o * (F::ONE - o),
        ];
        UnitGradients {
            input_terms: da,
            hidden_terms: da,
            prev: [F::ZERO, dc * f],
        }
    }
}
