//! The `.charm` weight file: decoding (zero-copy, no allocation) and encoding.
//!
//! Byte layout (all integers little-endian); README.md has the full specification:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"CHRM"` |
//! | 4 | 2 | format version, u16: 1 for f32 models, 3 for int8 row pairs, 4 for int8 tiles (2 is a retired int8 layout) |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 4 | total file length in bytes, u32, CRC trailer included |
//! | 12 | n | header, [postcard](https://postcard.jamesmunns.com/wire-format): [`Header`] |
//! | 12+n | 0..15 | zero padding, so the tensors start at a multiple of 16 |
//! | d | … | tensors: element type 0 (f32) in order wxh, whh, bh, why, by ([`crate::ModelView`]); element type 1 (int8 row pairs) as in [`crate::QuantModelView`]; element type 2 (int8 tiles) as in [`crate::TiledModelView`] |
//! | len-4 | 4 | CRC-32 (IEEE) of bytes `0 .. len-4` |
//!
//! The preamble is fixed-width so that a reader can tell "not a charm file",
//! "too new", "truncated" and "corrupted" apart before it parses anything.
//! Tensors are aligned so that they are read in place: from flash on a device,
//! from the file buffer on a host.

use crate::crc32::crc32;
use crate::model::{tensor_lengths, ModelView};
use crate::quant::{quant_tensor_lengths, QuantModelView, QuantTensors, MAX_HIDDEN_INT8};
use crate::sentence::{display_sentence, Explain, SentenceOut};
use crate::tiles::{tile_tensor_lengths, TiledModelView};
use crate::vocab::{Vocab, VocabError};
use serde::{Deserialize, Serialize};

/// First four bytes of every weight file.
pub const MAGIC: [u8; 4] = *b"CHRM";
/// The newest format version this crate reads (and writes for int8 tile models).
/// Version 1 has f32 tensors only; version 2 added int8 with a permuted
/// layout that version 3 replaced by row pairs ([`crate::QuantModelView`]);
/// version 4 added int8 tiles ([`crate::TiledModelView`]). Each element type
/// is written with the oldest version that has it (f32 1, int8 row pairs 3,
/// int8 tiles 4), so that older readers keep loading what they can;
/// version-2 int8 files are refused with [`FormatError::RetiredInt8Layout`].
pub const VERSION: u16 = 4;
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

/// How the model was trained: kept in the file for `charm info` and provenance.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// Optimizer steps taken.
    pub steps: u64,
    /// Training characters consumed (steps × seq-len × batch).
    pub chars_seen: u64,
    /// Smoothed training loss at the end, nats/char (NaN if unknown).
    pub train_loss: f32,
    /// Validation loss at the end, nats/char (NaN if unknown).
    pub val_loss: f32,
    /// CRC-32 of the training corpus bytes.
    pub corpus_crc32: u32,
    /// Length of the training corpus in characters.
    pub corpus_chars: u64,
    /// The seed training started from.
    pub seed: u64,
}

/// The postcard-encoded header that follows the preamble.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Header<'a> {
    /// Hidden size H.
    pub hidden: u32,
    /// Vocabulary size V.
    pub vocab_size: u32,
    /// Tensor element type: [`ELEMENT_F32`]; other codes are reserved (int8 is next).
    pub element: u8,
    /// The vocabulary as UTF-8, characters in ascending code point order.
    #[serde(borrow)]
    pub vocab: &'a str,
    /// Training metadata.
    pub meta: Metadata,
}

