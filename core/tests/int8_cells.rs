//! int8 models of GRU, LSTM and stacked layers (`quantize_stacked`,
//! `Int8StackedModelView`) against the f32 step they come from, within a
//! bound derived from the quantization; their format (version 5, element
//! types 1 and 2) and its errors; the generator over them.

use charm_core::{
    decode, decode_any, encode_any, int8_layer_tensor_lengths, layer_tensor_lengths, padded,
    quantize_stacked, AlignedBytes, Buffers, Cell, FormatError, Generator, Int8LayerTensors,
    Int8Layout, Int8StackedModelView, LayerTensors, Metadata, Rng, RowPairs, SampleParams,
    ShapeError, StackedModelView, Tiles, Vocab, Weights, MAX_HIDDEN_INT8,
};
use proptest::prelude::*;

/// An f32 stacked model's stored tensors (per layer wx, wh, bx, bh; why; by).
struct Net {
    cell: Cell,
    hidden: usize,
    vocab: usize,
    layers: Vec<[Vec<f32>; 4]>,
    why: Vec<f32>,
    by: Vec<f32>,
}

impl Net {
    /// Every weight and bias uniform in ±`scale`, padding zero.
    fn random(
        cell: Cell,
        depth: usize,
        hidden: usize,
        vocab: usize,
        seed: u64,
        scale: f32,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let mut value = move || (rng.next_f32() * 2.0 - 1.0) * scale;
        let mut rows = |len: usize, width: usize, used: usize| -> Vec<f32> {
            (0..len)
                .map(|i| if i % width < used { value() } else { 0.0 })
                .collect()
        };
        let (g, s) = (cell.gates() * hidden, padded(hidden));
        let layers = (0..depth)
            .map(|l| {
                let [wx, wh, bx, bh] = layer_tensor_lengths(cell, hidden, vocab, l);
                let wx = if l == 0 {
                    rows(wx, padded(g), g)
                } else {
                    rows(wx, s, hidden)
                };
                [wx, rows(wh, s, hidden), rows(bx, bx, bx), rows(bh, bh, bh)]
            })
            .collect();
        let why = rows(vocab * s, s, hidden);
        let by = rows(vocab, vocab, vocab);
        Net {
            cell,
            hidden,
            vocab,
            layers,
            why,
            by,
        }
    }

    fn view(&self) -> StackedModelView<'_, f32> {
        let layers: Vec<LayerTensors<'_, f32>> = self
            .layers
            .iter()
            .map(|[wx, wh, bx, bh]| LayerTensors { wx, wh, bx, bh })
            .collect();
        StackedModelView::new(
            self.cell,
            self.hidden,
            self.vocab,
            &layers,
            &self.why,
            &self.by,
        )
        .unwrap()
    }
}

