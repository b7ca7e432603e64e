//! Random models the tests of several crates build from a seed: the QEMU
//! tests (`tests/tests/qemu_support`) and the C API's (`capi/tests`).

use charm_core::{
    encode, encode_any, layer_tensor_lengths, padded, tensor_lengths, Cell, LayerTensors, Metadata,
    ModelView, Rng, StackedModelView, Vocab, Weights,
};

/// A `.charm` file with `hidden` units over `vocab`, weights uniform in
/// ±`scale` from `seed` (row padding zero, as the format requires).
pub fn random_model(hidden: usize, vocab: &str, seed: u64, scale: f32) -> Vec<u8> {
    let v = Vocab::new(vocab).expect("a valid vocabulary");
    let stride = padded(hidden);
    let mut rng = Rng::new(seed);
    let mut uniform = move || (rng.next_f32() * 2.0 - 1.0) * scale;
    // `len` elements in rows of `stride`, the first `hidden` of each row set.
    let mut rows = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|i| if i % stride < hidden { uniform() } else { 0.0 })
            .collect()
    };
    let [n_wxh, n_whh, n_bh, n_why, n_by] = tensor_lengths(hidden, v.len());
    let (wxh, whh, bh, why) = (rows(n_wxh), rows(n_whh), rows(n_bh), rows(n_why));
    // b_y is not padded: take the first element of each of V rows.
    let by: Vec<f32> = rows(n_by * stride).into_iter().step_by(stride).collect();
    let model = ModelView::new(hidden, v.len(), &wxh, &whh, &bh, &why, &by).expect("shapes");
    encode(&model, &v, &Metadata::default()).expect("encode")
}

/// A version-5 `.charm` file of `depth` layers of `cell` with `hidden` units
/// over `vocab`, every weight and bias uniform in ±`scale` from `seed`
/// (row padding zero, as the format requires).
pub fn random_stacked_model(
    cell: Cell,
    depth: usize,
    hidden: usize,
    vocab: &str,
    seed: u64,
    scale: f32,
) -> Vec<u8> {
    let v = Vocab::new(vocab).expect("a valid vocabulary");
    let (rows, stride) = (cell.gates() * hidden, padded(hidden));
    let mut rng = Rng::new(seed);
    let mut uniform = move || (rng.next_f32() * 2.0 - 1.0) * scale;
    // `len` elements in rows of `width`, the first `used` of each row set.
    let mut padded_rows = |len: usize, width: usize, used: usize| -> Vec<f32> {
        (0..len)
            .map(|i| if i % width < used { uniform() } else { 0.0 })
            .collect()
    };
    let layers: Vec<[Vec<f32>; 4]> = (0..depth)
        .map(|k| {
            let [wx, wh, bx, bh] = layer_tensor_lengths(cell, hidden, v.len(), k);
            let wx = if k == 0 {
                padded_rows(wx, padded(rows), rows)
            } else {
                padded_rows(wx, stride, hidden)
            };
            let wh = padded_rows(wh, stride, hidden);
            [wx, wh, padded_rows(bx, bx, bx), padded_rows(bh, bh, bh)]
        })
        .collect();
    let why = padded_rows(v.len() * stride, stride, hidden);
    let by = padded_rows(v.len(), v.len(), v.len());
    let views: Vec<LayerTensors<'_, f32>> = layers
        .iter()
        .map(|[wx, wh, bx, bh]| LayerTensors { wx, wh, bx, bh })
        .collect();
    let model = StackedModelView::new(cell, hidden, v.len(), &views, &why, &by).expect("shapes");
    encode_any(&Weights::Stacked(model), &v, &Metadata::default()).expect("encode")
}
