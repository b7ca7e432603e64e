//! The boards the charm firmware runs on, in one table.
//!
//! Each board has a folder beside this crate's `src/` holding its linker
//! memory map (`NAME/memory.x`); this table gives what the rest of charm
//! needs to know of it: how large a `.charm` file its WEIGHTS region holds,
//! how large a parameters record its PARAMS region holds, and the largest
//! model (H, V) the firmware built for it runs. The firmware sizes its state
//! buffers from [`Board::max_hidden`] and [`Board::max_vocab`]; `charm info`
//! uses the same numbers to say, before anyone flashes, which boards a model
//! fits. A test checks the regions against each `memory.x`.
//!
//! ```
//! let b = charm_boards::board("mps2-an386").unwrap();
//! assert!(b.fits(384, 65, 800_000).is_ok());
//! ```
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// One board the firmware is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// The name of its cargo feature (`board-NAME`) and of its folder.
    pub name: &'static str,
    /// What it is, in a few words.
    pub summary: &'static str,
    /// Bytes of the WEIGHTS region: the largest `.charm` file it holds.
    pub weights_bytes: u32,
    /// Bytes of the PARAMS region: the largest parameters record it holds.
    pub params_bytes: u32,
    /// Bytes of RAM.
    pub ram_bytes: u32,
    /// Largest hidden size H the firmware for it runs.
    pub max_hidden: u32,
    /// Largest vocabulary V the firmware for it runs.
    pub max_vocab: u32,
}

/// Why a model does not fit a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misfit {
    /// H is larger than the firmware's state buffers.
    Hidden {
        /// The model's H.
        hidden: u32,
        /// The board's largest.
        max: u32,
    },
    /// V is larger than the firmware's logits buffer.
    Vocab {
        /// The model's V.
        vocab: u32,
        /// The board's largest.
        max: u32,
    },
    /// The file is larger than the WEIGHTS region.
    Flash {
        /// The file's size in bytes.
        bytes: u64,
        /// The region's size.
        region: u32,
    },
}

impl core::fmt::Display for Misfit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Misfit::Hidden { hidden, max } => write!(f, "H {hidden} > {max}"),
            Misfit::Vocab { vocab, max } => write!(f, "V {vocab} > {max}"),
            Misfit::Flash { bytes, region } => {
                write!(f, "{bytes} bytes > the {region}-byte weights region")
            }
        }
    }
}

impl Board {
    /// Whether a model with `hidden` units, `vocab` characters and a
    /// `file_bytes`-byte `.charm` file runs on this board.
    pub fn fits(&self, hidden: u32, vocab: u32, file_bytes: u64) -> Result<(), Misfit> {
        if hidden > self.max_hidden {
            return Err(Misfit::Hidden {
                hidden,
                max: self.max_hidden,
            });
        }
        if vocab > self.max_vocab {
            return Err(Misfit::Vocab {
                vocab,
                max: self.max_vocab,
            });
        }
        if file_bytes > u64::from(self.weights_bytes) {
            return Err(Misfit::Flash {
                bytes: file_bytes,
                region: self.weights_bytes,
            });
        }
        Ok(())
    }

    /// RAM of the firmware's state buffers for this board: logits (f32,
    /// V), and the hidden state and the next one both as f32 and as Q15 (one
    /// pair serves f32 models, the other int8 models), all at capacity.
    pub const fn state_buffer_bytes(&self) -> u32 {
        self.max_vocab * 4 + 2 * self.max_hidden * 4 + 2 * self.max_hidden * 2
    }
}

/// RAM a model's state takes while it generates (what a firmware that sizes
/// its buffers to one model needs): h and h_next, padded to a multiple of 8
/// (`4` bytes an entry for f32 models, `2` for int8 models' Q15 state), and
/// V f32 logits.
pub const fn state_bytes(hidden: u32, vocab: u32, state_entry_bytes: u32) -> u32 {
    let padded = hidden.div_ceil(8) * 8;
    2 * padded * state_entry_bytes + 4 * vocab
}

/// QEMU's ARM MPS2 board with the AN386 image: a Cortex-M4F (the tests run on it).
pub const MPS2_AN386: Board = Board {
    name: "mps2-an386",
    summary: "QEMU mps2-an386 (Cortex-M4F)",
    weights_bytes: 3 * 1024 * 1024,
    params_bytes: 4 * 1024,
    ram_bytes: 4 * 1024 * 1024,
    max_hidden: 512,
    max_vocab: 1024,
};

/// Nordic nRF52840 (Cortex-M4F, 1 MiB flash, 256 KiB RAM): nRF52840-DK,
/// Feather/ItsyBitsy nRF52840, nice!nano.
pub const NRF52840: Board = Board {
    name: "nrf52840",
    summary: "nRF52840 (Cortex-M4F, 1 MiB flash)",
    weights_bytes: 896 * 1024,
    params_bytes: 4 * 1024,
    ram_bytes: 256 * 1024,
    max_hidden: 512,
    max_vocab: 1024,
};

/// Every board, in the order `charm info` lists them.
pub const BOARDS: &[Board] = &[MPS2_AN386, NRF52840];

/// The board called `name`.
pub fn board(name: &str) -> Option<&'static Board> {
    BOARDS.iter().find(|b| b.name == name)
}
