//! The fixed int8 layout: its step against the documented integer
//! equations, its quantization against the row-pair model it comes from,
//! its file, and the generator with its integer sampler.

mod common_model;
use charm_core::{
    decode_any, encode_any, logit_value, padded, quantize, quantize_fixed, AlignedBytes,
    FixedModel, FixedModelView, FixedTensors, FormatError, Metadata, Recurrent, ShapeError, Vocab,
    Weights,
};
use common_model::{
    assert_every_truncation_and_bit_flip_is_an_error, generate_200, vocab_text, OwnedModel,
};

/// Natural-order rows from row pairs: block p, byte 2c = a[c] + 128 (row 2p),
/// byte 2c + 1 = b[c] (row 2p + 1).
fn unpack(pairs: &[i8], rows: usize, stride: usize) -> Vec<Vec<i8>> {
    (0..rows)
        .map(|r| {
            let block = &pairs[(r / 2) * 2 * stride..];
            (0..stride)
                .map(|c| match r % 2 {
                    0 => (i32::from(block[2 * c] as u8) - 128) as i8,
                    _ => block[2 * c + 1],
                })
                .collect()
        })
        .collect()
}

/// `floor((v + 2^(k−1)) / 2^k)` in i128.
fn rounded_shift(v: i128, k: u32) -> i128 {
    (v + (1i128 << (k - 1))).div_euclid(1i128 << k)
}

/// One step of the module docs' equations, in i128 from the natural-order
/// rows: `(ũ, ỹ from the given state h)`.
fn reference(view: &FixedModelView<'_>, hq: &[i16], x: usize) -> (Vec<i128>, Vec<i128>) {
    let (hidden, vocab, s) = (view.hidden(), view.vocab(), padded(view.hidden()));
    let t = view.tensors();
    let [whh_mult, why_mult, wxh_mult, bh, by, shifts] = t.int32;
    let (k_h, k_y, k_x) = (shifts[0] as u32, shifts[1] as u32, shifts[2] as u32);
    let term = i128::from(charm_core::TERM_LIMIT);
    let dot = |row: &[i8], h: &[i16]| -> i128 {
        row.iter()
            .zip(h)
            .map(|(&w, &v)| i128::from(w) * i128::from(v))
            .sum()
    };
    let whh = unpack(t.int8[1], hidden, s);
    let u = (0..hidden)
        .map(|r| {
            let p =
                rounded_shift(dot(&whh[r], hq) * i128::from(whh_mult[r]), k_h).clamp(-term, term);
            let wx = i128::from(t.int8[0][x * s + r]);
            p + i128::from(bh[r]) + rounded_shift(wx * i128::from(wxh_mult[x]), k_x)
        })
        .collect();
    let why = unpack(t.int8[2], vocab, s);
    let y = (0..vocab)
        .map(|j| {
            let p =
                rounded_shift(dot(&why[j], hq) * i128::from(why_mult[j]), k_y).clamp(-term, term);
            (p + i128::from(by[j])).clamp(-(1 << 23), 1 << 23)
        })
        .collect();
    (u, y)
}

/// Random shapes (odd, 1, the int8 limit's neighbourhood) and states: each
/// step's pre-activations give a state within tanh_q15's 1.148 Q15 steps of
/// `32767·tanh(ũ/2²⁰)` (f64), so within 1 after rounding to an integer
/// (|error| < 1.15 with integer results means |Δ| ≤ 1); its logits are
/// exactly the reference's integers from the state it wrote.
#[test]
fn step_follows_the_integer_equations() {
    let mut rng = charm_core::Rng::new(21);
    for &(hidden, vocab) in &[
        (1, 1),
        (1, 2),
        (7, 5),
        (13, 29),
        (64, 65),
        (129, 3),
        (300, 17),
    ] {
        let m = OwnedModel::random(hidden, vocab, 0.6, hidden as u64);
        let q = quantize_fixed(&m.view()).unwrap();
        let view = q.view();
        let s = padded(hidden);
        for step in 0..4 {
            let mut hq: Vec<i16> = (0..s)
                .map(|c| match c < hidden {
                    true => ((rng.next_u64() % 65535) as i32 - 32767) as i16, // ±32767
                    false => 0,
                })
                .collect();
            if step == 3 {
                hq[..hidden].fill(-32767); // the extreme state
            }
            let x = (rng.next_u64() % vocab as u64) as usize;
            let (mut next, mut logits) = (vec![0i16; s], vec![0i32; vocab]);
            view.step(&hq, x, &mut next, &mut logits);
            let (u, _) = reference(&view, &hq, x);
            for r in 0..hidden {
                let exact = 32767.0 * (u[r] as f64 / 1_048_576.0).tanh();
                assert!(
                    (f64::from(next[r]) - exact).abs() < 1.15,
                    "H {hidden} row {r}: {} vs {exact}",
                    next[r]
                );
            }
            assert!(next[hidden..].iter().all(|&v| v == 0), "padding stays zero");
            let (_, y) = reference(&view, &next, x);
            for j in 0..vocab {
                assert_eq!(i128::from(logits[j]), y[j], "H {hidden} logit {j}");
            }
        }
    }
}

