//! The vocabulary: distinct Unicode scalar values, in ascending order.

use crate::sentence::{display_sentence, Explain, SentenceOut};

/// A vocabulary borrowed as UTF-8 text whose characters are the symbols, each
/// once, sorted by code point (index `i` is the `i`-th character).
///
/// Kept as the UTF-8 bytes of the weight file, so it costs no RAM on a device;
/// lookups decode UTF-8 as they go (O(V) per lookup, tiny next to the O(H·(H+V))
/// step that follows each one). No allocation anywhere.
///
/// ```
/// let v = charm_core::Vocab::new("\nabé").unwrap();
/// assert_eq!(v.len(), 4);
/// assert_eq!(v.index_of('é'), Some(3));
/// assert_eq!(v.char_at(1), Some('a'));
/// assert_eq!(v.index_of('z'), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocab<'a> {
    text: &'a str,
    len: usize,
}

/// Why a text is not a vocabulary.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabError {
    /// The text has no characters.
    Empty,
    /// Character `index` is not greater than the one before it (unsorted or repeated).
    NotAscending {
        /// Position of the offending character.
        index: usize,
    },
}

impl Explain for VocabError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            VocabError::Empty => out.text("the vocabulary is empty"),
            VocabError::NotAscending { index } => out.fill(
                "vocabulary character {} is out of order or repeated",
                &[index],
            ),
        }
    }
}

impl core::fmt::Display for VocabError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

impl<'a> Vocab<'a> {
    /// Checks that `text` is non-empty and strictly ascending by code point.
    pub fn new(text: &'a str) -> Result<Self, VocabError> {
        let mut len = 0;
        let mut prev: Option<char> = None;
        for c in text.chars() {
            if prev.is_some_and(|p| c <= p) {
                return Err(VocabError::NotAscending { index: len });
            }
            prev = Some(c);
            len += 1;
        }
        if len == 0 {
            return Err(VocabError::Empty);
        }
        Ok(Self { text, len })
    }

    /// Number of characters V.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a vocabulary has at least one character.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The characters as UTF-8 text, in index order.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Index of `c`, or `None` if it is not in the vocabulary.
    pub fn index_of(&self, c: char) -> Option<usize> {
        // Sorted: stop at the first character not below `c`.
        for (i, v) in self.text.chars().enumerate() {
            if v >= c {
                return (v == c).then_some(i);
            }
        }
        None
    }

    /// The character at `index`, or `None` past the end.
    pub fn char_at(&self, index: usize) -> Option<char> {
        let bytes = self.text.as_bytes();
        // As many bytes as characters: all ASCII, and the index is the byte's.
        if bytes.len() == self.len {
            return bytes.get(index).map(|&b| char::from(b));
        }
        // Else character `index` starts at the `index`-th byte that is not a
        // UTF-8 continuation byte (0b10xx_xxxx): counting those is shorter
        // code than decoding every character before it.
        let mut starts = 0;
        for (at, &byte) in bytes.iter().enumerate() {
            if byte & 0xC0 != 0x80 {
                if starts == index {
                    return self.text.get(at..)?.chars().next();
                }
                starts += 1;
            }
        }
        None
    }

    /// The characters in index order.
    pub fn chars(&self) -> core::str::Chars<'a> {
        self.text.chars()
    }
}
