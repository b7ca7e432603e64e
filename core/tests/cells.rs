//! GRU, LSTM and stacked layers ([`StackedModelView`]) against PyTorch's
//! equations written out here, their `.charm` format (version 5), their
//! errors, and the generator over them.

use charm_core::{
    decode, decode_any, dot, encode_any, layer_tensor_lengths, padded, sample, AlignedBytes,
    Buffers, Cell, FormatError, Generator, LayerTensors, Metadata, ModelView, Rng, SampleParams,
    ShapeError, StackedModelView, Vocab, Weights, MAX_LAYERS,
};

/// A model in PyTorch's natural layout (no padding), per layer
/// `weight_ih_l{k}` (G·H × input), `weight_hh_l{k}` (G·H × H), `bias_ih_l{k}`,
/// `bias_hh_l{k}`, then the output layer; the values are f32s, so the same
/// model is exact in f32 and f64.
struct Torch {
    cell: Cell,
    hidden: usize,
    vocab: usize,
    w_ih: Vec<Vec<Vec<f32>>>,
    w_hh: Vec<Vec<Vec<f32>>>,
    b_ih: Vec<Vec<f32>>,
    b_hh: Vec<Vec<f32>>,
    w_hy: Vec<Vec<f32>>,
    b_y: Vec<f32>,
}

/// The stored tensors of a model: per layer wx, wh, bx, bh, then why, by.
type Tensors<F> = (Vec<[Vec<F>; 4]>, Vec<F>, Vec<F>);

/// Every weight and bias is below this in magnitude (the bounds use it).
const W_MAX: f32 = 0.5;

impl Torch {
    fn random(cell: Cell, hidden: usize, vocab: usize, layers: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut value = move || (rng.next_f32() * 2.0 - 1.0) * W_MAX;
        let mut matrix = |rows: usize, cols: usize| -> Vec<Vec<f32>> {
            (0..rows)
                .map(|_| (0..cols).map(|_| value()).collect())
                .collect()
        };
        let rows = cell.gates() * hidden;
        let w_ih = (0..layers)
            .map(|l| matrix(rows, if l == 0 { vocab } else { hidden }))
            .collect();
        let w_hh = (0..layers).map(|_| matrix(rows, hidden)).collect();
        let b_ih = (0..layers).map(|_| matrix(1, rows).remove(0)).collect();
        let b_hh = (0..layers).map(|_| matrix(1, rows).remove(0)).collect();
        let w_hy = matrix(vocab, hidden);
        let b_y = matrix(1, vocab).remove(0);
        Torch {
            cell,
            hidden,
            vocab,
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            w_hy,
            b_y,
        }
    }

    /// The stored tensors ([`LayerTensors`]'s layout): per layer wx, wh, bx, bh, then why, by.
    fn charm_tensors<F: From<f32> + Copy + Default>(&self) -> Tensors<F> {
        let (h, v, s) = (self.hidden, self.vocab, padded(self.hidden));
        let rows = self.cell.gates() * h;
        let padded_rows = |m: &[Vec<f32>], stride: usize| -> Vec<F> {
            m.iter()
                .flat_map(|row| {
                    (0..stride).map(|c| row.get(c).map_or(F::default(), |&w| F::from(w)))
                })
                .collect()
        };
        let layers = (0..self.w_ih.len())
            .map(|l| {
                let wx = if l == 0 {
                    // row x: column x of W_ih, G·H values padded
                    let columns: Vec<Vec<f32>> = (0..v)
                        .map(|x| (0..rows).map(|r| self.w_ih[0][r][x]).collect())
                        .collect();
                    padded_rows(&columns, padded(rows))
                } else {
                    padded_rows(&self.w_ih[l], s)
                };
                let convert = |b: &[f32]| b.iter().map(|&w| F::from(w)).collect::<Vec<F>>();
                [
                    wx,
                    padded_rows(&self.w_hh[l], s),
                    convert(&self.b_ih[l]),
                    convert(&self.b_hh[l]),
                ]
            })
            .collect();
        (
            layers,
            padded_rows(&self.w_hy, s),
            self.b_y.iter().map(|&w| F::from(w)).collect(),
        )
    }

