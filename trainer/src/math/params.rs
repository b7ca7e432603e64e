//! The parameter vector, in exactly the layout of charm-core's model views.
//!
//! One flat `Vec<F>` holds a model's tensors back to back, each as the view
//! stores it, so that [`Params::weights`] (the view) is the model, and
//! gradients, optimizer moments and the numerical gradient check all use the
//! same flat indexing. Two layouts, by [`Shape`]:
//!
//! - one tanh layer (rnn×1): [`charm_core::ModelView`]'s five tensors
//!   `wxh, whh, bh, why, by` (rows padded to `padded(H)`, `wxh` stored
//!   transposed as V × stride), the format-version-1 model;
//! - any other cell or depth: [`charm_core::StackedModelView`]'s tensors,
//!   per layer `wx, wh, bx, bh` ([`charm_core::layer_tensor_lengths`]),
//!   then `why, by`, the format-version-5 model.
//!
//! Padding entries are 0 and stay 0: their gradient is always 0, and every
//! optimizer here maps a zero gradient on a zero weight to a zero weight.

use charm_core::{
    layer_tensor_lengths, padded, tensor_lengths, Cell, Float, LayerTensors, ModelView, Rng,
    StackedModelView, Weights, MAX_LAYERS,
};

/// Names of the five tensors of one tanh layer, in storage order.
pub const TENSOR_NAMES: [&str; 5] = ["wxh", "whh", "bh", "why", "by"];

/// Names of the layers' tensors of a stacked model, in storage order.
const LAYER_TENSOR_NAMES: [[&str; 4]; MAX_LAYERS] = [
    ["layer 1 wx", "layer 1 wh", "layer 1 bx", "layer 1 bh"],
    ["layer 2 wx", "layer 2 wh", "layer 2 bx", "layer 2 bh"],
    ["layer 3 wx", "layer 3 wh", "layer 3 bx", "layer 3 bh"],
    ["layer 4 wx", "layer 4 wh", "layer 4 bx", "layer 4 bh"],
];

/// What a model is made of: `layers` layers of `cell` with `hidden` units
/// each, over `vocab` characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The recurrent cell of every layer.
    pub cell: Cell,
    /// Layers L, 1 to [`MAX_LAYERS`].
    pub layers: usize,
    /// Hidden units H of every layer.
    pub hidden: usize,
    /// Vocabulary size V.
    pub vocab: usize,
}

/// One tensor of the flat vector: where it starts and which entries are real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorSpan {
    /// Its name in errors and tests.
    pub name: &'static str,
    /// Its first entry in [`Params::data`].
    pub start: usize,
    /// Rows.
    pub rows: usize,
    /// Stored row length (real columns, then zero padding).
    pub stride: usize,
    /// Real columns of each row.
    pub cols: usize,
    /// Whether it is a weight matrix (weight decay applies) rather than a bias.
    pub matrix: bool,
}

impl TensorSpan {
    /// Entries it stores, padding included.
    pub fn len(&self) -> usize {
        self.rows * self.stride
    }
    /// Whether it stores nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Its entries' range in [`Params::data`].
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.len()
    }
}

impl Shape {
    /// One tanh layer of `hidden` units over `vocab` characters: the model of
    /// format version 1.
    pub fn vanilla(hidden: usize, vocab: usize) -> Self {
        Self {
            cell: Cell::Rnn,
            layers: 1,
            hidden,
            vocab,
        }
    }

    /// Whether this is one tanh layer, stored in [`charm_core::ModelView`]'s layout.
    pub fn is_vanilla(&self) -> bool {
        self.cell == Cell::Rnn && self.layers == 1
    }

    /// `"gru×2"`: the cell and the depth, as `charm train` prints them.
    pub fn describe(&self) -> String {
        format!("{}×{}", self.cell.name(), self.layers)
    }

    /// Values of recurrent state one stream carries:
    /// `L · state_vectors · H` (h, and an LSTM's c, per layer).
    pub fn state_len(&self) -> usize {
        self.layers * self.cell.state_vectors() * self.hidden
    }