/// One step of the fixed model and of the row-pair model from the same
/// state, over 50 steps of the row-pair model's stream. Both quantize the
/// same int8 weights; the fixed one rounds each scale to a 31-bit
/// multiplier (relative 2⁻³⁰) and each pre-activation term to 2⁻²⁰, so
/// the exact tanh of the two arguments differ by less than 0.01 of a Q15
/// step and each state is within tanh_q15's 1.148 steps of its own: the
/// integer states differ by at most 2. A logit then differs by at most
/// `sy_j/32767 · Σ_c |q_jc|·|Δh_c|` (the state difference through the
/// row) plus 2⁻¹⁶ (the fixed logit's two roundings of 2⁻¹⁷) plus the
/// row-pair logit's three f32 roundings, `3·2⁻²⁴·(|y| + |b| + 1)`.
#[test]
fn fixed_steps_track_the_row_pair_steps() {
    for &(hidden, vocab) in &[(13, 29), (64, 65)] {
        let m = OwnedModel::random(hidden, vocab, 0.6, 5 + hidden as u64);
        let pairs = quantize(&m.view()).unwrap();
        let fixed = quantize_fixed(&m.view()).unwrap();
        let (p, f) = (pairs.view(), fixed.view());
        let n = padded(hidden);
        let why = unpack(p.tensors().int8[2], vocab, n);
        let [_, _, sy, _, by] = p.tensors().f32;
        let (mut hp, mut hpn, mut hfn) = (vec![0i16; n], vec![0i16; n], vec![0i16; n]);
        let (mut yp, mut yf) = (vec![0f32; vocab], vec![0i32; vocab]);
        for t in 0..50 {
            let x = (t * 7) % vocab;
            p.step(&hp, x, &mut hpn, &mut yp);
            f.step(&hp, x, &mut hfn, &mut yf);
            for (a, b) in hpn.iter().zip(&hfn) {
                assert!(
                    (i32::from(*a) - i32::from(*b)).abs() <= 2,
                    "H {hidden} step {t}"
                );
            }
            for j in 0..vocab {
                let through: f64 = why[j]
                    .iter()
                    .zip(hpn.iter().zip(&hfn))
                    .map(|(&q, (&a, &b))| {
                        f64::from(q).abs() * f64::from((i32::from(a) - i32::from(b)).abs())
                    })
                    .sum::<f64>()
                    * f64::from(sy[j])
                    / 32767.0;
                let rounding = 2f64.powi(-16)
                    + 3.0
                        * 2f64.powi(-24)
                        * (f64::from(yp[j]).abs() + f64::from(by[j]).abs() + 1.0);
                let (a, b) = (f64::from(yp[j]), f64::from(logit_value(yf[j])));
                assert!(
                    (a - b).abs() <= through + rounding,
                    "H {hidden} step {t} logit {j}: {a} vs {b}"
                );
            }
            std::mem::swap(&mut hp, &mut hpn);
        }
    }
}

/// The fixed form keeps the row-pair quantizer's int8 bytes.
#[test]
fn int8_bytes_are_the_row_pairs() {
    let m = OwnedModel::random(37, 11, 0.8, 3);
    let pairs = quantize(&m.view()).unwrap();
    let fixed = quantize_fixed(&m.view()).unwrap();
    assert_eq!(pairs.view().tensors().int8, fixed.view().tensors().int8);
    assert_eq!(FixedModel::from_row_pairs(&pairs.view()), fixed);
}

