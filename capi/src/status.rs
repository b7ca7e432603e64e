//! Status codes, the error record, and the one function that turns a record
//! into charm's sentence.

use charm_core::{Explain, FormatError, GenerateError, SampleError, SentenceOut};
use core::ffi::c_char;

/// What a call did: `CHARM_OK`, or the code of what went wrong (one
/// `CHARM_ERR_*` constant for each way a call can fail).
pub type CharmStatus = u32;

/// The call did what it says.
pub const CHARM_OK: CharmStatus = 0;

/// A pointer the call needs is `NULL`.
pub const CHARM_ERR_NULL_POINTER: CharmStatus = 1;
/// A handle or the generator's memory is not aligned for it: `values[0]`
/// holds the address (its low 32 bits), `values[1]` the alignment it needs.
pub const CHARM_ERR_MISALIGNED: CharmStatus = 2;
/// The memory given for a generator is smaller than
/// `charm_generator_size()`: `values[0]` bytes given, `values[1]` needed.
pub const CHARM_ERR_MEMORY_TOO_SMALL: CharmStatus = 3;
/// An output buffer is too small: `values[0]` bytes given, `values[1]` needed.
pub const CHARM_ERR_BUFFER_TOO_SMALL: CharmStatus = 4;
/// The prime text is not UTF-8: `values[0]` is the offset of the first byte
/// that starts no character.
pub const CHARM_ERR_PRIME_NOT_UTF8: CharmStatus = 5;
/// The model was not initialized by a successful `charm_model_init()`.
pub const CHARM_ERR_MODEL_NOT_INITIALIZED: CharmStatus = 6;
/// The generator was not initialized by a successful `charm_generator_init()`.
pub const CHARM_ERR_GENERATOR_NOT_INITIALIZED: CharmStatus = 7;

/// The weight file ends before the bytes its preamble promises: `values[0]`
/// bytes needed, `values[1]` available.
pub const CHARM_ERR_TRUNCATED: CharmStatus = 16;
/// The bytes do not start with `CHRM`: not a charm weight file.
pub const CHARM_ERR_BAD_MAGIC: CharmStatus = 17;
/// A weight format version this library does not read: `values[0]` found,
/// `values[1]` the newest it reads.
pub const CHARM_ERR_UNSUPPORTED_VERSION: CharmStatus = 18;
/// The CRC-32 trailer does not match (the file is corrupted): `values[0]`
/// the CRC stored, `values[1]` the CRC of the bytes.
pub const CHARM_ERR_CRC_MISMATCH: CharmStatus = 19;
/// The CRC matched but the header disagrees with the file's size.
pub const CHARM_ERR_MALFORMED: CharmStatus = 20;
/// A tensor element type this library does not know: `values[0]`.
pub const CHARM_ERR_UNSUPPORTED_ELEMENT: CharmStatus = 21;
/// The vocabulary is too large: `values[0]` characters, `values[1]` allowed.
pub const CHARM_ERR_VOCABULARY_TOO_LARGE: CharmStatus = 22;
/// The vocabulary is not a list of distinct characters in order.
pub const CHARM_ERR_BAD_VOCABULARY: CharmStatus = 23;
/// The model exceeds a capacity: `values[0..4]` hidden size, vocabulary,
/// largest hidden size, largest vocabulary.
pub const CHARM_ERR_SHAPE_MISMATCH: CharmStatus = 24;
/// A weight is NaN or infinite: `values[0]` the tensor (0 wxh, 1 whh, 2 bh,
/// 3 why, 4 by, 5 wxh_scale, 6 whh_scale, 7 why_scale; for a model of
/// several layers or another cell, layer l's (from 1) wx, wh, bx, bh,
/// wx_scale, wh_scale are 8 + 6·(l − 1) + 0 to 5), `values[1]` the element's
/// index in it.
pub const CHARM_ERR_NON_FINITE: CharmStatus = 25;
/// The weight file's bytes do not start at a 4-byte aligned address.
pub const CHARM_ERR_MISALIGNED_WEIGHTS: CharmStatus = 26;
/// An int8 file of format version 2, a layout this library no longer reads.
pub const CHARM_ERR_RETIRED_INT8_LAYOUT: CharmStatus = 27;
/// A version-5 file names a recurrent cell this library does not know:
/// `values[0]` its code.
pub const CHARM_ERR_UNSUPPORTED_CELL: CharmStatus = 28;
/// A version-5 file has no layers or more than this library reads:
/// `values[0]` layers, `values[1]` the most it reads.
pub const CHARM_ERR_UNSUPPORTED_DEPTH: CharmStatus = 29;

