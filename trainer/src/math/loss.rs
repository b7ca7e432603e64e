//! The loss of a model over a whole text, -(1/N) Σ_t ln p(c_t | c_<t), in
//! nats per character: as one stream through charm-core's step (what `charm
//! eval` reports), or cut into streams through the batched engine (the
//! validation figure during training of one tanh layer, many times faster),
//! or cut into streams each scored as `charm eval` scores a text (the
//! validation figure of other cells and depths, [`pieces_loss`]).

use crate::math::engine::Engine;
use crate::math::params::Params;
use crate::math::window::Window;
use charm_core::{log_softmax_at, Recurrent, StateElement, Vocab};
use std::collections::BTreeMap;

/// Streams the validation part is cut into during training (more streams make
/// bigger, faster matrix products; each costs a few characters of warm-up from
/// h = 0, which the one-stream figure of [`stream_loss`] pays once).
pub const VAL_STREAMS: usize = 64;

/// Σ -ln p over `text` as one stream from h_0 = 0, skipping (and counting)
/// characters outside `vocab`. Returns (Σ loss in nats, scored, skipped map).
///
/// Every character is scored, the first included (predicted from
/// y_0 = W_hy·0 + b_y = b_y, as [`charm_core::Generator`] samples it). For
/// f32 models the step is `ModelView::step`; int8 models run charm-core's
/// int8 step, as the firmware does. A character outside the vocabulary is
/// removed from the stream (neither scored nor fed).
pub fn stream_loss<M: Recurrent>(
    model: &M,
    vocab: &Vocab<'_>,
    text: &str,
) -> (f64, u64, BTreeMap<char, u64>) {
    let (n_state, voc) = (model.state_len(), model.vocab());
    let zero = <M::State as StateElement>::ZERO;
    let (mut h, mut hn) = (vec![zero; n_state], vec![zero; n_state]);
    let mut y = vec![0.0f32; model.vocab()];
    model.initial_logits(&mut y); // y_0 = b_y
    let chars: Vec<char> = vocab.chars().collect();
    let (mut total, mut n) = (0.0f64, 0u64);
    let mut unknown = BTreeMap::new();
    for c in text.chars() {
        let Ok(x) = chars.binary_search(&c) else {
            *unknown.entry(c).or_insert(0) += 1;
            continue;
        };
        // -ln p(x), accumulated in f64 (as index_stream_loss does)
        total -= log_softmax_at(&y, x) as f64;
        n += 1;
        debug_assert_eq!(y.len(), voc);
        model.step_state(&h, x, &mut hn, &mut y);
        std::mem::swap(&mut h, &mut hn);
    }
    (total, n, unknown)
}

/// Σ -ln p over the character indices `data` (all in the vocabulary) as one
/// stream from a zero state, every character scored, the first from
/// y_0 = b_y: [`stream_loss`]'s arithmetic, the same bits.
pub fn index_stream_loss<M: Recurrent>(model: &M, data: &[u32]) -> f64 {
    let n_state = model.state_len();
    let zero = <M::State as StateElement>::ZERO;
    let (mut h, mut hn) = (vec![zero; n_state], vec![zero; n_state]);
    let mut y = vec![0.0f32; model.vocab()];
    model.initial_logits(&mut y); // y_0 = b_y
    let mut total = 0.0f64;
    for &x in data {
        total -= log_softmax_at(&y, x as usize) as f64;
        model.step_state(&h, x as usize, &mut hn, &mut y);
        std::mem::swap(&mut h, &mut hn);
    }
    total
}

/// The pieces [`pieces_loss`] cuts `chars` characters into for windows of
/// `seq_len`: `k = ⌊(chars − 1)/seq_len⌋` clamped to 1..=[`VAL_STREAMS`]
/// pieces of `⌊chars/k⌋` characters, piece b starting at b·⌊chars/k⌋ (the
/// cut of [`batched_loss`]); the few characters after the last are left out.
pub fn pieces(chars: usize, seq_len: usize) -> (usize, usize) {
    let k = (chars.saturating_sub(1) / seq_len.max(1)).clamp(1, VAL_STREAMS);
    (k, chars / k)
}