    /// Every tensor in storage order, with its span in the flat vector.
    pub fn tensors(&self) -> Vec<TensorSpan> {
        let (h, v, s) = (self.hidden, self.vocab, padded(self.hidden));
        let mut spans = Vec::with_capacity(4 * self.layers + 2);
        let mut start = 0;
        let mut push = |name, rows, stride, cols, matrix| {
            let span = TensorSpan {
                name,
                start,
                rows,
                stride,
                cols,
                matrix,
            };
            start += span.len();
            spans.push(span);
        };
        if self.is_vanilla() {
            push(TENSOR_NAMES[0], v, s, h, true);
            push(TENSOR_NAMES[1], h, s, h, true);
            push(TENSOR_NAMES[2], 1, s, h, false);
        } else {
            let rows = self.cell.gates() * h;
            for (l, names) in LAYER_TENSOR_NAMES.iter().enumerate().take(self.layers) {
                if l == 0 {
                    // row x: column x of W_i, the input term of character x
                    push(names[0], v, padded(rows), rows, true);
                } else {
                    push(names[0], rows, s, h, true);
                }
                push(names[1], rows, s, h, true);
                push(names[2], 1, rows, rows, false);
                push(names[3], 1, rows, rows, false);
            }
        }
        push("why", v, s, h, true);
        push("by", 1, v, v, false);
        spans
    }

    /// Entries of the flat vector, padding included.
    pub fn len(&self) -> usize {
        if self.is_vanilla() {
            return tensor_lengths(self.hidden, self.vocab).iter().sum();
        }
        let layers: usize = (0..self.layers)
            .map(|l| {
                layer_tensor_lengths(self.cell, self.hidden, self.vocab, l)
                    .iter()
                    .sum::<usize>()
            })
            .sum();
        layers + self.vocab * padded(self.hidden) + self.vocab
    }

    /// Whether the shape has no entries (H or V is 0).
    pub fn is_empty(&self) -> bool {
        self.hidden == 0 || self.vocab == 0
    }

    /// Real parameters (padding excluded): for one tanh layer
    /// V·H + H·H + H + V·H + V; for L layers of G gates
    /// `G·H·(V + H + 2) + (L − 1)·G·H·(2H + 2) + V·H + V`.
    pub fn count(&self) -> usize {
        self.tensors().iter().map(|t| t.rows * t.cols).sum()
    }
}

/// Parameters (or gradients, or optimizer moments) of a model of a [`Shape`].
#[derive(Debug, Clone, PartialEq)]
pub struct Params<F> {
    shape: Shape,
    /// All tensors, concatenated in the order of [`Shape::tensors`].
    pub data: Vec<F>,
}

/// Mutable borrows of the five tensors of one tanh layer.
pub struct TensorsMut<'a, F> {
    /// V × stride: row `x` is column `x` of W_xh.
    pub wxh: &'a mut [F],
    /// H × stride.
    pub whh: &'a mut [F],
    /// stride.
    pub bh: &'a mut [F],
    /// V × stride.
    pub why: &'a mut [F],
    /// V.
    pub by: &'a mut [F],
}

impl<F: Float> Params<F> {
    /// All zeros, one tanh layer.
    pub fn zeros(hidden: usize, vocab: usize) -> Self {
        Self::zeros_shaped(Shape::vanilla(hidden, vocab))
    }

    /// All zeros, any shape.
    pub fn zeros_shaped(shape: Shape) -> Self {
        Self {
            shape,
            data: vec![F::ZERO; shape.len()],
        }
    }

    /// From a flat vector, one tanh layer; `None` if its length does not fit the shape.
    pub fn from_vec(hidden: usize, vocab: usize, data: Vec<F>) -> Option<Self> {
        Self::from_vec_shaped(Shape::vanilla(hidden, vocab), data)
    }

    /// From a flat vector of any shape; `None` if its length does not fit it.
    pub fn from_vec_shaped(shape: Shape, data: Vec<F>) -> Option<Self> {
        (data.len() == shape.len()).then_some(Self { shape, data })
    }

