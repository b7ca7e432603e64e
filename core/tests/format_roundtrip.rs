//! The weight file: round trip, every error variant, every truncation and
//! every single-bit flip of a small file.

mod common_model;
use charm_core::{decode, encode, AlignedBytes, FormatError, Metadata, Vocab, MAX_VOCAB, VERSION};
use common_model::{vocab_text, OwnedModel};

fn meta() -> Metadata {
    Metadata {
        steps: 1234,
        chars_seen: 30_850,
        train_loss: 1.5,
        val_loss: 1.7,
        corpus_crc32: 0xDEAD_BEEF,
        corpus_chars: 99,
        seed: 7,
    }
}

fn small_file() -> (OwnedModel<f32>, String, Vec<u8>) {
    let model = OwnedModel::random(8, 5, 0.5, 11);
    let text = "\nabcé".to_string();
    let bytes = encode(&model.view(), &Vocab::new(&text).unwrap(), &meta()).unwrap();
    (model, text, bytes)
}

#[test]
fn round_trip_keeps_every_bit() {
    for (hidden, vocab) in [(8, 5), (100, 65), (13, 300)] {
        let model = OwnedModel::random(hidden, vocab, 0.3, hidden as u64);
        let text = vocab_text(vocab, 0x20);
        let bytes = encode(&model.view(), &Vocab::new(&text).unwrap(), &meta()).unwrap();
        let aligned = AlignedBytes::from(&bytes[..]);
        let file = decode(&aligned).unwrap();
        assert_eq!(file.len, bytes.len());
        assert_eq!(file.meta, meta());
        assert_eq!(file.vocab.as_str(), text);
        let v = file.model;
        let decoded = [v.wxh(), v.whh(), v.bh(), v.why(), v.by()];
        for (a, b) in decoded.iter().zip(&model.tensors) {
            assert_eq!(
                a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
        // Re-encoding the decoded file gives the same bytes.
        assert_eq!(encode(&v, &file.vocab, &file.meta).unwrap(), bytes);
    }
}

#[test]
fn tensors_are_aligned_and_trailing_bytes_are_allowed() {
    let (_, _, mut bytes) = small_file();
    let len = bytes.len();
    bytes.extend(std::iter::repeat_n(0xFF, 1000)); // as in a flash region
    let aligned = AlignedBytes::from(&bytes[..]);
    let file = decode(&aligned).unwrap();
    assert_eq!(file.len, len);
    assert_eq!(file.model.wxh().as_ptr() as usize % 16, 0);
}

#[test]
fn every_truncation_is_an_error() {
    let (_, _, bytes) = small_file();
    for n in 0..bytes.len() {
        let aligned = AlignedBytes::from(&bytes[..n]);
        match decode(&aligned) {
            Err(FormatError::Truncated { needed, available }) => {
                assert_eq!(available, n);
                assert!(needed > n);
            }
            other => panic!("length {n}: expected Truncated, got {other:?}"),
        }
    }
}

/// A truncated copy in a flash region (the rest erased, 0xFF) or in memory
/// never written (0x00) is reported as truncated where the blank run starts,
/// as the host reports the short file; a blank run shorter than BLANK_TAIL is
/// a corrupted file.
#[test]
fn a_truncated_copy_followed_by_blank_memory_is_truncated() {
    let (_, _, bytes) = small_file();
    let len = bytes.len();
    for blank in [0x00u8, 0xFF] {
        for cut in [12, len / 2, len - charm_core::BLANK_TAIL] {
            let mut region = bytes[..cut].to_vec();
            region.resize(len + 4096, blank);
            let aligned = AlignedBytes::from(&region[..]);
            match decode(&aligned) {
                Err(FormatError::Truncated { needed, available }) => {
                    assert_eq!(needed, len);
                    // The run may start earlier when the file's own bytes end in `blank`.
                    assert!(
                        available <= cut && cut - available < 64,
                        "{available} vs {cut}"
                    );
                }
                other => panic!("cut at {cut}, blank {blank:#x}: got {other:?}"),
            }
        }
        let mut short_run = bytes.clone();
        short_run[len - charm_core::BLANK_TAIL + 1..].fill(blank);
        let aligned = AlignedBytes::from(&short_run[..]);
        assert!(matches!(
            decode(&aligned),
            Err(FormatError::CrcMismatch { .. })
        ));
    }
}

#[test]
fn every_single_bit_flip_is_an_error() {
    let (_, _, bytes) = small_file();
    let mut flipped = bytes.clone();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            flipped[byte] ^= 1 << bit;
            let aligned = AlignedBytes::from(&flipped[..]);
            let err = decode(&aligned).expect_err("a flipped bit must be detected");
            // Which error depends on where the bit is; each is the specific one.
            match byte {
                0..=3 => assert_eq!(err, FormatError::BadMagic),
                // another version this build reads (1 → 3) then fails the CRC
                4..=5 if (1..=VERSION).contains(&u16::from_le_bytes([flipped[4], flipped[5]])) => {
                    assert!(matches!(err, FormatError::CrcMismatch { .. }), "{err:?}")
                }
                4..=5 => assert!(matches!(err, FormatError::UnsupportedVersion { .. })),
                8..=11 => assert!(
                    matches!(
                        err,
                        FormatError::Truncated { .. }
                            | FormatError::CrcMismatch { .. }
                            | FormatError::Malformed
                    ),
                    "length bit: {err:?}"
                ),
                _ => assert!(
                    matches!(err, FormatError::CrcMismatch { .. }),
                    "byte {byte} bit {bit}: {err:?}"
                ),
            }
            flipped[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn newer_version_is_named() {
    let (_, _, mut bytes) = small_file();
    bytes[4..6].copy_from_slice(&(VERSION + 1).to_le_bytes());
    assert_eq!(
        decode(&AlignedBytes::from(&bytes[..])).unwrap_err(),
        FormatError::UnsupportedVersion {
            found: VERSION + 1,
            supported: VERSION
        }
    );
}

#[test]
fn blank_flash_and_other_files_are_bad_magic() {
    assert_eq!(
        decode(&AlignedBytes::from(&[0xFFu8; 64][..])).unwrap_err(),
        FormatError::BadMagic
    );
    assert_eq!(
        decode(&AlignedBytes::from(&b"\x89PNG\r\n\x1a\n0000"[..])).unwrap_err(),
        FormatError::BadMagic
    );
}

#[test]
fn misaligned_bytes_are_refused_not_copied() {
    let (_, _, bytes) = small_file();
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&bytes);
    let aligned = AlignedBytes::from(&shifted[..]);
    assert_eq!(decode(&aligned[1..]).unwrap_err(), FormatError::Misaligned);
}

#[test]
fn capacity_check_names_both_shapes() {
    let (_, _, bytes) = small_file();
    let aligned = AlignedBytes::from(&bytes[..]);
    let file = decode(&aligned).unwrap();
    assert!(file.check_capacity(8, 5).is_ok());
    assert_eq!(
        file.check_capacity(4, 5).unwrap_err(),
        FormatError::ShapeMismatch {
            hidden: 8,
            vocab: 5,
            max_hidden: 4,
            max_vocab: 5
        }
    );
}

#[test]
fn encoder_refuses_non_finite_and_mismatched_vocabulary() {
    let mut model = OwnedModel::random(8, 5, 0.5, 1);
    let vocab_ok = "abcde";
    assert_eq!(
        encode(&model.view(), &Vocab::new("abcd").unwrap(), &meta()).unwrap_err(),
        FormatError::BadVocabulary
    );
    model.tensors[1][3] = f32::NAN;
    assert_eq!(
        encode(&model.view(), &Vocab::new(vocab_ok).unwrap(), &meta()).unwrap_err(),
        FormatError::NonFinite {
            tensor: "whh",
            index: 3
        }
    );
}

/// Rewrites a file's header with a corrupt field and a fresh CRC, to reach the
/// checks behind the CRC (what a buggy writer would produce).
fn with_valid_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len();
    let crc = charm_core::crc32(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn checks_behind_the_crc() {
    let (_, _, bytes) = small_file();
    // A NaN weight: the last tensor element (b_y[4]) just before the CRC.
    let mut nan = bytes.clone();
    let n = nan.len();
    nan[n - 8..n - 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        decode(&AlignedBytes::from(&with_valid_crc(nan)[..])).unwrap_err(),
        FormatError::NonFinite {
            tensor: "by",
            index: 4
        }
    );
    // Element type 1 (reserved for int8): the byte after the two varints H=8, V=5.
    let mut elem = bytes.clone();
    assert_eq!((elem[12], elem[13], elem[14]), (8, 5, 0));
    elem[14] = 1;
    assert_eq!(
        decode(&AlignedBytes::from(&with_valid_crc(elem)[..])).unwrap_err(),
        FormatError::UnsupportedElement(1)
    );
    // Vocabulary out of order: swap 'a' and 'b' in the stored text.
    let mut unsorted = bytes.clone();
    let at = unsorted.windows(3).position(|w| w == b"\nab").unwrap();
    unsorted.swap(at + 1, at + 2);
    assert_eq!(
        decode(&AlignedBytes::from(&with_valid_crc(unsorted)[..])).unwrap_err(),
        FormatError::BadVocabulary
    );
    // A hidden size that disagrees with the tensor block.
    let mut shape = bytes;
    shape[12] = 9;
    assert_eq!(
        decode(&AlignedBytes::from(&with_valid_crc(shape)[..])).unwrap_err(),
        FormatError::Malformed
    );
}

#[test]
fn vocabulary_limit_is_enforced_by_the_encoder() {
    // V = MAX_VOCAB + 1 with H = 1 is small enough to build.
    let v = MAX_VOCAB + 1;
    let model = OwnedModel::random(1, v, 0.1, 1);
    let text = vocab_text(v, 0x20);
    assert_eq!(
        encode(&model.view(), &Vocab::new(&text).unwrap(), &meta()).unwrap_err(),
        FormatError::VocabularyTooLarge {
            size: v,
            max: MAX_VOCAB
        }
    );
}
