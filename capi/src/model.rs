//! A decoded weight file in the caller's memory: `charm_model`.

use crate::handle::{check_pointer, tag_of};
use crate::status::{finish, CharmError, CharmStatus, Failure};
use charm_core::{decode_any, Cell, FormatError, Vocab, Weights, VERSION_CELLS};

/// Words (`size_t`) of a `charm_model`: room for what charm keeps of a
/// decoded file on any target, a model of several layers included (the
/// views of its tensors, a pointer and a length each). Even, so that
/// `sizeof(charm_model)` is a multiple of 8 on every target.
pub const CHARM_MODEL_WORDS: usize = 72;

/// Element type in `charm_model_info.element`: f32 tensors.
pub const CHARM_ELEMENT_F32: u32 = 0;
/// int8 tensors as row pairs, Q15 state (`charm quantize`).
pub const CHARM_ELEMENT_INT8: u32 = 1;
/// int8 tensors as 4 × 16 tiles, int8 state (`charm quantize --layout tiles`).
pub const CHARM_ELEMENT_INT8_TILES: u32 = 2;
/// int8 row pairs with integer multipliers and biases, an integer step and
/// sampler (`charm quantize --layout fixed`).
pub const CHARM_ELEMENT_INT8_FIXED: u32 = 3;

/// Cell in `charm_model_info.cell`: PyTorch's `nn.RNN` with tanh,
/// `h' = tanh(W_i·x + b_i + W_h·h + b_h)` (every file before format version 5).
pub const CHARM_CELL_RNN: u32 = 0;
/// PyTorch's `nn.GRU`: gates r, z, n (`charm train --cell gru`).
pub const CHARM_CELL_GRU: u32 = 1;
/// PyTorch's `nn.LSTM`: gates i, f, g, o and a cell state c
/// (`charm train --cell lstm`).
pub const CHARM_CELL_LSTM: u32 = 2;

/// A decoded `.charm` file: the caller's memory (a static, a stack variable),
/// written by `charm_model_init()`, which points into the file's bytes: they
/// must stay where they are, unchanged, while the model or a generator made
/// from it is used. Its fields are charm's; zero it, or leave it as it is,
/// before `charm_model_init()`.
#[repr(C)]
pub struct CharmModel {
    opaque: [usize; CHARM_MODEL_WORDS],
}

/// What a model is: see `charm_model_get_info()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharmModelInfo {
    /// `CHARM_ELEMENT_F32`, `CHARM_ELEMENT_INT8`, `CHARM_ELEMENT_INT8_TILES` or
    /// `CHARM_ELEMENT_INT8_FIXED`.
    pub element: u32,
    /// Hidden size H.
    pub hidden: u32,
    /// Characters in the vocabulary, V.
    pub vocab: u32,
    /// The file's weight format version.
    pub version: u32,
    /// Bytes of the file (the bytes given may go on past it, as flash does).
    pub file_length: u32,
    /// The cell of every layer: `CHARM_CELL_RNN`, `CHARM_CELL_GRU` or
    /// `CHARM_CELL_LSTM`.
    pub cell: u32,
    /// Layers L, from 1 (every file before format version 5) to 4.
    pub layers: u32,
}

/// What [`CharmModel`] holds after a successful `charm_model_init`.
#[repr(C)]
pub(crate) struct Decoded {
    /// [`MODEL_TAG`].
    tag: usize,
    /// The weights as charm-core decoded them: a model this build runs
    /// (`init` refuses the others).
    pub(crate) weights: Weights<'static>,
    pub(crate) vocab: Vocab<'static>,
    version: u16,
    len: usize,
}

/// The tag of an initialized [`CharmModel`] ("CHRMmodl" folded into a word).
const MODEL_TAG: usize = 0x4D4F_444C ^ 0x4348_524D;

const _: () = {
    // The element codes are the file's (written out for cbindgen).
    assert!(CHARM_ELEMENT_F32 == charm_core::ELEMENT_F32 as u32);
    assert!(CHARM_ELEMENT_INT8 == charm_core::ELEMENT_INT8 as u32);
    assert!(CHARM_ELEMENT_INT8_TILES == charm_core::ELEMENT_INT8_TILES as u32);
    assert!(CHARM_ELEMENT_INT8_FIXED == charm_core::ELEMENT_INT8_FIXED as u32);
    // The cell codes are the file's too.
    assert!(CHARM_CELL_RNN == Cell::Rnn.code() as u32);
    assert!(CHARM_CELL_GRU == Cell::Gru.code() as u32);
    assert!(CHARM_CELL_LSTM == Cell::Lstm.code() as u32);
    assert!(core::mem::size_of::<Decoded>() <= core::mem::size_of::<CharmModel>());
    assert!(core::mem::align_of::<Decoded>() <= core::mem::align_of::<CharmModel>());
};

/// The decoded file in `*model`, or why there is none.
///
/// # Safety
///
/// `model` is null or points to a readable `CharmModel` that no one writes
/// while the result is used.
pub(crate) unsafe fn decoded<'a>(model: *const CharmModel) -> Result<&'a Decoded, Failure> {
    check_pointer(model)?;
    // SAFETY: checked, and readable by the caller's contract.
    if unsafe { tag_of(model) } != MODEL_TAG {
        return Err(Failure::ModelNotInitialized);
    }
    // SAFETY: the tag says that `charm_model_init` wrote a `Decoded` here.
    Ok(unsafe { &*model.cast::<Decoded>() })
}