/// The temperature is negative, NaN or infinite: `values[0]` holds its bits.
pub const CHARM_ERR_BAD_TEMPERATURE: CharmStatus = 32;
/// A prime character is not in the model's vocabulary: `values[0]` is its
/// code point.
pub const CHARM_ERR_UNKNOWN_CHARACTER: CharmStatus = 33;

/// charm-core reported an error this version of the C API has no code for.
pub const CHARM_ERR_OTHER: CharmStatus = 255;

/// What went wrong, in full: the code, and the numbers charm's sentence for
/// it quotes (which `values` hold what is said at each code; unused ones
/// are 0). Every call that can fail fills one in when given a pointer to
/// it: `CHARM_OK` and zeros when the call succeeded.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharmError {
    /// `CHARM_OK` or a `CHARM_ERR_*` code: what the call returned.
    pub code: CharmStatus,
    /// The numbers of the sentence, saturated at `UINT32_MAX`.
    pub values: [u32; 4],
}

/// The tensors a [`FormatError::NonFinite`] names, by their index in
/// [`CHARM_ERR_NON_FINITE`]'s `values[0]`: those of one tanh layer, then,
/// with `cells`, each layer's of a version-5 model (charm-core's names).
const TENSORS: &[&str] = &[
    "wxh",
    "whh",
    "bh",
    "why",
    "by",
    "wxh_scale",
    "whh_scale",
    "why_scale",
    #[cfg(feature = "cells")]
    "layer 1 wx",
    #[cfg(feature = "cells")]
    "layer 1 wh",
    #[cfg(feature = "cells")]
    "layer 1 bx",
    #[cfg(feature = "cells")]
    "layer 1 bh",
    #[cfg(feature = "cells")]
    "layer 1 wx_scale",
    #[cfg(feature = "cells")]
    "layer 1 wh_scale",
    #[cfg(feature = "cells")]
    "layer 2 wx",
    #[cfg(feature = "cells")]
    "layer 2 wh",
    #[cfg(feature = "cells")]
    "layer 2 bx",
    #[cfg(feature = "cells")]
    "layer 2 bh",
    #[cfg(feature = "cells")]
    "layer 2 wx_scale",
    #[cfg(feature = "cells")]
    "layer 2 wh_scale",
    #[cfg(feature = "cells")]
    "layer 3 wx",
    #[cfg(feature = "cells")]
    "layer 3 wh",
    #[cfg(feature = "cells")]
    "layer 3 bx",
    #[cfg(feature = "cells")]
    "layer 3 bh",
    #[cfg(feature = "cells")]
    "layer 3 wx_scale",
    #[cfg(feature = "cells")]
    "layer 3 wh_scale",
    #[cfg(feature = "cells")]
    "layer 4 wx",
    #[cfg(feature = "cells")]
    "layer 4 wh",
    #[cfg(feature = "cells")]
    "layer 4 bx",
    #[cfg(feature = "cells")]
    "layer 4 bh",
    #[cfg(feature = "cells")]
    "layer 4 wx_scale",
    #[cfg(feature = "cells")]
    "layer 4 wh_scale",
];

/// Everything a call can fail with, inside the library: charm-core's errors
/// as they are, and the C API's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Failure {
    /// charm-core could not use the weight file.
    Format(FormatError),
    /// charm-core could not generate.
    Generate(GenerateError),
    /// [`CHARM_ERR_NULL_POINTER`].
    NullPointer,
    /// [`CHARM_ERR_MISALIGNED`].
    Misaligned { address: usize, align: usize },
    /// [`CHARM_ERR_MEMORY_TOO_SMALL`].
    MemoryTooSmall { given: usize, needed: usize },
    /// [`CHARM_ERR_BUFFER_TOO_SMALL`].
    BufferTooSmall { given: usize, needed: usize },
    /// [`CHARM_ERR_PRIME_NOT_UTF8`].
    PrimeNotUtf8 { valid_up_to: usize },
    /// [`CHARM_ERR_MODEL_NOT_INITIALIZED`].
    ModelNotInitialized,
    /// [`CHARM_ERR_GENERATOR_NOT_INITIALIZED`].
    GeneratorNotInitialized,
    /// [`CHARM_ERR_OTHER`].
    Other,
}

