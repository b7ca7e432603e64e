//! charm-firmware: samples text from a character RNN on a microcontroller.
//!
//! At boot it reads the sampling parameters from the PARAMS flash region and
//! the `.charm` model from the WEIGHTS region, both in place
//! ([`flash`]), validates them, and prints to the UART exactly what
//! `charm sample --model M --len N --temperature T --seed S [--prime P]`
//! prints on a host: the prime text, the N generated characters as UTF-8, one
//! newline. Then it exits with status 0 through semihosting ([`exit`]).
//!
//! f32 and int8 models both run, on every core: f32 on the FPU where there is
//! one and in software elsewhere; int8 with the DSP instructions SXTB16 and
//! SMLAD where the core has them (charm-core feature `dsp`) and with portable
//! integer code elsewhere. Both give the same bits. The Cortex-M55 build
//! (feature `helium`) also runs int8 tiles (`charm quantize --layout tiles`),
//! at one Helium VMLADAVA.S8 per 16 multiply-accumulates; the other builds
//! refuse them with one sentence. Fixed int8 models (`charm quantize
//! --layout fixed`: the row pairs with an integer step and sampler) run on
//! every build with feature `fixed`, which every board but the Cortex-M4F
//! ones (16 KiB of text) turns on; the others refuse their element type.
//!
//! With feature `cells` it runs models of GRU and LSTM cells and of several
//! layers (format version 5): f32, int8 row pairs, and on the Cortex-M55
//! int8 tiles, each in the state buffers of its element type.
//!
//! On bad input it prints one line `error: ...` and exits non-zero. RAM holds
//! only the state buffers ([`StateRam`]) and the stack; the weights stay in flash.
//!
//! The board layer ([`boards`]: memory map, console UART) and the processor
//! family ([`cpu`]: runtime, semihosting) are the only parts that differ
//! between builds.
#![no_std]
#![no_main]
#![deny(missing_docs)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::missing_safety_doc,
    clippy::undocumented_unsafe_blocks
)]

#[cfg(feature = "bench")]
mod bench;
mod boards;
mod console;
mod cpu;
mod error;
mod exit;
mod flash;
mod mmio;
mod uart;

use boards::{Console, BOARD};
use charm_core::{
    decode_any, AnyCharmFile, Explain, FormatError, Generator, Recurrent, SampleParams,
    SentenceOut, Slices, Vocab, Weights,
};
use charm_params::Params;
use error::Error;

// The int8 path follows the core: the DSP one exactly where the core has it.
const _: () = assert!(
    BOARD.core.int8_dsp == cfg!(feature = "dsp"),
    "feature dsp must be on exactly for cores with the DSP extension"
);
const _: () = assert!(
    BOARD.core.int8_helium == cfg!(feature = "helium"),
    "feature helium must be on exactly for cores with Helium (MVE)"
);

/// Largest hidden size this build runs (state buffers are sized for it).
pub const MAX_HIDDEN: usize = BOARD.max_hidden as usize;
/// Largest vocabulary this build runs.
pub const MAX_VOCAB: usize = BOARD.max_vocab as usize;
/// Most state values each state buffer holds: with feature `cells` the
/// board's [`charm_boards::Board::max_state`] (every layer's h, and an
/// LSTM's c, of any model within its max H and 4 layers on every board but
/// the micro:bit), else one layer's h of [`MAX_HIDDEN`].
pub const MAX_STATE: usize = if cfg!(feature = "cells") {
    BOARD.max_state as usize
} else {
    MAX_HIDDEN
};

/// The state buffers, for each kind of model: logits (f32), and the state
/// and next state as f32 (f32 models), Q15 (int8 row pairs; an int8 LSTM's
/// c as f32 bits in two Q15 slots) or, on the Cortex-M55, int8 (int8 tiles:
/// 2·MAX_STATE bytes more). `MAX_VOCAB·4 + 2·MAX_STATE·4 + 2·MAX_STATE·2`
/// bytes of RAM ([`charm_boards::Board::state_buffer_bytes`]: 10 KiB for H
/// 512, V 1024; with feature `cells`
/// [`charm_boards::Board::cells_state_buffer_bytes`]: 76 KiB for 6,144
/// values). It lives in `.bss` ([`STATE`]).
pub struct StateRam {
    logits: [f32; MAX_VOCAB],
    h_f32: [[f32; MAX_STATE]; 2],
    h_q15: [[i16; MAX_STATE]; 2],
    #[cfg(feature = "helium")]
    h_i8: [[i8; MAX_STATE]; 2],
}

