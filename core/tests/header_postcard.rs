//! `Header::from_postcard`, the decoder the firmware links instead of serde,
//! against postcard itself: the same header and the same rest for every
//! encoded header, and the same verdict (a header or none) for any bytes.

use charm_core::{Header, Metadata};
use proptest::prelude::*;

fn postcard_reads(bytes: &[u8]) -> Option<(Header<'_>, &[u8])> {
    postcard::take_from_bytes::<Header<'_>>(bytes).ok()
}

/// The header with its losses zeroed, for comparing the rest.
fn without_losses<'a>(h: &Header<'a>) -> Header<'a> {
    Header {
        meta: Metadata {
            train_loss: 0.0,
            val_loss: 0.0,
            ..h.meta
        },
        ..*h
    }
}

/// Equality that also holds for NaN losses (the metadata allows them).
fn same(a: Option<(Header<'_>, &[u8])>, b: Option<(Header<'_>, &[u8])>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some((a, rest_a)), Some((b, rest_b))) => {
            let bits = |h: &Header<'_>| (h.meta.train_loss.to_bits(), h.meta.val_loss.to_bits());
            bits(&a) == bits(&b) && without_losses(&a) == without_losses(&b) && rest_a == rest_b
        }
        _ => false,
    }
}

fn header(vocab: &str, numbers: [u64; 6], losses: [f32; 2], element: u8) -> Header<'_> {
    Header {
        hidden: numbers[0] as u32,
        vocab_size: (numbers[0] >> 32) as u32,
        element,
        vocab,
        meta: Metadata {
            steps: numbers[1],
            chars_seen: numbers[2],
            train_loss: losses[0],
            val_loss: losses[1],
            corpus_crc32: numbers[3] as u32,
            corpus_chars: numbers[4],
            seed: numbers[5],
        },
    }
}

/// Integers of every varint length, from 1 to 10 bytes.
fn varied_u64() -> impl Strategy<Value = u64> {
    (0u32..64, any::<u64>()).prop_map(|(bits, v)| if bits == 0 { 0 } else { v >> (64 - bits) })
}

proptest! {
    /// Every header postcard writes is read back the same, with the bytes after it.
    #[test]
    fn reads_what_postcard_writes(
        vocab in "\\PC{0,40}",
        numbers in prop::array::uniform6(varied_u64()),
        losses in prop::array::uniform2(any::<f32>()),
        element in any::<u8>(),
        tail in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let h = header(&vocab, numbers, losses, element);
        let mut bytes = postcard::to_allocvec(&h).unwrap();
        bytes.extend_from_slice(&tail);
        let ours = Header::from_postcard(&bytes);
        prop_assert!(same(ours, postcard_reads(&bytes)));
        prop_assert!(ours.is_some());
        // Every cut short of the whole header fails in both.
        let len = bytes.len() - tail.len();
        for cut in 0..len {
            prop_assert!(Header::from_postcard(&bytes[..cut]).is_none());
            prop_assert!(postcard_reads(&bytes[..cut]).is_none());
        }
    }

    /// Any bytes, and encoded headers with bytes changed: the same verdict and values.
    #[test]
    fn agrees_with_postcard_on_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        vocab in "[a-z]{0,5}",
        numbers in prop::array::uniform6(varied_u64()),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        prop_assert!(same(Header::from_postcard(&bytes), postcard_reads(&bytes)));
        let mut encoded = postcard::to_allocvec(&header(&vocab, numbers, [1.5, 2.5], 0)).unwrap();
        for (at, value) in flips {
            let at = at.index(encoded.len());
            encoded[at] = value;
        }
        prop_assert!(same(Header::from_postcard(&encoded), postcard_reads(&encoded)));
    }
}

#[test]
fn varint_limits_as_postcard() {
    // u32 in five bytes: the last byte holds 4 bits (at most 0x0F).
    let u32_max = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
    let u32_over = [0xFF, 0xFF, 0xFF, 0xFF, 0x10];
    let u32_long = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    // u64 in ten bytes: the last byte holds 1 bit.
    let u64_max = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    let u64_over = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02];
    let rest = [0u8; 24];
    for hidden in [&u32_max[..], &u32_over, &u32_long, &[0x80, 0x00]] {
        let bytes = [hidden, &rest].concat();
        assert!(
            same(Header::from_postcard(&bytes), postcard_reads(&bytes)),
            "{hidden:?}"
        );
    }
    // steps is the first u64: after hidden, vocab_size, element and an empty vocabulary.
    for steps in [&u64_max[..], &u64_over] {
        let bytes = [&[1u8, 1, 0, 0][..], steps, &rest].concat();
        assert!(
            same(Header::from_postcard(&bytes), postcard_reads(&bytes)),
            "{steps:?}"
        );
    }
    assert!(
        Header::from_postcard(&[[1u8, 1, 0, 0].as_slice(), &u64_max, &rest].concat()).is_some()
    );
    assert!(
        Header::from_postcard(&[[1u8, 1, 0, 0].as_slice(), &u64_over, &rest].concat()).is_none()
    );
    // A vocabulary that is not UTF-8.
    let bytes = [&[1u8, 1, 0, 1, 0xFF][..], &rest].concat();
    assert!(Header::from_postcard(&bytes).is_none() && postcard_reads(&bytes).is_none());
}
