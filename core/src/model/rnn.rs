//! The f32 model of format version 1: one tanh layer between a one-hot
//! input and the output layer, its weights borrowed, and its forward step.

use super::error::{check_lengths, ShapeError, StepError};
use crate::kernels::{matvec_bias, padded};
use crate::Float;

/// Borrowed weights of a character RNN with `hidden` units and `vocab` characters.
///
/// Every matrix is row-major with rows padded to [`crate::LANES`] elements
/// (`stride = padded(hidden)`; the padding is zero and never read):
///
/// | tensor | rows × stride | meaning |
/// |---|---|---|
/// | `wxh` | vocab × stride | row `x` is column `x` of W_xh, so `W_xh · onehot(x)` is one contiguous row |
/// | `whh` | hidden × stride | W_hh |
/// | `bh`  | stride | b_h |
/// | `why` | vocab × stride | W_hy |
/// | `by`  | vocab | b_y |
///
/// The view borrows, so weights stay where they are: in flash on a device, in a
/// decoded file or in the trainer's parameter vectors on a host.
#[derive(Debug, Clone, Copy)]
pub struct ModelView<'a, F> {
    hidden: usize,
    vocab: usize,
    wxh: &'a [F],
    whh: &'a [F],
    bh: &'a [F],
    why: &'a [F],
    by: &'a [F],
}

/// Lengths of the five tensors for a shape, in the order wxh, whh, bh, why, by.
pub const fn tensor_lengths(hidden: usize, vocab: usize) -> [usize; 5] {
    let stride = padded(hidden);
    [
        vocab * stride,
        hidden * stride,
        stride,
        vocab * stride,
        vocab,
    ]
}

impl<'a, F: Float> ModelView<'a, F> {
    /// Checks the tensor lengths against `hidden` and `vocab` (see the table above).
    pub fn new(
        hidden: usize,
        vocab: usize,
        wxh: &'a [F],
        whh: &'a [F],
        bh: &'a [F],
        why: &'a [F],
        by: &'a [F],
    ) -> Result<Self, ShapeError> {
        if hidden == 0 || vocab == 0 {
            return Err(ShapeError::Empty);
        }
        let given = [
            ("wxh", wxh),
            ("whh", whh),
            ("bh", bh),
            ("why", why),
            ("by", by),
        ];
        check_lengths(&given, &tensor_lengths(hidden, vocab))?;
        Ok(Self {
            hidden,
            vocab,
            wxh,
            whh,
            bh,
            why,
            by,
        })
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.vocab
    }
    /// Stored row length, `padded(H)`.
    pub fn stride(&self) -> usize {
        padded(self.hidden)
    }
    /// W_xh stored transposed: row `x` is the input weight column of character `x`.
    pub fn wxh(&self) -> &'a [F] {
        self.wxh
    }
    /// W_hh, row-major, padded rows.
    pub fn whh(&self) -> &'a [F] {
        self.whh
    }
    /// b_h, padded.
    pub fn bh(&self) -> &'a [F] {
        self.bh
    }
    /// W_hy, row-major, padded rows.
    pub fn why(&self) -> &'a [F] {
        self.why
    }
    /// b_y.
    pub fn by(&self) -> &'a [F] {
        self.by
    }

    /// Checks that `h` and `logits` buffers fit this model (length H and V).
    pub fn check_buffers(&self, h: usize, logits: usize) -> Result<(), ShapeError> {
        if h != self.hidden {
            return Err(ShapeError::BufferLength {
                buffer: "hidden state",
                expected: self.hidden,
                found: h,
            });
        }
        if logits != self.vocab {
            return Err(ShapeError::BufferLength {
                buffer: "logits",
                expected: self.vocab,
                found: logits,
            });
        }
        Ok(())
    }

    /// The one forward step of the project (DESIGN.md invariant 1).
    ///
    /// ```text
    /// u_t = Wxh[:, x_t] + Whh · h_{t-1} + bh        (one-hot input is a row lookup)
    /// h_t = tanh(u_t)
    /// y_t = Why · h_t + by                          (logits)
    /// ```
    ///
    /// In this exact order of operations: `u = (dot(Whh_r, h_prev) + bh_r) + wxh[x]_r`.
    /// `h_prev` and `h_next` have length H, `logits` length V; an out-of-range
    /// `x` or wrong buffer length is an error, never a panic.
    ///
    /// ```
    /// use charm_core::ModelView;
    /// // H = 1, V = 2 (stride 8): u = 0.5 + 0·h + 0 for x = 1.
    /// let mut wxh = [0.0f32; 16];
    /// wxh[8] = 0.5;
    /// let (whh, bh) = ([0.0f32; 8], [0.0f32; 8]);
    /// let mut why = [0.0f32; 16];
    /// why[0] = 2.0;
    /// let by = [0.0f32, 1.0];
    /// let m = ModelView::new(1, 2, &wxh, &whh, &bh, &why, &by).unwrap();
    /// let (mut h, mut y) = ([0.0f32], [0.0f32; 2]);
    /// m.step(&[0.0], 1, &mut h, &mut y).unwrap();
    /// assert!((h[0] - 0.5f32.tanh()).abs() < 1e-6);
    /// assert_eq!(y[1], 1.0);
    /// ```
    #[inline]
    pub fn step(
        &self,
        h_prev: &[F],
        x: usize,
        h_next: &mut [F],
        logits: &mut [F],
    ) -> Result<(), StepError> {
        self.check_buffers(h_prev.len(), logits.len())
            .map_err(StepError::Shape)?;
        self.check_buffers(h_next.len(), logits.len())
            .map_err(StepError::Shape)?;
        if x >= self.vocab {
            return Err(StepError::InputOutOfRange {
                index: x,
                vocab: self.vocab,
            });
        }
        self.step_unchecked_shapes(h_prev, x, h_next, logits);
        Ok(())
    }

    /// [`ModelView::step`] without the checks, for callers that checked the
    /// shapes once (the trainer's inner loop, the sampler). Still safe: a bad
    /// shape gives a wrong answer (short zips), never UB; `x` out of range
    /// leaves the input term out.
    #[inline]
    pub fn step_unchecked_shapes(
        &self,
        h_prev: &[F],
        x: usize,
        h_next: &mut [F],
        logits: &mut [F],
    ) {
        let stride = self.stride();
        // Whh · h_{t-1} + bh
        matvec_bias(h_next, self.whh, stride, h_prev, self.bh);
        // + Wxh[:, x] (one-hot column), then h = tanh(u)
        let column = self.wxh.chunks_exact(stride).nth(x).unwrap_or(&[]);
        for (h, &w) in h_next.iter_mut().zip(column) {
            *h += w;
        }
        for h in h_next.iter_mut() {
            *h = h.tanh();
        }
        // y = Why · h + by
        matvec_bias(logits, self.why, stride, h_next, self.by);
    }
}
