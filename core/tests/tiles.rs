//! int8 tile models: the tile layout, the step against its equations and
//! against the f32 step, `tanh_i8`, the version-4 file, and the generator on
//! an int8 state.

mod common_model;
use charm_core::{
    decode, decode_any, encode, encode_any, pack_tiles, quantize_tiles, tanh_i8, tile_stride,
    tile_tensor_lengths, AlignedBytes, AnyCharmFile, FormatError, Metadata, QuantTensors, Rng,
    ShapeError, TiledModelView, Vocab, Weights, ELEMENT_INT8_TILES,
};
use common_model::{
    assert_every_truncation_and_bit_flip_is_an_error, generate_200, max_logit_difference,
    vocab_text, OwnedModel,
};
use proptest::prelude::*;

/// Random int8 tile tensors of a shape: weights over the whole byte range
/// −128..=127 (quantize makes ±127; the decoder accepts any byte), scales
/// and biases of either sign. Returns the natural rows of W_hh and W_hy too.
struct RandomTiles {
    hidden: usize,
    vocab: usize,
    int8: [Vec<i8>; 3],
    f32: [Vec<f32>; 5],
    whh: Vec<i8>,
    why: Vec<i8>,
}

impl RandomTiles {
    fn new(hidden: usize, vocab: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let s = tile_stride(hidden);
        let mut byte = || (rng.next_u64() % 256) as u8 as i8;
        let whh: Vec<i8> = (0..hidden * hidden).map(|_| byte()).collect();
        let why: Vec<i8> = (0..vocab * hidden).map(|_| byte()).collect();
        let wxh: Vec<i8> = (0..vocab * s)
            .map(|i| if i % s < hidden { byte() } else { 0 })
            .collect();
        let (_, [n_sx, n_sh, n_sy, n_bh, n_by]) = tile_tensor_lengths(hidden, vocab);
        let mut float = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| (rng.next_f32() * 2.0 - 1.0) * scale)
                .collect()
        };
        let f32 = [
            float(n_sx, 0.02),
            float(n_sh, 3e-5),
            float(n_sy, 1e-3),
            float(n_bh, 0.5),
            float(n_by, 0.5),
        ];
        Self {
            hidden,
            vocab,
            int8: [
                wxh,
                pack_tiles(&whh, hidden, hidden),
                pack_tiles(&why, hidden, hidden),
            ],
            f32,
            whh,
            why,
        }
    }

    fn view(&self) -> TiledModelView<'_> {
        let [a, b, c] = &self.int8;
        let [d, e, f, g, h] = &self.f32;
        let t = QuantTensors {
            int8: [a, b, c],
            f32: [d, e, f, g, h],
        };
        TiledModelView::new(self.hidden, self.vocab, t).unwrap()
    }

    /// The step's equations (TiledModelView::step's doc comment) on the
    /// natural rows: integer sums in i64, then the f32 operations in the
    /// documented order.
    fn reference_step(&self, h: &[i8], x: usize) -> (Vec<i8>, Vec<f32>) {
        let (hidden, s) = (self.hidden, tile_stride(self.hidden));
        let [wxh, ..] = &self.int8;
        let [sx, m, my, bh, by] = &self.f32;
        let dot = |row: &[i8], h: &[i8]| -> i64 {
            row.iter()
                .zip(h)
                .map(|(&q, &v)| i64::from(q) * i64::from(v))
                .sum()
        };
        let mut h_next = vec![0i8; s];
        for (r, row) in self.whh.chunks_exact(hidden).enumerate() {
            let acc = dot(row, h) as i32;
            let u = (acc as f32 * m[r] + bh[r]) + f32::from(wxh[x * s + r]) * sx[x];
            h_next[r] = tanh_i8(u);
        }
        let logits = self
            .why
            .chunks_exact(hidden)
            .enumerate()
            .map(|(j, row)| dot(row, &h_next) as i32 as f32 * my[j] + by[j])
            .collect();
        (h_next, logits)
    }
}