    /// One step in f64, from PyTorch's equations; `state` is per layer h
    /// (and c for an LSTM), as [`StackedModelView::state_len`] lays it out.
    /// Each product of a row and a vector is charm's [`dot`] (its fixed
    /// order), each bias added after it, and the input term and the hidden
    /// term added last, so the f64 view must give the same bits.
    fn step(&self, state: &[f64], x: usize) -> (Vec<f64>, Vec<f64>) {
        let h = self.hidden;
        let per_layer = self.cell.state_vectors() * h;
        let sigmoid = |a: f64| 1.0 / (1.0 + libm::exp(-a));
        let row =
            |m: &[Vec<f32>], r: usize| m[r].iter().map(|&w| f64::from(w)).collect::<Vec<f64>>();
        let mut next = vec![0.0; state.len()];
        for l in 0..self.w_ih.len() {
            let (h_prev, c_prev) = (&state[l * per_layer..][..h], &state[l * per_layer + h..]);
            let below: Vec<f64> = if l == 0 {
                vec![]
            } else {
                next[(l - 1) * per_layer..][..h].to_vec()
            };
            let input = |r: usize| -> f64 {
                let b = f64::from(self.b_ih[l][r]);
                if l == 0 {
                    f64::from(self.w_ih[0][r][x]) + b // W_ih · onehot(x) + b_ih
                } else {
                    dot(&row(&self.w_ih[l], r), &below) + b
                }
            };
            let hidden =
                |r: usize| dot(&row(&self.w_hh[l], r), h_prev) + f64::from(self.b_hh[l][r]);
            for u in 0..h {
                let gate = |g: usize| (input(g * h + u), hidden(g * h + u));
                match self.cell {
                    Cell::Rnn => {
                        let (xi, hh) = gate(0);
                        next[l * per_layer + u] = libm::tanh(xi + hh);
                    }
                    Cell::Gru => {
                        let ((xr, hr), (xz, hz), (xn, hn)) = (gate(0), gate(1), gate(2));
                        let r = sigmoid(xr + hr);
                        let z = sigmoid(xz + hz);
                        let n = libm::tanh(xn + r * hn);
                        next[l * per_layer + u] = (1.0 - z) * n + z * h_prev[u];
                    }
                    Cell::Lstm => {
                        let ((xi, hi), (xf, hf), (xg, hg), (xo, ho)) =
                            (gate(0), gate(1), gate(2), gate(3));
                        let (i, f) = (sigmoid(xi + hi), sigmoid(xf + hf));
                        let (g, o) = (libm::tanh(xg + hg), sigmoid(xo + ho));
                        let c = f * c_prev[u] + i * g;
                        next[l * per_layer + h + u] = c;
                        next[l * per_layer + u] = o * libm::tanh(c);
                    }
                    _ => unreachable!("the cells of this test"),
                }
            }
        }
        let top = &next[(self.w_ih.len() - 1) * per_layer..][..h];
        let logits = (0..self.vocab)
            .map(|j| dot(&row(&self.w_hy, j), top) + f64::from(self.b_y[j]))
            .collect();
        (next, logits)
    }
}

/// The view over tensors made by [`Torch::charm_tensors`].
fn view<'a, F: charm_core::Float>(
    t: &'a Torch,
    tensors: &'a Tensors<F>,
) -> StackedModelView<'a, F> {
    let layers: Vec<LayerTensors<'a, F>> = tensors
        .0
        .iter()
        .map(|[wx, wh, bx, bh]| LayerTensors { wx, wh, bx, bh })
        .collect();
    StackedModelView::new(t.cell, t.hidden, t.vocab, &layers, &tensors.1, &tensors.2).unwrap()
}

const CELLS: [Cell; 3] = [Cell::Rnn, Cell::Gru, Cell::Lstm];
/// Characters fed in the sequence tests.
const TEXT: [usize; 12] = [0, 3, 1, 6, 6, 2, 5, 0, 4, 1, 3, 2];

