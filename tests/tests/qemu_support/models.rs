//! Models and corpora for the firmware tests, all made here from seeds.

use charm_core::{encode, padded, Metadata, ModelView, Rng};
pub use charm_tests::models::{random_model, random_stacked_model};
use std::path::PathBuf;

/// The tinyshakespeare corpus the repository carries (`data/tinyshakespeare.txt`).
pub fn tinyshakespeare() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/tinyshakespeare.txt");
    assert!(
        path.is_file(),
        "{} is missing: it is part of the repository (see data/README.md)",
        path.display()
    );
    path
}

/// `n` distinct characters in ascending order, taken from newline, space,
/// `a-z`, `A-Z`, then Greek, Cyrillic, Hiragana and CJK (so `n = 28` is
/// "\n abc...z", and `n > 256` needs non-ASCII).
pub fn alphabet(n: usize) -> String {
    let ranges = [
        0x0A..=0x0A,
        0x20..=0x20,
        0x61..=0x7A,
        0x41..=0x5A,
        0x391..=0x3A1,
        0x3A3..=0x3C9,
        0x410..=0x44F,
        0x3041..=0x3096,
        0x4E00..=0x9FFF,
    ];
    let mut chars: Vec<char> = ranges
        .into_iter()
        .flatten()
        .filter_map(char::from_u32)
        .take(n)
        .collect();
    assert_eq!(chars.len(), n, "alphabet() knows enough characters");
    chars.sort_unstable();
    chars.into_iter().collect()
}

/// A text over `alphabet` (words of 1-8 characters between spaces, a newline
/// now and then) with every character of the alphabet in it.
pub fn corpus(alphabet: &str, chars: usize, seed: u64) -> String {
    let symbols: Vec<char> = alphabet.chars().filter(|c| !c.is_whitespace()).collect();
    let mut rng = Rng::new(seed);
    let mut text: String = alphabet.chars().filter(|c| !c.is_whitespace()).collect();
    text.push('\n');
    let mut count = text.chars().count();
    while count < chars {
        let word = 1 + (rng.next_u64() % 8) as usize;
        for _ in 0..word {
            text.push(symbols[(rng.next_u64() % symbols.len() as u64) as usize]);
        }
        text.push(if rng.next_u64().is_multiple_of(10) {
            '\n'
        } else {
            ' '
        });
        count += word + 1;
    }
    text
}

/// The int8 form of an f32 `.charm` file, as `charm quantize` writes it.
pub fn quantized(model: &[u8]) -> Vec<u8> {
    let bytes = charm_core::AlignedBytes::from(model);
    let file = charm_core::decode(&bytes).expect("an f32 model");
    let q = charm_core::quantize(&file.model).expect("H <= 512");
    charm_core::encode_any(
        &charm_core::Weights::Int8(q.view()),
        &file.vocab,
        &file.meta,
    )
    .expect("encode")
}

/// The int8 tile form of an f32 `.charm` file, as `charm quantize --layout
/// tiles` writes it.
pub fn tiled(model: &[u8]) -> Vec<u8> {
    let bytes = charm_core::AlignedBytes::from(model);
    let file = charm_core::decode(&bytes).expect("an f32 model");
    let q = charm_core::quantize_tiles(&file.model);
    charm_core::encode_any(
        &charm_core::Weights::Int8Tiles(q.view()),
        &file.vocab,
        &file.meta,
    )
    .expect("encode")
}