/// Mean loss (nats/char) of a model of any cell and depth over `data` cut
/// into [`pieces`], each piece one stream from a zero state scored as
/// `charm eval` scores a text ([`index_stream_loss`]: every character, the
/// first from b_y), the pieces on up to `threads` threads and summed in
/// order; NaN for fewer than 2 characters. `charm eval` of each piece gives
/// its term exactly.
pub fn pieces_loss<M: Recurrent + Sync>(
    model: &M,
    data: &[u32],
    seq_len: usize,
    threads: usize,
) -> f64 {
    if data.len() < 2 {
        return f64::NAN;
    }
    let (k, l) = pieces(data.len(), seq_len);
    let per_thread = k.div_ceil(threads.clamp(1, k));
    let sums: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..k)
            .collect::<Vec<_>>()
            .chunks(per_thread)
            .map(|bs| {
                let bs = bs.to_vec();
                s.spawn(move || {
                    bs.iter()
                        .map(|&b| index_stream_loss(model, &data[b * l..(b + 1) * l]))
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    sums.iter().sum::<f64>() / (k * l) as f64
}

/// Mean loss (nats/char) over `data` cut into up to [`VAL_STREAMS`] streams,
/// each from a zero state, scoring every character after a stream's first,
/// with the batched forward pass of [`Engine`]; NaN for fewer than 2 characters.
pub fn batched_loss(params: &Params<f32>, data: &[u32], seq_len: usize, threads: usize) -> f64 {
    if data.len() < 2 {
        return f64::NAN;
    }
    let (k, l) = pieces(data.len(), seq_len);
    let hid = params.hidden();
    let mut engine = Engine::new(hid, params.vocab(), k, threads);
    let mut h = vec![0.0f32; k * hid];
    let (mut total, mut count, mut pos) = (0.0f64, 0usize, 0usize);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    while pos + 1 < l {
        let len = seq_len.min(l - 1 - pos);
        xs.clear();
        ys.clear();
        for b in 0..k {
            xs.extend_from_slice(&data[b * l + pos..b * l + pos + len]);
            ys.extend_from_slice(&data[b * l + pos + 1..b * l + pos + len + 1]);
        }
        let w = Window {
            batch: k,
            len,
            inputs: &xs,
            targets: &ys,
        };
        total += engine.forward(params, &w, &mut h, None) as f64;
        count += k * len;
        pos += len;
    }
    total / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_model_scores_ln_v_and_skips_unknown() {
        let p = Params::<f32>::zeros(3, 4); // all-zero logits: p = 1/4 everywhere
        let vocab = Vocab::new("abcd").unwrap();
        let (total, n, unknown) = stream_loss(&p.view(), &vocab, "abzcdz!");
        assert_eq!(n, 4);
        assert!((total / 4.0 - 4f64.ln()).abs() < 1e-6);
        assert_eq!(unknown.get(&'z'), Some(&2));
        assert_eq!(unknown.get(&'!'), Some(&1));
    }

    #[test]
    fn each_piece_scores_as_charm_eval_scores_its_text() {
        use crate::math::params::Shape;
        let shape = Shape {
            cell: charm_core::Cell::Lstm,
            layers: 2,
            hidden: 6,
            vocab: 4,
        };
        let p = Params::<f32>::init(shape, 0.0, 3);
        let vocab = Vocab::new("abcd").unwrap();
        let text: String = (0..203)
            .map(|i| ['a', 'b', 'c', 'd'][(i * i + i / 3) % 4])
            .collect();
        let data: Vec<u32> = text.bytes().map(|b| u32::from(b - b'a')).collect();
        let (k, l) = pieces(data.len(), 10);
        assert_eq!((k, l), (20, 10));
        let mut total = 0.0;
        for b in 0..k {
            let piece: String = text[b * l..(b + 1) * l].into();
            total += stream_loss(&p.stacked_view(), &vocab, &piece).0;
        }
        // the same sums in the same order, on 1 or 3 threads
        for threads in [1, 3] {
            let loss = pieces_loss(&p.stacked_view(), &data, 10, threads);
            assert_eq!(loss, total / (k * l) as f64);
        }
    }
}