proptest! {
    /// The tiled step computes exactly its equations on the natural rows:
    /// the same state bytes and the same logit bits, for any H and V (tile
    /// rows and columns padded) and any int8 state, ±127 and −128 included.
    #[test]
    fn step_is_its_equations(hidden in 1usize..70, vocab in 1usize..40, seed in any::<u64>()) {
        let t = RandomTiles::new(hidden, vocab, seed);
        let view = t.view();
        let s = tile_stride(hidden);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let mut h: Vec<i8> = (0..s)
            .map(|i| if i < hidden { (rng.next_u64() % 256) as u8 as i8 } else { 0 })
            .collect();
        for step in 0..3 {
            let x = (seed as usize + step) % vocab;
            let (mut h_next, mut logits) = (vec![99i8; s], vec![0f32; vocab]);
            view.step(&h, x, &mut h_next, &mut logits);
            let (h_ref, logits_ref) = t.reference_step(&h, x);
            prop_assert_eq!(&h_next, &h_ref);
            let bits = |v: &[f32]| v.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&logits), bits(&logits_ref));
            h = h_next;
        }
    }

    /// A padding weight that is not zero is refused by name, wherever it is.
    #[test]
    fn nonzero_padding_is_refused(hidden in 1usize..40, vocab in 1usize..12, pick in any::<usize>(), seed in any::<u64>()) {
        let t = RandomTiles::new(hidden, vocab, seed);
        let s = tile_stride(hidden);
        for (which, name) in [(0, "wxh"), (1, "whh"), (2, "why")] {
            let real = |i: usize| match which {
                0 => i % s < hidden,
                _ => {
                    // the tile position of byte i (module docs of charm_core::tiles)
                    let (group, within) = (i / (4 * s), i % (4 * s));
                    let row = group * 4 + (within % 64) / 16;
                    let column = within / 64 * 16 + within % 16;
                    row < if which == 1 { hidden } else { vocab } && column < hidden
                }
            };
            let padding: Vec<usize> = (0..t.int8[which].len()).filter(|&i| !real(i)).collect();
            if padding.is_empty() {
                continue;
            }
            let mut int8 = t.int8.clone();
            int8[which][padding[pick % padding.len()]] = 1;
            let [a, b, c] = &int8;
            let [d, e, f, g, h] = &t.f32;
            let tensors = QuantTensors { int8: [a, b, c], f32: [d, e, f, g, h] };
            prop_assert_eq!(
                TiledModelView::new(hidden, vocab, tensors).unwrap_err(),
                ShapeError::NonzeroPadding { tensor: name }
            );
        }
    }
}

/// Max |tanh_i8(u) − 127·tanh(u)| over `n` evenly spaced points of [-8, 8].
fn max_error(n: u32) -> (f64, f32) {
    let mut worst = (0.0f64, 0.0f32);
    for i in 0..=n {
        let u = (-8.0 + 16.0 * (f64::from(i) / f64::from(n))) as f32;
        let err = (f64::from(tanh_i8(u)) - 127.0 * f64::from(u).tanh()).abs();
        if err > worst.0 {
            worst = (err, u);
        }
    }
    worst
}

#[test]
fn tanh_i8_error() {
    let (err, at) = max_error(12_000_000);
    println!("tanh_i8: max error {err:.4} levels at u = {at}");
    // tanh_i8's doc: ≤ 0.5 (table rounding) + 127/256 (half an interval at
    // slope ≤ 1) = 0.996 for k ≠ 0, 127·tanh(1/128) = 0.992 for k = 0.
    assert!(err <= 0.5 + 127.0 / 256.0, "max error {err} at {at}");
}

#[test]
fn tanh_i8_is_odd_monotonic_and_saturates() {
    let mut last = tanh_i8(-10.0);
    assert_eq!(last, -127);
    for i in 0..=2_000_000 {
        let u = -10.0 + 20.0 * (i as f32 / 2_000_000.0);
        let y = tanh_i8(u);
        assert!(y >= last, "not monotonic at {u}");
        assert_eq!(tanh_i8(-u), -y, "not odd at {u}");
        last = y;
    }
    for u in [f32::INFINITY, f32::MAX, 1e9, 3.125] {
        assert_eq!(tanh_i8(u), 127);
        assert_eq!(tanh_i8(-u), -127);
    }
    assert_eq!(tanh_i8(f32::NAN), 0);
    assert_eq!(tanh_i8(-0.0), 0);
    assert_eq!(tanh_i8(f32::MIN_POSITIVE), 0);
}

#[test]
fn tiles_step_tracks_the_f32_step() {
    // Logits of the tiled model stay close to the f32 model's over 50 steps.
    let (hidden, vocab) = (128, 65);
    let m = OwnedModel::random(hidden, vocab, 1.5 / (hidden as f32).sqrt(), 4);
    let q = quantize_tiles(&m.view());
    let (worst, _) = max_logit_difference(&q.view(), &m.view());
    println!("tiles: max logit difference {worst:.4}");
    // Both steps compute the same bits on every target (fixed-order f32,
    // exact integer sums), so this is one deterministic number: 0.027 for
    // this seed, against the row pairs' 0.004 (their state is Q15). 0.1 is the
    // row pairs' bound. The worst case for one step, every state error of up
    // to one level (1/127) aligned with a W_hy row's signs, would be
    // 128 · 0.133 / 127 = 0.134; with random signs it is about √128 times
    // smaller, 0.012 a step.
    assert!(worst < 0.1, "max logit difference {worst}");
}

