//! Text generation: the state, priming, and one character at a time.

use super::integer::{sample_fixed, sample_fixed_noted};
use super::sampler::{sample, SampleError, SampleParams};
use crate::int8::fixed::{logit_value, FixedModelView};
use crate::int8::row_pairs::QuantModelView;
use crate::int8::tiles::{tile_stride, TiledModelView};
use crate::kernels::padded;
use crate::model::{ModelView, ShapeError, StackedModelView};
use crate::sentence::{display_sentence, Explain, SentenceOut};
use crate::{Rng, Vocab};

/// What a hidden state is made of: `f32` for f32 models, Q15 `i16` for int8
/// row-pair models, `i8` for int8 tile models.
pub trait StateElement: Copy + core::fmt::Debug + 'static {
    /// The zero state.
    const ZERO: Self;
}
impl StateElement for f32 {
    const ZERO: Self = 0.0;
}
impl StateElement for i16 {
    const ZERO: Self = 0;
}
impl StateElement for i8 {
    const ZERO: Self = 0;
}

/// A model that can be stepped by the [`Generator`]: f32 ([`ModelView`]),
/// int8 row pairs ([`QuantModelView`]), int8 row pairs in fixed point
/// ([`FixedModelView`]), int8 tiles ([`TiledModelView`]) or
/// f32 layers of any cell ([`StackedModelView`]).
pub trait Recurrent {
    /// Element of the hidden state.
    type State: StateElement;
    /// Hidden size H.
    fn hidden(&self) -> usize;
    /// Vocabulary size V.
    fn vocab(&self) -> usize;
    /// Length of the state buffer: H for f32, `padded(H)` for Q15,
    /// `tile_stride(H)` for int8, `L · H` for L layers of rnn or GRU cells
    /// and `L · 2H` for L layers of LSTM cells (h and c); for their int8
    /// forms `L · S` (rnn, GRU) and `L · 3S` (LSTM, Q15) or `L · 5S`
    /// (LSTM, int8 tiles), S the layout's stride
    /// (`Int8StackedModelView::state_len`).
    fn state_len(&self) -> usize;
    /// y_0 into `logits` (V entries): the logits of the zero state, b_y.
    fn initial_logits(&self, logits: &mut [f32]);
    /// One step; buffers have `state_len()` and V elements, `x < V`.
    /// The logits are numbers (nats), whatever the model computes them in.
    fn step_state(
        &self,
        h_prev: &[Self::State],
        x: usize,
        h_next: &mut [Self::State],
        logits: &mut [f32],
    );
    /// [`Recurrent::initial_logits`] in the form [`Recurrent::draw`] reads
    /// (the [`Generator`]'s): the same numbers, but for a model that draws
    /// from logits of another kind (the fixed int8 layout: its Q16
    /// integers, in the f32 buffer's bits). A wrapper forwards this,
    /// [`Recurrent::step_to_draw`] and [`Recurrent::draw`] together.
    fn initial_logits_to_draw(&self, logits: &mut [f32]) {
        self.initial_logits(logits);
    }
    /// [`Recurrent::step_state`] with logits in the form
    /// [`Recurrent::draw`] reads ([`Recurrent::initial_logits_to_draw`]).
    fn step_to_draw(
        &self,
        h_prev: &[Self::State],
        x: usize,
        h_next: &mut [Self::State],
        logits: &mut [f32],
    ) {
        self.step_state(h_prev, x, h_next, logits);
    }
    /// [`Recurrent::step_to_draw`] that hands on what the step learned of
    /// its results ([`StepNotes`]), so that nothing computes them twice:
    /// `notes` are what the call that wrote `h_prev` and `logits` returned
    /// ([`StepNotes::default`]: nothing known), the result is what this
    /// step knows of `h_next` and the logits it wrote (nothing: this
    /// default). The [`Generator`] keeps them from one step to the next and
    /// hands them to [`Recurrent::draw_noted`]; it holds the state's and
    /// the logits' buffers, so that nothing changes them in between. Notes
    /// that are not the step's make wrong logits or a wrong draw, nothing
    /// worse.
    fn step_to_draw_noted(
        &self,
        h_prev: &[Self::State],
        notes: StepNotes,
        x: usize,
        h_next: &mut [Self::State],
        logits: &mut [f32],
    ) -> StepNotes {
        let _ = notes;
        self.step_to_draw(h_prev, x, h_next, logits);
        StepNotes::default()
    }
    /// Draws the next character's index from the logits of
    /// [`Recurrent::step_to_draw`] ([`sample`](fn@sample); the fixed int8
    /// layout's own integer sampler, [`sample_fixed`]). May overwrite
    /// `logits`.
    fn draw(
        &self,
        logits: &mut [f32],
        params: SampleParams,
        rng: &mut Rng,
    ) -> Result<usize, SampleError> {
        sample(logits, params, rng)
    }
    /// [`Recurrent::draw`] given the notes of the step that wrote `logits`
    /// ([`Recurrent::step_to_draw_noted`]): the same index, drawn with
    /// less work where the notes say something (this default: `draw`).
    fn draw_noted(
        &self,
        logits: &mut [f32],
        notes: StepNotes,
        params: SampleParams,
        rng: &mut Rng,
    ) -> Result<usize, SampleError> {
        let _ = notes;
        self.draw(logits, params, rng)
    }
}

