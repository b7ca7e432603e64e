//! int8 models: quantization, the integer step against the f32 step, the
//! version-3 file, and the generator on Q15 state.

mod common_model;
use charm_core::{
    decode, decode_any, encode, encode_any, pack_row_pairs, padded, pair_dot_portable, pair_dots,
    paired_len, quant_tensor_lengths, quantize, tanh_q15, AlignedBytes, AnyCharmFile, FormatError,
    Metadata, QuantModelView, QuantTensors, Rng, Vocab, Weights, MAX_HIDDEN_INT8,
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

/// Random int8 row-pair tensors of a shape: weights over the whole byte
/// range −128..=127 (quantize makes ±127; the decoder accepts any byte), a
/// quarter of them at an extreme (−128 or 127), scales and biases of
/// either sign. Keeps the natural rows of W_hh and W_hy for the reference.
struct RandomPairs {
    hidden: usize,
    vocab: usize,
    int8: [Vec<i8>; 3],
    f32: [Vec<f32>; 5],
    whh: Vec<i8>,
    why: Vec<i8>,
}

/// A weight byte: an extreme one time in four, else uniform over −128..=127.
fn weight(rng: &mut Rng) -> i8 {
    match rng.next_u64() % 8 {
        0 => -128,
        1 => 127,
        _ => (rng.next_u64() % 256) as u8 as i8,
    }
}

/// A Q15 state entry: ±32767 one time in four, else uniform over ±32767.
fn state_entry(rng: &mut Rng) -> i16 {
    match rng.next_u64() % 8 {
        0 => 32767,
        1 => -32767,
        _ => ((rng.next_u64() % 65535) as i32 - 32767) as i16,
    }
}

impl RandomPairs {
    fn new(hidden: usize, vocab: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let s = padded(hidden);
        // natural rows of stride S, padding columns zero (as quantize writes them)
        let mut rows = |n: usize| -> Vec<i8> {
            (0..n * s)
                .map(|i| if i % s < hidden { weight(&mut rng) } else { 0 })
                .collect()
        };
        let (wxh, whh, why) = (rows(vocab), rows(hidden), rows(vocab));
        let (_, [n_sx, n_sh, n_sy, n_bh, n_by]) = quant_tensor_lengths(hidden, vocab);
        // Scales of the size quantize gives weights of about 0.1–0.4, so that
        // u_r spans tanh's curved part as well as its saturation.
        let mut float = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| (rng.next_f32() * 2.0 - 1.0) * scale)
                .collect()
        };
        let f32 = [
            float(n_sx, 0.02),
            float(n_sh, 3e-3),
            float(n_sy, 3e-3),
            float(n_bh, 0.5),
            float(n_by, 0.5),
        ];
        Self {
            hidden,
            vocab,
            int8: [wxh, pack_row_pairs(&whh, s), pack_row_pairs(&why, s)],
            f32,
            whh,
            why,
        }
    }

    fn view(&self) -> QuantModelView<'_> {
        let [a, b, c] = &self.int8;
        let [d, e, f, g, h] = &self.f32;
        let t = QuantTensors {
            int8: [a, b, c],
            f32: [d, e, f, g, h],
        };
        QuantModelView::new(self.hidden, self.vocab, t).unwrap()
    }

    /// The step's equations (QuantModelView::step's doc comment) on the
    /// natural rows, in plain code: each sum in i64 (it must fit an i32, the
    /// accumulator the step promises is exact for H ≤ 512), then the f32
    /// operations in the documented order:
    ///
    /// u_r  = ((Σ_c Whh_q[r,c]·hq_c) as f32 · s_r) / 32767 + bh_r + Wxh_q[x, r] as f32 · sx_x
    /// hq_r = tanh_q15(u_r)
    /// y_j  = ((Σ_c Why_q[j,c]·hq_c) as f32 · sy_j) / 32767 + by_j
    fn reference_step(&self, hq: &[i16], x: usize) -> (Vec<i16>, Vec<f32>) {
        let s = padded(self.hidden);
        let [wxh, ..] = &self.int8;
        let [sx, sh, sy, bh, by] = &self.f32;
        let dot = |row: &[i8], hq: &[i16]| -> f32 {
            let sum: i64 = row
                .iter()
                .zip(hq)
                .map(|(&q, &v)| i64::from(q) * i64::from(v))
                .sum();
            i32::try_from(sum).expect("the sum fits the i32 accumulator") as f32
        };
        let mut hq_next = vec![0i16; s];
        for (r, row) in self.whh.chunks_exact(s).enumerate() {
            let u = (dot(row, hq) * sh[r]) / 32767.0 + bh[r] + f32::from(wxh[x * s + r]) * sx[x];
            hq_next[r] = tanh_q15(u);
        }
        let logits = self
            .why
            .chunks_exact(s)
            .enumerate()
            .map(|(j, row)| (dot(row, &hq_next) * sy[j]) / 32767.0 + by[j])
            .collect();
        (hq_next, logits)
    }

    /// Three steps of the view against the reference from `hq`: the same
    /// state integers (padding left at zero) and the same logit bits.
    fn check_steps(&self, mut hq: Vec<i16>, seed: u64) -> Result<(), TestCaseError> {
        let (view, s) = (self.view(), padded(self.hidden));
        for step in 0..3 {
            let x = (seed as usize + step) % self.vocab;
            let (mut hq_next, mut logits) = (vec![0i16; s], vec![f32::NAN; self.vocab]);
            view.step(&hq, x, &mut hq_next, &mut logits);
            let (hq_ref, logits_ref) = self.reference_step(&hq, x);
            prop_assert_eq!(&hq_next, &hq_ref);
            let bits = |v: &[f32]| v.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&logits), bits(&logits_ref));
            hq = hq_next;
        }
        Ok(())
    }
}

proptest! {
    /// The row-pair step computes exactly its equations on the natural rows:
    /// the same Q15 state and the same logit bits, for any H and V (odd ones
    /// too: the last pair's missing row) and any state, ±32767 included.
    #[test]
    fn step_is_its_equations(hidden in 1usize..70, vocab in 1usize..40, seed in any::<u64>()) {
        let p = RandomPairs::new(hidden, vocab, seed);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let hq: Vec<i16> = (0..padded(hidden))
            .map(|i| if i < hidden { state_entry(&mut rng) } else { 0 })
            .collect();
        p.check_steps(hq, seed)?;
    }

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

/// The largest sums the step promises to keep exact: H = 512 and 511, every
/// W_hh weight −128 (or 127) and every state entry ±32767, all products of
/// one sign, so that |Σ| reaches 512·128·32767 = 2,147,418,112, 65,535 below
/// i32::MAX (the W_hy sums then see a saturated state of ±32767 too).
#[test]
fn step_is_its_equations_at_the_largest_sums() {
    for hidden in [MAX_HIDDEN_INT8, MAX_HIDDEN_INT8 - 1] {
        for (weight, state) in [(-128i8, -32767i16), (-128, 32767), (127, 32767)] {
            let mut p = RandomPairs::new(hidden, 3, 7);
            let s = padded(hidden);
            for rows in [&mut p.whh, &mut p.why] {
                for (i, w) in rows.iter_mut().enumerate() {
                    *w = if i % s < hidden { weight } else { 0 };
                }
            }
            p.int8[1] = pack_row_pairs(&p.whh, s);
            p.int8[2] = pack_row_pairs(&p.why, s);
            let hq: Vec<i16> = (0..s).map(|i| if i < hidden { state } else { 0 }).collect();
            p.check_steps(hq, 0).unwrap();
        }
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