/// What the bound needs of a layout: its full scale, and the error of its
/// tanh table in levels (docs/int8.md: `tanh_q15` 1.148 Q15 steps, `tanh_i8`
/// 0.992 levels, each measured by its own test).
trait Levels: Int8Layout {
    const TABLE_ERROR: f64;
    fn lv(s: Self::State) -> i32;
    fn wrap(v: Int8StackedModelView<'_, Self>) -> Weights<'_>;
    fn c_of(lanes: &[Self::State]) -> f32;
}
impl Levels for RowPairs {
    const TABLE_ERROR: f64 = 1.148;
    fn lv(s: i16) -> i32 {
        i32::from(s)
    }
    fn wrap(v: Int8StackedModelView<'_, Self>) -> Weights<'_> {
        Weights::StackedInt8(v)
    }
    // the f32 bits, low half first (module docs of int8::stacked)
    fn c_of(l: &[i16]) -> f32 {
        f32::from_bits(u32::from(l[0] as u16) | u32::from(l[1] as u16) << 16)
    }
}
impl Levels for Tiles {
    const TABLE_ERROR: f64 = 0.992;
    fn lv(s: i8) -> i32 {
        i32::from(s)
    }
    fn wrap(v: Int8StackedModelView<'_, Self>) -> Weights<'_> {
        Weights::StackedTiles(v)
    }
    fn c_of(l: &[i8]) -> f32 {
        f32::from_bits(u32::from_le_bytes([
            l[0] as u8, l[1] as u8, l[2] as u8, l[3] as u8,
        ]))
    }
}

/// Slack for the f32 arithmetic of both steps on one pre-activation: sums
/// of at most 3·64 + 2 terms below 1 in magnitude, each rounding at most
/// 2⁻²⁴ relative (n·eps·Σ|terms| ≤ 200·6e-8·(64·0.5 + 1) ≈ 4e-4 in the very
/// worst case of H 64, weights ±0.5, |h| ≤ 1); 5e-4 is above it.
const F32_SLACK: f64 = 5e-4;

/// `|w − s·q| ≤ s/2` for `s = max|w_row|/127` (`q = round(w/s)`), plus a
/// millionth of `s` for the f32 rounding of `w/s` before `round`.
fn half_step(row: &[f32]) -> f64 {
    let max = row.iter().fold(0.0f64, |m, &w| m.max(f64::from(w).abs()));
    max / 127.0 * (0.5 + 1e-6)
}

/// One step of the int8 model and of the f32 model from the same state
/// (the int8 model's, read as f32: `h = hq/ONE`, c as stored), checking
/// every layer's next h and the logits against a bound propagated from the
/// quantization (the derivation is inline). Returns the int8 next state.
fn step_within_bound<L: Levels>(
    net: &Net,
    q: &Int8StackedModelView<'_, L>,
    state: &[L::State],
    x: usize,
) -> Vec<L::State>
where
    L::State: Zero,
{
    let (cell, hidden, depth) = (net.cell, net.hidden, net.layers.len());
    let (s, gates) = (padded(hidden), cell.gates());
    let one = f64::from(L::ONE);
    let per = q.layer_state_len();
    let stride = per
        / if cell == Cell::Lstm {
            1 + L::C_LANES
        } else {
            1
        };
    // the f32 model's state: h_l then c_l (LSTM), per layer
    let states = if cell == Cell::Lstm { 2 } else { 1 };
    let mut f32_state = vec![0.0f32; depth * states * hidden];
    for l in 0..depth {
        for r in 0..hidden {
            f32_state[l * states * hidden + r] = L::lv(state[l * per + r]) as f32 / L::ONE as f32;
            if cell == Cell::Lstm {
                let lanes = &state[l * per + stride + r * L::C_LANES..];
                f32_state[l * states * hidden + hidden + r] = L::c_of(lanes);
            }
        }
    }
    let f32_model = net.view();
    let mut f32_next = vec![0.0f32; f32_state.len()];
    let mut f32_logits = vec![0.0f32; net.vocab];
    f32_model
        .step(&f32_state, x, &mut f32_next, &mut f32_logits)
        .unwrap();
    let mut next = vec![L::State::default_zero(); q.state_len()];
    let mut logits = vec![0.0f32; net.vocab];
    q.step(state, x, &mut next, &mut logits);

    // Table errors in value units: tanh T; σ = (tanh(u/2) + 1)/2 rounded
    // to a level, so T/2 plus half a level; a rounded product R.
    let t = L::TABLE_ERROR / one + 2e-7; // + tanh_f32's own error (< 2e-7)
    let sig = L::TABLE_ERROR / (2.0 * one) + 0.5 / one + 2e-7;
    let r_round = 0.5 / one;
    // δ of the layer below's new h (layer 1: its input is exact)
    let mut below_err = vec![0.0f64; hidden];
    let mut below_h = vec![0.0f64; hidden];
    for (l, [wx, wh, bx, bh]) in net.layers.iter().enumerate() {
        let h_prev: Vec<f64> = (0..hidden)
            .map(|r| f64::from(f32_state[l * states * hidden + r]))
            .collect();
        let abs_h: f64 = h_prev.iter().map(|h| h.abs()).sum();
        let abs_below: f64 = below_h.iter().map(|h| h.abs()).sum();
        let mut layer_err = vec![0.0f64; hidden];
        let mut layer_h = vec![0.0f64; hidden];
        for r in 0..hidden {
            // Per gate: E = bound on |u_int8 − u_f32| of its pre-activation.
            // Hidden term: Σ|w − s·q|·|h| ≤ (s/2)·Σ|h| (the same h in both).
            // Input term, layer 1: |w − s_x·q| ≤ s_x/2 (one weight).
            // Input term, layer l > 1: (s/2)·Σ|h̃| + Σ|w|·δ_below.
            // Also |h-term| ≤ Σ|w||h| + |b| + E (for the GRU's r·h_n).
            let mut e = [0.0f64; 4];
            let mut h_n_abs = 0.0f64;
            for (g, e) in e.iter_mut().enumerate().take(gates) {
                let row = g * hidden + r;
                let wh_row = &wh[row * s..row * s + hidden];
                let e_h = half_step(wh_row) * abs_h;
                let e_x = if l == 0 {
                    let column = &wx[x * padded(gates * hidden)..][..gates * hidden];
                    half_step(column)
                } else {
                    let wx_row = &wx[row * s..row * s + hidden];
                    let carried: f64 = wx_row
                        .iter()
                        .zip(&below_err)
                        .map(|(&w, d)| f64::from(w).abs() * d)
                        .sum();
                    half_step(wx_row) * abs_below + carried
                };
                if g == 2 {
                    let term: f64 = wh_row
                        .iter()
                        .zip(&h_prev)
                        .map(|(&w, h)| (f64::from(w) * h).abs())
                        .sum();
                    h_n_abs = term + f64::from(bh[row]).abs() + e_h;
                }
                let _ = bx;
                *e = e_h + e_x + F32_SLACK;
            }
            let err = match cell {
                // h' = tanh(u): tanh is 1-Lipschitz
                Cell::Rnn => e[0] + t,
                // r, z: σ is 1/4-Lipschitz; n's argument x_n + r·h_n moves
                // by E_n (both terms, r ≤ 1) + δr·|h_n|; h' = n + z(h − n)
                // moves by δn(1 + δz) + δz·|h − n| (≤ 2) and one rounding.
                Cell::Gru => {
                    let (dr, dz) = (e[0] / 4.0 + sig, e[1] / 4.0 + sig);
                    let dn = e[2] + dr * h_n_abs + t;
                    dn * (1.0 + dz) + 2.0 * dz + r_round
                }
                // c' = f·c + i·g moves by δf·|c| + δi + δg + δi·δg (|i|, |g|
                // ≤ 1); h' = o·tanh(c') by δo + δt + δo·δt and one rounding,
                // δt = δc' + T.
                _ => {
                    let c = f64::from(f32_state[l * states * hidden + hidden + r]).abs();
                    let (di, df, dg, d_o) = (
                        e[0] / 4.0 + sig,
                        e[1] / 4.0 + sig,
                        e[2] + t,
                        e[3] / 4.0 + sig,
                    );
                    let dc = df * c + di + dg + di * dg + 1e-6 * (1.0 + c);
                    let dt = dc + t;
                    d_o + dt + d_o * dt + r_round
                }
            };
            let got = f64::from(L::lv(next[l * per + r])) / one;
            let want = f64::from(f32_next[l * states * hidden + r]);
            assert!(
                (got - want).abs() <= err + 1e-6,
                "{cell:?} layer {l} unit {r}: int8 {got} f32 {want}, bound {err}"
            );
            layer_err[r] = err;
            layer_h[r] = got;
        }
        below_err = layer_err;
        below_h = layer_h;
    }
    // y_j = W_hy·h + b_y: (s_j/2)·Σ|h̃| + Σ|w|·δh
    let abs_top: f64 = below_h.iter().map(|h| h.abs()).sum();
    for (j, (&got, &want)) in logits.iter().zip(&f32_logits).enumerate() {
        let row = &net.why[j * s..j * s + hidden];
        let carried: f64 = row
            .iter()
            .zip(&below_err)
            .map(|(&w, d)| f64::from(w).abs() * d)
            .sum();
        let bound = half_step(row) * abs_top + carried + F32_SLACK;
        assert!(
            (f64::from(got) - f64::from(want)).abs() <= bound,
            "{cell:?} logit {j}: int8 {got} f32 {want}, bound {bound}"
        );
    }
    next
}

/// The zero of a state element (the generator's h₀).
trait Zero {
    fn default_zero() -> Self;
}
impl Zero for i16 {
    fn default_zero() -> Self {
        0
    }
}
impl Zero for i8 {
    fn default_zero() -> Self {
        0
    }
}

/// Steps from h₀ = 0 through `text`, checking each step's bound.
fn run_within_bound<L: Levels>(net: &Net, steps: &[usize])
where
    L::State: Zero,
{
    let q = quantize_stacked::<L>(&net.view()).unwrap();
    let view = q.view();
    let mut state = vec![L::State::default_zero(); view.state_len()];
    for &x in steps {
        state = step_within_bound(net, &view, &state, x);
    }
}

#[test]
fn int8_steps_of_every_cell_and_depth_are_within_the_quantization_bound() {
    for cell in Cell::ALL {
        for depth in 1..=3 {
            for (hidden, vocab) in [(1, 2), (7, 5), (16, 11), (33, 3)] {
                let net = Net::random(cell, depth, hidden, vocab, 40 + depth as u64, 0.5);
                let steps: Vec<usize> = (0..6).map(|i| (i * 7 + 1) % vocab).collect();
                run_within_bound::<RowPairs>(&net, &steps);
                run_within_bound::<Tiles>(&net, &steps);
            }
        }
    }
}

/// Weights near the saturation of every gate (±4): the states reach ±ONE.
#[test]
fn int8_steps_with_saturating_weights_are_within_the_bound() {
    for cell in Cell::ALL {
        let net = Net::random(cell, 2, 9, 4, 77, 4.0);
        let steps = [0, 1, 2, 3, 3, 2, 1, 0];
        run_within_bound::<RowPairs>(&net, &steps);
        run_within_bound::<Tiles>(&net, &steps);
    }
}

/// The file of an int8 stacked model decodes to the same view: the same
/// tensors, the same bytes when written again, the same steps.
fn round_trip<L: Levels>(net: &Net)
where
    L::State: Zero + PartialEq,
{
    let q = quantize_stacked::<L>(&net.view()).unwrap();
    let alphabet: String = (0..net.vocab).map(|i| char::from(b'a' + i as u8)).collect();
    let vocab = Vocab::new(&alphabet).unwrap();
    let bytes = encode_any(&L::wrap(q.view()), &vocab, &Metadata::default()).unwrap();
    assert_eq!(
        u16::from_le_bytes([bytes[4], bytes[5]]),
        5,
        "format version 5"
    );
    let aligned = AlignedBytes::from(&bytes[..]);
    let file = decode_any(&aligned).unwrap();
    assert_eq!(file.weights.element(), L::ELEMENT);
    assert_eq!(
        (file.weights.cell(), file.weights.depth()),
        (net.cell, net.layers.len())
    );
    assert_eq!(file.weights.tensor_bytes() % 4, 0);
    let again = encode_any(&file.weights, &file.vocab, &file.meta).unwrap();
    assert_eq!(again, bytes, "written again, byte for byte");
    // the one-layer decoder names what it is
    assert_eq!(
        decode(&aligned).unwrap_err(),
        FormatError::NotOneTanhLayer {
            cell: net.cell,
            layers: net.layers.len()
        }
    );
    // the same characters from both views
    let draw = |weights: Weights<'_>| -> String {
        let text = |m: Int8StackedModelView<'_, L>| {
            let mut h = vec![L::State::default_zero(); m.state_len()];
            let mut h2 = h.clone();
            let mut logits = vec![0.0; m.vocab()];
            let slices = charm_core::Slices {
                h: &mut h,
                h_next: &mut h2,
                logits: &mut logits,
            };
            let mut g = Generator::new(m, vocab, SampleParams::default(), 5, slices).unwrap();
            g.prime("ab").unwrap_or(());
            (0..40).map(|_| g.next_char()).collect::<String>()
        };
        match weights {
            Weights::StackedInt8(m) => text(reinterpret::<RowPairs, L>(m)),
            Weights::StackedTiles(m) => text(reinterpret::<Tiles, L>(m)),
            _ => panic!("not an int8 stacked model"),
        }
    };
    if net.vocab >= 2 {
        assert_eq!(draw(file.weights), draw(L::wrap(q.view())));
    }
}

/// The view of layout `A` as layout `B` when they are the same type.
fn reinterpret<A: Int8Layout, B: Int8Layout>(
    m: Int8StackedModelView<'_, A>,
) -> Int8StackedModelView<'_, B> {
    let layers: Vec<Int8LayerTensors<'_>> = m.layers().to_vec();
    Int8StackedModelView::<B>::new(
        m.cell(),
        m.hidden(),
        m.vocab(),
        &layers,
        m.why(),
        m.why_scale(),
        m.by(),
    )
    .expect("the same layout")
}