/// Written as version 4, element type 3; decoded to the same tensors and
/// the same 200 characters; every truncation and bit flip refused.
#[test]
fn file_round_trips() {
    let vocab = vocab_text(11, 'a' as u32);
    let m = OwnedModel::random(13, 11, 0.5, 8);
    let q = quantize_fixed(&m.view()).unwrap();
    let v = Vocab::new(&vocab).unwrap();
    let bytes = encode_any(&Weights::Int8Fixed(q.view()), &v, &Metadata::default()).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 4);
    let aligned = AlignedBytes::from(&bytes[..]);
    let file = decode_any(&aligned).unwrap();
    let Weights::Int8Fixed(view) = file.weights else {
        panic!("not a fixed model");
    };
    assert_eq!(file.weights.element(), 3);
    assert_eq!(file.weights.element_name(), "int8 fixed");
    assert_eq!(view.tensors().int32, q.view().tensors().int32);
    assert_eq!(generate_200(view, &vocab), generate_200(q.view(), &vocab));
    assert_every_truncation_and_bit_flip_is_an_error(&bytes);
}

/// A value outside its range is refused by the view (and so by the decoder).
#[test]
fn out_of_range_integers_are_refused() {
    let m = OwnedModel::random(5, 3, 0.5, 1);
    let q = quantize_fixed(&m.view()).unwrap();
    let t = q.view().tensors();
    let cases: [(usize, usize, i32, &str); 6] = [
        (0, 0, -1, "whh_mult"),
        (2, 1, charm_core::INPUT_MULT_LIMIT, "wxh_mult"),
        (3, 4, charm_core::TERM_LIMIT + 1, "bh"),
        (4, 2, -charm_core::TERM_LIMIT - 1, "by"),
        (5, 0, 63, "shifts"),
        (5, 2, 31, "shifts"),
    ];
    for (tensor, index, value, name) in cases {
        let mut owned: Vec<Vec<i32>> = t.int32.iter().map(|v| v.to_vec()).collect();
        owned[tensor][index] = value;
        let bad = FixedTensors {
            int8: t.int8,
            int32: [
                &owned[0], &owned[1], &owned[2], &owned[3], &owned[4], &owned[5],
            ],
        };
        assert_eq!(
            FixedModelView::new(5, 3, bad).unwrap_err(),
            ShapeError::OutOfRange { tensor: name }
        );
    }
    // the decoder: a multiplier of −1 written by hand
    let v = Vocab::new("abc").unwrap();
    let bytes = encode_any(&Weights::Int8Fixed(q.view()), &v, &Metadata::default()).unwrap();
    let n8: usize = t.int8.iter().map(|t| t.len()).sum();
    let mut bad = bytes.clone();
    let data = bytes.len() - 4 - (n8 + 4 * t.int32.iter().map(|t| t.len()).sum::<usize>());
    bad[data + n8..data + n8 + 4].copy_from_slice(&(-1i32).to_le_bytes());
    let len = bad.len();
    let crc = charm_core::crc32(&bad[..len - 4]);
    bad[len - 4..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_any(&AlignedBytes::from(&bad[..])).unwrap_err(),
        FormatError::Malformed
    );
}

/// The generator draws with the layout's integer sampler: greedy picks the
/// largest logit, and the state length is the row pairs' `padded(H)`.
#[test]
fn generator_runs_the_fixed_layout() {
    let m = OwnedModel::random(9, 5, 0.5, 2);
    let q = quantize_fixed(&m.view()).unwrap();
    let view = q.view();
    assert_eq!(view.state_len(), padded(9));
    let mut y0 = vec![0i32; 5];
    view.initial_logits(&mut y0);
    assert_eq!(y0, view.tensors().int32[4]);
    let text = generate_200(view, "abcde");
    assert_eq!(text.chars().count(), 200);
}

