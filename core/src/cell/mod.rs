//! The recurrent cells: how one hidden unit turns its gates' pre-activations
//! and its previous state into its next state, with PyTorch's equations.
//!
//! A cell is a file of its own ([`rnn`], [`gru`], [`lstm`]): a type with
//! [`Unit`], which says how many gates a unit has, how many state vectors a
//! layer carries, and the update. The matrix-vector products that make the
//! pre-activations are the model's ([`crate::StackedModelView`]), the same
//! for every cell.

mod gru;
mod lstm;
mod rnn;

pub(crate) use gru::Gru;
pub(crate) use lstm::Lstm;
pub(crate) use rnn::Rnn;

#[cfg(feature = "cells")]
use crate::int8::stacked::Int8Layout;
use crate::Float;

/// Most layers a model may stack.
pub const MAX_LAYERS: usize = 4;

/// Most gates a cell has (the LSTM's i, f, g, o).
pub(crate) const MAX_GATES: usize = 4;

/// Which recurrent cell a model's layers are made of.
///
/// ```
/// use charm_core::Cell;
/// assert_eq!(Cell::Gru.gates(), 3);
/// assert_eq!(Cell::Lstm.state_vectors(), 2);
/// assert_eq!(Cell::from_code(Cell::Lstm.code()), Some(Cell::Lstm));
/// assert_eq!(Cell::from_code(7), None);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cell {
    /// PyTorch's `nn.RNN` with tanh: `h' = tanh(W_i·x + b_i + W_h·h + b_h)`.
    Rnn,
    /// PyTorch's `nn.GRU`: gates r, z, n.
    Gru,
    /// PyTorch's `nn.LSTM`: gates i, f, g, o and a cell state c.
    Lstm,
}

impl Cell {
    /// Every cell, in the order of their codes.
    pub const ALL: [Cell; 3] = [Cell::Rnn, Cell::Gru, Cell::Lstm];

    /// Gates per hidden unit: the rows of `W_i` and `W_h` are `gates() · H`
    /// (PyTorch's `weight_ih_l{k}` has `gates() · hidden_size` rows).
    pub const fn gates(self) -> usize {
        match self {
            Cell::Rnn => Rnn::GATES,
            Cell::Gru => Gru::GATES,
            Cell::Lstm => Lstm::GATES,
        }
    }

    /// State vectors of H values a layer carries from step to step: h, and
    /// for an LSTM the cell state c too.
    pub const fn state_vectors(self) -> usize {
        match self {
            Cell::Rnn => Rnn::STATES,
            Cell::Gru => Gru::STATES,
            Cell::Lstm => Lstm::STATES,
        }
    }

    /// The cell's code in a weight file: 0 rnn, 1 gru, 2 lstm.
    pub const fn code(self) -> u8 {
        match self {
            Cell::Rnn => 0,
            Cell::Gru => 1,
            Cell::Lstm => 2,
        }
    }

    /// The cell of a code in a weight file, or `None` for a code this build
    /// does not know.
    pub const fn from_code(code: u8) -> Option<Cell> {
        match code {
            0 => Some(Cell::Rnn),
            1 => Some(Cell::Gru),
            2 => Some(Cell::Lstm),
            _ => None,
        }
    }

    /// `"rnn"`, `"gru"` or `"lstm"`: the name `charm train --cell` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Cell::Rnn => "rnn",
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }
}

/// One hidden unit of a cell.
pub(crate) trait Unit {
    /// Gates per unit ([`Cell::gates`]).
    const GATES: usize;
    /// State vectors per layer ([`Cell::state_vectors`]): 1 (h) or 2 (h, c).
    const STATES: usize;

    /// The unit's next state from its gates' input terms `x[g] = (W_i·x +
    /// b_i)_g` and hidden terms `h[g] = (W_h·h + b_h)_g` (the first
    /// [`Unit::GATES`] entries of each, in PyTorch's gate order) and its
    /// previous state `[h, c]` (`c` is 0 and ignored unless
    /// `STATES == 2`). Returns the next `[h, c]`.
    fn update<F: Float>(x: &[F; MAX_GATES], h: &[F; MAX_GATES], prev: [F; 2]) -> [F; 2];

    /// The same update for an int8 model of layout `L`
    /// ([`crate::Int8StackedModelView::step`]): the gates' terms in f32 as
    /// above, the previous h as a state level `hq` (`h ≈ hq / L::ONE`) and
    /// the previous c (an LSTM's; 0 otherwise) in f32. Returns the next
    /// `(hq, c)`. Every tanh is the layout's table (`tanh_q15` or
    /// `tanh_i8`) and every σ is `(1 + tanh(u/2)) / 2` from the same
    /// table ([`Int8Layout::sigmoid`]), so the host and every core compute
    /// the same integers.
    #[cfg(feature = "cells")]
    fn update_int8<L: Int8Layout>(
        x: &[f32; MAX_GATES],
        h: &[f32; MAX_GATES],
        prev: (i32, f32),
    ) -> (i32, f32);
}