impl StateRam {
    const fn new() -> Self {
        Self {
            logits: [0.0; MAX_VOCAB],
            h_f32: [[0.0; MAX_STATE]; 2],
            h_q15: [[0; MAX_STATE]; 2],
            #[cfg(feature = "helium")]
            h_i8: [[0; MAX_STATE]; 2],
        }
    }
}

/// Borrows `n`-element state buffers and `vocab` logits, or says the model
/// does not fit (checked before, by `check_capacity`).
fn slices<'s, S>(
    h: &'s mut [[S; MAX_STATE]; 2],
    logits: &'s mut [f32; MAX_VOCAB],
    n: usize,
    vocab: usize,
) -> Option<Slices<'s, S>> {
    let [h, h_next] = h;
    Some(Slices {
        h: h.get_mut(..n)?,
        h_next: h_next.get_mut(..n)?,
        logits: logits.get_mut(..vocab)?,
    })
}

/// The state buffers, in `.bss`; [`main`] takes the only reference.
static mut STATE: StateRam = StateRam::new();

/// Validates, generates, prints, exits.
#[cpu::entry]
fn main() -> ! {
    // SAFETY: `main` runs once, and nothing else names STATE, so this is the
    // only reference to it.
    let state = unsafe { &mut *core::ptr::addr_of_mut!(STATE) };
    #[cfg(feature = "bench")]
    bench::paint_stack();
    let mut uart = boards::console();
    let status = match run(&mut uart, state) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            uart.text("error: ");
            e.explain(&mut uart);
            uart.text("\n");
            e.status()
        }
    };
    uart.flush();
    if uart.stalled() && status == exit::SUCCESS {
        exit::exit(exit::CONSOLE_STALLED)
    }
    exit::exit(status)
}

/// The WEIGHTS region as a model that fits this build, or why not.
fn load_weights() -> Result<AnyCharmFile<'static>, Error> {
    let bytes = flash::weights();
    let blank = |v: u8| bytes.iter().take(charm_core::PREAMBLE_LEN).all(|&b| b == v);
    if blank(0xFF) || blank(0x00) {
        return Err(Error::BlankWeights);
    }
    let file = decode_any(bytes).map_err(|e| match e {
        // charm-core leaves int8 tiles out of builds without Helium (feature tiles)
        FormatError::UnsupportedElement(charm_core::ELEMENT_INT8_TILES) => {
            Error::TilesWithoutHelium
        }
        // A model of other cells or depths (version 5) in a build without
        // feature cells is "version 5, this build reads up to version 4":
        // docs/boards.md says to build with --features cells. (A sentence of
        // its own would cost the M4F's 16 KiB budget about 110 bytes.)
        e => Error::Weights(e),
    })?;
    file.check_capacity(MAX_HIDDEN, MAX_VOCAB)
        .map_err(Error::Weights)?;
    Ok(file)
}

/// The PARAMS region's record, or the defaults if it is blank.
fn load_params() -> Result<Params<'static>, Error> {
    Ok(charm_params::parse(flash::params())
        .map_err(Error::Params)?
        .unwrap_or_default())
}

