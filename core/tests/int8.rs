//! int8 models: quantization, the integer step against the f32 step, the
//! version-3 file, and the generator on Q15 state.

mod common_model;
use charm_core::{
    decode, decode_any, encode, encode_any, pack_row_pairs, pair_dot_portable, pair_dots,
    paired_len, quantize, AlignedBytes, AnyCharmFile, FormatError, Metadata, Vocab, Weights,
};
use common_model::{
    assert_every_truncation_and_bit_flip_is_an_error, generate_200, max_logit_difference,
    vocab_text, OwnedModel,
};
use proptest::prelude::*;

fn decode_owned(bytes: &AlignedBytes) -> AnyCharmFile<'_> {
    decode_any(bytes).unwrap()
}

/// Rows in natural order: the plain i64 dot products the row pairs must reproduce.
fn natural_dots(rows: &[i8], stride: usize, h: &[i16]) -> Vec<i64> {
    rows.chunks_exact(stride)
        .map(|row| {
            row.iter()
                .zip(h)
                .map(|(&w, &v)| i64::from(w) * i64::from(v))
                .sum()
        })
        .collect()
}

/// `n` int8 weights with the full range −128..=127 (quantize makes ±127; the
/// decoder accepts any byte) and Q15 entries with the full range ±32767.
fn random_rows(n: usize, stride: usize, rng: &mut charm_core::Rng) -> (Vec<i8>, Vec<i16>) {
    let w = (0..n).map(|_| (rng.next_u64() % 256) as u8 as i8).collect();
    let h = (0..stride)
        .map(|_| (rng.next_u64() % 65535) as i32 - 32767)
        .map(|v| v as i16)
        .collect();
    (w, h)
}

proptest! {
    /// A row pair's two dot products equal the plain integer sums of its rows,
    /// for every byte value, including the extremes ±32767 and −128.
    #[test]
    fn pair_dot_matches_plain_sums(blocks in 1usize..40, seed in any::<u64>()) {
        let mut rng = charm_core::Rng::new(seed);
        let stride = blocks * 8;
        let (w, h) = random_rows(2 * stride, stride, &mut rng);
        let pairs = pack_row_pairs(&w, stride);
        prop_assert_eq!(pairs.len(), paired_len(2, stride));
        let expected = natural_dots(&w, stride, &h);
        let mut dots = [[0i32; 2]; 3];
        prop_assert_eq!(pair_dots(&pairs, stride, &h, &mut dots), 1);
        let [a, b] = dots[0];
        prop_assert_eq!((i64::from(a), i64::from(b)), (expected[0], expected[1]));
        prop_assert_eq!(pair_dot_portable(&pairs, &h), (a, b));
    }

    /// A whole matrix as row pairs: one pair block per two rows, the dot
    /// product of every row in order, odd row counts included (zero last row).
    #[test]
    fn row_pairs_give_every_row(rows in 1usize..9, blocks in 1usize..6, seed in any::<u64>()) {
        let mut rng = charm_core::Rng::new(seed);
        let stride = blocks * 8;
        let (w, h) = random_rows(rows * stride, stride, &mut rng);
        let pairs = pack_row_pairs(&w, stride);
        prop_assert_eq!(pairs.len(), paired_len(rows, stride));
        // in runs of at most 3 blocks, as the step does with PAIR_RUN
        let mut seen = Vec::new();
        for run in pairs.chunks(3 * 2 * stride) {
            let mut dots = [[0i32; 2]; 3];
            let n = pair_dots(run, stride, &h, &mut dots);
            prop_assert_eq!(n, run.len() / (2 * stride));
            seen.extend(dots[..n].iter().flatten().map(|&d| i64::from(d)));
        }
        let mut expected = natural_dots(&w, stride, &h);
        expected.resize(seen.len(), 0);
        prop_assert_eq!(seen, expected);
    }
}

#[test]
fn int8_step_tracks_the_f32_step() {
    // Logits of the int8 model stay close to the f32 model's over 50 steps.
    let (hidden, vocab) = (128, 65);
    let m = OwnedModel::random(hidden, vocab, 1.5 / (hidden as f32).sqrt(), 4);
    let q = quantize(&m.view()).unwrap();
    let (worst, hq) = max_logit_difference(&q.view(), &m.view());
    println!("int8: max logit difference {worst:.4}");
    // Logits are O(1); per-row int8 rounding gives errors of a few 1e-2.
    assert!(worst < 0.1, "max logit difference {worst}");
    assert!(
        hq[hidden..].iter().all(|&v| v == 0),
        "padding of the state stays zero"
    );
}

#[test]
fn int8_file_round_trip_and_4x_smaller() {
    let (hidden, vocab) = (128, 65);
    let m = OwnedModel::random(hidden, vocab, 0.2, 9);
    let text = vocab_text(vocab, 0x20);
    let voc = Vocab::new(&text).unwrap();
    let f32_bytes = encode(&m.view(), &voc, &Metadata::default()).unwrap();
    let q = quantize(&m.view()).unwrap();
    let bytes = encode_any(&Weights::Int8(q.view()), &voc, &Metadata::default()).unwrap();
    assert!(
        bytes.len() * 10 < f32_bytes.len() * 3,
        "{} vs {}",
        bytes.len(),
        f32_bytes.len()
    );
    let aligned = AlignedBytes::from(&bytes[..]);
    let file = decode_owned(&aligned);
    assert_eq!(file.version, 3);
    let Weights::Int8(view) = file.weights else {
        panic!("expected int8")
    };
    assert_eq!(view.tensors().int8, q.view().tensors().int8);
    assert_eq!(
        encode_any(&file.weights, &file.vocab, &file.meta).unwrap(),
        bytes
    );
    // The f32-only decoder names the element type instead of misreading it.
    assert_eq!(
        decode(&aligned).unwrap_err(),
        FormatError::UnsupportedElement(1)
    );
    // A version-2 int8 file (the retired permuted layout) is named as such.
    let mut v2 = bytes.clone();
    v2[4..6].copy_from_slice(&2u16.to_le_bytes());
    let n = v2.len() - 4;
    let crc = charm_core::crc32(&v2[..n]);
    v2[n..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_any(&AlignedBytes::from(&v2[..])).unwrap_err(),
        FormatError::RetiredInt8Layout
    );
    // An f32 file is still version 1.
    assert_eq!(
        decode_any(&AlignedBytes::from(&f32_bytes[..]))
            .unwrap()
            .version,
        1
    );
}

#[test]
fn int8_file_every_truncation_and_bit_flip_is_an_error() {
    let m = OwnedModel::random(8, 5, 0.5, 2);
    let q = quantize(&m.view()).unwrap();
    let bytes = encode_any(
        &Weights::Int8(q.view()),
        &Vocab::new("abcde").unwrap(),
        &Metadata::default(),
    )
    .unwrap();
    assert_every_truncation_and_bit_flip_is_an_error(&bytes);
}

#[test]
fn generator_runs_int8_models_reproducibly() {
    let (hidden, vocab) = (24, 30);
    let m = OwnedModel::random(hidden, vocab, 0.6, 5);
    let q = quantize(&m.view()).unwrap();
    let text = vocab_text(vocab, 'a' as u32);
    let run = || generate_200(q.view(), &text);
    let a = run();
    assert_eq!(a, run());
    assert_eq!(a.chars().count(), 200);
}

#[test]
fn quantize_refuses_hidden_above_512() {
    let m = OwnedModel::random(520, 2, 0.1, 1);
    assert_eq!(
        quantize(&m.view()).unwrap_err(),
        charm_core::QuantizeError::HiddenTooLarge { hidden: 520 }
    );
}