impl<'a> Header<'a> {
    /// Reads a header at the start of `bytes` as `postcard::take_from_bytes`
    /// does (the same values, the same bytes left over, and `None` where it
    /// fails), without serde: LEB128 varints for the integers (at most
    /// ⌈bits/7⌉ bytes, the last one within the type's remaining bits), one
    /// byte for `element`, four little-endian bytes for each f32, and the
    /// vocabulary as a varint length (a `usize`) and that many bytes of UTF-8
    /// ([postcard's wire format](https://postcard.jamesmunns.com/wire-format)).
    /// Returns the header and the bytes after it.
    ///
    /// ```
    /// use charm_core::{Header, Metadata};
    /// let header = Header { hidden: 300, vocab_size: 2, element: 0, vocab: "ab", meta: Metadata::default() };
    /// let mut bytes = postcard::to_allocvec(&header).unwrap();
    /// bytes.push(7);
    /// assert_eq!(Header::from_postcard(&bytes), Some((header, &[7u8][..])));
    /// ```
    pub fn from_postcard(bytes: &'a [u8]) -> Option<(Self, &'a [u8])> {
        let mut r = PostcardReader { bytes };
        let hidden = r.varint(u32::BITS)? as u32;
        let vocab_size = r.varint(u32::BITS)? as u32;
        let element = r.byte()?;
        let vocab_len = usize::try_from(r.varint(usize::BITS)?).ok()?;
        let vocab = core::str::from_utf8(r.take(vocab_len)?).ok()?;
        let steps = r.varint(u64::BITS)?;
        let chars_seen = r.varint(u64::BITS)?;
        let train_loss = r.f32()?;
        let val_loss = r.f32()?;
        let corpus_crc32 = r.varint(u32::BITS)? as u32;
        let corpus_chars = r.varint(u64::BITS)?;
        let seed = r.varint(u64::BITS)?;
        let meta = Metadata {
            steps,
            chars_seen,
            train_loss,
            val_loss,
            corpus_crc32,
            corpus_chars,
            seed,
        };
        let header = Header {
            hidden,
            vocab_size,
            element,
            vocab,
            meta,
        };
        Some((header, r.bytes))
    }
}

/// Takes postcard's encodings of the header's types off the front of bytes.
struct PostcardReader<'a> {
    bytes: &'a [u8],
}

impl<'a> PostcardReader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(taken)
    }

    fn f32(&mut self) -> Option<f32> {
        let b = self.take(4)?;
        Some(f32::from_bits(u32_at(b, 0)))
    }

    /// An unsigned integer of `bits` bits (32 or 64) as postcard's
    /// `try_take_varint_u32`/`_u64` read it: seven bits a byte, least
    /// significant first, the high bit set on all but the last byte; at
    /// most ⌈bits/7⌉ bytes, and a last byte in that position within the
    /// `bits % 7` bits left.
    // One copy for all seven fields (flash), not one unrolled per field.
    #[inline(never)]
    fn varint(&mut self, bits: u32) -> Option<u64> {
        let max_len = bits.div_ceil(7);
        let mut value = 0u64;
        for i in 0..max_len {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                let fits = i + 1 < max_len || u32::from(byte) < 1 << (bits % 7);
                return fits.then_some(value);
            }
        }
        None
    }
}

/// Why bytes are not a usable weight file. Each variant is one thing a user can fix.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FormatError {
    /// The file ends before the `needed` bytes its preamble promises.
    Truncated {
        /// Bytes the file must have.
        needed: usize,
        /// Bytes it has.
        available: usize,
    },
    /// The first four bytes are not `CHRM`: not a charm weight file.
    BadMagic,
    /// Written by a format version this build does not read.
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// The CRC-32 trailer does not match the contents: the file is corrupted.
    CrcMismatch {
        /// CRC stored in the file.
        stored: u32,
        /// CRC of the bytes as they are.
        computed: u32,
    },
    /// The CRC matched but the header or sizes are inconsistent (a writer bug).
    Malformed,
    /// Tensor element type this build does not know.
    UnsupportedElement(u8),
    /// The vocabulary has more characters than allowed.
    VocabularyTooLarge {
        /// Characters in the file's vocabulary.
        size: usize,
        /// The limit (the format's, or the capacity a firmware was built for).
        max: usize,
    },
    /// The vocabulary text is not strictly ascending, or empty, or its length
    /// disagrees with the header.
    BadVocabulary,
    /// The model is larger than the capacity this build was made for.
    ShapeMismatch {
        /// Hidden size in the file.
        hidden: usize,
        /// Vocabulary size in the file.
        vocab: usize,
        /// Largest hidden size supported.
        max_hidden: usize,
        /// Largest vocabulary supported.
        max_vocab: usize,
    },
    /// A weight is NaN or infinite.
    NonFinite {
        /// Which tensor.
        tensor: &'static str,
        /// Element index within it.
        index: usize,
    },
    /// The bytes do not start at a 4-byte aligned address, so tensors cannot be read in place.
    Misaligned,
    /// An int8 file of format version 2, whose tensor layout this build no
    /// longer reads: quantize its f32 model again.
    RetiredInt8Layout,
}

