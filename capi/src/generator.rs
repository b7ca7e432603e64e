//! The generator in the caller's memory: `charm_generator`.
//!
//! Memory layout (from an 8-byte aligned address): the header (the charm-core
//! [`Generator`], rounded up to [`CHARM_GENERATOR_ALIGN`] bytes); for a model
//! of several layers or of another cell, a copy of its view (the tensors'
//! places, [`AfterHeader`]), so that the header stays as small as one tanh
//! layer's; then the logits y (V f32), then the state and the next one
//! (`state_len` elements each, [`Recurrent::state_len`]: f32 for f32 models,
//! Q15 `i16` for int8 row pairs, `i8` for int8 tiles; per layer h, and for an
//! LSTM its cell state c too).

use crate::handle::{check_pointer, tag_of};
use crate::model::{decoded, CharmModel};
use crate::status::{finish, CharmError, CharmStatus, Failure};
#[cfg(feature = "fixed")]
use charm_core::FixedModelView;
use charm_core::{
    Generator, ModelView, QuantModelView, Recurrent, SampleParams, Slices, TiledModelView, Vocab,
    Weights,
};
#[cfg(feature = "cells")]
use charm_core::{QuantStackedModelView, StackedModelView, TiledStackedModelView};
use core::ffi::{c_char, c_void};
use core::marker::PhantomData;
use core::mem::{align_of, size_of};

/// Alignment the generator's memory needs (a `uint64_t` array has it).
pub const CHARM_GENERATOR_ALIGN: usize = 8;
/// Bytes of the generator's header, at most, on any target (64-bit hosts
/// included); `CHARM_GENERATOR_BYTES_MAX()` and
/// `CHARM_GENERATOR_LAYERS_BYTES_MAX()` add the rest to it.
pub const CHARM_GENERATOR_HEADER_MAX: usize = 320;
/// Bytes of a character in UTF-8, at most: the smallest buffer
/// `charm_generator_next()` takes.
pub const CHARM_UTF8_MAX: usize = 4;

/// A generator: lives in memory the caller gives to `charm_generator_init()`
/// and never moves; the handle is that memory's address.
pub struct CharmGenerator {
    _opaque: [u8; 0],
}