/// Validates, then generates with the model's element type.
fn run(uart: &mut Console, state: &mut StateRam) -> Result<(), Error> {
    let file = load_weights()?;
    let params = load_params()?;
    let (hidden, vocab) = (file.weights.hidden(), file.weights.vocab());
    let capacity = Error::Generate(charm_core::GenerateError::Capacity {
        hidden,
        vocab,
        max_hidden: MAX_HIDDEN,
        max_vocab: MAX_VOCAB,
    });
    // a model of other cells and depths whose state is over the buffers
    #[cfg(feature = "cells")]
    let too_large = |values| Error::StateTooLarge {
        values,
        capacity: MAX_STATE,
    };
    match file.weights {
        Weights::F32(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_f32, &mut state.logits, n, vocab).ok_or(capacity)?;
            generate(uart, model, file.vocab, &params, s)
        }
        Weights::Int8(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_q15, &mut state.logits, n, vocab).ok_or(capacity)?;
            generate(uart, model, file.vocab, &params, s)
        }
        #[cfg(feature = "fixed")]
        Weights::Int8Fixed(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_q15, &mut state.logits, n, vocab).ok_or(capacity)?;
            generate(uart, model, file.vocab, &params, s)
        }
        // decoded only with charm-core's feature fixed
        #[cfg(not(feature = "fixed"))]
        Weights::Int8Fixed(_) => Err(Error::Weights(FormatError::UnsupportedElement(
            charm_core::ELEMENT_INT8_FIXED,
        ))),
        #[cfg(feature = "helium")]
        Weights::Int8Tiles(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_i8, &mut state.logits, n, vocab).ok_or(capacity)?;
            generate(uart, model, file.vocab, &params, s)
        }
        // decoded only with charm-core's feature tiles, which helium turns on
        #[cfg(not(feature = "helium"))]
        Weights::Int8Tiles(_) => Err(Error::TilesWithoutHelium),
        // state: every layer's h (and an LSTM's c), in the f32 state buffers
        #[cfg(feature = "cells")]
        Weights::Stacked(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_f32, &mut state.logits, n, vocab).ok_or(too_large(n))?;
            generate(uart, model, file.vocab, &params, s)
        }
        // int8 layers: every layer's Q15 h (and an LSTM's c, as f32 bits in
        // two Q15 slots a unit), in the Q15 state buffers
        #[cfg(feature = "cells")]
        Weights::StackedInt8(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_q15, &mut state.logits, n, vocab).ok_or(too_large(n))?;
            generate(uart, model, file.vocab, &params, s)
        }
        // int8 tile layers: every layer's int8 h (and an LSTM's c, four
        // int8 slots a unit), in the int8 state buffers of the Cortex-M55
        #[cfg(all(feature = "cells", feature = "helium"))]
        Weights::StackedTiles(model) => {
            let n = model.state_len();
            let s = slices(&mut state.h_i8, &mut state.logits, n, vocab).ok_or(too_large(n))?;
            generate(uart, model, file.vocab, &params, s)
        }
        #[cfg(all(feature = "cells", not(feature = "helium")))]
        Weights::StackedTiles(_) => Err(Error::TilesWithoutHelium),
    }
}

/// Primes, generates and prints.
fn generate<'m, M: Recurrent>(
    uart: &mut Console,
    model: M,
    vocab: Vocab<'m>,
    params: &Params<'_>,
    slices: Slices<'_, M::State>,
) -> Result<(), Error> {
    let sample = SampleParams {
        temperature: params.temperature,
        top_k: usize::try_from(params.top_k).unwrap_or(usize::MAX),
    };
    let mut generator =
        Generator::new(model, vocab, sample, params.seed, slices).map_err(Error::Generate)?;
    #[cfg(feature = "bench")]
    bench::start();
    #[cfg(feature = "bench")]
    let t0 = bench::ticks();
    generator.prime(params.prime).map_err(Error::Generate)?;
    uart.write_bytes(params.prime.as_bytes());
    let mut utf8 = [0u8; 4];
    for _ in 0..params.len {
        let c = generator.next_char();
        uart.write_bytes(c.encode_utf8(&mut utf8).as_bytes());
    }
    uart.write_byte(b'\n');
    #[cfg(feature = "bench")]
    bench::report(params.len, bench::ticks() - t0);
    Ok(())
}

/// A bug, not bad input: say where on the UART and exit with [`exit::PANIC`].
///
/// Reads the location, never the message, and is inlined into core's
/// `panic_fmt` (`#[inline(always)]`; the lint says it is ignored because the
/// handler is an exported symbol, which it is for inlining into other crates,
/// not for LLVM's inliner under LTO): the message argument is then unused
/// there, and with it the formatting that core's bounds-check panics pass
/// (`usize`'s `Display`, its digit table, `pad_integral`: about 900 bytes of
/// flash on the M4F).
#[panic_handler]
#[allow(unused_attributes)]
#[inline(always)]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut uart = boards::console();
    uart.text("error: firmware bug: panic");
    if let Some(at) = info.location() {
        uart.text(" at ");
        uart.text(at.file());
        uart.fill(":{}", &[at.line() as usize]);
    }
    uart.text("\n");
    uart.flush();
    exit::exit(exit::PANIC)
}
