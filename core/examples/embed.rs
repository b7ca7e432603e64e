//! charm-core inside your own firmware: a model linked into flash with
//! `include_bytes!`, text generated into any [`core::fmt::Write`], and the
//! RAM it takes.
//!
//! ```text
//! # on the desktop (the model: a PyTorch nn.RNN imported with `charm import`)
//! cargo run -p charm-core --example embed
//! # on a Cortex-M4F (QEMU's mps2-an386; on a board, its own memory.x)
//! cargo rustc -p charm-core --example embed --release --target thumbv7em-none-eabihf -- \
//!     -C link-arg=-Tlink.x -L native=core/examples/embed
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
//!     -semihosting-config enable=on,target=native \
//!     -kernel target/thumbv7em-none-eabihf/release/examples/embed
//! ```
//!
//! Both print what `charm sample --model core/examples/embed/tiny.charm
//! --len 120 --seed 7 --temperature 0.8 --prime "the c"` prints (a QEMU test
//! checks it byte for byte).
//!
//! What it needs:
//! - flash: the `.charm` file as it is (4,588 bytes here), 16-byte aligned
//!   so that the tensors are read in place ([`charm_core::decode`] refuses a
//!   misaligned buffer rather than copy it);
//! - RAM: one [`Buffers`] sized for the largest model the firmware takes,
//!   `(2·H + V) · 4` bytes for f32 (hidden state, next state, logits) —
//!   [`STATE_BYTES`] = 256 bytes for H ≤ 16, V ≤ 32 — plus the stack of
//!   the step (no heap, nothing else);
//! - nothing from the application but a `core::fmt::Write` to print into:
//!   a UART driver, a display's text buffer, a `heapless::String`, or
//!   semihosting as here.
#![cfg_attr(target_os = "none", no_std, no_main)]

use charm_core::{decode, Buffers, FormatError, GenerateError, Generator, SampleParams};
use core::fmt::Write;

/// `T` placed at a 16-byte boundary: `include_bytes!` alone gives a `[u8]`
/// that may start anywhere.
#[repr(C, align(16))]
pub struct Aligned<T: ?Sized>(pub T);

/// The model, in flash.
pub static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("embed/tiny.charm"));

/// The largest hidden size this firmware takes.
pub const MAX_HIDDEN: usize = 16;
/// The largest vocabulary this firmware takes.
pub const MAX_VOCAB: usize = 32;
/// The state buffers: `2·MAX_HIDDEN + MAX_VOCAB` f32.
pub type State = Buffers<MAX_HIDDEN, MAX_VOCAB>;
/// The RAM they take, in bytes.
pub const STATE_BYTES: usize = core::mem::size_of::<State>();

/// Why no text came out.
#[derive(Debug)]
pub enum EmbedError {
    /// The linked bytes are not a usable model.
    Model(FormatError),
    /// The model does not fit [`State`], or the prime text is not in its vocabulary.
    Generate(GenerateError),
    /// The writer refused.
    Write(core::fmt::Error),
}

/// Decodes `model` in place, feeds `prime` and writes it and `len`
/// generated characters to `out`, then a newline — what `charm sample`
/// prints for the same flags.
pub fn generate(
    model: &[u8],
    state: &mut State,
    prime: &str,
    len: usize,
    params: SampleParams,
    seed: u64,
    out: &mut impl Write,
) -> Result<(), EmbedError> {
    let file = decode(model).map_err(EmbedError::Model)?;
    let slices = state
        .slices_for(&file.model)
        .map_err(EmbedError::Generate)?;
    let mut g = Generator::new(file.model, file.vocab, params, seed, slices)
        .map_err(EmbedError::Generate)?;
    g.prime(prime).map_err(EmbedError::Generate)?;
    out.write_str(prime).map_err(EmbedError::Write)?;
    for _ in 0..len {
        out.write_char(g.next_char()).map_err(EmbedError::Write)?;
    }
    out.write_char('\n').map_err(EmbedError::Write)
}

/// The flags of the example: `--len 120 --seed 7 --temperature 0.8 --prime "the c"`.
pub const PRIME: &str = "the c";
/// Characters to generate.
pub const LEN: usize = 120;
/// Seed of the sampler.
pub const SEED: u64 = 7;
/// Sampling temperature.
pub const PARAMS: SampleParams = SampleParams {
    temperature: 0.8,
    top_k: 0,
};

#[cfg(not(target_os = "none"))]
fn main() {
    let mut state = State::new();
    let mut text = String::new();
    match generate(&MODEL.0, &mut state, PRIME, LEN, PARAMS, SEED, &mut text) {
        Ok(()) => print!("{text}"),
        Err(e) => {
            eprintln!("error: {e:?}");
            std::process::exit(1);
        }
    }
    eprintln!(
        "state RAM: {STATE_BYTES} bytes; model in flash: {} bytes",
        MODEL.0.len()
    );
}

#[cfg(target_os = "none")]
mod device {
    use super::*;
    use cortex_m_semihosting::{debug, hio};

    #[cortex_m_rt::entry]
    fn main() -> ! {
        // On the stack here; a firmware that runs other tasks keeps it in a static.
        let mut state = State::new();
        let status = match hio::hstdout() {
            Ok(mut out) => {
                match generate(&MODEL.0, &mut state, PRIME, LEN, PARAMS, SEED, &mut out) {
                    Ok(()) => debug::EXIT_SUCCESS,
                    Err(_) => debug::EXIT_FAILURE,
                }
            }
            Err(()) => debug::EXIT_FAILURE,
        };
        debug::exit(status);
        loop {
            cortex_m::asm::wfi();
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    }
}
