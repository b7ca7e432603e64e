//! Why the firmware stops without generating: one line for the UART, one
//! exit status.

use crate::{exit, flash};
use charm_core::{FormatError, GenerateError};
use charm_params::ParamsError;

/// Everything that can stop the firmware before or while it generates.
#[derive(Debug, Clone, Copy)]
pub enum Error {
    /// The WEIGHTS region is erased (all 0xFF) or was never written (all 0).
    BlankWeights,
    /// The WEIGHTS region holds something that is not a usable model.
    Weights(FormatError),
    /// The PARAMS region holds something that is not a usable record.
    Params(ParamsError),
    /// The parameters do not fit the model.
    Generate(GenerateError),
}

impl Error {
    /// The exit status reported over semihosting.
    pub fn status(&self) -> u32 {
        match self {
            Error::BlankWeights | Error::Weights(_) => exit::BAD_WEIGHTS,
            Error::Params(_) => exit::BAD_PARAMS,
            Error::Generate(_) => exit::CANNOT_GENERATE,
        }
    }
}

/// The message, without the `error: ` prefix and the newline.
impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::BlankWeights => write!(
                f,
                "no weights in flash (blank): write a .charm file to {:#010x}",
                flash::weights_address()
            ),
            Error::Weights(e) => match flash::linked_model() {
                Some(path) => write!(f, "the weights linked in from {path} cannot be used: {e}"),
                None => write!(
                    f,
                    "the weights in flash at {:#010x} cannot be used: {e}",
                    flash::weights_address()
                ),
            },
            Error::Params(e) => write!(
                f,
                "the sampling parameters record in flash at {:#010x} cannot be used: {e}",
                flash::params_address()
            ),
            Error::Generate(e) => write!(f, "cannot generate: {e}"),
        }
    }
}
