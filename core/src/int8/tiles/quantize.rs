//! Making tile models (feature `alloc`): f32 rows quantized and stored as
//! 4 × 16 tiles.

use super::{tile_stride, TiledModelView, I8_ONE, TILE_COLUMNS, TILE_ROWS};
use crate::int8::tensors::{quantize_rows, OwnedTensors};
use crate::kernels::padded;
use crate::model::ModelView;

/// Where row `r`, column `c` of a tiled matrix of stride `s` is stored.
const fn tile_offset(r: usize, c: usize, s: usize) -> usize {
    let (group, row) = (r / TILE_ROWS, r % TILE_ROWS);
    let (chunk, column) = (c / TILE_COLUMNS, c % TILE_COLUMNS);
    group * TILE_ROWS * s + chunk * TILE_ROWS * TILE_COLUMNS + row * TILE_COLUMNS + column
}

/// Owned int8 tile tensors, made by [`quantize_tiles`] (feature `alloc`).
#[derive(Debug, Clone, PartialEq)]
pub struct TiledModel(OwnedTensors);

impl TiledModel {
    /// A borrowed view, for stepping and encoding.
    pub fn view(&self) -> TiledModelView<'_> {
        let m = &self.0;
        // The shapes and zero padding were made by `quantize_tiles`.
        TiledModelView::new(m.hidden, m.vocab, m.tensors()).unwrap_or_else(|_| unreachable!())
    }
}

/// Stores `rows` int8 rows (natural order, `stride` bytes each, the columns
/// from `hidden` on ignored) as tiles of stride [`tile_stride`]`(hidden)`.
///
/// ```
/// // Five rows of 3 columns: stride 16, two groups of four rows.
/// let rows: Vec<i8> = (0..5 * 3).map(|i| i as i8).collect();
/// let tiles = charm_core::pack_tiles(&rows, 3, 3);
/// assert_eq!(tiles.len(), 2 * 4 * 16);
/// assert_eq!(&tiles[..3], &[0, 1, 2]); // row 0
/// assert_eq!(&tiles[16..19], &[3, 4, 5]); // row 1
/// assert_eq!(&tiles[64..67], &[12, 13, 14]); // row 4, in the second group
/// ```
pub fn pack_tiles(rows: &[i8], stride: usize, hidden: usize) -> alloc::vec::Vec<i8> {
    let s = tile_stride(hidden);
    let n = rows.len() / stride.max(1);
    let mut out = alloc::vec![0i8; n.div_ceil(TILE_ROWS) * TILE_ROWS * s];
    for (r, row) in rows.chunks_exact(stride.max(1)).enumerate() {
        for (c, &q) in row.iter().enumerate().take(hidden) {
            out[tile_offset(r, c, s)] = q;
        }
    }
    out
}

/// Quantizes an f32 model to int8 tiles: the rows as [`crate::quantize`]
/// does (`s = max|w_row| / 127`, `q = round(w / s)`), stored as tiles
/// ([`pack_tiles`]) with `m = s / 127` for `whh` and `why`; `wxh` keeps its
/// rows and scales, the biases stay f32.
pub fn quantize_tiles(model: &ModelView<'_, f32>) -> TiledModel {
    let (hidden, vocab) = (model.hidden(), model.vocab());
    let (stride, s) = (padded(hidden), tile_stride(hidden));
    let (wxh, wxh_scale) = quantize_rows(model.wxh(), stride, hidden);
    let (whh, whh_scale) = quantize_rows(model.whh(), stride, hidden);
    let (why, why_scale) = quantize_rows(model.why(), stride, hidden);
    let per_level = |scales: alloc::vec::Vec<f32>| scales.into_iter().map(|s| s / I8_ONE).collect();
    let wxh = wxh
        .chunks_exact(stride)
        .flat_map(|row| (0..s).map(move |c| if c < hidden { row[c] } else { 0 }))
        .collect();
    TiledModel(OwnedTensors {
        hidden,
        vocab,
        int8: [
            wxh,
            pack_tiles(&whh, stride, hidden),
            pack_tiles(&why, stride, hidden),
        ],
        f32: [
            wxh_scale,
            per_level(whh_scale),
            per_level(why_scale),
            model.bh()[..hidden].to_vec(),
            model.by().to_vec(),
        ],
    })
}