/// What a step learned of its results on the way, for the next step and
/// the draw ([`Recurrent::step_to_draw_noted`]); the fixed int8 layout
/// keeps both, every other model neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepNotes {
    /// `Σ h` of the state the step wrote (wrapping i32), which every dot
    /// product of the fixed layout's next step starts from (`−128·Σh`).
    pub state_sum: Option<i32>,
    /// The largest of the logits the step wrote, in the form
    /// [`Recurrent::draw`] reads (the fixed layout's Q16 integers, which
    /// its step keeps within `±2²³`): the sampler's first pass.
    pub largest_logit: Option<i32>,
}

/// `logits = b_y`, element by element through black_box: LLVM would make
/// a copy of the slice a call to memcpy, the only one in the firmware, and
/// compiler-builtins' memcpy costs a Cortex-M about 1 KB of flash, for V
/// floats copied once.
fn copy_bias(by: &[f32], logits: &mut [f32]) {
    for (y, &b) in logits.iter_mut().zip(by) {
        *y = core::hint::black_box(b);
    }
}

/// The [`Recurrent`] impl of a view whose logits start at `b_y`
/// ([`copy_bias`]), whose sampler is softmax's, and whose step is its
/// method `$step`; `$len` is its state's length, of the view `$view`.
macro_rules! recurrent_view {
    ($type:ty, $state:ty, state_len: |$view:ident| $len:expr, step: $step:ident) => {
        impl Recurrent for $type {
            type State = $state;
            fn hidden(&self) -> usize {
                Self::hidden(self)
            }
            fn vocab(&self) -> usize {
                Self::vocab(self)
            }
            fn state_len(&self) -> usize {
                let $view = self;
                $len
            }
            fn initial_logits(&self, logits: &mut [f32]) {
                copy_bias(self.by(), logits);
            }
            fn step_state(
                &self,
                h_prev: &[$state],
                x: usize,
                h_next: &mut [$state],
                logits: &mut [f32],
            ) {
                self.$step(h_prev, x, h_next, logits);
            }
        }
    };
}

recurrent_view!(ModelView<'_, f32>, f32,
    state_len: |v| v.hidden(), step: step_unchecked_shapes);
recurrent_view!(StackedModelView<'_, f32>, f32,
    state_len: |v| v.state_len(), step: step_unchecked_shapes);
