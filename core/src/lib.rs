#![doc = include_str!("../README.md")]
//!
//! # What is inside
//!
//! `#![no_std]`, no allocator. This crate holds everything the trainer (a
//! desktop) and the firmware (a Cortex-M) must agree on to the last bit:
//!
//! - [`ModelView::step`], the one forward step of the project:
//!   `h_t = tanh(W_xh[:, x_t] + W_hh·h_{t-1} + b_h)`, `y_t = W_hy·h_t + b_y`.
//!   Generic over [`Float`]: `f32` on devices and for sampling, `f64` for the
//!   trainer's gradient check, which thereby checks this very code.
//! - The kernels it is made of ([`dot`], [`matvec_bias`], [`tanh_f32`]), each
//!   with a fixed order of floating-point operations so that x86-64 (which
//!   vectorizes them) and a Cortex-M4F (which does not) compute identical bits.
//! - [`softmax`], [`sample`](fn@sample) with a seeded [`Rng`], and [`Generator`], the
//!   sampling loop shared by `charm sample` and the firmware.
//! - [`Vocab`]: Unicode scalar values, char ↔ index without allocation.
//! - Error sentences without `core::fmt` ([`Explain`], [`SentenceOut`]): every
//!   error's `Display` and the firmware's UART lines are the same rendering.
//! - The `.charm` weight file ([`decode`], and `encode` with feature `alloc`):
//!   postcard header, aligned tensors read in place, CRC-32 trailer, and a
//!   typed [`FormatError`] for every way a file can be wrong.
//!
//! Nothing reachable from the public API panics on bad data: decoders and
//! constructors return errors, and the hot loops are bounds-check free
//! (`chunks_exact`, zipped iterators). The error enums are
//! `#[non_exhaustive]`: match them with a wildcard arm (their `Display` is
//! one clause a front end can put in a sentence).
//!
//! - int8 models: [`QuantModelView`] (row pairs, a Q15 state; every core) and
//!   [`TiledModelView`] (4 × 16 tiles, an int8 state; the Cortex-M55's
//!   layout), each an exact integer step whose few f32 operations have a
//!   fixed order; and [`FixedModelView`] (the row pairs with integer
//!   multipliers: step and sampler [`sample_fixed`] in integer arithmetic).
//!
//! Features: `alloc` (encoding `.charm` files, `AlignedBytes`), `std`
//! (implies `alloc` and `tiles`), `tiles` (decoding int8 tile models; a
//! firmware for a core without Helium leaves it out), `dsp` (the
//! Cortex-M4/M7/M33/M55 DSP instructions for int8 models; only for those
//! cores), `helium` (the Cortex-M55's MVE for int8 and the sampler; implies
//! `tiles`; built with `-C target-cpu=cortex-m55 -C target-feature=-mve.fp`).
//!
//! ```
//! use charm_core::{decode, encode, AlignedBytes, Buffers, Generator, Metadata, ModelView, SampleParams, Vocab};
//! # let (wxh, whh, bh, why, by) = ([0.1f32; 24], [0.0f32; 64], [0.0f32; 8], [0.2f32; 24], [0.0f32; 3]);
//! # let model = ModelView::new(8, 3, &wxh, &whh, &bh, &why, &by).unwrap();
//! # let written = encode(&model, &Vocab::new("abc").unwrap(), &Metadata::default()).unwrap();
//! let bytes = AlignedBytes::from(&written[..]); // a file as read from disk, 4-byte aligned
//! let file = decode(&bytes).unwrap();          // zero-copy: weights stay in `bytes`
//! let mut buffers = Buffers::<64, 128>::new(); // capacity: H <= 64, V <= 128
//! let slices = buffers.slices_for(&file.model).unwrap();
//! let mut g = Generator::new(file.model, file.vocab, SampleParams::default(), 1, slices).unwrap();
//! let c = g.next_char();
//! assert!(file.vocab.index_of(c).is_some());
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::missing_safety_doc,
    clippy::undocumented_unsafe_blocks
)]

#[cfg(target_endian = "big")]
compile_error!(
    "charm-core reads little-endian weight files in place; big-endian targets are not supported"
);

#[cfg(feature = "alloc")]
extern crate alloc;

mod cell;
mod format;
mod int8;
mod kernels;
mod math;
mod model;
mod sample;
mod sentence;
mod utf8;
mod vocab;

pub use cell::{Cell, MAX_LAYERS};
#[cfg(feature = "alloc")]
pub use format::AlignedBytes;
pub use format::{
    crc32, decode, decode_any, AnyCharmFile, CharmFile, FormatError, Header, Metadata, Weights,
    BLANK_TAIL, ELEMENT_F32, ELEMENT_INT8, ELEMENT_INT8_FIXED, ELEMENT_INT8_TILES, MAGIC,
    MAX_HIDDEN, MAX_VOCAB, PREAMBLE_LEN, READ_VERSION, TENSOR_ALIGN, VERSION, VERSION_CELLS,
    VERSION_F32, VERSION_INT8,
};
#[cfg(feature = "alloc")]
pub use format::{encode, encode_any};
pub use int8::fixed::{
    fixed_tensor_lengths, logit_value, FixedModelView, FixedTensors, INPUT_MULT_LIMIT, LOGIT_BITS,
    LOGIT_LIMIT, TERM_LIMIT,
};
#[cfg(feature = "alloc")]
pub use int8::fixed::{quantize_fixed, FixedModel};
#[cfg(feature = "alloc")]
pub use int8::row_pairs::{pack_row_pairs, quantize, QuantModel};
pub use int8::row_pairs::{
    pair_dot_portable, pair_dots, paired_len, quant_tensor_lengths, QuantModelView,
    MAX_HIDDEN_INT8, PAIR_OFFSET, PAIR_RUN, Q15_ONE,
};
#[cfg(feature = "cells")]
pub use int8::stacked::{
    int8_layer_tensor_lengths, Int8LayerTensors, Int8Layout, Int8StackedModelView,
    QuantStackedModelView, RowPairs, TiledStackedModelView, Tiles,
};
#[cfg(all(feature = "cells", feature = "alloc"))]
pub use int8::stacked::{quantize_stacked, Int8StackedModel};
pub use int8::tanh_i8::{tanh_i8, TANH_I8_STEPS};
pub use int8::tanh_q15::tanh_q15;
pub use int8::tensors::{QuantTensors, QuantizeError};
#[cfg(feature = "alloc")]
pub use int8::tiles::{pack_tiles, quantize_tiles, TiledModel};
pub use int8::tiles::{
    tile_stride, tile_tensor_lengths, TiledModelView, I8_ONE, TILE_COLUMNS, TILE_ROWS,
};
pub use kernels::{axpy, dot, matvec_bias, padded, LANES};
pub use math::{exp_f32, sigmoid_f32, tanh_f32, Float};
pub use model::{
    layer_tensor_lengths, tensor_lengths, LayerTensors, ModelView, ShapeError, StackedModelView,
    StepError,
};
pub use sample::{
    exp_shifted, log_softmax_at, sample, sample_fixed, softmax, Buffers, GenerateError, Generator,
    Recurrent, Rng, SampleError, SampleParams, Slices, StateElement, StepNotes,
};
pub use sentence::{display_sentence, Explain, SentenceOut};
pub use utf8::str_from_utf8;
pub use vocab::{Vocab, VocabError};