#[test]
fn f64_step_is_pytorchs_equations_exactly() {
    for cell in CELLS {
        for layers in 1..=3 {
            // H 10 (stride 16, padding read by nothing), V 7
            let t = Torch::random(cell, 10, 7, layers, 11 + layers as u64);
            let tensors = t.charm_tensors::<f64>();
            let m = view(&t, &tensors);
            let n = m.state_len();
            assert_eq!(n, layers * cell.state_vectors() * 10);
            let (mut state, mut next, mut logits) = (vec![0.0; n], vec![0.0; n], vec![0.0; 7]);
            let mut reference = vec![0.0; n];
            for &x in &TEXT {
                m.step(&state, x, &mut next, &mut logits).unwrap();
                let (ref_next, ref_logits) = t.step(&reference, x);
                // exact: the same operations in the same order, in f64
                assert_eq!(next, ref_next, "{cell:?} x{layers}: state after {x}");
                assert_eq!(logits, ref_logits, "{cell:?} x{layers}: logits after {x}");
                std::mem::swap(&mut state, &mut next);
                reference = ref_next;
            }
        }
    }
}

/// γ_k = k·u / (1 − k·u): the relative error bound of a sum or dot
/// product of k terms in any order (Higham, Accuracy and Stability of
/// Numerical Algorithms, §3.1), for unit roundoff u.
fn gamma(k: usize, u: f64) -> f64 {
    k as f64 * u / (1.0 - k as f64 * u)
}

/// From one state, the f32 step is within a bound derived from its
/// arithmetic of the f64 reference (which is PyTorch's equations).
#[test]
fn f32_step_is_within_the_derived_bound_of_the_reference() {
    let (hidden, vocab) = (12usize, 7usize);
    let u = f64::from(f32::EPSILON) / 2.0; // f32's unit roundoff, 2⁻²⁴
    let w = f64::from(W_MAX);
    for cell in CELLS {
        for layers in 1..=3 {
            let t = Torch::random(cell, hidden, vocab, layers, 100 + layers as u64);
            let tensors = t.charm_tensors::<f32>();
            let m = view(&t, &tensors);
            // a state the model reached: 5 steps in f32
            let n = m.state_len();
            let (mut state, mut next, mut logits) =
                (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; vocab]);
            for &x in &TEXT[..5] {
                m.step(&state, x, &mut next, &mut logits).unwrap();
                std::mem::swap(&mut state, &mut next);
            }
            let x = 4;
            m.step(&state, x, &mut next, &mut logits).unwrap();
            let exact_state: Vec<f64> = state.iter().map(|&v| f64::from(v)).collect();
            let (ref_next, ref_logits) = t.step(&exact_state, x);

            // The bound, layer by layer, first order in u (second-order
            // terms are below 1e-12 and covered by the 1e-12 added at the
            // end). |h| ≤ 1 for every cell; an LSTM's |c| ≤ 1 + 5 = 6 after
            // 6 steps from 0 (|c'| ≤ |c| + 1).
            // Pre-activation a = (Σ W_h·h + b_h) + (Σ W_i·v + b_i), at most
            // 2H + 3 roundings over terms summing to at most
            // S = H·w + w + H·w + w (the one-hot layer: w + w), so
            // |fl(a) − a| ≤ γ_{2H+3}·S, plus Σ|W_i|·Δv ≤ H·w·Δv from the
            // layer below's error Δv.
            let tanh_error = 5e-7 + 1.2e-7; // tanh_f32 vs libm::tanhf (tanh_error.rs), + tanhf's ≤ 1 ulp(1)
            let sigmoid_error = 1.2e-7; // sigmoid_f32 vs the exact value (sigmoid_error.rs)
            let s_pre = 2.0 * hidden as f64 * w + 2.0 * w;
            let mut below_error = 0.0;
            let mut state_bound = Vec::new();
            for l in 0..layers {
                let da = gamma(2 * hidden + 3, u) * s_pre
                    + if l == 0 {
                        0.0
                    } else {
                        hidden as f64 * w * below_error
                    };
                let (dh, dc) = match cell {
                    // h' = tanh(a)
                    Cell::Rnn => (da + tanh_error, 0.0),
                    // r, z: σ' ≤ 1/4; n's argument a_n,x + r·a_n,h with
                    // |a_n,h| ≤ S/2: error da + da + Δr·S/2 + 2u·S;
                    // h' = (1 − z)·n + z·h: 2Δz + Δn + 4 roundings of values ≤ 2
                    Cell::Gru => {
                        let ds = da / 4.0 + sigmoid_error;
                        let dn = 2.0 * da + ds * s_pre / 2.0 + 2.0 * u * s_pre + tanh_error;
                        (2.0 * ds + dn + 8.0 * u, 0.0)
                    }
                    // c' = f·c + i·g: Δf·|c| + Δi + Δg + 3 roundings of
                    // values ≤ 7; h' = o·tanh(c'): Δo + Δc' + tanh's + 1 rounding
                    Cell::Lstm => {
                        let (ds, dg) = (da / 4.0 + sigmoid_error, da + tanh_error);
                        let dc = 6.0 * ds + ds + dg + 3.0 * 7.0 * u;
                        (ds + dc + tanh_error + u, dc)
                    }
                    _ => unreachable!(),
                };
                state_bound.push((dh, dc));
                below_error = dh;
            }
            // logits: γ_{H+1}·(H·w + w) + H·w·Δh of the last layer
            let dy =
                gamma(hidden + 1, u) * (hidden as f64 * w + w) + hidden as f64 * w * below_error;
            let per_layer = cell.state_vectors() * hidden;
            for (i, (&got, &want)) in next.iter().zip(&ref_next).enumerate() {
                let (dh, dc) = state_bound[i / per_layer];
                let bound = if i % per_layer < hidden { dh } else { dc } + 1e-12;
                let error = (f64::from(got) - want).abs();
                assert!(
                    error <= bound,
                    "{cell:?} x{layers}: state {i} off by {error:e}, bound {bound:e}"
                );
            }
            for (j, (&got, &want)) in logits.iter().zip(&ref_logits).enumerate() {
                let error = (f64::from(got) - want).abs();
                assert!(
                    error <= dy + 1e-12,
                    "{cell:?} x{layers}: logit {j} off by {error:e}, bound {dy:e}"
                );
            }
        }
    }
}