/// The largest `n` in `1..=max` for which `fits(n)` holds, given that it
/// holds for every smaller `n` once it holds for one (file sizes grow with
/// H and with V); `None` if it holds for none.
pub fn largest(max: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    if !fits(1) {
        return None;
    }
    let (mut lo, mut hi) = (1, max);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

/// [`random_model`] with every weight and bias multiplied by `factor`: with
/// a factor near `f32::MIN_POSITIVE` (1.18e-38) the weights, the sums and the
/// states are partly subnormal, where an operation that flushes subnormals
/// to zero (as Helium's floating-point instructions do) gives other bits
/// than IEEE-754 arithmetic.
pub fn scaled_model(hidden: usize, vocab: &str, seed: u64, factor: f32) -> Vec<u8> {
    let bytes = charm_core::AlignedBytes::from(&random_model(hidden, vocab, seed, 0.5)[..]);
    let file = charm_core::decode(&bytes).expect("a model");
    let m = &file.model;
    let scaled = |t: &[f32]| -> Vec<f32> { t.iter().map(|&w| w * factor).collect() };
    let (wxh, whh, bh, why, by) = (
        scaled(m.wxh()),
        scaled(m.whh()),
        scaled(m.bh()),
        scaled(m.why()),
        scaled(m.by()),
    );
    let model =
        ModelView::new(hidden, file.vocab.len(), &wxh, &whh, &bh, &why, &by).expect("shapes");
    encode(&model, &file.vocab, &Metadata::default()).expect("encode")
}

/// Extreme int8 weights for a row-pair model's `W_hh` and `W_hy`.
#[derive(Debug, Clone, Copy)]
pub enum Extreme {
    /// Every weight −128 (a stored first-row byte of 0).
    AllMinus128,
    /// −128 and 127 by turns along each row and across rows.
    Alternating,
    /// Any byte, −128 included, from the seed.
    AnyByte(u64),
}

/// The int8 form of an f32 model (as [`quantized`]) with the weights of
/// `W_hh` and `W_hy` (the columns below H, the rows below H and V) set by
/// `extreme` and every `W_hh` row scale at 1/64, so that the sums reach
/// ±2²² and more and the states saturate at ±32767 — the bounds of the
/// row-pair loops' i32 sums.
pub fn extreme_int8(model: &[u8], extreme: Extreme) -> Vec<u8> {
    let bytes = charm_core::AlignedBytes::from(model);
    let file = charm_core::decode(&bytes).expect("an f32 model");
    let q = charm_core::quantize(&file.model).expect("H <= 512");
    let view = q.view();
    let (hidden, vocab) = (view.hidden(), view.vocab());
    let stride = padded(hidden);
    let t = view.tensors();
    let mut rng = Rng::new(match extreme {
        Extreme::AnyByte(seed) => seed,
        _ => 0,
    });
    let mut weight = |row: usize, column: usize| -> i8 {
        match extreme {
            Extreme::AllMinus128 => -128,
            Extreme::Alternating => {
                if (row + column).is_multiple_of(2) {
                    -128
                } else {
                    127
                }
            }
            Extreme::AnyByte(_) => (rng.next_u64() >> 56) as u8 as i8,
        }
    };
    // row pairs: block p, byte 2c = a[c] + 128 (row 2p), byte 2c + 1 = b[c] (row 2p + 1)
    let mut pairs = |paired: &[i8], rows: usize| -> Vec<i8> {
        let mut out = paired.to_vec();
        for (p, block) in out.chunks_exact_mut(2 * stride).enumerate() {
            for c in 0..hidden {
                if 2 * p < rows {
                    block[2 * c] = (i32::from(weight(2 * p, c)) + 128) as u8 as i8;
                }
                if 2 * p + 1 < rows {
                    block[2 * c + 1] = weight(2 * p + 1, c);
                }
            }
        }
        out
    };
    let (whh, why) = (pairs(t.int8[1], hidden), pairs(t.int8[2], vocab));
    let whh_scale = vec![1.0f32 / 64.0; t.f32[1].len()];
    let tensors = charm_core::QuantTensors {
        int8: [t.int8[0], &whh, &why],
        f32: [t.f32[0], &whh_scale, t.f32[2], t.f32[3], t.f32[4]],
    };
    let extreme = charm_core::QuantModelView::new(hidden, vocab, tensors).expect("shapes");
    charm_core::encode_any(&charm_core::Weights::Int8(extreme), &file.vocab, &file.meta)
        .expect("encode")
}

/// The int8 form of a version-5 `model` (as `charm quantize`, row pairs)
/// with every int8 weight −128 (a stored first-row byte of 0; the one-hot
/// rows too) and every scale of the gate matrices at 1/64, so that the
/// sums reach −128·32767·H and every gate and state saturates (h at
/// ±32767) — the extremes of the row-pair kernels' i32 sums and of the
/// cells' integer updates.
pub fn extreme_stacked_int8(model: &[u8]) -> Vec<u8> {
    use charm_core::{quantize_stacked, Int8LayerTensors, Int8StackedModelView, RowPairs, Weights};
    let bytes = charm_core::AlignedBytes::from(model);
    let file = charm_core::decode_any(&bytes).expect("a model");
    let Weights::Stacked(f32_model) = file.weights else {
        panic!("not a version-5 f32 model");
    };
    let q = quantize_stacked::<RowPairs>(&f32_model).expect("H <= 512");
    let view = q.view();
    // row pairs: even bytes are a + 128 (0 for −128), odd bytes b (−128)
    let pairs = |t: &[i8]| -> Vec<i8> {
        (0..t.len())
            .map(|i| if i % 2 == 0 { 0 } else { -128 })
            .collect()
    };
    let owned: Vec<[Vec<i8>; 2]> = view
        .layers()
        .iter()
        .enumerate()
        .map(|(l, t)| {
            let wx = if l == 0 {
                vec![-128; t.wx.len()]
            } else {
                pairs(t.wx)
            };
            [wx, pairs(t.wh)]
        })
        .collect();
    let scales: Vec<[Vec<f32>; 2]> = view
        .layers()
        .iter()
        .map(|t| {
            [
                vec![1.0 / 64.0; t.wx_scale.len()],
                vec![1.0 / 64.0; t.wh_scale.len()],
            ]
        })
        .collect();
    let layers: Vec<Int8LayerTensors<'_>> = view
        .layers()
        .iter()
        .zip(&owned)
        .zip(&scales)
        .map(|((t, [wx, wh]), [sx, sh])| Int8LayerTensors {
            wx,
            wh,
            wx_scale: sx,
            wh_scale: sh,
            ..*t
        })
        .collect();
    let why = pairs(view.why());
    let extreme = Int8StackedModelView::<RowPairs>::new(
        view.cell(),
        view.hidden(),
        view.vocab(),
        &layers,
        &why,
        view.why_scale(),
        view.by(),
    )
    .expect("shapes");
    charm_core::encode_any(&Weights::StackedInt8(extreme), &file.vocab, &file.meta).expect("encode")
}

/// The fixed int8 form of an f32 `.charm` file, as `charm quantize --layout
/// fixed` writes it.
pub fn fixed(model: &[u8]) -> Vec<u8> {
    let bytes = charm_core::AlignedBytes::from(model);
    let file = charm_core::decode(&bytes).expect("an f32 model");
    let q = charm_core::quantize_fixed(&file.model).expect("H <= 512");
    charm_core::encode_any(
        &charm_core::Weights::Int8Fixed(q.view()),
        &file.vocab,
        &file.meta,
    )
    .expect("encode")
}

/// Extreme integers for a fixed int8 model, besides its int8 weights.
#[derive(Debug, Clone, Copy)]
pub enum ExtremeIntegers {
    /// As the quantizer makes them from [`extreme_int8`]'s scales.
    Quantized,
    /// Every multiplier, bias and input multiplier at the top of its range
    /// and the shifts at 1: every product saturates at ±2²⁹, every logit at
    /// ±2²³.
    Saturating,
    /// Any value of each range, from the seed.
    AnyInRange(u64),
}

/// The fixed int8 form of [`extreme_int8`]'s row-pair model (its int8
/// weights and saturating states), with its integers set by `integers`.
pub fn extreme_fixed(model: &[u8], extreme: Extreme, integers: ExtremeIntegers) -> Vec<u8> {
    use charm_core::{
        FixedModel, FixedModelView, FixedTensors, Weights, INPUT_MULT_LIMIT, TERM_LIMIT,
    };
    let pairs = extreme_int8(model, extreme);
    let bytes = charm_core::AlignedBytes::from(&pairs[..]);
    let file = charm_core::decode_any(&bytes).expect("an int8 model");
    let Weights::Int8(view) = file.weights else {
        panic!("not a row-pair model");
    };
    let q = FixedModel::from_row_pairs(&view);
    let t = q.view().tensors();
    let mut rng = Rng::new(match integers {
        ExtremeIntegers::AnyInRange(seed) => seed,
        _ => 0,
    });
    let mut any =
        |low: i64, high: i64| (low + (rng.next_u64() % (high - low + 1) as u64) as i64) as i32;
    let top = |limit: i32| limit;
    let (max, term, input) = (
        i64::from(i32::MAX),
        i64::from(TERM_LIMIT),
        i64::from(INPUT_MULT_LIMIT - 1),
    );
    let mut int32: Vec<Vec<i32>> = t.int32.iter().map(|v| v.to_vec()).collect();
    match integers {
        ExtremeIntegers::Quantized => {}
        ExtremeIntegers::Saturating => {
            for (k, v) in int32.iter_mut().enumerate() {
                for (i, x) in v.iter_mut().enumerate() {
                    *x = match k {
                        0 | 1 => top(i32::MAX),
                        2 => top(INPUT_MULT_LIMIT - 1),
                        3 | 4 => {
                            if i % 2 == 0 {
                                TERM_LIMIT
                            } else {
                                -TERM_LIMIT
                            }
                        }
                        _ => [1, 1, 1, 0][i],
                    };
                }
            }
        }
        ExtremeIntegers::AnyInRange(_) => {
            for (k, v) in int32.iter_mut().enumerate() {
                for (i, x) in v.iter_mut().enumerate() {
                    *x = match k {
                        0 | 1 => any(0, max),
                        2 => any(0, input),
                        3 | 4 => any(-term, term),
                        _ => [any(1, 62), any(1, 62), any(1, 30), 0][i],
                    };
                }
            }
        }
    }
    let tensors = FixedTensors {
        int8: t.int8,
        int32: [
            &int32[0], &int32[1], &int32[2], &int32[3], &int32[4], &int32[5],
        ],
    };
    let extreme =
        FixedModelView::new(view.hidden(), view.vocab(), tensors).expect("integers in range");
    charm_core::encode_any(&Weights::Int8Fixed(extreme), &file.vocab, &file.meta).expect("encode")
}