#[test]
fn int8_stacked_files_round_trip() {
    for cell in Cell::ALL {
        for depth in [1, 2, 4] {
            let net = Net::random(cell, depth, 13, 6, 90 + depth as u64, 0.5);
            round_trip::<RowPairs>(&net);
            round_trip::<Tiles>(&net);
        }
    }
}

#[test]
fn malformed_int8_stacked_files_and_views_are_errors() {
    let net = Net::random(Cell::Lstm, 2, 5, 3, 5, 0.5);
    let q = quantize_stacked::<RowPairs>(&net.view()).unwrap();
    let vocab = Vocab::new("abc").unwrap();
    let bytes = encode_any(
        &Weights::StackedInt8(q.view()),
        &vocab,
        &Metadata::default(),
    )
    .unwrap();
    // one byte short (CRC fixed): the block does not add up
    let mut short = bytes[..bytes.len() - 5].to_vec();
    let len = (short.len() + 4) as u32;
    short[8..12].copy_from_slice(&len.to_le_bytes());
    let crc = charm_core::crc32(&short);
    short.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_any(&AlignedBytes::from(&short[..])).unwrap_err(),
        FormatError::Malformed
    );
    // a NaN scale: named by its tensor
    let mut layers: Vec<Int8LayerTensors<'_>> = q.view().layers().to_vec();
    let nan = vec![f32::NAN; layers[1].wh_scale.len()];
    layers[1].wh_scale = &nan;
    let v = q.view();
    let bad = Int8StackedModelView::<RowPairs>::new(
        v.cell(),
        v.hidden(),
        v.vocab(),
        &layers,
        v.why(),
        v.why_scale(),
        v.by(),
    )
    .unwrap();
    assert_eq!(
        encode_any(&Weights::StackedInt8(bad), &vocab, &Metadata::default()).unwrap_err(),
        FormatError::NonFinite {
            tensor: "layer 2 wh_scale",
            index: 0
        }
    );
    // views: a wrong length, no layers, too many units
    let mut short_layers = layers.clone();
    short_layers[0].bh = &[];
    let view = |layers: &[Int8LayerTensors<'_>], hidden: usize| {
        Int8StackedModelView::<RowPairs>::new(
            Cell::Lstm,
            hidden,
            3,
            layers,
            v.why(),
            v.why_scale(),
            v.by(),
        )
        .unwrap_err()
    };
    assert_eq!(
        view(&short_layers, 5),
        ShapeError::TensorLength {
            tensor: "layer 1 bh",
            expected: 20,
            found: 0
        }
    );
    assert_eq!(view(&[], 5), ShapeError::Depth { layers: 0, max: 4 });
    assert_eq!(
        view(&layers, MAX_HIDDEN_INT8 + 1),
        ShapeError::HiddenTooLarge {
            hidden: MAX_HIDDEN_INT8 + 1,
            max: MAX_HIDDEN_INT8
        }
    );
    // quantizing more units than an int8 model may have
    let big = Net::random(Cell::Rnn, 1, MAX_HIDDEN_INT8 + 1, 2, 1, 0.1);
    assert_eq!(
        quantize_stacked::<Tiles>(&big.view()).unwrap_err(),
        charm_core::QuantizeError::HiddenTooLarge {
            hidden: MAX_HIDDEN_INT8 + 1
        }
    );
    // the generator says what a layout's state needs
    let mut buffers = Buffers::<8, 4, i16>::new();
    assert!(matches!(
        buffers.slices_for(&q.view()),
        Err(charm_core::GenerateError::Capacity { .. })
    ));
    let lengths = int8_layer_tensor_lengths::<RowPairs>(Cell::Lstm, 5, 3, 1);
    assert_eq!(lengths, ([4 * 3 * 16, 4 * 3 * 16], [20, 20, 20, 20]));
    // 2 layers × (8 Q15 for h + 16 for c's bits)
    assert_eq!(q.view().state_len(), 2 * 3 * 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any cell, depth, H (odd sizes and 1 among them) and V: the int8
    /// steps of both layouts stay within the bound, and the file round-trips.
    #[test]
    fn int8_stacked_models_hold_the_bound_and_round_trip(
        cell in prop::sample::select(Cell::ALL.to_vec()),
        depth in 1usize..=3,
        hidden in 1usize..=24,
        vocab in 1usize..=12,
        seed in any::<u64>(),
        scale in prop::sample::select(vec![0.1f32, 0.5, 2.0]),
        inputs in prop::collection::vec(0usize..1000, 1..5),
    ) {
        let net = Net::random(cell, depth, hidden, vocab, seed, scale);
        let steps: Vec<usize> = inputs.iter().map(|x| x % vocab).collect();
        run_within_bound::<RowPairs>(&net, &steps);
        run_within_bound::<Tiles>(&net, &steps);
        round_trip::<RowPairs>(&net);
        round_trip::<Tiles>(&net);
    }
}