// With `cells`, every layer's six tensor names follow the eight of one layer.
#[cfg(feature = "cells")]
const _: () = assert!(TENSORS.len() == 8 + 6 * charm_core::MAX_LAYERS);

/// `n` as a `values` entry: itself, or `UINT32_MAX` if it does not fit.
fn value(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Failure {
    /// The record of this failure: its code and its numbers.
    pub(crate) fn record(self) -> CharmError {
        let (code, values): (CharmStatus, [usize; 4]) = match self {
            Failure::NullPointer => (CHARM_ERR_NULL_POINTER, [0; 4]),
            Failure::Misaligned { address, align } => {
                (CHARM_ERR_MISALIGNED, [address & 0xFFFF_FFFF, align, 0, 0])
            }
            Failure::MemoryTooSmall { given, needed } => {
                (CHARM_ERR_MEMORY_TOO_SMALL, [given, needed, 0, 0])
            }
            Failure::BufferTooSmall { given, needed } => {
                (CHARM_ERR_BUFFER_TOO_SMALL, [given, needed, 0, 0])
            }
            Failure::PrimeNotUtf8 { valid_up_to } => {
                (CHARM_ERR_PRIME_NOT_UTF8, [valid_up_to, 0, 0, 0])
            }
            Failure::ModelNotInitialized => (CHARM_ERR_MODEL_NOT_INITIALIZED, [0; 4]),
            Failure::GeneratorNotInitialized => (CHARM_ERR_GENERATOR_NOT_INITIALIZED, [0; 4]),
            Failure::Format(e) => format_record(e),
            Failure::Generate(GenerateError::Sample(SampleError::BadTemperature(t))) => {
                (CHARM_ERR_BAD_TEMPERATURE, [t.to_bits() as usize, 0, 0, 0])
            }
            Failure::Generate(GenerateError::UnknownChar(c)) => (
                CHARM_ERR_UNKNOWN_CHARACTER,
                [u32::from(c) as usize, 0, 0, 0],
            ),
            Failure::Generate(_) | Failure::Other => (CHARM_ERR_OTHER, [0; 4]),
        };
        CharmError {
            code,
            values: values.map(value),
        }
    }

    /// The failure a record says, as far as its code is one this library
    /// knows ([`Failure::Other`] otherwise).
    fn from_record(error: &CharmError) -> Self {
        let [a, b, c, d] = error.values.map(|v| v as usize);
        let format = |e| Failure::Format(e);
        match error.code {
            CHARM_ERR_NULL_POINTER => Failure::NullPointer,
            CHARM_ERR_MISALIGNED => Failure::Misaligned {
                address: a,
                align: b,
            },
            CHARM_ERR_MEMORY_TOO_SMALL => Failure::MemoryTooSmall {
                given: a,
                needed: b,
            },
            CHARM_ERR_BUFFER_TOO_SMALL => Failure::BufferTooSmall {
                given: a,
                needed: b,
            },
            CHARM_ERR_PRIME_NOT_UTF8 => Failure::PrimeNotUtf8 { valid_up_to: a },
            CHARM_ERR_MODEL_NOT_INITIALIZED => Failure::ModelNotInitialized,
            CHARM_ERR_GENERATOR_NOT_INITIALIZED => Failure::GeneratorNotInitialized,
            CHARM_ERR_TRUNCATED => format(FormatError::Truncated {
                needed: a,
                available: b,
            }),
            CHARM_ERR_BAD_MAGIC => format(FormatError::BadMagic),
            CHARM_ERR_UNSUPPORTED_VERSION => format(FormatError::UnsupportedVersion {
                found: error.values[0].try_into().unwrap_or(u16::MAX),
                supported: error.values[1].try_into().unwrap_or(u16::MAX),
            }),
            CHARM_ERR_CRC_MISMATCH => format(FormatError::CrcMismatch {
                stored: error.values[0],
                computed: error.values[1],
            }),
            CHARM_ERR_MALFORMED => format(FormatError::Malformed),
            CHARM_ERR_UNSUPPORTED_ELEMENT => format(FormatError::UnsupportedElement(
                error.values[0].try_into().unwrap_or(u8::MAX),
            )),
            CHARM_ERR_VOCABULARY_TOO_LARGE => {
                format(FormatError::VocabularyTooLarge { size: a, max: b })
            }
            CHARM_ERR_BAD_VOCABULARY => format(FormatError::BadVocabulary),
            CHARM_ERR_SHAPE_MISMATCH => format(FormatError::ShapeMismatch {
                hidden: a,
                vocab: b,
                max_hidden: c,
                max_vocab: d,
            }),
            CHARM_ERR_NON_FINITE => match TENSORS.get(a) {
                Some(tensor) => format(FormatError::NonFinite { tensor, index: b }),
                None => Failure::Other,
            },
            CHARM_ERR_MISALIGNED_WEIGHTS => format(FormatError::Misaligned),
            CHARM_ERR_RETIRED_INT8_LAYOUT => format(FormatError::RetiredInt8Layout),
            #[cfg(feature = "cells")]
            CHARM_ERR_UNSUPPORTED_CELL => format(FormatError::UnsupportedCell(
                error.values[0].try_into().unwrap_or(u8::MAX),
            )),
            #[cfg(feature = "cells")]
            CHARM_ERR_UNSUPPORTED_DEPTH => {
                format(FormatError::UnsupportedDepth { layers: a, max: b })
            }
            CHARM_ERR_BAD_TEMPERATURE => Failure::Generate(GenerateError::Sample(
                SampleError::BadTemperature(f32::from_bits(error.values[0])),
            )),
            CHARM_ERR_UNKNOWN_CHARACTER => match char::from_u32(error.values[0]) {
                Some(c) => Failure::Generate(GenerateError::UnknownChar(c)),
                None => Failure::Other,
            },
            _ => Failure::Other,
        }
    }
}

/// The code and numbers of a weight file's error.
fn format_record(e: FormatError) -> (CharmStatus, [usize; 4]) {
    use FormatError::*;
    match e {
        Truncated { needed, available } => (CHARM_ERR_TRUNCATED, [needed, available, 0, 0]),
        BadMagic => (CHARM_ERR_BAD_MAGIC, [0; 4]),
        UnsupportedVersion { found, supported } => (
            CHARM_ERR_UNSUPPORTED_VERSION,
            [found.into(), supported.into(), 0, 0],
        ),
        CrcMismatch { stored, computed } => (
            CHARM_ERR_CRC_MISMATCH,
            [stored as usize, computed as usize, 0, 0],
        ),
        Malformed => (CHARM_ERR_MALFORMED, [0; 4]),
        UnsupportedElement(element) => (CHARM_ERR_UNSUPPORTED_ELEMENT, [element.into(), 0, 0, 0]),
        VocabularyTooLarge { size, max } => (CHARM_ERR_VOCABULARY_TOO_LARGE, [size, max, 0, 0]),
        BadVocabulary => (CHARM_ERR_BAD_VOCABULARY, [0; 4]),
        ShapeMismatch {
            hidden,
            vocab,
            max_hidden,
            max_vocab,
        } => (
            CHARM_ERR_SHAPE_MISMATCH,
            [hidden, vocab, max_hidden, max_vocab],
        ),
        NonFinite { tensor, index } => match TENSORS.iter().position(|&t| t == tensor) {
            Some(t) => (CHARM_ERR_NON_FINITE, [t, index, 0, 0]),
            None => (CHARM_ERR_OTHER, [0; 4]),
        },
        Misaligned => (CHARM_ERR_MISALIGNED_WEIGHTS, [0; 4]),
        RetiredInt8Layout => (CHARM_ERR_RETIRED_INT8_LAYOUT, [0; 4]),
        #[cfg(feature = "cells")]
        UnsupportedCell(code) => (CHARM_ERR_UNSUPPORTED_CELL, [code.into(), 0, 0, 0]),
        #[cfg(feature = "cells")]
        UnsupportedDepth { layers, max } => (CHARM_ERR_UNSUPPORTED_DEPTH, [layers, max, 0, 0]),
        _ => (CHARM_ERR_OTHER, [0; 4]),
    }
}

impl Explain for Failure {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            Failure::Format(e) => e.explain(out),
            Failure::Generate(e) => e.explain(out),
            Failure::NullPointer => out.text("a pointer the call needs is null"),
            Failure::Misaligned { address, align } => out.fill(
                "the memory at 0x{x} is not {}-byte aligned",
                &[address, align],
            ),
            Failure::MemoryTooSmall { given, needed } => out.fill(
                "the memory given holds {} bytes, the generator for this model needs {}",
                &[given, needed],
            ),
            Failure::BufferTooSmall { given, needed } => out.fill(
                "the output buffer holds {} bytes, a character needs up to {}",
                &[given, needed],
            ),
            Failure::PrimeNotUtf8 { valid_up_to } => out.fill(
                "the prime text is not UTF-8: byte {} starts no character",
                &[valid_up_to],
            ),
            Failure::ModelNotInitialized => {
                out.text("the model was not set up by a successful charm_model_init")
            }
            Failure::GeneratorNotInitialized => {
                out.text("the generator was not set up by a successful charm_generator_init")
            }
            Failure::Other => {
                out.text("charm-core reported an error this version of the C API has no code for")
            }
        }
    }
}