    /// min-char-rnn's initialization of one tanh layer: every weight matrix
    /// entry ~ N(0, std²) (Box-Muller over a seeded SplitMix64), biases 0,
    /// padding 0.
    pub fn init_normal(hidden: usize, vocab: usize, std: f64, seed: u64) -> Self {
        let mut p = Self::zeros(hidden, vocab);
        let mut rng = Rng::new(seed);
        let mut normal = || {
            // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1.0 - rng.next_f64();
            let u2 = rng.next_f64();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        };
        let stride = p.stride();
        let t = p.tensors_mut();
        for m in [t.wxh, t.whh, t.why] {
            for row in m.chunks_exact_mut(stride) {
                for w in &mut row[..hidden] {
                    *w = F::from_f64(std * normal());
                }
            }
        }
        p
    }

    /// PyTorch's initialization of its recurrent cells (`nn.RNN`, `nn.GRU`,
    /// `nn.LSTM`: every weight and bias ~ U(−k, k), k = 1/√H) and of
    /// `nn.Linear(H, V)` (Kaiming-uniform with a = √5 and its bias: U(−k, k)
    /// with the same k = 1/√fan_in = 1/√H): every real entry of every tensor
    /// ~ U(−1/√H, 1/√H), drawn tensor by tensor and row by row from a
    /// seeded SplitMix64 (`w = k·(2u − 1)`, u uniform in [0, 1)); padding 0.
    pub fn init_uniform(shape: Shape, seed: u64) -> Self {
        let mut p = Self::zeros_shaped(shape);
        let mut rng = Rng::new(seed);
        let k = 1.0 / (shape.hidden as f64).sqrt();
        for t in shape.tensors() {
            for row in p.data[t.range()].chunks_exact_mut(t.stride) {
                for w in &mut row[..t.cols] {
                    *w = F::from_f64(k * (2.0 * rng.next_f64() - 1.0));
                }
            }
        }
        p
    }

