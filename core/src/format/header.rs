//! The header after the preamble: shape, element type, vocabulary and
//! training metadata, in postcard's wire format.

use serde::{Deserialize, Serialize};

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
    /// Tensor element type: [`crate::ELEMENT_F32`], [`crate::ELEMENT_INT8`] or [`crate::ELEMENT_INT8_TILES`].
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
        let vocab = crate::str_from_utf8(r.take(vocab_len)?)?;
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

pub(super) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
