//! The GRU's backward (PyTorch's `nn.GRU`).

use super::{Saved, UnitGrad, UnitGradients, MAX_GATES};
use charm_core::Float;

/// Forward (charm-core's, gates r, z, n):
///
/// ```text
/// r  = σ(x_r + h_r)          x_g = (W_i·x + b_i)_g,  h_g = (W_h·h + b_h)_g
/// z  = σ(x_z + h_z)
/// n  = tanh(x_n + r ⊙ h_n)   (b_hn inside the product)
/// h' = (1 − z) ⊙ n + z ⊙ h
/// ```
///
/// Backward, with `δ = ∂L/∂h'`:
///
/// ```text
/// ∂L/∂n = δ (1 − z)            ∂L/∂a_n = ∂L/∂n (1 − n²)          a_n = x_n + r h_n
/// ∂L/∂x_n = ∂L/∂a_n            ∂L/∂h_n = ∂L/∂a_n r               ∂L/∂r = ∂L/∂a_n h_n
/// ∂L/∂z = δ (h − n)            ∂L/∂x_z = ∂L/∂h_z = ∂L/∂z z (1 − z)
///                              ∂L/∂x_r = ∂L/∂h_r = ∂L/∂r r (1 − r)
/// ∂L/∂h (direct) = δ z
/// ```
pub struct Gru;

impl UnitGrad for Gru {
    const GATES: usize = 3;

    #[inline(always)]
    fn forward<F: Float>(
        x: &[F; MAX_GATES],
        h: &[F; MAX_GATES],
        prev: [F; 2],
    ) -> ([F; 2], Saved<F>) {
        let r = (x[0] + h[0]).sigmoid();
        let z = (x[1] + h[1]).sigmoid();
        let n = (x[2] + r * h[2]).tanh();
        let next = (F::ONE - z) * n + z * prev[0];
        ([next, F::ZERO], [r, z, n, h[2], F::ZERO, F::ZERO])
    }

    #[inline(always)]
    fn backward<F: Float>(saved: &Saved<F>, prev: [F; 2], d: [F; 2]) -> UnitGradients<F> {
        let [r, z, n, h_n, _, _] = *saved;
        let delta = d[0];
        let da_n = delta * (F::ONE - z) * (F::ONE - n * n);
        let dr = da_n * h_n;
        let da_r = dr * r * (F::ONE - r);
        let da_z = delta * (prev[0] - n) * z * (F::ONE - z);
        UnitGradients {
            input_terms: [da_r, da_z, da_n, F::ZERO],
            hidden_terms: [da_r, da_z, da_n * r, F::ZERO],
            prev: [delta * z, F::ZERO],
        }
    }
}
