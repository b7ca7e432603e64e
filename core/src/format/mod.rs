//! The `.charm` weight file: decoding (zero-copy, no allocation) and encoding.
//!
//! Byte layout (all integers little-endian); docs/file-format.md has the full specification:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"CHRM"` |
//! | 4 | 2 | format version, u16: 1 for f32 models, 3 for int8 row pairs, 4 for int8 tiles, 5 for models of any cell and depth, f32 or int8 (2 is a retired int8 layout) |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 4 | total file length in bytes, u32, CRC trailer included |
//! | 12 | n | header, [postcard](https://postcard.jamesmunns.com/wire-format): [`Header`] |
//! | 12+n | 2 | version 5 only: the cell ([`crate::Cell::code`]: 0 rnn, 1 gru, 2 lstm) and the number of layers (1 to [`crate::MAX_LAYERS`]), one byte each |
//! | … | 0..15 | zero padding, so the tensors start at a multiple of 16 |
//! | d | … | tensors: element type 0 (f32) in order wxh, whh, bh, why, by ([`crate::ModelView`]); element type 1 (int8 row pairs) as in [`crate::QuantModelView`]; element type 2 (int8 tiles) as in [`crate::TiledModelView`]; element type 3 (int8 fixed) as in [`crate::FixedModelView`]: its int8 tensors, then its i32 tensors; version 5 (f32): per layer wx, wh, bx, bh, then why, by ([`crate::StackedModelView`]); version 5 (int8, element types 1 and 2): every layer's int8 wx, wh, then why, then every layer's f32 wx_scale, wh_scale, bx, bh, then why_scale, by ([`crate::Int8StackedModelView`], feature `cells`) |
//! | len-4 | 4 | CRC-32 (IEEE) of bytes `0 .. len-4` |
//!
//! The preamble is fixed-width so that a reader can tell "not a charm file",
//! "too new", "truncated" and "corrupted" apart before it parses anything.
//! Tensors are aligned so that they are read in place: from flash on a device,
//! from the file buffer on a host.

#[cfg(feature = "alloc")]
mod aligned;
mod crc32;
mod decode;
#[cfg(feature = "alloc")]
mod encode;
mod error;
mod header;
mod weights;

#[cfg(feature = "alloc")]
pub use aligned::AlignedBytes;
pub use crc32::crc32;
pub use decode::{decode, decode_any, BLANK_TAIL, READ_VERSION};
#[cfg(feature = "alloc")]
pub use encode::{encode, encode_any};
pub use error::FormatError;
pub use header::{Header, Metadata};
pub use weights::{AnyCharmFile, CharmFile, Weights};

/// First four bytes of every weight file.
pub const MAGIC: [u8; 4] = *b"CHRM";
/// The newest format version this crate reads (and writes for models of
/// any cell and depth). Version 1 has f32 tensors only; version 2 added
/// int8 with a permuted layout that version 3 replaced by row pairs
/// ([`crate::QuantModelView`]); version 4 added int8 tiles
/// ([`crate::TiledModelView`]); version 5 added the cell and the depth
/// ([`crate::StackedModelView`], and its int8 forms
/// `Int8StackedModelView` with feature `cells`). Each model is written with the oldest
/// version that has it (one tanh layer f32 1, int8 row pairs 3, int8 tiles
/// 4, other cells and depths 5), so that older readers keep loading what
/// they can; version-2 int8 files are refused with
/// [`FormatError::RetiredInt8Layout`]. A build without feature `cells`
/// reads up to version 4.
pub const VERSION: u16 = 5;
/// The version written for models of any cell and depth
/// ([`crate::StackedModelView`]).
pub const VERSION_CELLS: u16 = 5;
/// The version written for int8 tile models.
pub(crate) const VERSION_INT8_TILES: u16 = 4;
/// The version written for int8 row-pair models.
pub const VERSION_INT8: u16 = 3;
/// The version written for f32 models.
pub const VERSION_F32: u16 = 1;
/// Largest vocabulary the format allows.
pub const MAX_VOCAB: usize = 65_536;
/// Largest hidden size the format allows.
pub const MAX_HIDDEN: usize = 16_384;
/// Bytes before the postcard header.
pub const PREAMBLE_LEN: usize = 12;
/// Alignment of the tensor block within the file.
pub const TENSOR_ALIGN: usize = 16;

/// Element type code for f32 tensors.
pub const ELEMENT_F32: u8 = 0;
/// Element type code for int8 tensors with per-row f32 scales (version 3;
/// version 2 had the retired permuted layout).
pub const ELEMENT_INT8: u8 = 1;
/// Element type code for int8 tiles with an int8 state (version 4).
pub const ELEMENT_INT8_TILES: u8 = 2;
/// Element type code for int8 row pairs with integer multipliers and
/// biases, stepped and sampled in integer arithmetic
/// ([`crate::FixedModelView`]; written as version 4, read from version 4 on
/// by a build with feature `fixed`).
pub const ELEMENT_INT8_FIXED: u8 = 3;