/// Checks and decodes the `.charm` file in `bytes[0..length]` in place, into
/// `*model`: magic, version, length, CRC-32, header, vocabulary, shapes,
/// alignment, finite weights, as `charm` does. The weights are not copied.
/// Every element type works: f32, int8 row pairs, int8 tiles, fixed int8; and, in the
/// library built with `cells` (scripts/build-capi.sh's `cells` libraries),
/// models of GRU and LSTM cells and of 1 to 4 layers (format version 5).
///
/// `bytes` must start at a 4-byte aligned address (put the file in flash or
/// RAM with `__attribute__((aligned(16)))`); `length` may be larger than the
/// file (a flash region). On failure `*model` is left uninitialized: every
/// later call with it returns `CHARM_ERR_MODEL_NOT_INITIALIZED`.
///
/// Returns `CHARM_OK` or the code of what is wrong with the file
/// (`CHARM_ERR_TRUNCATED` to `CHARM_ERR_RETIRED_INT8_LAYOUT`), or
/// `CHARM_ERR_NULL_POINTER`, `CHARM_ERR_MISALIGNED` for `model`.
///
/// # Safety
///
/// `model` is null or points to writable memory of `sizeof(charm_model)`
/// bytes. `bytes` is null (with any `length`: `CHARM_ERR_NULL_POINTER`,
/// except 0: an empty file) or valid for reads of `length` bytes, which stay
/// unchanged while the model and generators made from it are used. `error`
/// is null or points to a writable `charm_error`.
#[no_mangle]
pub unsafe extern "C" fn charm_model_init(
    model: *mut CharmModel,
    bytes: *const u8,
    length: usize,
    error: *mut CharmError,
) -> CharmStatus {
    // SAFETY: each pointer as the caller's contract says.
    unsafe { finish(error, init(model, bytes, length)) }
}

/// The body of [`charm_model_init`].
///
/// # Safety
///
/// As [`charm_model_init`].
unsafe fn init(model: *mut CharmModel, bytes: *const u8, length: usize) -> Result<(), Failure> {
    check_pointer(model)?;
    // Not initialized until the file has been checked.
    // SAFETY: checked; writable by the caller's contract.
    unsafe { model.cast::<usize>().write(0) };
    let bytes: &'static [u8] = match (bytes.is_null(), length) {
        (true, 0) => &[],
        (true, _) => return Err(Failure::NullPointer),
        // SAFETY: readable for `length` bytes, unchanged while used (the
        // caller's contract: the 'static stands for "as long as it is used").
        (false, _) => unsafe { core::slice::from_raw_parts(bytes, length) },
    };
    let file = decode_any(bytes).map_err(Failure::Format)?;
    // Without the feature `cells` this build runs one tanh layer, as the
    // firmware without it: a version-5 file is one it does not read (its
    // charm-core may still decode them when another crate of the same
    // build turns charm-core's `cells` on).
    // The fixed int8 layout in a build without this crate's `fixed`.
    if let (false, Weights::Int8Fixed(_)) = (cfg!(feature = "fixed"), file.weights) {
        return Err(Failure::Format(FormatError::UnsupportedElement(
            charm_core::ELEMENT_INT8_FIXED,
        )));
    }
    if !cfg!(feature = "cells") && file.version >= VERSION_CELLS {
        return Err(Failure::Format(FormatError::UnsupportedVersion {
            found: file.version,
            supported: VERSION_CELLS - 1,
        }));
    }
    let decoded = Decoded {
        tag: MODEL_TAG,
        weights: file.weights,
        vocab: file.vocab,
        version: file.version,
        len: file.len,
    };
    // SAFETY: checked (aligned for `CharmModel`, so for `Decoded`, which
    // fits: the assertion above); writable by the caller's contract.
    unsafe { model.cast::<Decoded>().write(decoded) };
    Ok(())
}

/// Writes what `*model` is (element type, H, V, format version, file
/// length, cell, layers) to `*info`.
///
/// # Safety
///
/// `model` is null or points to a readable `charm_model`; `info` is null or
/// points to a writable `charm_model_info` (any alignment); `error` is null
/// or points to a writable `charm_error`.
#[no_mangle]
pub unsafe extern "C" fn charm_model_get_info(
    model: *const CharmModel,
    info: *mut CharmModelInfo,
    error: *mut CharmError,
) -> CharmStatus {
    // SAFETY: as the caller's contract says.
    let result = unsafe { decoded(model) }.and_then(|m| {
        if info.is_null() {
            return Err(Failure::NullPointer);
        }
        let word = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let w = &m.weights;
        let facts = CharmModelInfo {
            element: w.element().into(),
            hidden: word(w.hidden()),
            vocab: word(w.vocab()),
            version: m.version.into(),
            file_length: word(m.len),
            cell: w.cell().code().into(),
            layers: word(w.depth()),
        };
        // SAFETY: writable by the caller's contract, at any alignment.
        unsafe { info.write_unaligned(facts) };
        Ok(())
    });
    // SAFETY: as the caller's contract says.
    unsafe { finish(error, result) }
}
