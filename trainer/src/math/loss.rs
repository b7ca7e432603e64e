//! The loss of a model over a whole text, -(1/N) Σ_t ln p(c_t | c_<t), in
//! nats per character: as one stream through charm-core's step (what `charm
//! eval` reports), or cut into streams through the batched engine (the
//! validation figure during training, many times faster).

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
    let mut y = model.output_bias().to_vec(); // y_0 = b_y
    let chars: Vec<char> = vocab.chars().collect();
    let (mut total, mut n) = (0.0f64, 0u64);
    let mut unknown = BTreeMap::new();
    for c in text.chars() {
        let Ok(x) = chars.binary_search(&c) else {
            *unknown.entry(c).or_insert(0) += 1;
            continue;
        };
        total -= log_softmax_at(&y, x) as f64;
        n += 1;
        debug_assert_eq!(y.len(), voc);
        model.step_state(&h, x, &mut hn, &mut y);
        std::mem::swap(&mut h, &mut hn);
    }
    (total, n, unknown)
}

/// Mean loss (nats/char) over `data` cut into up to [`VAL_STREAMS`] streams,
/// each from a zero state, scoring every character after a stream's first,
/// with the batched forward pass of [`Engine`]; NaN for fewer than 2 characters.
pub fn batched_loss(params: &Params<f32>, data: &[u32], seq_len: usize, threads: usize) -> f64 {
    if data.len() < 2 {
        return f64::NAN;
    }
    let k = ((data.len() - 1) / seq_len.max(1)).clamp(1, VAL_STREAMS);
    let l = data.len() / k;
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
}