impl Explain for FormatError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        use FormatError::*;
        match *self {
            Truncated { needed, available } => {
                out.fill("it is truncated: {} bytes of {}", &[available, needed])
            }
            BadMagic => out.text("it is not a charm weight file (bad magic bytes)"),
            UnsupportedVersion { found, supported } => out.fill(
                "it has weight format version {}, this build reads up to version {}",
                &[found.into(), supported.into()],
            ),
            CrcMismatch { stored, computed } => out.fill(
                "it is corrupted: CRC-32 is {x}, the file says {x}",
                &[computed as usize, stored as usize],
            ),
            Malformed => out.text("its header is inconsistent with its size"),
            UnsupportedElement(e) => out.fill(
                "it uses tensor element type {}, which this build does not know",
                &[e.into()],
            ),
            VocabularyTooLarge { size, max } => out.fill(
                "its vocabulary has {} characters, more than the {} allowed",
                &[size, max],
            ),
            BadVocabulary => {
                out.text("its vocabulary is not a list of distinct characters in order")
            }
            ShapeMismatch {
                hidden,
                vocab,
                max_hidden,
                max_vocab,
            } => out.fill(
                "its model (hidden {}, vocabulary {}) exceeds the capacity of this build \
                 (hidden {}, vocabulary {})",
                &[hidden, vocab, max_hidden, max_vocab],
            ),
            NonFinite { tensor, index } => {
                out.text("weight ");
                out.text(tensor);
                out.fill("[{}] is not a finite number", &[index]);
            }
            Misaligned => out.text("its bytes are not 4-byte aligned in memory"),
            RetiredInt8Layout => out.text(
                "it is an int8 file of format version 2, whose layout this build no longer \
                 reads; quantize its f32 model again",
            ),
        }
    }
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

impl From<VocabError> for FormatError {
    fn from(_: VocabError) -> Self {
        FormatError::BadVocabulary
    }
}

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