/// Fills `*error` (unless it is null) with `result`'s record and returns its
/// code: every public function ends here.
///
/// # Safety
///
/// `error` is null or valid for a write of a [`CharmError`] (any alignment).
pub(crate) unsafe fn finish(error: *mut CharmError, result: Result<(), Failure>) -> CharmStatus {
    let record = match result {
        Ok(()) => CharmError {
            code: CHARM_OK,
            values: [0; 4],
        },
        Err(failure) => failure.record(),
    };
    if !error.is_null() {
        // SAFETY: the caller's contract; unaligned, as C may pack it anywhere.
        unsafe { error.write_unaligned(record) };
    }
    record.code
}

/// A C buffer as a [`SentenceOut`]: keeps what fits (whole characters, one
/// byte kept for the terminating NUL), counts everything.
struct CBuffer<'b> {
    buffer: &'b mut [u8],
    written: usize,
    length: usize,
    full: bool,
}

impl SentenceOut for CBuffer<'_> {
    fn text(&mut self, text: &str) {
        self.length += text.len();
        if self.full {
            return;
        }
        let room = self.buffer.len().saturating_sub(self.written + 1);
        // The longest prefix that fits and ends on a character boundary.
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        if take < text.len() {
            self.full = true;
        }
        let source = text.as_bytes().get(..take).unwrap_or_default();
        if let Some(target) = self.buffer.get_mut(self.written..self.written + take) {
            target.copy_from_slice(source);
            self.written += take;
        }
    }
}