/// One rnn layer whose b_i is zero is the model of format version 1:
/// the same step, bit for bit.
#[test]
fn one_rnn_layer_is_the_version_1_step() {
    let mut t = Torch::random(Cell::Rnn, 9, 5, 1, 3);
    t.b_ih[0].iter_mut().for_each(|b| *b = 0.0);
    let tensors = t.charm_tensors::<f32>();
    let stacked = view(&t, &tensors);
    let [wx, wh, _, bh] = &tensors.0[0];
    // version 1: wxh rows of stride padded(H) (here padded(G·H) = padded(H)), bh padded
    let mut bh_padded = bh.clone();
    bh_padded.resize(padded(9), 0.0);
    let v1 = ModelView::new(9, 5, wx, wh, &bh_padded, &tensors.1, &tensors.2).unwrap();
    let (mut a, mut b) = (vec![0.0f32; 9], vec![0.0f32; 9]);
    let (mut na, mut nb, mut ya, mut yb) = (
        vec![0.0f32; 9],
        vec![0.0f32; 9],
        vec![0.0f32; 5],
        vec![0.0f32; 5],
    );
    for &x in &[0usize, 4, 2, 2, 1, 3] {
        stacked.step(&a, x, &mut na, &mut ya).unwrap();
        v1.step(&b, x, &mut nb, &mut yb).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&na), bits(&nb));
        assert_eq!(bits(&ya), bits(&yb));
        std::mem::swap(&mut a, &mut na);
        std::mem::swap(&mut b, &mut nb);
    }
}

fn encoded(t: &Torch, tensors: &Tensors<f32>, vocab: &str) -> Vec<u8> {
    let meta = Metadata {
        steps: 7,
        seed: 3,
        ..Metadata::default()
    };
    encode_any(
        &Weights::Stacked(view(t, tensors)),
        &Vocab::new(vocab).unwrap(),
        &meta,
    )
    .unwrap()
}

