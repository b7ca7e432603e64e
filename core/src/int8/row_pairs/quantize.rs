//! Making row-pair models (feature `alloc`): f32 rows quantized and stored
//! as row pairs.

use super::{paired_len, QuantModelView, MAX_HIDDEN_INT8, PAIR_OFFSET};
use crate::int8::tensors::{quantize_rows, OwnedTensors, QuantizeError};
use crate::kernels::padded;
use crate::model::ModelView;

/// Owned int8 tensors, made by [`quantize`] (feature `alloc`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantModel(OwnedTensors);

impl QuantModel {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> QuantModelView<'_> {
        let m = &self.0;
        // The shapes were made by `quantize` from a checked view.
        QuantModelView::new(m.hidden, m.vocab, m.tensors()).unwrap_or_else(|_| unreachable!())
    }
}

/// Stores int8 rows (natural order, `stride` bytes each) as row pairs
/// (module docs); a missing last row is zero.
///
/// ```
/// // Two rows of stride 8: a = 1, 2, 0, … and b = -1, -2, 0, …
/// let rows = [1i8, 2, 0, 0, 0, 0, 0, 0, -1, -2, 0, 0, 0, 0, 0, 0];
/// let pairs = charm_core::pack_row_pairs(&rows, 8);
/// assert_eq!(&pairs[..4], &[(1 + 128) as u8 as i8, -1, (2 + 128) as u8 as i8, -2]);
/// let h = [3i16, 4, 0, 0, 0, 0, 0, 0];
/// assert_eq!(charm_core::pair_dot_portable(&pairs, &h), (1 * 3 + 2 * 4, -3 - 8));
/// ```
pub fn pack_row_pairs(rows: &[i8], stride: usize) -> alloc::vec::Vec<i8> {
    let n = rows.len() / stride.max(1);
    let mut out = alloc::vec::Vec::with_capacity(paired_len(n, stride));
    for pair in 0..n.div_ceil(2) {
        let row = |r: usize| rows.get(r * stride..(r + 1) * stride);
        let (a, b) = (row(2 * pair), row(2 * pair + 1));
        for c in 0..stride {
            let a = a.map_or(0, |a| a[c]);
            let b = b.map_or(0, |b| b[c]);
            // byte 2j = a + 128, byte 2j + 1 = b, for j = c mod 2 within the word
            out.push((i32::from(a) + PAIR_OFFSET) as u8 as i8);
            out.push(b);
        }
    }
    // `out` is [a0', b0, a1', b1, …]: exactly the word layout [a(2k)', b(2k), a(2k+1)', b(2k+1)].
    out
}

/// Quantizes an f32 model to int8 with one symmetric scale per row
/// (`s = max|w_row| / 127`, `q = round(w / s)`); biases are kept as f32, and
/// `whh` and `why` are stored as row pairs ([`pack_row_pairs`]).
pub fn quantize(model: &ModelView<'_, f32>) -> Result<QuantModel, QuantizeError> {
    let (hidden, vocab) = (model.hidden(), model.vocab());
    if hidden > MAX_HIDDEN_INT8 {
        return Err(QuantizeError::HiddenTooLarge { hidden });
    }
    let s = padded(hidden);
    let (wxh, wxh_scale) = quantize_rows(model.wxh(), s, hidden);
    let (whh, whh_scale) = quantize_rows(model.whh(), s, hidden);
    let (why, why_scale) = quantize_rows(model.why(), s, hidden);
    Ok(QuantModel(OwnedTensors {
        hidden,
        vocab,
        int8: [wxh, pack_row_pairs(&whh, s), pack_row_pairs(&why, s)],
        f32: [
            wxh_scale,
            whh_scale,
            why_scale,
            model.bh().to_vec(),
            model.by().to_vec(),
        ],
    }))
}
