//! What a decoded file holds: its weights in either element type, borrowed
//! from the file's bytes, and its vocabulary and metadata.

use super::{
    FormatError, Metadata, ELEMENT_F32, ELEMENT_INT8, ELEMENT_INT8_FIXED, ELEMENT_INT8_TILES,
};
use crate::cell::Cell;
use crate::int8::fixed::{fixed_tensor_lengths, FixedModelView};
use crate::int8::row_pairs::{quant_tensor_lengths, QuantModelView};
#[cfg(feature = "cells")]
use crate::int8::stacked::{
    int8_layer_tensor_lengths, Int8Layout, QuantStackedModelView, TiledStackedModelView,
};
use crate::int8::tensors::QuantTensors;
use crate::int8::tiles::{tile_tensor_lengths, TiledModelView};
#[cfg(feature = "cells")]
use crate::kernels::padded;
#[cfg(feature = "cells")]
use crate::model::StackedModelView;
use crate::model::{tensor_lengths, ModelView};
use crate::vocab::Vocab;

/// A decoded weight file: everything borrowed from the bytes it came from.
#[derive(Debug, Clone, Copy)]
pub struct CharmFile<'a> {
    /// The file's format version.
    pub version: u16,
    /// The vocabulary.
    pub vocab: Vocab<'a>,
    /// Training metadata.
    pub meta: Metadata,
    /// The weights, in place.
    pub model: ModelView<'a, f32>,
    /// Length of the file within the decoded bytes (which may go on, as flash does).
    pub len: usize,
}

