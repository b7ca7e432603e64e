//! int8 models: quantization, the integer step against the f32 step, the
//! version-2 file, and the generator on Q15 state.

mod common_model;
use charm_core::{
    decode, decode_any, dot_portable, encode, encode_any, padded, quantize, to_q15, AlignedBytes,
    AnyCharmFile, Buffers, FormatError, Generator, Metadata, SampleParams, Vocab, Weights,
    PERMUTE4, Q15_ONE,
};
use common_model::{vocab_text, OwnedModel};
use proptest::prelude::*;

fn decode_owned(bytes: &AlignedBytes) -> AnyCharmFile<'_> {
    decode_any(bytes).unwrap()
}

proptest! {
    /// The permuted int8 · Q15 dot product equals the plain integer sum.
    #[test]
    fn dot_matches_plain_sum(groups in 1usize..40, seed in any::<u64>()) {
        let mut rng = charm_core::Rng::new(seed);
        let n = groups * 8;
        let w: Vec<i8> = (0..n).map(|_| (rng.next_u64() % 255) as i8).collect();
        let h: Vec<i16> = (0..n).map(|_| (rng.next_u64() % 65535) as i16).collect();
        // logical weight at column 4g + PERMUTE4[k] is stored at 4g + k
        let mut expected = 0i64;
        for g in 0..n / 4 {
            for k in 0..4 {
                expected += i64::from(w[4 * g + k]) * i64::from(h[4 * g + PERMUTE4[k]]);
            }
        }
        prop_assert_eq!(i64::from(dot_portable(&w, &h)), expected);
    }

    /// The two-rows-at-a-time matvec emits every row once, odd counts included.
    #[test]
    fn matvec_emits_each_row_dot(rows in 1usize..9, groups in 1usize..6, seed in any::<u64>()) {
        let mut rng = charm_core::Rng::new(seed);
        let stride = groups * 8;
        let w: Vec<i8> = (0..rows * stride).map(|_| (rng.next_u64() % 255) as i8).collect();
        let h: Vec<i16> = (0..stride).map(|_| (rng.next_u64() % 65535) as i16).collect();
        let mut seen = vec![None; rows];
        charm_core::matvec_q7_q15(&w, stride, &h, |r, acc| seen[r] = Some(acc));
        for (r, got) in seen.iter().enumerate() {
            prop_assert_eq!(*got, Some(dot_portable(&w[r * stride..(r + 1) * stride], &h)));
        }
    }

    /// Q15 conversion is within half a step and saturates.
    #[test]
    fn q15_rounds_to_nearest(h in -1.0f32..=1.0) {
        let q = to_q15(h);
        prop_assert!((f32::from(q) - h * Q15_ONE).abs() <= 0.5 + 1e-3);
    }
}

#[test]
fn int8_step_tracks_the_f32_step() {
    // Logits of the int8 model stay close to the f32 model's over 50 steps.
    let (hidden, vocab) = (128, 65);
    let m = OwnedModel::random(hidden, vocab, 1.5 / (hidden as f32).sqrt(), 4);
    let q = quantize(&m.view()).unwrap();
    let (qv, fv) = (q.view(), m.view());
    let s = padded(hidden);
    let (mut hq, mut hq_next, mut yq) = (vec![0i16; s], vec![0i16; s], vec![0f32; vocab]);
    let (mut h, mut h_next, mut y) = (vec![0f32; hidden], vec![0f32; hidden], vec![0f32; vocab]);
    let mut worst = 0.0f32;
    for t in 0..50 {
        let x = (t * 7) % vocab;
        qv.step(&hq, x, &mut hq_next, &mut yq);
        fv.step(&h, x, &mut h_next, &mut y).unwrap();
        std::mem::swap(&mut hq, &mut hq_next);
        std::mem::swap(&mut h, &mut h_next);
        for (a, b) in yq.iter().zip(&y) {
            worst = worst.max((a - b).abs());
        }
    }
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
    assert_eq!(file.version, 2);
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
    for n in 0..bytes.len() {
        assert!(
            decode_any(&AlignedBytes::from(&bytes[..n])).is_err(),
            "length {n}"
        );
    }
    let mut flipped = bytes.clone();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            flipped[byte] ^= 1 << bit;
            assert!(
                decode_any(&AlignedBytes::from(&flipped[..])).is_err(),
                "byte {byte} bit {bit}"
            );
            flipped[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn generator_runs_int8_models_reproducibly() {
    let (hidden, vocab) = (24, 30);
    let m = OwnedModel::random(hidden, vocab, 0.6, 5);
    let q = quantize(&m.view()).unwrap();
    let text = vocab_text(vocab, 'a' as u32);
    let run = || {
        let mut buffers = Buffers::<32, 32, i16>::new();
        let view = q.view();
        let slices = buffers.slices_for(&view).unwrap();
        let mut g = Generator::new(
            view,
            Vocab::new(&text).unwrap(),
            SampleParams::default(),
            7,
            slices,
        )
        .unwrap();
        g.prime("abc").unwrap();
        (0..200).map(|_| g.next_char()).collect::<String>()
    };
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