recurrent_view!(QuantModelView<'_>, i16, state_len: |v| padded(v.hidden()), step: step);
recurrent_view!(TiledModelView<'_>, i8, state_len: |v| tile_stride(v.hidden()), step: step);

impl Recurrent for FixedModelView<'_> {
    type State = i16;
    fn hidden(&self) -> usize {
        FixedModelView::hidden(self)
    }
    fn vocab(&self) -> usize {
        FixedModelView::vocab(self)
    }
    fn state_len(&self) -> usize {
        padded(FixedModelView::hidden(self))
    }
    fn initial_logits(&self, logits: &mut [f32]) {
        self.initial_logits_to_draw(logits);
        integers_to_values(logits);
    }
    fn step_state(&self, h_prev: &[i16], x: usize, h_next: &mut [i16], logits: &mut [f32]) {
        self.step_to_draw(h_prev, x, h_next, logits);
        integers_to_values(logits);
    }
    fn initial_logits_to_draw(&self, logits: &mut [f32]) {
        FixedModelView::initial_logits(self, bytemuck::must_cast_slice_mut(logits));
    }
    fn step_to_draw(&self, h_prev: &[i16], x: usize, h_next: &mut [i16], logits: &mut [f32]) {
        self.step(h_prev, x, h_next, bytemuck::must_cast_slice_mut(logits));
    }
    fn step_to_draw_noted(
        &self,
        h_prev: &[i16],
        notes: StepNotes,
        x: usize,
        h_next: &mut [i16],
        logits: &mut [f32],
    ) -> StepNotes {
        let logits = bytemuck::must_cast_slice_mut(logits);
        self.step_noted(h_prev, notes.state_sum, x, h_next, logits)
    }
    fn draw(
        &self,
        logits: &mut [f32],
        params: SampleParams,
        rng: &mut Rng,
    ) -> Result<usize, SampleError> {
        sample_fixed(bytemuck::must_cast_slice_mut(logits), params, rng)
    }
    fn draw_noted(
        &self,
        logits: &mut [f32],
        notes: StepNotes,
        params: SampleParams,
        rng: &mut Rng,
    ) -> Result<usize, SampleError> {
        let logits = bytemuck::must_cast_slice_mut(logits);
        sample_fixed_noted(logits, notes.largest_logit, params, rng)
    }
}

/// The fixed layout's Q16 logits, kept in an f32 buffer's bits, made the
/// numbers `ỹ·2⁻¹⁶` ([`logit_value`]) in place.
fn integers_to_values(logits: &mut [f32]) {
    for y in logits.iter_mut() {
        *y = logit_value(y.to_bits() as i32);
    }
}

#[cfg(feature = "cells")]
impl<L: crate::int8::stacked::Int8Layout> Recurrent
    for crate::int8::stacked::Int8StackedModelView<'_, L>
{
    type State = L::State;
    fn hidden(&self) -> usize {
        Self::hidden(self)
    }
    fn vocab(&self) -> usize {
        Self::vocab(self)
    }
    fn state_len(&self) -> usize {
        Self::state_len(self)
    }
    fn initial_logits(&self, logits: &mut [f32]) {
        copy_bias(self.by(), logits);
    }
    fn step_state(&self, state: &[L::State], x: usize, next: &mut [L::State], logits: &mut [f32]) {
        self.step(state, x, next, logits);
    }
}

/// Why generation could not start or go on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GenerateError {
    /// Buffers or vocabulary do not fit the model.
    Shape(ShapeError),
    /// The sampling parameters are invalid.
    Sample(SampleError),
    /// A prime character is not in the model's vocabulary.
    UnknownChar(char),
    /// The model needs more hidden units or characters than the buffers hold.
    Capacity {
        /// Hidden size of the model.
        hidden: usize,
        /// Vocabulary of the model.
        vocab: usize,
        /// Hidden units the buffers hold.
        max_hidden: usize,
        /// Characters the buffers hold.
        max_vocab: usize,
    },
}

impl Explain for GenerateError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            GenerateError::Shape(e) => e.explain(out),
            GenerateError::Sample(e) => e.explain(out),
            GenerateError::UnknownChar(c) => out.fill(
                "the character {c} does not occur in the model's vocabulary",
                &[u32::from(c) as usize],
            ),
            GenerateError::Capacity {
                hidden,
                vocab,
                max_hidden,
                max_vocab,
            } => out.fill(
                "the model (hidden {}, vocabulary {}) does not fit buffers for hidden {}, \
                 vocabulary {}",
                &[hidden, vocab, max_hidden, max_vocab],
            ),
        }
    }
}

impl core::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

/// Fixed-size state buffers for models of up to `H` state elements and `V`
/// characters: `2·H` state elements `S` (f32, or i16 for int8 models) and `V`
/// f32 logits; no allocation. A device keeps one in a static.
///
/// `H` is the model's [`Recurrent::state_len`]: its hidden size for one
/// tanh layer, `L · H` for L layers of rnn or GRU cells, `L · 2H` for an
/// LSTM's (each layer carries h and c).
#[derive(Debug, Clone)]
pub struct Buffers<const H: usize, const V: usize, S = f32> {
    h: [S; H],
    h_next: [S; H],
    logits: [f32; V],
}