/// Writes charm's sentence for `*error`: the clause the `charm` CLI prints
/// after `error: ...: ` for the same failure (lowercase, no full stop, no
/// newline), in UTF-8, to `buffer`, NUL-terminated, cut at a whole character
/// if `capacity` is too small. Returns the clause's length in bytes without
/// the NUL, whatever `capacity` is, as `snprintf` does: the clause was cut if
/// the result is `>= capacity`. A code this library does not know has a
/// sentence too; so does a null `error` (that of `CHARM_ERR_NULL_POINTER`).
///
/// # Safety
///
/// `error` is null or points to a readable `charm_error` (any alignment).
/// `buffer` is null (then `capacity` is ignored and only the length is
/// returned) or valid for writes of `capacity` bytes.
#[no_mangle]
pub unsafe extern "C" fn charm_error_sentence(
    error: *const CharmError,
    buffer: *mut c_char,
    capacity: usize,
) -> usize {
    let failure = if error.is_null() {
        Failure::NullPointer
    } else {
        // SAFETY: readable by the caller's contract, at any alignment.
        Failure::from_record(&unsafe { error.read_unaligned() })
    };
    let buffer: &mut [u8] = if buffer.is_null() || capacity == 0 {
        &mut []
    } else {
        // SAFETY: valid for `capacity` byte writes by the caller's contract.
        unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), capacity) }
    };
    let mut out = CBuffer {
        buffer,
        written: 0,
        length: 0,
        full: false,
    };
    failure.explain(&mut out);
    let end = out.written;
    if let Some(nul) = out.buffer.get_mut(end) {
        *nul = 0;
    }
    out.length
}