/// The generator hands each step's notes on (`Recurrent::step_to_draw_noted`):
/// the state's `Σh` to the next step and the largest logit to the draw,
/// where the view's own `step` sums every state itself and `sample_fixed`
/// finds the largest: the same characters with the same seed, through a
/// prime, 200 characters, a reset and another prime, with plain
/// temperature (the weights loop that skips the far logits' test), top-k
/// and greedy (the sum enters every dot product as `−128·Σh`, so a stale
/// one changes the logits; a wrong largest changes the weights).
#[test]
fn generator_hands_on_the_step_notes() {
    use charm_core::{sample_fixed, Buffers, Generator, Rng, SampleParams, Vocab};
    let (hidden, vocab_len) = (13, 6);
    let m = OwnedModel::random(hidden, vocab_len, 0.8, 5);
    let q = quantize_fixed(&m.view()).unwrap();
    let view = q.view();
    let text = "abcdef";
    let all_params = [
        SampleParams::default(),
        SampleParams {
            temperature: 0.7,
            top_k: 3,
        },
        SampleParams {
            temperature: 0.0,
            top_k: 0,
        },
    ];
    for params in all_params {
        let mut buffers = Buffers::<32, 32, i16>::new();
        let slices = buffers.slices_for(&view).unwrap();
        let mut g = Generator::new(view, Vocab::new(text).unwrap(), params, 11, slices).unwrap();
        let mut from_generator = String::new();
        g.prime("fab").unwrap();
        from_generator.extend((0..200).map(|_| g.next_char()));
        g.reset();
        g.prime("cc").unwrap();
        from_generator.extend((0..50).map(|_| g.next_char()));

        // the same protocol by hand: step (Σh summed each time), sample_fixed
        let s = padded(hidden);
        let index = |c: char| text.chars().position(|t| t == c).unwrap();
        let mut rng = Rng::new(11);
        let (mut h, mut h_next, mut y) = (vec![0i16; s], vec![0i16; s], vec![0i32; vocab_len]);
        let mut by_hand = String::new();
        for (prime, n) in [("fab", 200), ("cc", 50)] {
            h.fill(0);
            view.initial_logits(&mut y);
            for c in prime.chars() {
                view.step(&h, index(c), &mut h_next, &mut y);
                std::mem::swap(&mut h, &mut h_next);
            }
            for _ in 0..n {
                let x = sample_fixed(&mut y.clone(), params, &mut rng).unwrap();
                by_hand.push(text.chars().nth(x).unwrap());
                view.step(&h, x, &mut h_next, &mut y);
                std::mem::swap(&mut h, &mut h_next);
            }
        }
        assert_eq!(from_generator, by_hand, "{params:?}");
    }
}

/// Through `Recurrent`, the fixed layout's step gives readers of numbers
/// (`step_state`, `initial_logits`) the exact values `ỹ·2⁻¹⁶` of the
/// integers its own step writes, and the generator's form
/// (`step_to_draw`, `initial_logits_to_draw`) the integers themselves.
#[test]
fn recurrent_logits_are_the_integers_and_their_values() {
    use charm_core::Recurrent;
    let m = OwnedModel::random(11, 7, 0.7, 4);
    let q = quantize_fixed(&m.view()).unwrap();
    let view = q.view();
    let s = padded(11);
    let (mut ints, mut values, mut bits) = (vec![0i32; 7], vec![0f32; 7], vec![0f32; 7]);
    view.initial_logits(&mut ints);
    Recurrent::initial_logits(&view, &mut values);
    view.initial_logits_to_draw(&mut bits);
    let check = |ints: &[i32], values: &[f32], bits: &[f32]| {
        for j in 0..7 {
            assert_eq!(f64::from(values[j]), f64::from(ints[j]) / 65536.0);
            assert_eq!(bits[j].to_bits() as i32, ints[j]);
        }
    };
    check(&ints, &values, &bits);
    let h = vec![0i16; s];
    let (mut a, mut b, mut c) = (vec![0i16; s], vec![0i16; s], vec![0i16; s]);
    for x in 0..7 {
        view.step(&h, x, &mut a, &mut ints);
        view.step_state(&h, x, &mut b, &mut values);
        view.step_to_draw(&h, x, &mut c, &mut bits);
        assert!(a == b && b == c);
        check(&ints, &values, &bits);
    }
}