/// The weights of a decoded file: one of three element types, or a model of
/// any cell and depth (format version 5).
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// f32 tensors (element type 0).
    F32(ModelView<'a, f32>),
    /// int8 tensors with per-row scales as row pairs, Q15 state (element type 1).
    Int8(QuantModelView<'a>),
    /// int8 tensors with per-row scales as tiles, int8 state (element type 2).
    Int8Tiles(TiledModelView<'a>),
    /// int8 row pairs with integer multipliers and biases, Q15 state, an
    /// integer step and sampler (element type 3).
    Int8Fixed(FixedModelView<'a>),
    /// f32 tensors of L layers of one cell (element type 0, format version 5;
    /// feature `cells`, so that a firmware of one tanh layer carries none of it).
    #[cfg(feature = "cells")]
    Stacked(StackedModelView<'a, f32>),
    /// int8 layers of one cell as row pairs, Q15 state (element type 1,
    /// format version 5; feature `cells`).
    #[cfg(feature = "cells")]
    StackedInt8(QuantStackedModelView<'a>),
    /// int8 layers of one cell as tiles, int8 state (element type 2,
    /// format version 5; feature `cells`, decoded with feature `tiles`).
    #[cfg(feature = "cells")]
    StackedTiles(TiledStackedModelView<'a>),
}

impl Weights<'_> {
    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        match self {
            Weights::F32(m) => m.hidden(),
            Weights::Int8(m) => m.hidden(),
            Weights::Int8Tiles(m) => m.hidden(),
            Weights::Int8Fixed(m) => m.hidden(),
            #[cfg(feature = "cells")]
            Weights::Stacked(m) => m.hidden(),
            #[cfg(feature = "cells")]
            Weights::StackedInt8(m) => m.hidden(),
            #[cfg(feature = "cells")]
            Weights::StackedTiles(m) => m.hidden(),
        }
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        match self {
            Weights::F32(m) => m.vocab(),
            Weights::Int8(m) => m.vocab(),
            Weights::Int8Tiles(m) => m.vocab(),
            Weights::Int8Fixed(m) => m.vocab(),
            #[cfg(feature = "cells")]
            Weights::Stacked(m) => m.vocab(),
            #[cfg(feature = "cells")]
            Weights::StackedInt8(m) => m.vocab(),
            #[cfg(feature = "cells")]
            Weights::StackedTiles(m) => m.vocab(),
        }
    }
    /// The cell of every layer: [`Cell::Rnn`] but for a version-5 model.
    pub fn cell(&self) -> Cell {
        match self {
            #[cfg(feature = "cells")]
            Weights::Stacked(m) => m.cell(),
            #[cfg(feature = "cells")]
            Weights::StackedInt8(m) => m.cell(),
            #[cfg(feature = "cells")]
            Weights::StackedTiles(m) => m.cell(),
            _ => Cell::Rnn,
        }
    }
    /// Layers L: 1 but for a version-5 model.
    pub fn depth(&self) -> usize {
        match self {
            #[cfg(feature = "cells")]
            Weights::Stacked(m) => m.depth(),
            #[cfg(feature = "cells")]
            Weights::StackedInt8(m) => m.depth(),
            #[cfg(feature = "cells")]
            Weights::StackedTiles(m) => m.depth(),
            _ => 1,
        }
    }
    /// `"f32"`, `"int8"` (row pairs), `"int8 tiles"` or `"int8 fixed"`.
    pub fn element_name(&self) -> &'static str {
        match self {
            Weights::F32(_) => "f32",
            #[cfg(feature = "cells")]
            Weights::Stacked(_) => "f32",
            Weights::Int8(_) => "int8",
            Weights::Int8Tiles(_) => "int8 tiles",
            Weights::Int8Fixed(_) => "int8 fixed",
            #[cfg(feature = "cells")]
            Weights::StackedInt8(_) => "int8",
            #[cfg(feature = "cells")]
            Weights::StackedTiles(_) => "int8 tiles",
        }
    }
    /// The tensors of a one-layer int8 model (row pairs or tiles); `None`
    /// for f32, for the fixed layout (whose scales are integers) and for
    /// models of other cells or depths.
    pub fn int8_tensors(&self) -> Option<QuantTensors<'_>> {
        match self {
            Weights::F32(_) | Weights::Int8Fixed(_) => None,
            #[cfg(feature = "cells")]
            Weights::Stacked(_) | Weights::StackedInt8(_) | Weights::StackedTiles(_) => None,
            Weights::Int8(m) => Some(m.tensors()),
            Weights::Int8Tiles(m) => Some(m.tensors()),
        }
    }
    /// The element type code in the file.
    pub fn element(&self) -> u8 {
        match self {
            Weights::F32(_) => ELEMENT_F32,
            #[cfg(feature = "cells")]
            Weights::Stacked(_) => ELEMENT_F32,
            Weights::Int8(_) => ELEMENT_INT8,
            Weights::Int8Tiles(_) => ELEMENT_INT8_TILES,
            Weights::Int8Fixed(_) => ELEMENT_INT8_FIXED,
            #[cfg(feature = "cells")]
            Weights::StackedInt8(_) => ELEMENT_INT8,
            #[cfg(feature = "cells")]
            Weights::StackedTiles(_) => ELEMENT_INT8_TILES,
        }
    }
    /// Bytes of tensor data.
    pub fn tensor_bytes(&self) -> usize {
        match self {
            #[cfg(feature = "cells")]
            Weights::Stacked(m) => {
                stacked_block_len(m.cell(), m.hidden(), m.vocab(), m.depth()).unwrap_or(usize::MAX)
            }
            #[cfg(feature = "cells")]
            Weights::StackedInt8(m) => stacked_int8_block_len::<crate::RowPairs>(
                m.cell(),
                m.hidden(),
                m.vocab(),
                m.depth(),
            )
            .unwrap_or(usize::MAX),
            #[cfg(feature = "cells")]
            Weights::StackedTiles(m) => {
                stacked_int8_block_len::<crate::Tiles>(m.cell(), m.hidden(), m.vocab(), m.depth())
                    .unwrap_or(usize::MAX)
            }
            _ => block_len(self.element(), self.hidden(), self.vocab()),
        }
    }
}

/// A decoded weight file of either element type: everything borrowed from
/// the bytes it came from.
#[derive(Debug, Clone, Copy)]
pub struct AnyCharmFile<'a> {
    /// The file's format version.
    pub version: u16,
    /// The vocabulary.
    pub vocab: Vocab<'a>,
    /// Training metadata.
    pub meta: Metadata,
    /// The weights, in place.
    pub weights: Weights<'a>,
    /// Length of the file within the decoded bytes.
    pub len: usize,
}

impl AnyCharmFile<'_> {
    /// Checks that the model fits a build made for at most `max_hidden` units
    /// and `max_vocab` characters (the firmware's capacity).
    pub fn check_capacity(&self, max_hidden: usize, max_vocab: usize) -> Result<(), FormatError> {
        check_capacity(
            self.weights.hidden(),
            self.weights.vocab(),
            max_hidden,
            max_vocab,
        )
    }
}