impl<const H: usize, const V: usize, S: StateElement> Default for Buffers<H, V, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const H: usize, const V: usize, S: StateElement> Buffers<H, V, S> {
    /// Zeroed buffers (a `const fn`, so they can live in `.bss`).
    pub const fn new() -> Self {
        Self {
            h: [S::ZERO; H],
            h_next: [S::ZERO; H],
            logits: [0.0; V],
        }
    }

    /// Borrows slices of exactly the model's shape, or says it does not fit.
    pub fn slices_for<M: Recurrent<State = S>>(
        &mut self,
        model: &M,
    ) -> Result<Slices<'_, S>, GenerateError> {
        let (hidden, vocab, n) = (model.hidden(), model.vocab(), model.state_len());
        if n > H || vocab > V {
            return Err(GenerateError::Capacity {
                hidden,
                vocab,
                max_hidden: H,
                max_vocab: V,
            });
        }
        Ok(Slices {
            h: &mut self.h[..n],
            h_next: &mut self.h_next[..n],
            logits: &mut self.logits[..vocab],
        })
    }
}

/// The three state buffers a [`Generator`] works in: hidden state and next
/// hidden state ([`Recurrent::state_len`] each), logits (V). From [`Buffers`]
/// or from the heap.
#[derive(Debug)]
pub struct Slices<'s, S = f32> {
    /// h_{t-1}.
    pub h: &'s mut [S],
    /// h_t, written by the step, then swapped in.
    pub h_next: &'s mut [S],
    /// y_t.
    pub logits: &'s mut [f32],
}

/// Generates characters from a model: the sampling loop every front end uses
/// (`charm sample` on a host, the firmware on a device), so the same model,
/// seed, temperature and prime text give the same characters everywhere.
///
/// Protocol: the state starts at h_0 = 0 with logits y_0 = W_hy·0 + b_y = b_y.
/// Each prime character is fed through the step. Each generated character is
/// drawn from the current logits, then fed back.
///
/// ```
/// use charm_core::{Buffers, Generator, ModelView, SampleParams, Vocab};
/// // H = 1, V = 2, b_y strongly prefers 'b': greedy sampling always says 'b'.
/// let (wxh, whh, bh, why) = ([0.0f32; 16], [0.0f32; 8], [0.0f32; 8], [0.0f32; 16]);
/// let by = [0.0f32, 5.0];
/// let model = ModelView::new(1, 2, &wxh, &whh, &bh, &why, &by).unwrap();
/// let vocab = Vocab::new("ab").unwrap();
/// let mut buffers = Buffers::<8, 4>::new();
/// let params = SampleParams { temperature: 0.0, top_k: 0 };
/// let slices = buffers.slices_for(&model).unwrap();
/// let mut g = Generator::new(model, vocab, params, 1, slices).unwrap();
/// g.prime("ab").unwrap();
/// assert_eq!(g.next_char(), 'b');
/// ```
#[derive(Debug)]
pub struct Generator<'m, 's, M: Recurrent = ModelView<'m, f32>> {
    model: M,
    vocab: Vocab<'m>,
    params: SampleParams,
    rng: Rng,
    state: Slices<'s, M::State>,
    /// What the last step learned ([`Recurrent::step_to_draw_noted`]),
    /// nothing after a reset.
    notes: StepNotes,
}

impl<'m, 's, M: Recurrent> Generator<'m, 's, M> {
    /// Starts from the zero state; checks the shapes and parameters once.
    pub fn new(
        model: M,
        vocab: Vocab<'m>,
        params: SampleParams,
        seed: u64,
        state: Slices<'s, M::State>,
    ) -> Result<Self, GenerateError> {
        params.validate().map_err(GenerateError::Sample)?;
        let n = model.state_len();
        let lengths = [
            ("hidden state", state.h.len(), n),
            ("next hidden state", state.h_next.len(), n),
            ("logits", state.logits.len(), model.vocab()),
        ];
        for (buffer, found, expected) in lengths {
            if found != expected {
                return Err(GenerateError::Shape(ShapeError::BufferLength {
                    buffer,
                    expected,
                    found,
                }));
            }
        }
        if vocab.len() != model.vocab() {
            return Err(GenerateError::Shape(ShapeError::BufferLength {
                buffer: "vocabulary",
                expected: model.vocab(),
                found: vocab.len(),
            }));
        }
        let mut g = Self {
            model,
            vocab,
            params,
            rng: Rng::new(seed),
            state,
            notes: StepNotes::default(),
        };
        g.reset();
        Ok(g)
    }