    /// The initialization of a fresh run: [`Params::init_normal`] with
    /// `std` for one tanh layer (the model and the bits of earlier
    /// versions), [`Params::init_uniform`] (PyTorch's) for any other shape.
    pub fn init(shape: Shape, std: f64, seed: u64) -> Self {
        if shape.is_vanilla() {
            Self::init_normal(shape.hidden, shape.vocab, std, seed)
        } else {
            Self::init_uniform(shape, seed)
        }
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.shape.hidden
    }
    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.shape.vocab
    }
    /// Row stride, `padded(H)`.
    pub fn stride(&self) -> usize {
        padded(self.shape.hidden)
    }

    /// Start offsets of the five tensors of one tanh layer in
    /// [`Params::data`], plus the total length (for a stacked shape, see
    /// [`Shape::tensors`]).
    pub fn offsets(&self) -> [usize; 6] {
        let l = tensor_lengths(self.shape.hidden, self.shape.vocab);
        let mut o = [0; 6];
        for i in 0..5 {
            o[i + 1] = o[i] + l[i];
        }
        o
    }

    /// The model these parameters are, one tanh layer: a borrowed [`ModelView`].
    ///
    /// Only for a vanilla shape ([`Shape::is_vanilla`]); [`Params::weights`]
    /// is the model of any shape.
    pub fn view(&self) -> ModelView<'_, F> {
        let o = self.offsets();
        let d = &self.data;
        // The lengths come from `tensor_lengths`, so this cannot fail for the
        // vanilla shape; a zero shape is excluded by the corpus and CLI
        // checks before a Params exists.
        assert!(self.shape.is_vanilla(), "Params::view of a stacked shape");
        ModelView::new(
            self.shape.hidden,
            self.shape.vocab,
            &d[o[0]..o[1]],
            &d[o[1]..o[2]],
            &d[o[2]..o[3]],
            &d[o[3]..o[4]],
            &d[o[4]..o[5]],
        )
        .expect("Params always has the tensor lengths of its shape")
    }

    /// The model these parameters are as a [`StackedModelView`]: for any
    /// shape but the vanilla one (whose single bias does not split into
    /// PyTorch's two).
    pub fn stacked_view(&self) -> StackedModelView<'_, F> {
        assert!(
            !self.shape.is_vanilla(),
            "Params::stacked_view of one tanh layer"
        );
        let spans = self.shape.tensors();
        let t = |k: usize| &self.data[spans[k].range()];
        let mut layers = [LayerTensors {
            wx: &[][..],
            wh: &[],
            bx: &[],
            bh: &[],
        }; MAX_LAYERS];
        for (l, layer) in layers.iter_mut().enumerate().take(self.shape.layers) {
            *layer = LayerTensors {
                wx: t(4 * l),
                wh: t(4 * l + 1),
                bx: t(4 * l + 2),
                bh: t(4 * l + 3),
            };
        }
        let n = spans.len();
        StackedModelView::new(
            self.shape.cell,
            self.shape.hidden,
            self.shape.vocab,
            &layers[..self.shape.layers],
            t(n - 2),
            t(n - 1),
        )
        .expect("Params always has the tensor lengths of its shape")
    }

    /// The five tensors of one tanh layer, mutably (a vanilla shape only).
    pub fn tensors_mut(&mut self) -> TensorsMut<'_, F> {
        let l = tensor_lengths(self.shape.hidden, self.shape.vocab);
        let (wxh, rest) = self.data.split_at_mut(l[0]);
        let (whh, rest) = rest.split_at_mut(l[1]);
        let (bh, rest) = rest.split_at_mut(l[2]);
        let (why, by) = rest.split_at_mut(l[3]);
        TensorsMut {
            wxh,
            whh,
            bh,
            why,
            by,
        }
    }

    /// The tensor flat index `i` falls in, if any.
    fn span_of(&self, i: usize) -> Option<TensorSpan> {
        self.shape
            .tensors()
            .into_iter()
            .find(|t| t.range().contains(&i))
    }

    /// Whether flat index `i` is a real parameter (not row padding).
    pub fn is_real(&self, i: usize) -> bool {
        self.span_of(i)
            .is_some_and(|t| (i - t.start) % t.stride < t.cols)
    }

    /// Whether flat index `i` belongs to a weight matrix (not a bias): weight
    /// decay applies to these only.
    pub fn is_matrix(&self, i: usize) -> bool {
        self.span_of(i).is_some_and(|t| t.matrix)
    }

    /// The ranges of [`Params::data`] that hold weight matrices (not biases).
    pub fn matrix_ranges(&self) -> Vec<std::ops::Range<usize>> {
        self.shape
            .tensors()
            .iter()
            .filter(|t| t.matrix)
            .map(TensorSpan::range)
            .collect()
    }

    /// Name of the tensor flat index `i` falls in, and the index within it.
    pub fn locate(&self, i: usize) -> (&'static str, usize) {
        let spans = self.shape.tensors();
        let t = spans.iter().rfind(|t| i >= t.start).unwrap_or(&spans[0]);
        (t.name, i - t.start)
    }

    /// Number of real parameters of one tanh layer: V·H + H·H + H + V·H + V
    /// (any shape: [`Shape::count`]).
    pub fn count(hidden: usize, vocab: usize) -> usize {
        2 * vocab * hidden + hidden * hidden + hidden + vocab
    }

    /// Converts every entry to another float type.
    pub fn cast<G: Float>(&self) -> Params<G> {
        Params {
            shape: self.shape,
            data: self.data.iter().map(|&x| G::from_f64(x.to_f64())).collect(),
        }
    }

    /// Sets every entry to 0.
    pub fn clear(&mut self) {
        self.data.fill(F::ZERO);
    }
}

