//! Why weights cannot form a model, or a step cannot run: shared by every
//! model view.

use crate::sentence::{display_sentence, Explain, SentenceOut};

/// Why a set of tensors cannot form a model.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeError {
    /// Hidden size or vocabulary size is zero.
    Empty,
    /// A tensor's length is not what `hidden` and `vocab` require.
    TensorLength {
        /// Which tensor: `"wxh"`, `"whh"`, `"bh"`, `"why"` or `"by"`.
        tensor: &'static str,
        /// The length the shape requires.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A padding weight of a tiled int8 tensor (a column from H on, or a
    /// row from H or V on) is not zero.
    NonzeroPadding {
        /// Which tensor.
        tensor: &'static str,
    },
    /// A stacked model has no layers or more than it may have.
    Depth {
        /// Layers given.
        layers: usize,
        /// The most a model may have ([`crate::MAX_LAYERS`]).
        max: usize,
    },
    /// An int8 model of other cells or depths has more hidden units than
    /// its exact i32 sums allow (feature `cells`).
    #[cfg(feature = "cells")]
    HiddenTooLarge {
        /// The model's hidden size.
        hidden: usize,
        /// The most an int8 model may have ([`crate::MAX_HIDDEN_INT8`]).
        max: usize,
    },
    /// An integer multiplier, bias or shift of a fixed int8 model is
    /// outside the range its overflow-free step needs
    /// ([`crate::FixedModelView`]).
    OutOfRange {
        /// Which tensor.
        tensor: &'static str,
    },
    /// A state or logits buffer has the wrong length.
    BufferLength {
        /// Which buffer.
        buffer: &'static str,
        /// The length the shape requires.
        expected: usize,
        /// The length given.
        found: usize,
    },
}

impl Explain for ShapeError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            ShapeError::Empty => out.text("hidden size and vocabulary size must be at least 1"),
            ShapeError::TensorLength {
                tensor,
                expected,
                found,
            } => {
                out.text("tensor ");
                out.text(tensor);
                out.fill(" has {} elements, the shape needs {}", &[found, expected]);
            }
            ShapeError::NonzeroPadding { tensor } => {
                out.text("tensor ");
                out.text(tensor);
                out.text(" has a padding weight that is not zero");
            }
            ShapeError::Depth { layers, max } => {
                out.fill("a model has 1 to {} layers, not {}", &[max, layers])
            }
            #[cfg(feature = "cells")]
            ShapeError::HiddenTooLarge { hidden, max } => out.fill(
                "an int8 model has at most {} hidden units, not {}",
                &[max, hidden],
            ),
            ShapeError::OutOfRange { tensor } => {
                out.text("tensor ");
                out.text(tensor);
                out.text(" has a value outside the range of the fixed int8 layout");
            }
            ShapeError::BufferLength {
                buffer,
                expected,
                found,
            } => {
                out.text("buffer ");
                out.text(buffer);
                out.fill(" has {} elements, the model needs {}", &[found, expected]);
            }
        }
    }
}

impl core::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

/// The first named tensor whose length differs from its expected one, as
/// [`ShapeError::TensorLength`].
pub(crate) fn check_lengths<T>(
    given: &[(&'static str, &[T])],
    expected: &[usize],
) -> Result<(), ShapeError> {
    for (&(tensor, t), &expected) in given.iter().zip(expected) {
        if t.len() != expected {
            return Err(ShapeError::TensorLength {
                tensor,
                expected,
                found: t.len(),
            });
        }
    }
    Ok(())
}

/// Why a step could not run.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepError {
    /// The buffers do not fit the model.
    Shape(ShapeError),
    /// The input character index is not below V.
    InputOutOfRange {
        /// The index given.
        index: usize,
        /// The vocabulary size.
        vocab: usize,
    },
}

impl Explain for StepError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            StepError::Shape(e) => e.explain(out),
            StepError::InputOutOfRange { index, vocab } => out.fill(
                "input index {} is outside the vocabulary of {}",
                &[index, vocab],
            ),
        }
    }
}

impl core::fmt::Display for StepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}
