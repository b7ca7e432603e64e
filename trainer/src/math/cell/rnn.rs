//! The tanh cell's backward.

use super::{Saved, UnitGrad, UnitGradients, MAX_GATES};
use charm_core::Float;

/// `h' = tanh((W_h·h + b_h) + (W_i·x + b_i))`.
pub struct Rnn;

impl UnitGrad for Rnn {
    const GATES: usize = 1;

    #[inline(always)]
    fn forward<F: Float>(x: &[F; MAX_GATES], h: &[F; MAX_GATES], _: [F; 2]) -> ([F; 2], Saved<F>) {
        // charm-core's order: the hidden term, then the input term
        let next = (h[0] + x[0]).tanh();
        (
            [next, F::ZERO],
            [next, F::ZERO, F::ZERO, F::ZERO, F::ZERO, F::ZERO],
        )
    }

    #[inline(always)]
    fn backward<F: Float>(saved: &Saved<F>, _: [F; 2], d: [F; 2]) -> UnitGradients<F> {
        // ∂h'/∂a = 1 − h'² (tanh' = 1 − tanh²), a = both terms' sum
        let da = (F::ONE - saved[0] * saved[0]) * d[0];
        let mut terms = [F::ZERO; MAX_GATES];
        terms[0] = da;
        UnitGradients {
            input_terms: terms,
            hidden_terms: terms,
            prev: [F::ZERO, F::ZERO],
        }
    }
}
