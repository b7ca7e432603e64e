//! What both int8 layouts are made of: borrowed and owned tensors, and the
//! per-row quantization `q = round(w / s)`, `s = max|w_row| / 127`.

use crate::int8::row_pairs::MAX_HIDDEN_INT8;
use crate::model::{check_lengths, ShapeError};

/// The int8 tensors of a model, in the order of the table on [`crate::QuantModelView`].
#[derive(Debug, Clone, Copy)]
pub struct QuantTensors<'a> {
    /// `[wxh, whh, why]`.
    pub int8: [&'a [i8]; 3],
    /// `[wxh_scale, whh_scale, why_scale, bh, by]`.
    pub f32: [&'a [f32]; 5],
}

impl QuantTensors<'_> {
    /// Checks that the shape is not empty and the tensors have `lengths`
    /// (`[wxh, whh, why]`, `[wxh_scale, whh_scale, why_scale, bh, by]`).
    pub(crate) fn check(
        &self,
        hidden: usize,
        vocab: usize,
        lengths: ([usize; 3], [usize; 5]),
    ) -> Result<(), ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        let [wxh, whh, why] = self.int8;
        let [wxh_scale, whh_scale, why_scale, bh, by] = self.f32;
        check_lengths(&[("wxh", wxh), ("whh", whh), ("why", why)], &lengths.0)?;
        let floats = [
            ("wxh_scale", wxh_scale),
            ("whh_scale", whh_scale),
            ("why_scale", why_scale),
            ("bh", bh),
            ("by", by),
        ];
        check_lengths(&floats, &lengths.1)
    }
}

/// The tensors of an int8 model, owned: what [`crate::quantize`] and
/// [`crate::quantize_tiles`] make (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnedTensors {
    pub(crate) hidden: usize,
    pub(crate) vocab: usize,
    pub(crate) int8: [alloc::vec::Vec<i8>; 3],
    pub(crate) f32: [alloc::vec::Vec<f32>; 5],
}

#[cfg(feature = "alloc")]
impl OwnedTensors {
    /// The tensors, borrowed.
    pub(crate) fn tensors(&self) -> QuantTensors<'_> {
        let [a, b, c] = &self.int8;
        let [d, e, f, g, h] = &self.f32;
        QuantTensors {
            int8: [a, b, c],
            f32: [d, e, f, g, h],
        }
    }
}

/// Why a model cannot be quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantizeError {
    /// The hidden size is above [`MAX_HIDDEN_INT8`].
    HiddenTooLarge {
        /// The model's hidden size.
        hidden: usize,
    },
}

impl core::fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QuantizeError::HiddenTooLarge { hidden } => write!(
                f,
                "hidden size {hidden} is above {MAX_HIDDEN_INT8}, the largest an int8 model may have"
            ),
        }
    }
}

/// Rows of `stride` f32 weights (the first `hidden` real, the rest padding)
/// as int8 rows in natural order and one scale per row:
/// `s = max|w_row| / 127`, `q = round(w / s)`, padding 0.
#[cfg(feature = "alloc")]
pub(crate) fn quantize_rows(
    w: &[f32],
    stride: usize,
    hidden: usize,
) -> (alloc::vec::Vec<i8>, alloc::vec::Vec<f32>) {
    let mut q = alloc::vec::Vec::with_capacity(w.len());
    let mut scales = alloc::vec::Vec::with_capacity(w.len() / stride.max(1));
    for row in w.chunks_exact(stride.max(1)) {
        let max = row[..hidden.min(row.len())]
            .iter()
            .fold(0.0f32, |m, &v| m.max(v.abs()));
        let scale = max / 127.0;
        q.extend(row.iter().enumerate().map(|(col, &v)| {
            if col < hidden && scale > 0.0 {
                libm::roundf(v / scale).clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        }));
        scales.push(scale);
    }
    (q, scales)
}
