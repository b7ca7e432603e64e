//! The recurrent cells' backward passes, one file per cell as charm-core's
//! `cell` module has one per cell's forward update.
//!
//! Each cell is a type with [`UnitGrad`]: the forward update of one hidden
//! unit in charm-core's order of operations (so the reference's states are
//! the bits of [`charm_core::StackedModelView::step`]; a test checks it),
//! keeping what its backward needs, and that backward: from ∂L/∂h' and
//! ∂L/∂c' to ∂L/∂ of the unit's input terms, hidden terms and previous state.
//! The matrix products around the units are [`super::reference`]'s.

mod gru;
mod lstm;
mod rnn;

pub use gru::Gru;
pub use lstm::Lstm;
pub use rnn::Rnn;

use charm_core::Float;

/// Most gates a cell has (the LSTM's i, f, g, o).
pub const MAX_GATES: usize = 4;

/// What one unit's forward keeps for its backward (a cell uses the first few).
pub type Saved<F> = [F; 6];

/// The gradients one unit's backward returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitGradients<F> {
    /// ∂L/∂(input term of gate g) = ∂L/∂(W_i·x + b_i)_g.
    pub input_terms: [F; MAX_GATES],
    /// ∂L/∂(hidden term of gate g) = ∂L/∂(W_h·h + b_h)_g.
    pub hidden_terms: [F; MAX_GATES],
    /// ∂L/∂[h, c] of the previous state through the update itself (not
    /// through W_h, which the caller adds).
    pub prev: [F; 2],
}

/// One hidden unit of a cell, forward and backward.
pub trait UnitGrad {
    /// Gates per unit, as [`charm_core::Cell::gates`].
    const GATES: usize;

    /// The unit's next state `[h', c']` from its input terms `x[g]`, hidden
    /// terms `h[g]` and previous state `[h, c]`, in charm-core's order of
    /// operations, and what the backward needs.
    fn forward<F: Float>(
        x: &[F; MAX_GATES],
        h: &[F; MAX_GATES],
        prev: [F; 2],
    ) -> ([F; 2], Saved<F>);

    /// The gradients of the unit from `d = [∂L/∂h', ∂L/∂c']`, given what
    /// [`UnitGrad::forward`] saved and the previous state.
    fn backward<F: Float>(saved: &Saved<F>, prev: [F; 2], d: [F; 2]) -> UnitGradients<F>;
}