#[test]
fn version_5_files_round_trip_every_cell_and_depth() {
    for cell in CELLS {
        for layers in 1..=MAX_LAYERS {
            let t = Torch::random(cell, 6, 4, layers, 7);
            let tensors = t.charm_tensors::<f32>();
            let bytes = AlignedBytes::from(&encoded(&t, &tensors, "abcd")[..]);
            assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 5);
            let file = decode_any(&bytes).unwrap();
            assert_eq!(file.version, 5);
            assert_eq!(file.meta.steps, 7);
            assert_eq!((file.weights.cell(), file.weights.depth()), (cell, layers));
            let Weights::Stacked(m) = file.weights else {
                panic!("not a stacked model")
            };
            assert_eq!((m.hidden(), m.vocab(), m.depth()), (6, 4, layers));
            for (l, (got, want)) in m.layers().iter().zip(&tensors.0).enumerate() {
                assert_eq!(got.wx, &want[0][..], "layer {l} wx");
                assert_eq!(got.wh, &want[1][..], "layer {l} wh");
                assert_eq!(got.bx, &want[2][..], "layer {l} bx");
                assert_eq!(got.bh, &want[3][..], "layer {l} bh");
                assert_eq!(got.wx.len(), layer_tensor_lengths(cell, 6, 4, l)[0]);
            }
            assert_eq!((m.why(), m.by()), (&tensors.1[..], &tensors.2[..]));
            let floats: usize = (0..layers)
                .flat_map(|l| layer_tensor_lengths(cell, 6, 4, l))
                .sum::<usize>()
                + 4 * padded(6)
                + 4;
            assert_eq!(file.weights.tensor_bytes(), 4 * floats);
            // and again: the bytes are the same
            let again = encode_any(&file.weights, &file.vocab, &file.meta).unwrap();
            assert_eq!(&again[..], &bytes[..]);
        }
    }
}

