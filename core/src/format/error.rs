//! Every way bytes can fail to be a usable weight file, each one sentence.

#[cfg(feature = "cells")]
use crate::cell::Cell;
use crate::sentence::{display_sentence, Explain, SentenceOut};
use crate::vocab::VocabError;

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
    /// A version-5 file names a recurrent cell this build does not know
    /// (feature `cells`, like the next two).
    #[cfg(feature = "cells")]
    UnsupportedCell(u8),
    /// A version-5 file has no layers or more than [`crate::MAX_LAYERS`].
    #[cfg(feature = "cells")]
    UnsupportedDepth {
        /// Layers in the file.
        layers: usize,
        /// The most this build reads.
        max: usize,
    },
    /// [`crate::decode`], which reads one tanh layer, met another model
    /// (one [`crate::decode_any`] reads).
    #[cfg(feature = "cells")]
    NotOneTanhLayer {
        /// The model's cell.
        cell: Cell,
        /// Its layers.
        layers: usize,
    },
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
            #[cfg(feature = "cells")]
            UnsupportedCell(code) => out.fill(
                "it uses recurrent cell code {}, which this build does not know",
                &[code.into()],
            ),
            #[cfg(feature = "cells")]
            UnsupportedDepth { layers, max } => {
                out.fill("it has {} layers, this build reads 1 to {}", &[layers, max])
            }
            #[cfg(feature = "cells")]
            NotOneTanhLayer { cell, layers } => {
                out.fill("it holds {} layers of ", &[layers]);
                out.text(cell.name());
                out.text(" cells, and this reader runs one tanh layer");
            }
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