/// The weights of a decoded file, in either element type.
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// f32 tensors (element type 0).
    F32(ModelView<'a, f32>),
    /// int8 tensors with per-row scales as row pairs, Q15 state (element type 1).
    Int8(QuantModelView<'a>),
    /// int8 tensors with per-row scales as tiles, int8 state (element type 2).
    Int8Tiles(TiledModelView<'a>),
}

impl Weights<'_> {
    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        match self {
            Weights::F32(m) => m.hidden(),
            Weights::Int8(m) => m.hidden(),
            Weights::Int8Tiles(m) => m.hidden(),
        }
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        match self {
            Weights::F32(m) => m.vocab(),
            Weights::Int8(m) => m.vocab(),
            Weights::Int8Tiles(m) => m.vocab(),
        }
    }
    /// `"f32"`, `"int8"` (row pairs) or `"int8 tiles"`.
    pub fn element_name(&self) -> &'static str {
        match self {
            Weights::F32(_) => "f32",
            Weights::Int8(_) => "int8",
            Weights::Int8Tiles(_) => "int8 tiles",
        }
    }
    /// The tensors of an int8 model (row pairs or tiles); `None` for f32.
    pub fn int8_tensors(&self) -> Option<QuantTensors<'_>> {
        match self {
            Weights::F32(_) => None,
            Weights::Int8(m) => Some(m.tensors()),
            Weights::Int8Tiles(m) => Some(m.tensors()),
        }
    }
    /// The element type code in the file.
    pub fn element(&self) -> u8 {
        match self {
            Weights::F32(_) => ELEMENT_F32,
            Weights::Int8(_) => ELEMENT_INT8,
            Weights::Int8Tiles(_) => ELEMENT_INT8_TILES,
        }
    }
    /// Bytes of tensor data.
    pub fn tensor_bytes(&self) -> usize {
        block_len(self.element(), self.hidden(), self.vocab())
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

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Bytes of a model's tensor block, or `None` for an impossible shape.
fn tensor_block_len(element: u8, hidden: usize, vocab: usize) -> Option<usize> {
    if hidden == 0 || hidden > MAX_HIDDEN || vocab > MAX_VOCAB {
        return None;
    }
    Some(block_len(element, hidden, vocab))
}

/// Bytes of the tensor block of a shape: f32 tensors, or int8 tensors then f32 ones.
fn block_len(element: u8, hidden: usize, vocab: usize) -> usize {
    let (n8, n32) = match element {
        ELEMENT_F32 => return 4 * tensor_lengths(hidden, vocab).iter().sum::<usize>(),
        ELEMENT_INT8 => quant_tensor_lengths(hidden, vocab),
        _ => tile_tensor_lengths(hidden, vocab),
    };
    n8.iter().sum::<usize>() + 4 * n32.iter().sum::<usize>()
}

/// The first weight of `floats` that is NaN or infinite, as
/// [`FormatError::NonFinite`]: `floats` holds the `tensors` (name, length)
/// one after another, as a file does.
fn check_finite(floats: &[f32], tensors: &[(&'static str, usize)]) -> Result<(), FormatError> {
    let Some(mut index) = floats.iter().position(|w| !w.is_finite()) else {
        return Ok(());
    };
    for &(tensor, len) in tensors {
        if index < len {
            return Err(FormatError::NonFinite { tensor, index });
        }
        index -= len;
    }
    // Past the tensors named: the caller's lengths do not add up.
    Err(FormatError::Malformed)
}

/// A file whose CRC does not match and whose last [`BLANK_TAIL`] bytes or
/// more (the CRC among them) are all `0x00` or all `0xFF` was cut short where
/// that run starts: erased flash (`0xFF`) or memory never written (`0x00`)
/// follows a partial copy. Returns where the run starts. So a device, which
/// sees a whole flash region past a truncated file, gives the same reason as
/// a host, which sees the file end.
fn blank_tail(bytes: &[u8], len: usize) -> Option<usize> {
    let last = *bytes[..len].last()?;
    if last != 0x00 && last != 0xFF {
        return None;
    }
    let start = bytes[..len]
        .iter()
        .rposition(|&b| b != last)
        .map_or(0, |i| i + 1);
    (len - start >= BLANK_TAIL).then_some(start)
}

/// The shortest run of blank bytes at the end of a file that [`decode_any`]
/// reads as a truncated copy rather than a corrupted one: the CRC and 12
/// bytes before it.
pub const BLANK_TAIL: usize = 16;

/// Decodes a weight file of either element type in place. `bytes` may
/// continue past the file (a flash region does); [`AnyCharmFile::len`] says
/// where the file ends.
///
/// Checks, in this order: length of the preamble, magic, version, declared
/// length, CRC (a mismatch over a blank tail is reported as
/// [`FormatError::Truncated`], see [`BLANK_TAIL`]), header, element type,
/// vocabulary, sizes, alignment, finiteness.
/// Never panics and never allocates.
///
/// ```
/// use charm_core::{decode_any, FormatError};
/// assert_eq!(decode_any(b"CHR").unwrap_err(), FormatError::Truncated { needed: 12, available: 3 });
/// assert_eq!(decode_any(b"PNG\x0d........").unwrap_err(), FormatError::BadMagic);
/// ```
pub fn decode_any(bytes: &[u8]) -> Result<AnyCharmFile<'_>, FormatError> {
    if bytes.len() < PREAMBLE_LEN {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        return Err(FormatError::Truncated {
            needed: PREAMBLE_LEN,
            available: bytes.len(),
        });
    }
    if bytes[..4] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let version = u16_at(bytes, 4);
    if !(1..=VERSION).contains(&version) {
        return Err(FormatError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    let len = u32_at(bytes, 8) as usize;
    if len < PREAMBLE_LEN + 4 {
        return Err(FormatError::Malformed);
    }
    if bytes.len() < len {
        return Err(FormatError::Truncated {
            needed: len,
            available: bytes.len(),
        });
    }
    let body = &bytes[..len - 4];
    let stored = u32_at(bytes, len - 4);
    let computed = crc32(body);
    if stored != computed {
        return Err(match blank_tail(bytes, len) {
            Some(available) => FormatError::Truncated {
                needed: len,
                available,
            },
            None => FormatError::CrcMismatch { stored, computed },
        });
    }
    if u16_at(bytes, 6) != 0 {
        return Err(FormatError::Malformed);
    }
    let (header, rest) =
        Header::from_postcard(&body[PREAMBLE_LEN..]).ok_or(FormatError::Malformed)?;
    match (header.element, version) {
        (ELEMENT_F32, _) | (ELEMENT_INT8, 3..) | (ELEMENT_INT8_TILES, 4..) => {}
        (ELEMENT_INT8, 2) => return Err(FormatError::RetiredInt8Layout),
        (other, _) => return Err(FormatError::UnsupportedElement(other)),
    }
    let (hidden, vocab_size) = (header.hidden as usize, header.vocab_size as usize);
    if vocab_size > MAX_VOCAB {
        return Err(FormatError::VocabularyTooLarge {
            size: vocab_size,
            max: MAX_VOCAB,
        });
    }
    let vocab = Vocab::new(header.vocab)?;
    if vocab.len() != vocab_size {
        return Err(FormatError::BadVocabulary);
    }
    let header_end = len - 4 - rest.len();
    let data_start = header_end.next_multiple_of(TENSOR_ALIGN);
    let block =
        tensor_block_len(header.element, hidden, vocab_size).ok_or(FormatError::Malformed)?;
    if data_start.checked_add(block) != Some(len - 4) {
        return Err(FormatError::Malformed);
    }
    if body[header_end..data_start].iter().any(|&b| b != 0) {
        return Err(FormatError::Malformed);
    }
    let data = &body[data_start..];
    let weights = match header.element {
        ELEMENT_F32 => Weights::F32(f32_model(hidden, vocab_size, data)?),
        ELEMENT_INT8 => {
            if hidden > MAX_HIDDEN_INT8 {
                return Err(FormatError::ShapeMismatch {
                    hidden,
                    vocab: vocab_size,
                    max_hidden: MAX_HIDDEN_INT8,
                    max_vocab: MAX_VOCAB,
                });
            }
            let t = int8_tensors(data, quant_tensor_lengths(hidden, vocab_size))?;
            Weights::Int8(
                QuantModelView::new(hidden, vocab_size, t).map_err(|_| FormatError::Malformed)?,
            )
        }
        #[cfg(feature = "tiles")]
        ELEMENT_INT8_TILES => {
            let t = int8_tensors(data, tile_tensor_lengths(hidden, vocab_size))?;
            let view =
                TiledModelView::new(hidden, vocab_size, t).map_err(|_| FormatError::Malformed)?;
            Weights::Int8Tiles(view)
        }
        other => return Err(FormatError::UnsupportedElement(other)),
    };
    Ok(AnyCharmFile {
        version,
        vocab,
        meta: header.meta,
        weights,
        len,
    })
}

fn f32_model(hidden: usize, vocab: usize, data: &[u8]) -> Result<ModelView<'_, f32>, FormatError> {
    let data: &[f32] = bytemuck::try_cast_slice(data).map_err(|_| FormatError::Misaligned)?;
    let [n_wxh, n_whh, n_bh, n_why, n_by] = tensor_lengths(hidden, vocab);
    check_finite(
        data,
        &[
            ("wxh", n_wxh),
            ("whh", n_whh),
            ("bh", n_bh),
            ("why", n_why),
            ("by", n_by),
        ],
    )?;
    let (wxh, data) = data.split_at_checked(n_wxh).ok_or(FormatError::Malformed)?;
    let (whh, data) = data.split_at_checked(n_whh).ok_or(FormatError::Malformed)?;
    let (bh, data) = data.split_at_checked(n_bh).ok_or(FormatError::Malformed)?;
    let (why, by) = data.split_at_checked(n_why).ok_or(FormatError::Malformed)?;
    ModelView::new(hidden, vocab, wxh, whh, bh, why, by).map_err(|_| FormatError::Malformed)
}

/// The three int8 tensors and five f32 ones of an int8 file of the given
/// lengths, the floats checked finite.
fn int8_tensors(
    data: &[u8],
    lengths: ([usize; 3], [usize; 5]),
) -> Result<QuantTensors<'_>, FormatError> {
    let ([n_wxh, n_whh, n_why], [n_sx, n_sh, n_sy, n_bh, n_by]) = lengths;
    let (int8, floats) = data
        .split_at_checked(n_wxh + n_whh + n_why)
        .ok_or(FormatError::Malformed)?;
    let int8: &[i8] = bytemuck::cast_slice(int8);
    let (wxh, int8) = int8.split_at_checked(n_wxh).ok_or(FormatError::Malformed)?;
    let (whh, why) = int8.split_at_checked(n_whh).ok_or(FormatError::Malformed)?;
    let floats: &[f32] = bytemuck::try_cast_slice(floats).map_err(|_| FormatError::Misaligned)?;
    check_finite(
        floats,
        &[
            ("wxh_scale", n_sx),
            ("whh_scale", n_sh),
            ("why_scale", n_sy),
            ("bh", n_bh),
            ("by", n_by),
        ],
    )?;
    let (sx, floats) = floats
        .split_at_checked(n_sx)
        .ok_or(FormatError::Malformed)?;
    let (sh, floats) = floats
        .split_at_checked(n_sh)
        .ok_or(FormatError::Malformed)?;
    let (sy, floats) = floats
        .split_at_checked(n_sy)
        .ok_or(FormatError::Malformed)?;
    let (bh, by) = floats
        .split_at_checked(n_bh)
        .ok_or(FormatError::Malformed)?;
    Ok(QuantTensors {
        int8: [wxh, whh, why],
        f32: [sx, sh, sy, bh, by],
    })
}

/// Decodes an f32 weight file in place (see [`decode_any`] for the checks);
/// an int8 file is [`FormatError::UnsupportedElement`].
///
/// ```
/// use charm_core::{decode, FormatError};
/// assert_eq!(decode(b"CHR").unwrap_err(), FormatError::Truncated { needed: 12, available: 3 });
/// assert_eq!(decode(b"PNG\x0d........").unwrap_err(), FormatError::BadMagic);
/// ```
pub fn decode(bytes: &[u8]) -> Result<CharmFile<'_>, FormatError> {
    let file = decode_any(bytes)?;
    match file.weights {
        Weights::F32(model) => Ok(CharmFile {
            version: file.version,
            vocab: file.vocab,
            meta: file.meta,
            model,
            len: file.len,
        }),
        Weights::Int8(_) | Weights::Int8Tiles(_) => {
            Err(FormatError::UnsupportedElement(file.weights.element()))
        }
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

/// Encodes an f32 model as a version-1 weight file (needs the `alloc` feature).
///
/// Fails if the vocabulary's size differs from the model's, or is larger than
/// [`MAX_VOCAB`], or a weight is not finite.
#[cfg(feature = "alloc")]
pub fn encode(
    model: &ModelView<'_, f32>,
    vocab: &Vocab<'_>,
    meta: &Metadata,
) -> Result<alloc::vec::Vec<u8>, FormatError> {
    encode_any(&Weights::F32(*model), vocab, meta)
}

/// Encodes a model of any element type: f32 as version 1, int8 row pairs as
/// version 3, int8 tiles as version 4.
#[cfg(feature = "alloc")]
pub fn encode_any(
    weights: &Weights<'_>,
    vocab: &Vocab<'_>,
    meta: &Metadata,
) -> Result<alloc::vec::Vec<u8>, FormatError> {
    use alloc::vec::Vec;
    let (hidden, vocab_size) = (weights.hidden(), weights.vocab());
    if vocab_size > MAX_VOCAB {
        return Err(FormatError::VocabularyTooLarge {
            size: vocab_size,
            max: MAX_VOCAB,
        });
    }
    if vocab.len() != vocab_size {
        return Err(FormatError::BadVocabulary);
    }
    if hidden > MAX_HIDDEN {
        return Err(FormatError::Malformed);
    }
    let (version, element) = match weights {
        Weights::F32(m) => {
            let tensors = [
                ("wxh", m.wxh()),
                ("whh", m.whh()),
                ("bh", m.bh()),
                ("why", m.why()),
                ("by", m.by()),
            ];
            for (name, t) in tensors {
                check_finite(t, &[(name, t.len())])?;
            }
            (VERSION_F32, ELEMENT_F32)
        }
        Weights::Int8(_) | Weights::Int8Tiles(_) => {
            let [sx, sh, sy, bh, by] = weights.int8_tensors().map_or([&[][..]; 5], |t| t.f32);
            let tensors = [
                ("wxh_scale", sx),
                ("whh_scale", sh),
                ("why_scale", sy),
                ("bh", bh),
                ("by", by),
            ];
            for (name, t) in tensors {
                check_finite(t, &[(name, t.len())])?;
            }
            match weights {
                Weights::Int8(_) => (VERSION_INT8, ELEMENT_INT8),
                _ => (VERSION, ELEMENT_INT8_TILES),
            }
        }
    };
    let header = Header {
        hidden: hidden as u32,
        vocab_size: vocab_size as u32,
        element,
        vocab: vocab.as_str(),
        meta: *meta,
    };
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // length, filled in below
    let header_bytes = postcard::to_allocvec(&header).map_err(|_| FormatError::Malformed)?;
    out.extend_from_slice(&header_bytes);
    out.resize(out.len().next_multiple_of(TENSOR_ALIGN), 0);
    let floats: [&[f32]; 5] = match weights {
        Weights::F32(m) => [m.wxh(), m.whh(), m.bh(), m.why(), m.by()],
        Weights::Int8(_) | Weights::Int8Tiles(_) => {
            let Some(t) = weights.int8_tensors() else {
                return Err(FormatError::Malformed);
            };
            for q in t.int8 {
                out.extend(q.iter().map(|&b| b as u8));
            }
            t.f32
        }
    };
    for t in floats {
        for w in t {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    let len = out.len() + 4;
    let len32 = u32::try_from(len).map_err(|_| FormatError::Malformed)?;
    out[8..12].copy_from_slice(&len32.to_le_bytes());
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}