impl CharmFile<'_> {
    /// Checks that the model fits a build made for at most `max_hidden` units
    /// and `max_vocab` characters (the firmware's capacity).
    pub fn check_capacity(&self, max_hidden: usize, max_vocab: usize) -> Result<(), FormatError> {
        check_capacity(
            self.model.hidden(),
            self.model.vocab(),
            max_hidden,
            max_vocab,
        )
    }
}

fn check_capacity(
    hidden: usize,
    vocab: usize,
    max_hidden: usize,
    max_vocab: usize,
) -> Result<(), FormatError> {
    if hidden > max_hidden || vocab > max_vocab {
        return Err(FormatError::ShapeMismatch {
            hidden,
            vocab,
            max_hidden,
            max_vocab,
        });
    }
    Ok(())
}

/// Bytes of the tensor block of a shape: f32 tensors, or int8 tensors then f32 ones.
pub(super) fn block_len(element: u8, hidden: usize, vocab: usize) -> usize {
    let (n8, n32) = match element {
        ELEMENT_F32 => return 4 * tensor_lengths(hidden, vocab).iter().sum::<usize>(),
        ELEMENT_INT8 => quant_tensor_lengths(hidden, vocab),
        ELEMENT_INT8_FIXED => {
            let (n8, n32) = fixed_tensor_lengths(hidden, vocab);
            return n8.iter().sum::<usize>() + 4 * n32.iter().sum::<usize>();
        }
        _ => tile_tensor_lengths(hidden, vocab),
    };
    n8.iter().sum::<usize>() + 4 * n32.iter().sum::<usize>()
}

/// Bytes of the tensor block of a version-5 model (f32: every layer's
/// tensors as [`crate::layer_tensor_lengths`] gives them, then why and by), or
/// `None` if it overflows a `usize` (checked here, where a file's shape
/// is not yet known to fit in memory).
#[cfg(feature = "cells")]
pub(super) fn stacked_block_len(
    cell: Cell,
    hidden: usize,
    vocab: usize,
    depth: usize,
) -> Option<usize> {
    let (rows, stride) = (cell.gates().checked_mul(hidden)?, padded(hidden));
    let square = rows.checked_mul(stride)?;
    let first_input = vocab.checked_mul(padded(rows))?;
    let biases = 2 * rows;
    let output = vocab.checked_mul(stride)?.checked_add(vocab)?;
    // layer 1: wx (one-hot rows), wh, bx, bh; layers 2 …: wx and wh square
    let first = first_input.checked_add(square)?.checked_add(biases)?;
    let others = square
        .checked_mul(2)?
        .checked_add(biases)?
        .checked_mul(depth.checked_sub(1)?)?;
    first
        .checked_add(others)?
        .checked_add(output)?
        .checked_mul(4)
}

/// Bytes of the tensor block of an int8 version-5 model in layout `L`
/// (every layer's int8 tensors, then `why`, then every layer's f32
/// tensors, then `why_scale` and `by`), or `None` for a hidden size above
/// [`crate::MAX_HIDDEN_INT8`] or a depth outside 1 to [`crate::MAX_LAYERS`]
/// (the shape is bounded first, so nothing overflows).
#[cfg(feature = "cells")]
pub(super) fn stacked_int8_block_len<L: Int8Layout>(
    cell: Cell,
    hidden: usize,
    vocab: usize,
    depth: usize,
) -> Option<usize> {
    if hidden == 0
        || hidden > crate::MAX_HIDDEN_INT8
        || vocab > super::MAX_VOCAB
        || !(1..=crate::MAX_LAYERS).contains(&depth)
    {
        return None;
    }
    let mut bytes = L::matrix_len(vocab, hidden) + 4 * 2 * vocab;
    for l in 0..depth {
        let (n8, n32) = int8_layer_tensor_lengths::<L>(cell, hidden, vocab, l);
        bytes += n8.iter().sum::<usize>() + 4 * n32.iter().sum::<usize>();
    }
    Some(bytes)
}
