//! Reading a training text: UTF-8 check, vocabulary, character indices, split.

use crate::error::Error;
use crate::files::input::read_regular;
use crate::files::memory::check_available;
use std::path::{Path, PathBuf};

/// The built-in corpus `charm train` uses without `--data`: charm's own source
/// code (charm-core and the trainer), compiled into the binary so the quick start
/// works on a fresh checkout with no download. About 150 kB of Rust and docs;
/// `build.rs` lists the files (a published package has the trainer's alone).
pub const DEFAULT_CORPUS: &str = include_str!(concat!(env!("OUT_DIR"), "/default_corpus.txt"));

/// Name shown for the built-in corpus.
pub const DEFAULT_CORPUS_NAME: &str = "<built-in corpus: charm's own source code>";

/// A text as characters, with its vocabulary.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// The distinct characters, ascending by code point: index `i` is character `i`.
    pub vocab: Vec<char>,
    /// The text as vocabulary indices.
    pub indices: Vec<u32>,
    /// CRC-32 of the file's bytes.
    pub crc32: u32,
}

/// The largest text charm reads: 1 GiB (its characters as indices take 4
/// bytes each in memory on top).
pub const MAX_TEXT_BYTES: u64 = 1 << 30;

/// Reads a file as UTF-8 text (a regular file of at most [`MAX_TEXT_BYTES`]).
pub fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = read_regular(path, MAX_TEXT_BYTES, "text")?;
    String::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        path: path.into(),
        offset: e.utf8_error().valid_up_to(),
    })
}

impl Corpus {
    /// Reads and indexes a corpus file; `None` means the built-in corpus.
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        match path {
            Some(p) => {
                // The text, then its characters as 4-byte indices: 5 bytes a byte at most.
                let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                check_available(5 * size, "reading this corpus", "train on a shorter text")?;
                Self::from_text(p, &read_text(p)?)
            }
            None => Self::from_text(Path::new(DEFAULT_CORPUS_NAME), DEFAULT_CORPUS),
        }
    }

    /// Indexes a text. Fails if it is empty or has more distinct characters
    /// than [`charm_core::MAX_VOCAB`].
    pub fn from_text(path: &Path, text: &str) -> Result<Self, Error> {
        // The distinct characters, ascending (a set: a copy of the whole text
        // as chars would take 4 bytes a character).
        let vocab: Vec<char> = text
            .chars()
            .collect::<std::collections::BTreeSet<char>>()
            .into_iter()
            .collect();
        if vocab.is_empty() {
            return Err(Error::EmptyCorpus {
                path: path.into(),
                needed: 2,
            });
        }
        if vocab.len() > charm_core::MAX_VOCAB {
            return Err(Error::VocabTooLarge {
                path: path.into(),
                size: vocab.len(),
                max: charm_core::MAX_VOCAB,
            });
        }
        let indices = index_text(&vocab, text).map(|(i, _)| i).collect();
        Ok(Self {
            path: path.into(),
            vocab,
            indices,
            crc32: charm_core::crc32(text.as_bytes()),
        })
    }

    /// The file it was read from (`None`: the built-in corpus).
    pub fn file(&self) -> Option<&Path> {
        (self.path != Path::new(DEFAULT_CORPUS_NAME)).then_some(self.path.as_path())
    }

    /// The vocabulary as the UTF-8 string a `.charm` file stores.
    pub fn vocab_string(&self) -> String {
        self.vocab.iter().collect()
    }

    /// Characters in the corpus.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Never true (an empty corpus is refused); for clippy.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Where the validation part starts: the last `floor(len · fraction)`
    /// characters are held out.
    pub fn split_at(&self, val_fraction: f64) -> usize {
        split_point(self.len(), val_fraction)
    }
}

/// `n - floor(n · fraction)`: the first index of the held-out end of a text of
/// `n` characters. `charm eval` on the last `floor(n · fraction)` characters
/// scores exactly the trainer's validation part.
pub fn split_point(n: usize, val_fraction: f64) -> usize {
    n - ((n as f64 * val_fraction).floor() as usize).min(n)
}

/// Maps each character of `text` to its index in the sorted `vocab`
/// (`Err(c)` for a character outside it), with the character.
pub fn index_text<'a>(vocab: &'a [char], text: &'a str) -> impl Iterator<Item = (u32, char)> + 'a {
    text.chars()
        .filter_map(move |c| vocab.binary_search(&c).ok().map(|i| (i as u32, c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_is_sorted_and_indices_round_trip() {
        let c = Corpus::from_text(Path::new("t"), "hello, héllo").unwrap();
        assert_eq!(c.vocab_string(), " ,ehlo\u{e9}");
        let back: String = c.indices.iter().map(|&i| c.vocab[i as usize]).collect();
        assert_eq!(back, "hello, héllo");
        assert!(charm_core::Vocab::new(&c.vocab_string()).is_ok());
    }

    #[test]
    fn split_holds_out_the_end() {
        assert_eq!(split_point(1_115_394, 0.1), 1_115_394 - 111_539);
        assert_eq!(split_point(10, 0.0), 10);
        assert_eq!(split_point(10, 1.0), 0);
    }

    #[test]
    fn empty_text_is_refused() {
        assert!(matches!(
            Corpus::from_text(Path::new("e"), ""),
            Err(Error::EmptyCorpus { .. })
        ));
    }

    #[test]
    fn default_corpus_is_usable() {
        let c = Corpus::load(None).unwrap();
        assert!(c.len() > 50_000, "{}", c.len());
        assert!(c.vocab.len() < 200);
    }
}