    /// Back to h_0 = 0, y_0 = b_y (the RNG is not reset).
    pub fn reset(&mut self) {
        self.state.h.fill(M::State::ZERO);
        self.notes = StepNotes::default();
        self.model.initial_logits_to_draw(self.state.logits);
    }

    /// Feeds one character through the step (no sampling).
    pub fn feed(&mut self, c: char) -> Result<(), GenerateError> {
        let x = self
            .vocab
            .index_of(c)
            .ok_or(GenerateError::UnknownChar(c))?;
        self.feed_index(x);
        Ok(())
    }

    fn feed_index(&mut self, x: usize) {
        let s = &mut self.state;
        self.notes = (self.model).step_to_draw_noted(s.h, self.notes, x, s.h_next, s.logits);
        core::mem::swap(&mut s.h, &mut s.h_next);
    }

    /// Feeds every character of `text`. On an unknown character nothing is fed.
    pub fn prime(&mut self, text: &str) -> Result<(), GenerateError> {
        if let Some(c) = text.chars().find(|&c| self.vocab.index_of(c).is_none()) {
            return Err(GenerateError::UnknownChar(c));
        }
        for c in text.chars() {
            self.feed(c)?;
        }
        Ok(())
    }

    /// Draws the next character from the current logits and feeds it back.
    pub fn next_char(&mut self) -> char {
        // Parameters and shapes were validated in `new`, so sampling cannot fail;
        // index 0 is a harmless fallback that is never taken.
        let i = (self.model)
            .draw_noted(self.state.logits, self.notes, self.params, &mut self.rng)
            .unwrap_or(0);
        let c = self.vocab.char_at(i).unwrap_or('\u{FFFD}');
        self.feed_index(i);
        c
    }

    /// The current hidden state h_t.
    pub fn hidden_state(&self) -> &[M::State] {
        self.state.h
    }

    /// Temperature and top-k for the characters from now on; the state and
    /// the random sequence go on. Refuses (and keeps the old ones) what
    /// [`Generator::new`] refuses.
    ///
    /// ```
    /// use charm_core::{Buffers, GenerateError, Generator, ModelView, SampleError, SampleParams, Vocab};
    /// # let (wxh, whh, bh, why, by) = ([0.0f32; 16], [0.0f32; 8], [0.0f32; 8], [0.0f32; 16], [0.0f32, 5.0]);
    /// # let model = ModelView::new(1, 2, &wxh, &whh, &bh, &why, &by).unwrap();
    /// # let mut buffers = Buffers::<8, 4>::new();
    /// # let slices = buffers.slices_for(&model).unwrap();
    /// let mut g = Generator::new(model, Vocab::new("ab").unwrap(), SampleParams::default(), 1, slices).unwrap();
    /// let greedy = SampleParams { temperature: 0.0, top_k: 0 };
    /// g.set_params(greedy).unwrap();
    /// assert_eq!(g.next_char(), 'b'); // b_y prefers 'b'
    /// let bad = SampleParams { temperature: -1.0, top_k: 0 };
    /// assert_eq!(g.set_params(bad), Err(GenerateError::Sample(SampleError::BadTemperature(-1.0))));
    /// assert_eq!(g.params(), greedy);
    /// ```
    pub fn set_params(&mut self, params: SampleParams) -> Result<(), GenerateError> {
        params.validate().map_err(GenerateError::Sample)?;
        self.params = params;
        Ok(())
    }

    /// The sampling parameters in use.
    pub fn params(&self) -> SampleParams {
        self.params
    }

    /// Restarts the random sequence from `seed`, as [`Generator::new`] starts
    /// it; the state is kept (with [`Generator::reset`] too, the generator
    /// draws what a new one with this seed draws).
    pub fn set_seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }
}