/// The generator for each model charm-core decodes and this build runs.
enum AnyGenerator {
    F32(Generator<'static, 'static, ModelView<'static, f32>>),
    Int8(Generator<'static, 'static, QuantModelView<'static>>),
    Tiles(Generator<'static, 'static, TiledModelView<'static>>),
    #[cfg(feature = "fixed")]
    Fixed(Generator<'static, 'static, FixedModelView<'static>>),
    #[cfg(feature = "cells")]
    Stacked(Generator<'static, 'static, Kept<StackedModelView<'static, f32>>>),
    #[cfg(feature = "cells")]
    StackedInt8(Generator<'static, 'static, Kept<QuantStackedModelView<'static>>>),
    #[cfg(feature = "cells")]
    StackedTiles(Generator<'static, 'static, Kept<TiledStackedModelView<'static>>>),
}

/// Calls `$body` with `$g` bound to the generator, whichever its type.
macro_rules! with_generator {
    ($any:expr, $g:ident => $body:expr) => {
        match $any {
            AnyGenerator::F32($g) => $body,
            AnyGenerator::Int8($g) => $body,
            AnyGenerator::Tiles($g) => $body,
            #[cfg(feature = "fixed")]
            AnyGenerator::Fixed($g) => $body,
            #[cfg(feature = "cells")]
            AnyGenerator::Stacked($g) => $body,
            #[cfg(feature = "cells")]
            AnyGenerator::StackedInt8($g) => $body,
            #[cfg(feature = "cells")]
            AnyGenerator::StackedTiles($g) => $body,
        }
    };
}

/// Something done with a model whatever its type: [`visit`] calls it with
/// the model's view.
trait Visitor {
    /// What it gives.
    type Out;
    /// Does it for `model`, kept by the generator as `P` says; `wrap` makes
    /// the generator of this type an [`AnyGenerator`].
    fn visit<P: Placement>(
        self,
        model: P::Model,
        wrap: fn(Generator<'static, 'static, P::Run>) -> AnyGenerator,
    ) -> Self::Out;
}

/// Calls `visitor` with the view of `weights`, or `None` for a model this
/// build does not run. The one place that says, for each model charm-core
/// decodes, how a generator keeps it and which [`AnyGenerator`] it is: a new
/// element type or cell is one arm here (and its [`AnyGenerator`] variant).
fn visit<V: Visitor>(weights: Weights<'static>, visitor: V) -> Option<V::Out> {
    Some(match weights {
        Weights::F32(m) => visitor.visit::<InHeader<_>>(m, AnyGenerator::F32),
        Weights::Int8(m) => visitor.visit::<InHeader<_>>(m, AnyGenerator::Int8),
        Weights::Int8Tiles(m) => visitor.visit::<InHeader<_>>(m, AnyGenerator::Tiles),
        #[cfg(feature = "fixed")]
        Weights::Int8Fixed(m) => visitor.visit::<InHeader<_>>(m, AnyGenerator::Fixed),
        // Without this crate's `fixed`: `init` refused it.
        #[cfg(not(feature = "fixed"))]
        Weights::Int8Fixed(_) => return None,
        #[cfg(feature = "cells")]
        Weights::Stacked(m) => visitor.visit::<AfterHeader<_>>(m, AnyGenerator::Stacked),
        #[cfg(feature = "cells")]
        Weights::StackedInt8(m) => visitor.visit::<AfterHeader<_>>(m, AnyGenerator::StackedInt8),
        #[cfg(feature = "cells")]
        Weights::StackedTiles(m) => visitor.visit::<AfterHeader<_>>(m, AnyGenerator::StackedTiles),
        // Without this crate's `cells`, the models of charm-core's `cells`
        // (on when another crate of the build turns it on): `init` refused
        // them. With it the match is exhaustive, so that a model charm-core
        // adds does not compile until it has its arm.
        #[cfg(not(feature = "cells"))]
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Where a generator keeps its model's view.
trait Placement {
    /// The view charm-core decoded.
    type Model: Recurrent + Copy;
    /// What the generator steps: the view, or a reference to its copy.
    type Run: Recurrent<State = <Self::Model as Recurrent>::State>;
    /// Bytes the view takes in the generator's memory after the header (a
    /// multiple of [`CHARM_GENERATOR_ALIGN`]).
    const BYTES: usize;
    /// What the generator steps, the view copied to `at` if it goes there.
    ///
    /// # Safety
    ///
    /// `at` is aligned to [`CHARM_GENERATOR_ALIGN`], valid for writes of
    /// [`Placement::BYTES`] bytes, and stays, unused by anything else, as
    /// long as the result is used.
    unsafe fn place(model: Self::Model, at: *mut u8) -> Self::Run;
}

/// The view in the generator itself: the one-layer views, a few words.
struct InHeader<M>(PhantomData<M>);

impl<M: Recurrent + Copy> Placement for InHeader<M> {
    type Model = M;
    type Run = M;
    const BYTES: usize = 0;
    unsafe fn place(model: M, _at: *mut u8) -> M {
        model
    }
}

/// The view copied after the header: the views of several layers (a
/// pointer and a length per tensor of each of up to four layers), which
/// would make the header of every model that large.
#[cfg(feature = "cells")]
struct AfterHeader<M>(PhantomData<M>);

#[cfg(feature = "cells")]
impl<M: Recurrent + Copy + 'static> Placement for AfterHeader<M> {
    type Model = M;
    type Run = Kept<M>;
    const BYTES: usize = size_of::<M>().next_multiple_of(CHARM_GENERATOR_ALIGN);
    unsafe fn place(model: M, at: *mut u8) -> Kept<M> {
        const { assert!(align_of::<M>() <= CHARM_GENERATOR_ALIGN) };
        let at = at.cast::<M>();
        // SAFETY: aligned (the assertion), writable for BYTES >= size_of::<M>()
        // bytes and the caller's alone while the reference lives (the
        // caller's contract; the 'static stands for "as long as it is used").
        unsafe {
            at.write(model);
            Kept(&*at)
        }
    }
}

/// A model view kept in the generator's memory, stepped through a reference
/// to it: the same step, the same bits.
#[cfg(feature = "cells")]
struct Kept<M: 'static>(&'static M);

#[cfg(feature = "cells")]
impl<M: Recurrent> Recurrent for Kept<M> {
    type State = M::State;
    fn hidden(&self) -> usize {
        self.0.hidden()
    }
    fn vocab(&self) -> usize {
        self.0.vocab()
    }
    fn state_len(&self) -> usize {
        self.0.state_len()
    }
    fn initial_logits(&self, logits: &mut [f32]) {
        self.0.initial_logits(logits);
    }
    fn draw(
        &self,
        logits: &mut [f32],
        params: SampleParams,
        rng: &mut charm_core::Rng,
    ) -> Result<usize, charm_core::SampleError> {
        self.0.draw(logits, params, rng)
    }
    fn step_state(&self, state: &[M::State], x: usize, next: &mut [M::State], logits: &mut [f32]) {
        self.0.step_state(state, x, next, logits);
    }
    fn initial_logits_to_draw(&self, logits: &mut [f32]) {
        self.0.initial_logits_to_draw(logits);
    }
    fn step_to_draw(
        &self,
        state: &[M::State],
        x: usize,
        next: &mut [M::State],
        logits: &mut [f32],
    ) {
        self.0.step_to_draw(state, x, next, logits);
    }
    fn step_to_draw_noted(
        &self,
        state: &[M::State],
        notes: charm_core::StepNotes,
        x: usize,
        next: &mut [M::State],
        logits: &mut [f32],
    ) -> charm_core::StepNotes {
        self.0.step_to_draw_noted(state, notes, x, next, logits)
    }
    fn draw_noted(
        &self,
        logits: &mut [f32],
        notes: charm_core::StepNotes,
        params: charm_core::SampleParams,
        rng: &mut charm_core::Rng,
    ) -> Result<usize, charm_core::SampleError> {
        self.0.draw_noted(logits, notes, params, rng)
    }
}

/// The start of the generator's memory.
#[repr(C)]
struct Header {
    /// [`GENERATOR_TAG`].
    tag: usize,
    generator: AnyGenerator,
}

/// The tag of an initialized generator ("CHRMgnrt" folded into a word).
const GENERATOR_TAG: usize = 0x676E_7274 ^ 0x4348_524D;

/// The header's bytes, rounded up so that what follows it is aligned.
const HEADER_BYTES: usize = size_of::<Header>().next_multiple_of(CHARM_GENERATOR_ALIGN);

const _: () = {
    assert!(align_of::<Header>() <= CHARM_GENERATOR_ALIGN);
    assert!(HEADER_BYTES <= CHARM_GENERATOR_HEADER_MAX);
    // The buffers after the header (and the view after it, a multiple of
    // the alignment): f32 logits, then state elements of at most f32's
    // alignment.
    assert!(HEADER_BYTES.is_multiple_of(align_of::<f32>()));
    assert!(align_of::<i16>() <= align_of::<f32>() && align_of::<i8>() <= align_of::<f32>());
};

// The header's bound for models of several layers
// (`CHARM_GENERATOR_LAYERS_BYTES_MAX`) counts `sizeof(charm_model)` for the
// view after the header: it holds every view, as the model holds it.
#[cfg(feature = "cells")]
const _: () = {
    let model = size_of::<CharmModel>();
    assert!(<AfterHeader<StackedModelView<'static, f32>> as Placement>::BYTES <= model);
    assert!(<AfterHeader<QuantStackedModelView<'static>> as Placement>::BYTES <= model);
    assert!(<AfterHeader<TiledStackedModelView<'static>> as Placement>::BYTES <= model);
};

/// Bytes of a generator for `model` kept as `P` says: header, view, V
/// logits, two states.
fn bytes_for<P: Placement>(model: &P::Model) -> Option<usize> {
    let logits = model.vocab().checked_mul(size_of::<f32>())?;
    let state = size_of::<<P::Model as Recurrent>::State>();
    let states = model.state_len().checked_mul(2 * state)?;
    (HEADER_BYTES + P::BYTES)
        .checked_add(logits)?
        .checked_add(states)
}

/// [`Visitor`]: the bytes of a generator for the model.
struct Size;

impl Visitor for Size {
    type Out = Option<usize>;
    fn visit<P: Placement>(
        self,
        model: P::Model,
        _wrap: fn(Generator<'static, 'static, P::Run>) -> AnyGenerator,
    ) -> Option<usize> {
        bytes_for::<P>(&model)
    }
}

/// Bytes of a generator for `weights`, or `None` if this build does not run
/// them or the size overflows.
fn bytes_for_weights(weights: Weights<'static>) -> Option<usize> {
    visit(weights, Size).flatten()
}

/// Bytes of memory a generator for `*model` needs (at an address aligned to
/// `CHARM_GENERATOR_ALIGN`): a header and the state buffers, for this model's
/// H, V and element type. 0 if `model` is null, misaligned or not
/// initialized (`charm_generator_init()` then says which).
///
/// # Safety
///
/// `model` is null or points to a readable `charm_model`.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_size(model: *const CharmModel) -> usize {
    // SAFETY: as the caller's contract says.
    match unsafe { decoded(model) } {
        Ok(m) => bytes_for_weights(m.weights).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Borrows the state buffers of a generator for `model` (kept as `P`
/// says) from `memory`.
///
/// # Safety
///
/// `memory` is aligned to [`CHARM_GENERATOR_ALIGN`], valid for reads and
/// writes of `bytes_for::<P>(model)` bytes, which nothing else uses while
/// the slices live, and zeroed.
unsafe fn slices_in<P: Placement>(
    model: &P::Model,
    memory: *mut u8,
) -> Slices<'static, <P::Model as Recurrent>::State> {
    let (vocab, n) = (model.vocab(), model.state_len());
    let state = size_of::<<P::Model as Recurrent>::State>();
    // SAFETY: inside the memory by the caller's contract (its size is
    // `bytes_for`: header, view, logits, two states), aligned (the
    // assertions on HEADER_BYTES and the alignments; P::BYTES is a multiple
    // of the alignment), zeroed (valid f32, i16, i8), and the three slices
    // do not overlap each other or the header and view before them.
    unsafe {
        let logits = memory.add(HEADER_BYTES + P::BYTES);
        let h = logits.add(vocab * size_of::<f32>());
        let h_next = h.add(n * state);
        Slices {
            logits: core::slice::from_raw_parts_mut(logits.cast::<f32>(), vocab),
            h: core::slice::from_raw_parts_mut(h.cast(), n),
            h_next: core::slice::from_raw_parts_mut(h_next.cast(), n),
        }
    }
}

/// Sets up a generator for `*model` in `memory[0..memory_length]` and writes
/// its handle (`memory`) to `*generator`. It starts as `charm sample` does:
/// state h_0 = 0, temperature 1, top-k 0 (all characters), seed 1.
///
/// `memory` must be aligned to `CHARM_GENERATOR_ALIGN` and hold
/// `charm_generator_size(model)` bytes (`CHARM_GENERATOR_WORDS_MAX(H, V)`
/// `uint64_t` words are enough for any model of one tanh layer of up to H
/// hidden units and V characters, `CHARM_GENERATOR_LAYERS_WORDS_MAX(H, V, L)`
/// for any model of up to L layers of any cell). The generator keeps what it needs of `*model`, not `*model`
/// itself; the model's file bytes must stay.
///
/// Returns `CHARM_OK`, `CHARM_ERR_NULL_POINTER`, `CHARM_ERR_MISALIGNED`,
/// `CHARM_ERR_MEMORY_TOO_SMALL` or `CHARM_ERR_MODEL_NOT_INITIALIZED`.
///
/// # Safety
///
/// `generator` is null or points to a writable `charm_generator *` (any
/// alignment); `memory` is null or valid for reads and writes of
/// `memory_length` bytes, used by nothing else and not moved while the
/// generator is used; `model` is null or points to a readable `charm_model`;
/// `error` is null or points to a writable `charm_error`.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_init(
    generator: *mut *mut CharmGenerator,
    memory: *mut c_void,
    memory_length: usize,
    model: *const CharmModel,
    error: *mut CharmError,
) -> CharmStatus {
    // SAFETY: as the caller's contract says.
    let result = unsafe { init(generator, memory.cast::<u8>(), memory_length, model) };
    // SAFETY: as the caller's contract says.
    unsafe { finish(error, result) }
}

/// The body of [`charm_generator_init`].
///
/// # Safety
///
/// As [`charm_generator_init`].
unsafe fn init(
    generator: *mut *mut CharmGenerator,
    memory: *mut u8,
    memory_length: usize,
    model: *const CharmModel,
) -> Result<(), Failure> {
    if generator.is_null() {
        return Err(Failure::NullPointer);
    }
    // SAFETY: as the caller's contract says.
    let model = unsafe { decoded(model) }?;
    if memory.is_null() {
        return Err(Failure::NullPointer);
    }
    let address = memory as usize;
    if !address.is_multiple_of(CHARM_GENERATOR_ALIGN) {
        return Err(Failure::Misaligned {
            address,
            align: CHARM_GENERATOR_ALIGN,
        });
    }
    let needed = bytes_for_weights(model.weights).ok_or(Failure::Other)?;
    if memory_length < needed {
        return Err(Failure::MemoryTooSmall {
            given: memory_length,
            needed,
        });
    }
    // SAFETY: writable for `memory_length >= needed` bytes by the caller's
    // contract; from here the memory is charm's.
    unsafe { memory.write_bytes(0, needed) };
    // SAFETY: checked aligned, `needed` bytes for this model, zeroed, and
    // the caller's alone by the caller's contract.
    let start = unsafe { Start::new(model.vocab, memory) };
    let any = visit(model.weights, start).ok_or(Failure::Other)??;
    let header = Header {
        tag: GENERATOR_TAG,
        generator: any,
    };
    // SAFETY: aligned (checked; the assertions above), and the header's
    // bytes are the first HEADER_BYTES of the `needed` the caller gave.
    unsafe { memory.cast::<Header>().write(header) };
    // SAFETY: writable by the caller's contract, at any alignment.
    unsafe { generator.write_unaligned(memory.cast::<CharmGenerator>()) };
    Ok(())
}

/// [`Visitor`]: a charm-core generator at `charm sample`'s defaults in
/// `memory`.
struct Start {
    vocab: Vocab<'static>,
    /// Invariant (only [`Start::new`] makes one): aligned to
    /// [`CHARM_GENERATOR_ALIGN`], `bytes_for` the model, zeroed, and the
    /// caller's alone while the generator is used.
    memory: *mut u8,
}

impl Start {
    /// # Safety
    ///
    /// `memory` is as [`Start::memory`] says for the model it will visit.
    unsafe fn new(vocab: Vocab<'static>, memory: *mut u8) -> Self {
        Start { vocab, memory }
    }
}

impl Visitor for Start {
    type Out = Result<AnyGenerator, Failure>;
    fn visit<P: Placement>(
        self,
        model: P::Model,
        wrap: fn(Generator<'static, 'static, P::Run>) -> AnyGenerator,
    ) -> Result<AnyGenerator, Failure> {
        // SAFETY: the memory is as `Start::memory` says: aligned, large
        // enough for the view after the header and the buffers after it.
        let slices = unsafe { slices_in::<P>(&model, self.memory) };
        // SAFETY: as above; the view goes at HEADER_BYTES, before the buffers.
        let run = unsafe { P::place(model, self.memory.add(HEADER_BYTES)) };
        let params = SampleParams {
            temperature: 1.0,
            top_k: 0,
        };
        let generator = Generator::new(run, self.vocab, params, 1, slices);
        generator.map(wrap).map_err(Failure::Generate)
    }
}

/// The generator behind a handle, or why there is none.
///
/// # Safety
///
/// `generator` is null, or points to readable memory at least as large as
/// the header: a handle written by `charm_generator_init` (or memory charm
/// never set up, which has no tag), used by no one else while the result
/// lives.
unsafe fn generator_at<'a>(
    generator: *mut CharmGenerator,
) -> Result<&'a mut AnyGenerator, Failure> {
    let header = generator.cast::<Header>();
    check_pointer(header)?;
    // SAFETY: checked; readable by the caller's contract.
    if unsafe { tag_of(header) } != GENERATOR_TAG {
        return Err(Failure::GeneratorNotInitialized);
    }
    // SAFETY: the tag says `charm_generator_init` wrote a header here, and
    // the caller's contract says no one else uses it now.
    Ok(unsafe { &mut (*header).generator })
}

/// Runs `f` on the generator behind the handle and reports as every call does.
///
/// # Safety
///
/// `generator` as [`generator_at`]; `error` null or writable.
unsafe fn with(
    generator: *mut CharmGenerator,
    error: *mut CharmError,
    f: impl FnOnce(&mut AnyGenerator) -> Result<(), Failure>,
) -> CharmStatus {
    // SAFETY: as the caller's contract says.
    let result = unsafe { generator_at(generator) }.and_then(f);
    // SAFETY: as the caller's contract says.
    unsafe { finish(error, result) }
}

/// Sets temperature and top-k together, keeping the old ones on failure.
fn set_params(
    any: &mut AnyGenerator,
    change: impl FnOnce(SampleParams) -> SampleParams,
) -> Result<(), Failure> {
    with_generator!(any, g => g.set_params(change(g.params()))).map_err(Failure::Generate)
}

/// The temperature from the next character on: logits are divided by it
/// before the softmax; 0 is greedy (always the most likely character).
/// The state and the random sequence go on.
///
/// Returns `CHARM_OK`, `CHARM_ERR_BAD_TEMPERATURE` (negative, NaN or
/// infinite: the old temperature stays), or a handle's code.
///
/// # Safety
///
/// `generator` is null or a handle from `charm_generator_init()` whose
/// memory no other call uses meanwhile (a generator is used from one thread
/// or interrupt at a time); `error` is null or points to a writable
/// `charm_error`. The same holds for every `charm_generator_*` call.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_set_temperature(
    generator: *mut CharmGenerator,
    temperature: f32,
    error: *mut CharmError,
) -> CharmStatus {
    // SAFETY: as the caller's contract says.
    unsafe {
        with(generator, error, |g| {
            set_params(g, |p| SampleParams { temperature, ..p })
        })
    }
}

/// Draw only among the `top_k` most likely characters from the next
/// character on (ties to the lower index); 0 keeps all.
///
/// # Safety
///
/// As `charm_generator_set_temperature()`.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_set_top_k(
    generator: *mut CharmGenerator,
    top_k: u32,
    error: *mut CharmError,
) -> CharmStatus {
    let top_k = usize::try_from(top_k).unwrap_or(usize::MAX);
    // SAFETY: as the caller's contract says.
    unsafe {
        with(generator, error, |g| {
            set_params(g, |p| SampleParams { top_k, ..p })
        })
    }
}

/// Restarts the random sequence from `seed`, as `charm sample --seed` starts
/// it. The state is kept: call `charm_generator_reset()` too to draw what a
/// new generator with this seed draws.
///
/// # Safety
///
/// As `charm_generator_set_temperature()`.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_set_seed(
    generator: *mut CharmGenerator,
    seed: u64,
    error: *mut CharmError,
) -> CharmStatus {
    // SAFETY: as the caller's contract says.
    unsafe {
        with(generator, error, |g| {
            with_generator!(g, g => g.set_seed(seed));
            Ok(())
        })
    }
}

/// Feeds `text[0..length]` (UTF-8, not NUL-terminated) through the model,
/// as `charm sample --prime` does; nothing is drawn or printed.
///
/// Returns `CHARM_OK`, `CHARM_ERR_PRIME_NOT_UTF8`,
/// `CHARM_ERR_UNKNOWN_CHARACTER` (a character outside the model's
/// vocabulary: then nothing was fed), or a handle's code.
///
/// # Safety
///
/// As `charm_generator_set_temperature()`; `text` is null (with `length`
/// 0: nothing to feed) or valid for reads of `length` bytes.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_prime(
    generator: *mut CharmGenerator,
    text: *const c_char,
    length: usize,
    error: *mut CharmError,
) -> CharmStatus {
    let feed = |g: &mut AnyGenerator| {
        let bytes: &[u8] = match (text.is_null(), length) {
            (true, 0) => &[],
            (true, _) => return Err(Failure::NullPointer),
            // SAFETY: readable for `length` bytes by the caller's contract.
            (false, _) => unsafe { core::slice::from_raw_parts(text.cast::<u8>(), length) },
        };
        let text = core::str::from_utf8(bytes).map_err(|e| Failure::PrimeNotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        with_generator!(g, g => g.prime(text)).map_err(Failure::Generate)
    };
    // SAFETY: as the caller's contract says.
    unsafe { with(generator, error, feed) }
}

/// Draws the next character and feeds it back: writes its UTF-8 bytes (1 to
/// 4) to `utf8` and their number to `*length`, and a NUL after them if
/// `capacity` has room for it.
///
/// Returns `CHARM_OK`, `CHARM_ERR_BUFFER_TOO_SMALL` (`capacity` below
/// `CHARM_UTF8_MAX`: nothing was drawn), `CHARM_ERR_NULL_POINTER`, or a
/// handle's code.
///
/// # Safety
///
/// As `charm_generator_set_temperature()`; `utf8` is null or valid for
/// writes of `capacity` bytes; `length` is null or points to a writable
/// `size_t` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn charm_generator_next(
    generator: *mut CharmGenerator,
    utf8: *mut u8,
    capacity: usize,
    length: *mut usize,
    error: *mut CharmError,
) -> CharmStatus {
    let draw = |g: &mut AnyGenerator| {
        if utf8.is_null() || length.is_null() {
            return Err(Failure::NullPointer);
        }
        if capacity < CHARM_UTF8_MAX {
            return Err(Failure::BufferTooSmall {
                given: capacity,
                needed: CHARM_UTF8_MAX,
            });
        }
        // SAFETY: writable for `capacity` bytes by the caller's contract.
        let out = unsafe { core::slice::from_raw_parts_mut(utf8, capacity) };
        let c = with_generator!(g, g => g.next_char());
        let mut bytes = [0u8; CHARM_UTF8_MAX];
        let n = c.encode_utf8(&mut bytes).len();
        // With the NUL if there is room: `capacity >= CHARM_UTF8_MAX >= n`.
        for (to, &from) in out
            .iter_mut()
            .zip(bytes.get(..n).unwrap_or_default().iter().chain([&0]))
        {
            *to = from;
        }
        // SAFETY: writable by the caller's contract, at any alignment.
        unsafe { length.write_unaligned(n) };
        Ok(())
    };
    // SAFETY: as the caller's contract says.
    unsafe { with(generator, error, draw) }
}

/// Back to the state h_0 = 0 that a new generator starts from (logits b_y).
/// Temperature, top-k and the random sequence go on
/// (`charm_generator_set_seed()` restarts it).
///
/// # Safety
///
/// As `charm_generator_set_temperature()`.
#[no_mangle]
pub unsafe extern "C" fn charm_generator_reset(
    generator: *mut CharmGenerator,
    error: *mut CharmError,
) -> CharmStatus {
    // SAFETY: as the caller's contract says.
    unsafe {
        with(generator, error, |g| {
            with_generator!(g, g => g.reset());
            Ok(())
        })
    }
}
