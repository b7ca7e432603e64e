//! Making int8 stacked models (feature `alloc`): every row of an f32
//! [`StackedModelView`] quantized and stored in a layout.

use super::{int8_layer_tensor_lengths, Int8LayerTensors, Int8Layout, Int8StackedModelView};
use crate::int8::row_pairs::MAX_HIDDEN_INT8;
use crate::int8::tensors::{quantize_rows, QuantizeError};
use crate::kernels::padded;
use crate::model::StackedModelView;
use alloc::vec::Vec;

/// One layer's tensors, owned.
#[derive(Debug, Clone, PartialEq)]
struct OwnedLayer {
    wx: Vec<i8>,
    wh: Vec<i8>,
    wx_scale: Vec<f32>,
    wh_scale: Vec<f32>,
    bx: Vec<f32>,
    bh: Vec<f32>,
}

/// Owned int8 tensors of a stacked model in layout `L`, made by
/// [`quantize_stacked`] (feature `alloc`).
#[derive(Debug, Clone, PartialEq)]
pub struct Int8StackedModel<L: Int8Layout> {
    cell: crate::Cell,
    hidden: usize,
    vocab: usize,
    layers: Vec<OwnedLayer>,
    why: Vec<i8>,
    why_scale: Vec<f32>,
    by: Vec<f32>,
    layout: core::marker::PhantomData<L>,
}

impl<L: Int8Layout> Int8StackedModel<L> {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> Int8StackedModelView<'_, L> {
        let mut layers = [Int8LayerTensors::EMPTY; crate::MAX_LAYERS];
        for (slot, l) in layers.iter_mut().zip(&self.layers) {
            *slot = Int8LayerTensors {
                wx: &l.wx,
                wh: &l.wh,
                wx_scale: &l.wx_scale,
                wh_scale: &l.wh_scale,
                bx: &l.bx,
                bh: &l.bh,
            };
        }
        let layers = &layers[..self.layers.len()];
        // The shapes were made by `quantize_stacked` from a checked view.
        Int8StackedModelView::new(
            self.cell,
            self.hidden,
            self.vocab,
            layers,
            &self.why,
            &self.why_scale,
            &self.by,
        )
        .unwrap_or_else(|_| unreachable!())
    }
}

/// The rows of a matrix of `G·H` gate rows over H columns (stride
/// `padded(H)`), quantized per row and stored gate by gate in layout `L`,
/// and their stored scales.
fn gate_matrices<L: Int8Layout>(w: &[f32], gates: usize, hidden: usize) -> (Vec<i8>, Vec<f32>) {
    let stride = padded(hidden);
    let (q, scales) = quantize_rows(w, stride, hidden);
    let mut out = Vec::with_capacity(gates * L::matrix_len(hidden, hidden));
    for gate in q.chunks_exact(hidden * stride).take(gates) {
        out.extend(L::pack(gate, stride, hidden));
    }
    (out, scales.into_iter().map(L::stored_scale).collect())
}

/// Quantizes an f32 model of any cell and depth to int8 in layout `L`
/// ([`crate::RowPairs`] or [`crate::Tiles`]): every row with one symmetric
/// scale `s = max|w_row| / 127` and `q = round(w / s)` (half away from
/// zero, so `|w − s·q| ≤ s/2`), as [`crate::quantize`] does; layer 1's
/// one-hot rows and `W_hy` per character, every other matrix per gate row,
/// each gate's rows a matrix of their own; biases stay f32. The scales
/// stored are `s` (row pairs) or `s/127` (tiles).
///
/// ```
/// use charm_core::{layer_tensor_lengths, quantize_stacked, Cell, LayerTensors, RowPairs, StackedModelView};
/// let (cell, h, v) = (Cell::Gru, 3, 2);
/// let [wx, wh, bx, bh] = layer_tensor_lengths(cell, h, v, 0);
/// let (wx, wh, bx, bh) = (vec![0.5f32; wx], vec![0.0f32; wh], vec![0.0f32; bx], vec![0.0f32; bh]);
/// let layer = LayerTensors { wx: &wx, wh: &wh, bx: &bx, bh: &bh };
/// let (why, by) = (vec![0.25f32; v * 8], vec![0.0f32; v]);
/// let model = StackedModelView::new(cell, h, v, &[layer], &why, &by).unwrap();
/// let q = quantize_stacked::<RowPairs>(&model).unwrap();
/// assert_eq!(q.view().state_len(), 8); // h, padded to 8 Q15 values
/// ```
pub fn quantize_stacked<L: Int8Layout>(
    model: &StackedModelView<'_, f32>,
) -> Result<Int8StackedModel<L>, QuantizeError> {
    let (cell, hidden, vocab) = (model.cell(), model.hidden(), model.vocab());
    if hidden > MAX_HIDDEN_INT8 {
        return Err(QuantizeError::HiddenTooLarge { hidden });
    }
    let gates = cell.gates();
    let mut layers = Vec::with_capacity(model.depth());
    for (l, layer) in model.layers().iter().enumerate() {
        let (wx, wx_scale) = if l == 0 {
            // one row per character, G·H real columns, as the f32 file stores them
            let rows = gates * hidden;
            let (q, scales) = quantize_rows(layer.wx, padded(rows), rows);
            (q, scales)
        } else {
            gate_matrices::<L>(layer.wx, gates, hidden)
        };
        let (wh, wh_scale) = gate_matrices::<L>(layer.wh, gates, hidden);
        let (n8, _) = int8_layer_tensor_lengths::<L>(cell, hidden, vocab, l);
        debug_assert_eq!([wx.len(), wh.len()], n8);
        layers.push(OwnedLayer {
            wx,
            wh,
            wx_scale,
            wh_scale,
            bx: layer.bx.to_vec(),
            bh: layer.bh.to_vec(),
        });
    }
    let stride = padded(hidden);
    let (why, why_scale) = quantize_rows(model.why(), stride, hidden);
    Ok(Int8StackedModel {
        cell,
        hidden,
        vocab,
        layers,
        why: L::pack(&why, stride, hidden),
        why_scale: why_scale.into_iter().map(L::stored_scale).collect(),
        by: model.by().to_vec(),
        layout: core::marker::PhantomData,
    })
}