fn decode_owned(bytes: &AlignedBytes) -> AnyCharmFile<'_> {
    decode_any(bytes).unwrap()
}

#[test]
fn tiles_file_round_trip_version_4() {
    let (hidden, vocab) = (100, 65);
    let m = OwnedModel::random(hidden, vocab, 0.2, 9);
    let text = vocab_text(vocab, 0x20);
    let voc = Vocab::new(&text).unwrap();
    let f32_bytes = encode(&m.view(), &voc, &Metadata::default()).unwrap();
    let q = quantize_tiles(&m.view());
    let bytes = encode_any(&Weights::Int8Tiles(q.view()), &voc, &Metadata::default()).unwrap();
    assert!(bytes.len() * 10 < f32_bytes.len() * 3);
    // int8 tiles are written as version 4, the oldest that has them
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 4);
    let aligned = AlignedBytes::from(&bytes[..]);
    let file = decode_owned(&aligned);
    assert_eq!(file.version, 4);
    assert_eq!(file.weights.element(), ELEMENT_INT8_TILES);
    assert_eq!(file.weights.element_name(), "int8 tiles");
    let Weights::Int8Tiles(view) = file.weights else {
        panic!("expected int8 tiles")
    };
    assert_eq!(view.tensors().int8, q.view().tensors().int8);
    assert_eq!(view.tensors().f32, q.view().tensors().f32);
    assert_eq!(
        encode_any(&file.weights, &file.vocab, &file.meta).unwrap(),
        bytes
    );
    assert_eq!(
        decode(&aligned).unwrap_err(),
        FormatError::UnsupportedElement(ELEMENT_INT8_TILES)
    );
    // Element type 2 in a version-3 file never existed.
    let mut v3 = bytes.clone();
    v3[4..6].copy_from_slice(&3u16.to_le_bytes());
    let n = v3.len() - 4;
    let crc = charm_core::crc32(&v3[..n]);
    v3[n..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_any(&AlignedBytes::from(&v3[..])).unwrap_err(),
        FormatError::UnsupportedElement(ELEMENT_INT8_TILES)
    );
}

#[test]
fn tiles_file_with_nonzero_padding_is_malformed() {
    let (hidden, vocab) = (20, 6);
    let m = OwnedModel::random(hidden, vocab, 0.5, 3);
    let q = quantize_tiles(&m.view());
    let voc = Vocab::new("abcdef").unwrap();
    let mut bytes = encode_any(&Weights::Int8Tiles(q.view()), &voc, &Metadata::default()).unwrap();
    // The last int8 byte is the padding of W_hy's last tile (V 6 → 8 rows).
    let (n8, n32) = tile_tensor_lengths(hidden, vocab);
    let last_int8 = bytes.len() - 4 - 4 * n32.iter().sum::<usize>() - 1;
    assert_eq!(bytes[last_int8], 0);
    assert!(n8[2] > vocab * tile_stride(hidden));
    bytes[last_int8] = 1;
    let n = bytes.len() - 4;
    let crc = charm_core::crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_any(&AlignedBytes::from(&bytes[..])).unwrap_err(),
        FormatError::Malformed
    );
}

#[test]
fn tiles_file_every_truncation_and_bit_flip_is_an_error() {
    let m = OwnedModel::random(8, 5, 0.5, 2);
    let q = quantize_tiles(&m.view());
    let bytes = encode_any(
        &Weights::Int8Tiles(q.view()),
        &Vocab::new("abcde").unwrap(),
        &Metadata::default(),
    )
    .unwrap();
    assert_every_truncation_and_bit_flip_is_an_error(&bytes);
}

#[test]
fn generator_runs_tile_models_reproducibly() {
    let (hidden, vocab) = (24, 30);
    let m = OwnedModel::random(hidden, vocab, 0.6, 5);
    let q = quantize_tiles(&m.view());
    let text = vocab_text(vocab, 'a' as u32);
    let run = || generate_200(q.view(), &text);
    let a = run();
    assert_eq!(a, run());
    assert_eq!(a.chars().count(), 200);
}
