//! Why the firmware stops without generating: one line for the UART, one
//! exit status.

use crate::{exit, flash};
use charm_core::{Explain, FormatError, GenerateError, SentenceOut};
use charm_params::ParamsError;

/// Everything that can stop the firmware before or while it generates.
#[derive(Debug, Clone, Copy)]
pub enum Error {
    /// The WEIGHTS region is erased (all 0xFF) or was never written (all 0).
    BlankWeights,
    /// The WEIGHTS region holds something that is not a usable model.
    Weights(FormatError),
    /// The model is int8 tiles, which only the Helium (Cortex-M55) build runs.
    TilesWithoutHelium,
    /// The model's state (every layer's h, and an LSTM's c) is larger than
    /// this build's state buffers.
    #[cfg(feature = "cells")]
    StateTooLarge {
        /// Values of state the model carries.
        values: usize,
        /// Values a state buffer holds.
        capacity: usize,
    },
    /// The PARAMS region holds something that is not a usable record.
    Params(ParamsError),
    /// The parameters do not fit the model.
    Generate(GenerateError),
}

impl Error {
    /// The exit status reported over semihosting.
    pub fn status(&self) -> u32 {
        match self {
            Error::BlankWeights | Error::Weights(_) | Error::TilesWithoutHelium => {
                exit::BAD_WEIGHTS
            }
            #[cfg(feature = "cells")]
            Error::StateTooLarge { .. } => exit::CANNOT_GENERATE,
            Error::Params(_) => exit::BAD_PARAMS,
            Error::Generate(_) => exit::CANNOT_GENERATE,
        }
    }
}

/// The message, without the `error: ` prefix and the newline: the
/// region's address as `{:#010x}` would print it, then charm-core's or
/// charm-params' clause, which the host prints too.
impl Explain for Error {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match self {
            Error::BlankWeights => out.fill(
                "no weights in flash (blank): write a .charm file to 0x{x}",
                &[flash::weights_address()],
            ),
            Error::Weights(e) => {
                match flash::linked_model() {
                    Some(path) => {
                        out.text("the weights linked in from ");
                        out.text(path);
                    }
                    None => out.fill("the weights in flash at 0x{x}", &[flash::weights_address()]),
                }
                out.text(" cannot be used: ");
                e.explain(out);
            }
            Error::TilesWithoutHelium => out.text(
                "the weights are int8 tiles, which only the Cortex-M55 (Helium) firmware runs: \
                 quantize the f32 model with `charm quantize --layout pairs` for this core",
            ),
            #[cfg(feature = "cells")]
            Error::StateTooLarge { values, capacity } => out.fill(
                "cannot generate: the model carries {} state values (layers x H, twice for an \
                 LSTM) and this board's state buffers hold {}: train fewer layers or a smaller --hidden",
                &[*values, *capacity],
            ),
            Error::Params(e) => {
                out.fill(
                    "the sampling parameters record in flash at 0x{x} cannot be used: ",
                    &[flash::params_address()],
                );
                e.explain(out);
            }
            Error::Generate(e) => {
                out.text("cannot generate: ");
                e.explain(out);
            }
        }
    }
}