impl Params<f32> {
    /// The model as charm-core's [`Weights`], to encode: one tanh layer as
    /// [`Weights::F32`] (format version 1), any other shape as
    /// [`Weights::Stacked`] (version 5).
    pub fn weights(&self) -> Weights<'_> {
        if self.shape.is_vanilla() {
            Weights::F32(self.view())
        } else {
            Weights::Stacked(self.stacked_view())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_stays_zero_and_real_count_matches() {
        let p = Params::<f32>::init_normal(5, 3, 0.01, 7);
        let real = (0..p.data.len()).filter(|&i| p.is_real(i)).count();
        assert_eq!(real, Params::<f32>::count(5, 3));
        for (i, &w) in p.data.iter().enumerate() {
            if !p.is_real(i) {
                assert_eq!(w, 0.0, "padding entry {i} is {w}");
            }
        }
        let nonzero = p.data.iter().filter(|&&w| w != 0.0).count();
        assert_eq!(nonzero, 3 * 5 + 5 * 5 + 3 * 5);
        assert_eq!(p.view().hidden(), 5);
        assert_eq!(p.locate(p.offsets()[4]), ("by", 0));
    }

    #[test]
    fn init_std_is_close_to_requested() {
        let p = Params::<f64>::init_normal(64, 64, 0.01, 1);
        let w: Vec<f64> = p.data[..p.offsets()[1]]
            .iter()
            .copied()
            .filter(|&x| x != 0.0)
            .collect();
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        // n = 4096 draws: the sample std of N(0, σ²) has standard error
        // σ/√(2n) = 1.1e-4; 5e-4 is 4.5 of those (and the draws are seeded,
        // so the same on every machine).
        assert!((var.sqrt() - 0.01).abs() < 0.0005, "std {}", var.sqrt());
    }

    #[test]
    fn stacked_shapes_have_the_stacked_views_layout_and_pytorchs_count() {
        for cell in Cell::ALL {
            for layers in 1..=MAX_LAYERS {
                let shape = Shape {
                    cell,
                    layers,
                    hidden: 5,
                    vocab: 3,
                };
                let p = Params::<f32>::init(shape, 0.01, 9);
                let spans = shape.tensors();
                // Back to back, and as long as charm-core's view requires.
                for (a, b) in spans.iter().zip(&spans[1..]) {
                    assert_eq!(a.start + a.len(), b.start);
                }
                assert_eq!(spans.last().map(|t| t.start + t.len()), Some(shape.len()));
                if shape.is_vanilla() {
                    assert_eq!(p.view().hidden(), 5);
                    continue;
                }
                for l in 0..layers {
                    let lens: Vec<usize> =
                        spans[4 * l..4 * l + 4].iter().map(|t| t.len()).collect();
                    assert_eq!(lens, layer_tensor_lengths(cell, 5, 3, l));
                }
                let view = p.stacked_view();
                assert_eq!((view.cell(), view.depth()), (cell, layers));
                // PyTorch's parameter count: per layer G·H·(input + H + 2),
                // input V for the first and H above it; then V·H + V.
                let g = cell.gates();
                let torch = g * 5 * (3 + 5 + 2) + (layers - 1) * g * 5 * (5 + 5 + 2) + 3 * 5 + 3;
                assert_eq!(shape.count(), torch);
                let real = (0..p.data.len()).filter(|&i| p.is_real(i)).count();
                assert_eq!(real, torch);
                // U(−1/√H, 1/√H) on every real entry, 0 on padding.
                let k = 1.0 / 5f32.sqrt();
                for (i, &w) in p.data.iter().enumerate() {
                    if p.is_real(i) {
                        assert!(w.abs() <= k && w != 0.0, "{:?} = {w}", p.locate(i));
                    } else {
                        assert_eq!(w, 0.0, "padding {:?}", p.locate(i));
                    }
                }
            }
        }
    }

    #[test]
    fn one_tanh_layer_keeps_its_layout_and_initialization() {
        let shape = Shape::vanilla(5, 3);
        assert_eq!(
            Params::<f32>::init(shape, 0.01, 7),
            Params::<f32>::init_normal(5, 3, 0.01, 7)
        );
        let names: Vec<&str> = shape.tensors().iter().map(|t| t.name).collect();
        assert_eq!(names, TENSOR_NAMES);
        let lens: Vec<usize> = shape.tensors().iter().map(|t| t.len()).collect();
        assert_eq!(lens, tensor_lengths(5, 3));
        assert_eq!(shape.count(), Params::<f32>::count(5, 3));
        let p = Params::<f32>::zeros(5, 3);
        let o = p.offsets();
        assert_eq!(p.matrix_ranges(), vec![o[0]..o[1], o[1]..o[2], o[3]..o[4]]);
    }
}