/// Bytes with the version-5 cell and depth bytes replaced, the CRC made
/// right again.
fn with_cell_bytes(bytes: &[u8], code: u8, layers: u8) -> AlignedBytes {
    let mut b = bytes.to_vec();
    let header_len = charm_core::Header::from_postcard(&b[12..])
        .map(|(_, rest)| b.len() - 12 - rest.len())
        .unwrap();
    b[12 + header_len] = code;
    b[12 + header_len + 1] = layers;
    let n = b.len() - 4;
    let crc = charm_core::crc32(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    AlignedBytes::from(&b[..])
}

#[test]
fn bad_cells_and_depths_are_their_errors() {
    let t = Torch::random(Cell::Gru, 6, 4, 2, 9);
    let tensors = t.charm_tensors::<f32>();
    let bytes = encoded(&t, &tensors, "abcd");
    assert!(decode_any(&with_cell_bytes(&bytes, 1, 2)).is_ok());
    assert_eq!(
        decode_any(&with_cell_bytes(&bytes, 3, 2)).unwrap_err(),
        FormatError::UnsupportedCell(3)
    );
    assert_eq!(
        decode_any(&with_cell_bytes(&bytes, 255, 2)).unwrap_err(),
        FormatError::UnsupportedCell(255)
    );
    for layers in [0u8, 5, 255] {
        assert_eq!(
            decode_any(&with_cell_bytes(&bytes, 1, layers)).unwrap_err(),
            FormatError::UnsupportedDepth {
                layers: layers.into(),
                max: MAX_LAYERS
            }
        );
    }
    // another cell or depth than the file's tensors: their sizes disagree
    assert_eq!(
        decode_any(&with_cell_bytes(&bytes, 2, 2)).unwrap_err(),
        FormatError::Malformed
    );
    assert_eq!(
        decode_any(&with_cell_bytes(&bytes, 1, 1)).unwrap_err(),
        FormatError::Malformed
    );
    // `decode` reads one tanh layer, and says what it met
    let err = decode(&AlignedBytes::from(&bytes[..])).unwrap_err();
    assert_eq!(
        err,
        FormatError::NotOneTanhLayer {
            cell: Cell::Gru,
            layers: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "it holds 2 layers of gru cells, and this reader runs one tanh layer"
    );
    assert_eq!(
        FormatError::UnsupportedCell(3).to_string(),
        "it uses recurrent cell code 3, which this build does not know"
    );
}

#[test]
fn views_check_depth_and_lengths() {
    let t = Torch::random(Cell::Lstm, 6, 4, 2, 5);
    let tensors = t.charm_tensors::<f32>();
    let layers: Vec<LayerTensors<'_, f32>> = tensors
        .0
        .iter()
        .map(|[wx, wh, bx, bh]| LayerTensors { wx, wh, bx, bh })
        .collect();
    let new = |layers: &[LayerTensors<'_, f32>]| {
        StackedModelView::new(Cell::Lstm, 6, 4, layers, &tensors.1, &tensors.2).map(|_| ())
    };
    assert_eq!(new(&layers), Ok(()));
    assert_eq!(
        new(&[]),
        Err(ShapeError::Depth {
            layers: 0,
            max: MAX_LAYERS
        })
    );
    let five = [layers[0], layers[1], layers[1], layers[1], layers[1]];
    assert_eq!(
        new(&five),
        Err(ShapeError::Depth {
            layers: 5,
            max: MAX_LAYERS
        })
    );
    // layer 2's W_h one value short
    let short = [
        layers[0],
        LayerTensors {
            wh: &layers[1].wh[1..],
            ..layers[1]
        },
    ];
    assert_eq!(
        new(&short),
        Err(ShapeError::TensorLength {
            tensor: "layer 2 wh",
            expected: 4 * 6 * 8,
            found: 4 * 6 * 8 - 1
        })
    );
    assert_eq!(
        ShapeError::Depth { layers: 5, max: 4 }.to_string(),
        "a model has 1 to 4 layers, not 5"
    );
    // the step checks its buffers and input
    let m = StackedModelView::new(Cell::Lstm, 6, 4, &layers, &tensors.1, &tensors.2).unwrap();
    let (state, mut next, mut logits) = (vec![0.0f32; 24], vec![0.0f32; 24], vec![0.0f32; 4]);
    assert!(m.step(&state[..12], 0, &mut next, &mut logits).is_err());
    assert!(m.step(&state, 4, &mut next, &mut logits).is_err());
    assert!(m.step(&state, 3, &mut next, &mut logits).is_ok());
}

#[test]
fn generator_runs_gru_lstm_and_two_layer_models() {
    let models = [
        (Cell::Gru, 1),
        (Cell::Lstm, 1),
        (Cell::Rnn, 2),
        (Cell::Lstm, 2),
    ];
    for (cell, layers) in models {
        let t = Torch::random(cell, 8, 5, layers, 21);
        let tensors = t.charm_tensors::<f32>();
        let bytes = AlignedBytes::from(&encoded(&t, &tensors, "abcde")[..]);
        let file = decode_any(&bytes).unwrap();
        let Weights::Stacked(m) = file.weights else {
            panic!("not a stacked model")
        };
        let params = SampleParams {
            temperature: 0.8,
            top_k: 0,
        };
        // buffers hold L·states·H values: too few is a capacity error
        let too_small = Buffers::<15, 8>::new().slices_for(&m).is_err();
        assert_eq!(too_small, m.state_len() > 15, "{cell:?} x{layers}");
        let mut buffers = Buffers::<32, 8>::new();
        let mut g =
            Generator::new(m, file.vocab, params, 9, buffers.slices_for(&m).unwrap()).unwrap();
        g.prime("abc").unwrap();
        let text: String = (0..20).map(|_| g.next_char()).collect();
        assert_eq!(g.hidden_state().len(), layers * cell.state_vectors() * 8);

        // the same by hand: the step, then `sample` from the logits
        let n = m.state_len();
        let (mut s, mut next, mut y) = (vec![0.0f32; n], vec![0.0f32; n], m.by().to_vec());
        let mut rng = Rng::new(9);
        for x in [0, 1, 2] {
            m.step(&s, x, &mut next, &mut y).unwrap();
            std::mem::swap(&mut s, &mut next);
        }
        let mut by_hand = String::new();
        for _ in 0..20 {
            let i = sample(&mut y, params, &mut rng).unwrap();
            by_hand.push(file.vocab.char_at(i).unwrap());
            m.step(&s, i, &mut next, &mut y).unwrap();
            std::mem::swap(&mut s, &mut next);
        }
        assert_eq!(text, by_hand, "{cell:?} x{layers}");
        assert_eq!(g.hidden_state(), &s[..]);
    }
}
