#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cells_speed;
mod speed;
use cells_speed::*;
pub use cells_speed::{
    Cell, CellsSpeed, StackedCost, StackedShape, StateLayout, CELLS_FIT_ERROR_PERCENT,
    CELLS_INT8_FIT_ERROR_PERCENT,
};
use speed::*;
pub use speed::{CharCost, Element, Speed, FIT_ERROR_PERCENT};

/// A processor core and what its instruction set gives charm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Core {
    /// Its name, e.g. `Cortex-M0`.
    pub name: &'static str,
    /// The Rust target the firmware is built for.
    pub rust_target: &'static str,
    /// The code generation options (`-C OPTION`) the build adds to the
    /// target's defaults, where those would leave out part of the core (the
    /// M33's DSP extension, the M55's Helium) or not schedule for it (M7):
    /// `target-cpu=...` or `target-feature=...`.
    pub codegen: &'static [&'static str],
    /// f32 arithmetic in hardware (an FPU); otherwise in software
    /// (compiler-builtins' IEEE-754 routines), with the same results.
    pub hardware_f32: bool,
    /// The int8 step's dot products on the DSP instructions SXTB16 and SMLAD
    /// (charm-core feature `dsp`); otherwise its portable integer code, with
    /// the same results.
    pub int8_dsp: bool,
    /// The int8 step's dot products on Helium (MVE) VMLADAVA.S16 (charm-core
    /// feature `helium`), before the DSP path; the same results.
    pub int8_helium: bool,
    /// The firmware's default build for this core runs fixed int8 models
    /// (its board features include `fixed`): every core's but the
    /// Cortex-M4F's, whose 16 KiB text budget leaves it out (build it there
    /// with `--features fixed`).
    pub fixed_by_default: bool,
    /// Estimated cycles a character costs on it ([`Speed`]).
    pub speed: Speed,
    /// Estimated cycles a character of a model of other cells and depths
    /// costs on it, in the firmware built with `--features cells`
    /// ([`CellsSpeed`]).
    pub cells_speed: CellsSpeed,
}

/// Arm Cortex-M0 / M0+ (Armv6-M): no FPU, no DSP.
pub const CORTEX_M0: Core = Core {
    name: "Cortex-M0",
    rust_target: "thumbv6m-none-eabi",
    codegen: &[],
    hardware_f32: false,
    int8_dsp: false,
    int8_helium: false,
    fixed_by_default: true,
    speed: SPEED_CORTEX_M0,
    cells_speed: CELLS_CORTEX_M0,
};

/// Arm Cortex-M0+ (Armv6-M, as Cortex-M0 for charm): no FPU, no DSP.
pub const CORTEX_M0_PLUS: Core = Core {
    name: "Cortex-M0+",
    speed: SPEED_CORTEX_M0_PLUS,
    cells_speed: CELLS_CORTEX_M0_PLUS,
    ..CORTEX_M0
};

/// Arm Cortex-M3 (Armv7-M): no FPU, no DSP.
pub const CORTEX_M3: Core = Core {
    name: "Cortex-M3",
    rust_target: "thumbv7m-none-eabi",
    codegen: &[],
    hardware_f32: false,
    int8_dsp: false,
    int8_helium: false,
    fixed_by_default: true,
    speed: SPEED_CORTEX_M3,
    cells_speed: CELLS_CORTEX_M3,
};

/// Arm Cortex-M4F (Armv7E-M): single-precision FPU and DSP.
pub const CORTEX_M4F: Core = Core {
    name: "Cortex-M4F",
    rust_target: "thumbv7em-none-eabihf",
    codegen: &[],
    hardware_f32: true,
    int8_dsp: true,
    int8_helium: false,
    fixed_by_default: false,
    speed: SPEED_CORTEX_M4F,
    cells_speed: CELLS_CORTEX_M4F,
};

/// Arm Cortex-M7 (Armv7E-M): FPU and DSP.
pub const CORTEX_M7: Core = Core {
    name: "Cortex-M7",
    rust_target: "thumbv7em-none-eabihf",
    codegen: &["target-cpu=cortex-m7"],
    hardware_f32: true,
    int8_dsp: true,
    int8_helium: false,
    fixed_by_default: true,
    speed: SPEED_CORTEX_M7,
    cells_speed: CELLS_CORTEX_M7,
};

/// Arm Cortex-M33 (Armv8-M mainline) with its FPU and DSP extension (both
/// optional in the architecture; QEMU's, the nRF5340's, the RP2350's and
/// the STM32U5's have them).
pub const CORTEX_M33: Core = Core {
    name: "Cortex-M33",
    rust_target: "thumbv8m.main-none-eabihf",
    // The DSP extension is optional in Armv8-M, so the target leaves it out;
    // rustc has it as a stable option only through the CPU. (LLVM's tuning
    // for the M33 makes a character of the f32 H 128 model 120,006
    // instructions; with the target's default tuning and the unstable
    // `-C target-feature=+dsp` it would be 95,124.)
    codegen: &["target-cpu=cortex-m33"],
    hardware_f32: true,
    int8_dsp: true,
    int8_helium: false,
    fixed_by_default: true,
    speed: SPEED_CORTEX_M33,
    cells_speed: CELLS_CORTEX_M33,
};

/// Arm Cortex-M55 (Armv8.1-M mainline): FPU, DSP and Helium (MVE).
///
/// Built without Helium's floating point (`-mve.fp`; integer MVE stays):
/// its vector f32 instructions flush subnormals to zero, so LLVM's
/// vectorized f32 code would print other characters than the host for a
/// model whose sums or states reach below `f32::MIN_POSITIVE`. rustc warns
/// that `mve.fp` is not a feature it knows; it passes it to LLVM all the same.
pub const CORTEX_M55: Core = Core {
    name: "Cortex-M55",
    rust_target: "thumbv8m.main-none-eabihf",
    codegen: &["target-cpu=cortex-m55", "target-feature=-mve.fp"],
    hardware_f32: true,
    int8_dsp: true,
    int8_helium: true,
    fixed_by_default: true,
    speed: SPEED_CORTEX_M55,
    cells_speed: CELLS_CORTEX_M55,
};

/// RISC-V RV32IMAC: no FPU.
pub const RV32IMAC: Core = Core {
    name: "RV32IMAC",
    rust_target: "riscv32imac-unknown-none-elf",
    codegen: &[],
    hardware_f32: false,
    int8_dsp: false,
    int8_helium: false,
    fixed_by_default: true,
    speed: SPEED_RV32IMAC,
    cells_speed: CELLS_RV32IMAC,
};

/// RISC-V RV32IMC (the ESP32-C3): RV32IMAC without the atomic instructions
/// (no `A` extension), no FPU. The firmware uses no atomic instruction, so
/// its code is the RV32IMAC build's.
pub const RV32IMC: Core = Core {
    name: "RV32IMC",
    rust_target: "riscv32imc-unknown-none-elf",
    speed: SPEED_RV32IMC,
    cells_speed: CELLS_RV32IMC,
    ..RV32IMAC
};

/// How QEMU runs a board's firmware: the program and its machine options
/// (the rest — `-nographic`, semihosting, `-kernel`, the loaders — is the
/// same for every board).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qemu {
    /// `qemu-system-arm` or `qemu-system-riscv32`.
    pub program: &'static str,
    /// Machine options, e.g. `-machine mps2-an386 -cpu cortex-m4`.
    pub args: &'static [&'static str],
}

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
    /// Most state values each state buffer of the firmware built with
    /// `--features cells` holds (every layer's h, and an LSTM's c:
    /// [`StackedShape::state_values_as`], f32, Q15 or int8 by the model's
    /// element type): the most any model of H 512 and 4 layers carries in
    /// the forms its core runs ([`MAX_STATE_ROW_PAIRS`], or with Helium's
    /// tiles [`MAX_STATE_ALL`]) on every board with the RAM for it; the
    /// micro:bit's 16 KiB hold its max H. The default build's buffers hold
    /// [`Board::max_hidden`] values.
    pub max_state: u32,
    /// Its processor.
    pub core: Core,
    /// Address of the WEIGHTS region (where a `.charm` file is flashed).
    pub weights_address: u32,
    /// Address of the PARAMS region (where a parameters record is flashed).
    pub params_address: u32,
    /// Address of the RAM.
    pub ram_address: u32,
    /// The QEMU machine that emulates it, if there is one.
    pub qemu: Option<Qemu>,
    /// The core clock in Hz the firmware runs at on this board, at which
    /// `charm info` gives its characters per second; `None` for the QEMU
    /// machines that stand for a core rather than a board one can buy (the
    /// MPS2/MPS3 FPGA images, `virt`).
    pub clock_hz: Option<u32>,
}

/// RAM every board keeps for the stack beyond the state buffers. The
/// firmware's measured peak is under 1.5 KiB on every core (docs/performance.md).
pub const STACK_RESERVE: u32 = 8 * 1024;

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
    /// The state of a model of other cells and depths (layers × H, twice
    /// for an LSTM) is larger than the cells firmware's state buffers.
    State {
        /// Values of state the model carries ([`StackedShape::state_values`]).
        values: u64,
        /// The most the board's buffers hold ([`Board::max_state`]).
        max: u32,
    },
    /// int8 tiles on a core without Helium (the firmware refuses them).
    TilesWithoutHelium,
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
            Misfit::State { values, max } => {
                write!(
                    f,
                    "{values} state values > the {max} the state buffers hold"
                )
            }
            Misfit::TilesWithoutHelium => {
                write!(f, "int8 tiles run only on the Cortex-M55 (Helium)")
            }
            Misfit::Flash { bytes, region } => {
                write!(f, "{bytes} bytes > the {region}-byte weights region")
            }
        }
    }
}

impl Board {
    /// Estimated characters per second a model with `hidden` units and
    /// `vocab` characters writes on this board, as `element`: the board's
    /// clock over the core's [`CharCost`]. `None` for a board without a
    /// clock ([`Board::clock_hz`]).
    pub fn chars_per_second(&self, hidden: u32, vocab: u32, element: Element) -> Option<f64> {
        let cycles = self.core.speed.of(element).cycles(hidden, vocab).max(1);
        self.clock_hz.map(|hz| f64::from(hz) / cycles as f64)
    }

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

    /// Whether a model of other cells and depths of `shape`, whose `.charm`
    /// file is `file_bytes` long, runs on this board's firmware built with
    /// `--features cells`: H and V within the firmware's capacity (as for
    /// one tanh layer), every layer's state — [`StackedShape::state_values`]
    /// f32 values — within [`Board::max_state`], and the file within the
    /// WEIGHTS region.
    pub fn fits_stacked(&self, shape: &StackedShape, file_bytes: u64) -> Result<(), Misfit> {
        self.fits_stacked_as(shape, StateLayout::F32, file_bytes)
    }

    /// [`Board::fits_stacked`] for the model's int8 forms too: its state
    /// counted as `layout` keeps it ([`StackedShape::state_values_as`]),
    /// against the state buffer of that element type ([`Board::max_state`]
    /// values each); int8 tiles only on a core with Helium.
    pub fn fits_stacked_as(
        &self,
        shape: &StackedShape,
        layout: StateLayout,
        file_bytes: u64,
    ) -> Result<(), Misfit> {
        if layout == StateLayout::Int8Tiles && !self.core.int8_helium {
            return Err(Misfit::TilesWithoutHelium);
        }
        // The shape first (H, V, then the state), as the firmware checks it;
        // then the file.
        self.fits(shape.hidden, shape.vocab, 0)?;
        let values = shape.state_values_as(layout);
        if values > u64::from(self.max_state) {
            return Err(Misfit::State {
                values,
                max: self.max_state,
            });
        }
        self.fits(shape.hidden, shape.vocab, file_bytes)
    }

    /// Estimated characters per second a model of other cells and depths of
    /// `shape` writes on this board (firmware built with `--features
    /// cells`), as `element`: the board's clock over the core's
    /// [`StackedCost`]. `None` for a board without a clock, for an
    /// element type whose cost is not measured ([`CellsSpeed::int8`]), and
    /// for fixed int8, which has one tanh layer only.
    pub fn stacked_chars_per_second(&self, shape: &StackedShape, element: Element) -> Option<f64> {
        let cost = match element {
            Element::F32 => Some(self.core.cells_speed.f32),
            Element::Int8 => self.core.cells_speed.int8,
            // one tanh layer only: no model of other cells and depths is fixed int8
            Element::Int8Fixed => None,
        }?;
        let cycles = cost.cycles(shape).max(1);
        self.clock_hz.map(|hz| f64::from(hz) / cycles as f64)
    }

    /// RAM of the firmware's state buffers for this board: logits (f32,
    /// V), and the hidden state and the next one of max H values each, as
    /// f32, as Q15 and, on a core with Helium, as int8 (one pair serves f32
    /// models, one int8 row pairs, one int8 tiles).
    pub const fn state_buffer_bytes(&self) -> u32 {
        self.buffer_bytes(self.max_hidden)
    }

    /// [`Board::state_buffer_bytes`] of the firmware built with `--features
    /// cells`, whose state buffers hold [`Board::max_state`] values each.
    pub const fn cells_state_buffer_bytes(&self) -> u32 {
        self.buffer_bytes(self.max_state)
    }

    /// The firmware's `StateRam` with state buffers of `values` entries.
    const fn buffer_bytes(&self, values: u32) -> u32 {
        let per_value = 2 * 4 + 2 * 2 + if self.core.int8_helium { 2 } else { 0 };
        self.max_vocab * 4 + values * per_value
    }
}

/// Most state values a model within H 512 (the largest int8 H) and 4
/// layers carries, in any of its forms: four LSTM layers as int8 tiles,
/// whose every unit keeps h and an f32 c in 5 int8 slots (4 · 5 · 512). As
/// f32 the same model carries 4 · 2 · 512 = 4,096; as int8 row pairs (h,
/// and c in two Q15 slots) 4 · 3 · 512 = 6,144.
pub const MAX_STATE_ALL: u32 = 4 * 5 * 512;

/// Most state values of a model within H 512 and 4 layers in the forms a
/// core without Helium runs (f32 and int8 row pairs): 4 · 3 · 512.
pub const MAX_STATE_ROW_PAIRS: u32 = 4 * 3 * 512;

/// RAM a model's state takes while it generates (what a firmware that sizes
/// its buffers to one model needs): h and h_next, padded to a multiple of 8
/// (`4` bytes an entry for f32 models, `2` for int8 models' Q15 state), and
/// V f32 logits.
pub const fn state_bytes(hidden: u32, vocab: u32, state_entry_bytes: u32) -> u32 {
    let padded = hidden.div_ceil(8) * 8;
    2 * padded * state_entry_bytes + 4 * vocab
}

/// RAM the state of a model of other cells and depths takes while the
/// cells firmware generates, its state kept as `layout`: state and next
/// state, [`StackedShape::state_values_as`] values of
/// [`StateLayout::value_bytes`] each (every layer's h, and an LSTM's c), in
/// the state buffers of that type, and V f32 logits. The step needs no
/// other buffer (its gates' terms are on the stack, within
/// [`STACK_RESERVE`]).
pub const fn stacked_state_bytes_as(shape: &StackedShape, layout: StateLayout) -> u64 {
    shape
        .state_values_as(layout)
        .saturating_mul(2 * layout.value_bytes())
        .saturating_add(4 * shape.vocab as u64)
}

const KIB: u32 = 1024;
const MIB: u32 = 1024 * 1024;

/// The QEMU MPS2 boards' map (AN385, AN386, AN500): the 4 MiB SSRAM1 at 0
/// serves as flash, the 4 MiB SSRAM2/3 at 0x2000_0000 as RAM.
const MPS2: Board = Board {
    name: "",
    summary: "",
    weights_bytes: 3 * MIB,
    params_bytes: 4 * KIB,
    ram_bytes: 4 * MIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: CORTEX_M4F,
    weights_address: 0x0010_0000,
    params_address: 0x000F_F000,
    ram_address: 0x2000_0000,
    qemu: None,
    clock_hz: None,
};

/// BBC micro:bit v1 as QEMU emulates it: nRF51822, Cortex-M0, 256 KiB flash, 16 KiB RAM.
pub const MICROBIT: Board = Board {
    name: "microbit",
    summary:
        "BBC micro:bit v1, QEMU microbit (nRF51822, Cortex-M0, 256 KiB flash, 16 KiB RAM, 16 MHz)",
    weights_bytes: 192 * KIB,
    params_bytes: 4 * KIB,
    ram_bytes: 16 * KIB,
    max_hidden: 256,
    max_vocab: 1024,
    max_state: 256,
    core: CORTEX_M0,
    weights_address: 0x0001_0000,
    params_address: 0x0000_F000,
    ram_address: 0x2000_0000,
    qemu: Some(Qemu {
        program: "qemu-system-arm",
        args: &["-machine", "microbit"],
    }),
    clock_hz: Some(16_000_000),
};

/// QEMU's ARM MPS2 board with the AN385 image: a Cortex-M3.
pub const MPS2_AN385: Board = Board {
    name: "mps2-an385",
    summary: "QEMU mps2-an385 (Cortex-M3)",
    core: CORTEX_M3,
    qemu: Some(Qemu {
        program: "qemu-system-arm",
        args: &["-machine", "mps2-an385", "-cpu", "cortex-m3"],
    }),
    ..MPS2
};

/// QEMU's ARM MPS2 board with the AN386 image: a Cortex-M4F (the default build).
pub const MPS2_AN386: Board = Board {
    name: "mps2-an386",
    summary: "QEMU mps2-an386 (Cortex-M4F)",
    core: CORTEX_M4F,
    qemu: Some(Qemu {
        program: "qemu-system-arm",
        args: &["-machine", "mps2-an386", "-cpu", "cortex-m4"],
    }),
    ..MPS2
};

/// QEMU's ARM MPS2 board with the AN500 image: a Cortex-M7.
pub const MPS2_AN500: Board = Board {
    name: "mps2-an500",
    summary: "QEMU mps2-an500 (Cortex-M7)",
    core: CORTEX_M7,
    qemu: Some(Qemu {
        program: "qemu-system-arm",
        args: &["-machine", "mps2-an500", "-cpu", "cortex-m7"],
    }),
    ..MPS2
};

/// QEMU's MPS2 board with the AN505 image (Arm IoT Kit): a Cortex-M33, run
/// in the secure state, whose addresses have bit 28 set.
pub const MPS2_AN505: Board = Board {
    name: "mps2-an505",
    summary: "QEMU mps2-an505 (Cortex-M33, secure state)",
    core: CORTEX_M33,
    weights_address: 0x1010_0000,
    params_address: 0x100F_F000,
    ram_address: 0x3800_0000,
    qemu: Some(Qemu {
        program: "qemu-system-arm",
        args: &["-machine", "mps2-an505", "-cpu", "cortex-m33"],
    }),
    clock_hz: None,
    ..MPS2
};

/// QEMU's MPS3 board with the AN547 image (Arm Corstone SSE-300): a
/// Cortex-M55 with Helium; code in the 512 KiB ITCM, weights in the 8 MiB
/// QSPI flash, RAM in the 512 KiB DTCM.
pub const MPS3_AN547: Board = Board {
    name: "mps3-an547",
    summary: "QEMU mps3-an547 (Cortex-M55 with Helium)",
    weights_bytes: 8 * MIB,
    params_bytes: 4 * KIB,
    ram_bytes: 512 * KIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ALL,
    core: CORTEX_M55,
    weights_address: 0x2800_0000,
    params_address: 0x0007_F000,
    ram_address: 0x2000_0000,
    qemu: Some(Qemu {
        program: "qemu-system-arm",
        args: &["-machine", "mps3-an547", "-cpu", "cortex-m55"],
    }),
    clock_hz: None,
};

/// QEMU's RISC-V `virt` machine with one RV32IMAC hart and no firmware
/// (`-bios none`); the first 4 MiB of its RAM serve as flash.
pub const RISCV32_VIRT: Board = Board {
    name: "riscv32-virt",
    summary: "QEMU riscv32 virt (RV32IMAC)",
    weights_bytes: 3 * MIB,
    params_bytes: 4 * KIB,
    ram_bytes: 4 * MIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: RV32IMAC,
    weights_address: 0x8010_0000,
    params_address: 0x800F_F000,
    ram_address: 0x8040_0000,
    qemu: Some(Qemu {
        program: "qemu-system-riscv32",
        args: &["-machine", "virt", "-bios", "none"],
    }),
    clock_hz: None,
};

/// QEMU's RISC-V `virt` machine as an ESP32-C3 stand-in: the RV32IMC build
/// of the firmware, run on a hart without the `A` (atomics) and `F`/`D`
/// extensions (`-cpu rv32,a=off,f=off,d=off`), so that an instruction the
/// ESP32-C3 lacks traps instead of running; the map of [`RISCV32_VIRT`].
pub const RISCV32IMC_VIRT: Board = Board {
    name: "riscv32imc-virt",
    summary: "QEMU riscv32 virt as an RV32IMC hart (the ESP32-C3's instruction set)",
    core: RV32IMC,
    qemu: Some(Qemu {
        program: "qemu-system-riscv32",
        args: &[
            "-machine",
            "virt",
            "-bios",
            "none",
            "-cpu",
            "rv32,a=off,f=off,d=off",
        ],
    }),
    ..RISCV32_VIRT
};

/// Nordic nRF52840 (Cortex-M4F, 1 MiB flash, 256 KiB RAM): nRF52840-DK,
/// Feather/ItsyBitsy nRF52840, nice!nano.
pub const NRF52840: Board = Board {
    name: "nrf52840",
    summary: "nRF52840 (Cortex-M4F, 1 MiB flash, 64 MHz)",
    weights_bytes: 896 * KIB,
    params_bytes: 4 * KIB,
    ram_bytes: 256 * KIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: CORTEX_M4F,
    weights_address: 0x0002_0000,
    params_address: 0x0001_F000,
    ram_address: 0x2000_0000,
    qemu: None,
    clock_hz: Some(64_000_000),
};

/// Raspberry Pi Pico (RP2040, Cortex-M0+, 2 MiB QSPI flash, 264 KiB RAM),
/// run at 133 MHz.
pub const RP2040: Board = Board {
    name: "rp2040",
    summary: "Raspberry Pi Pico (RP2040, Cortex-M0+, 2 MiB flash, 133 MHz)",
    weights_bytes: 1920 * KIB,
    params_bytes: 4 * KIB,
    ram_bytes: 256 * KIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: CORTEX_M0_PLUS,
    weights_address: 0x1002_0000,
    params_address: 0x1001_F000,
    ram_address: 0x2000_0000,
    qemu: None,
    clock_hz: Some(133_000_000),
};

/// Raspberry Pi Pico 2 (RP2350: two Cortex-M33 with FPU and DSP, 4 MiB
/// QSPI flash, 520 KiB RAM), run at 150 MHz.
pub const RP2350: Board = Board {
    name: "rp2350",
    summary: "Raspberry Pi Pico 2 (RP2350, Cortex-M33, 4 MiB flash, 150 MHz)",
    weights_bytes: 3968 * KIB,
    params_bytes: 4 * KIB,
    ram_bytes: 512 * KIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: CORTEX_M33,
    weights_address: 0x1002_0000,
    params_address: 0x1001_F000,
    ram_address: 0x2000_0000,
    qemu: None,
    clock_hz: Some(150_000_000),
};

/// ESP32-C3 boards with 4 MiB of flash (ESP32-C3-DevKitM-1, -C3 SuperMini:
/// one RV32IMC core, 400 KiB SRAM), run at 160 MHz. The regions are at the
/// addresses the firmware maps the flash to, `0x3C00_0000` + the flash
/// offset (docs/boards.md).
pub const ESP32C3: Board = Board {
    name: "esp32c3",
    summary: "ESP32-C3 (RV32IMC, 4 MiB flash, 160 MHz)",
    weights_bytes: 3008 * KIB,
    params_bytes: 64 * KIB,
    ram_bytes: 313 * KIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: RV32IMC,
    weights_address: 0x3C11_0000,
    params_address: 0x3C10_0000,
    ram_address: 0x3FC8_0000,
    qemu: None,
    clock_hz: Some(160_000_000),
};

/// STM32F411CE "Black Pill" (Cortex-M4F, 512 KiB flash, 128 KiB RAM), run
/// at 100 MHz.
pub const STM32F411: Board = Board {
    name: "stm32f411",
    summary: "STM32F411CE Black Pill (Cortex-M4F, 512 KiB flash, 100 MHz)",
    weights_bytes: 448 * KIB,
    params_bytes: 16 * KIB,
    ram_bytes: 128 * KIB,
    max_hidden: 512,
    max_vocab: 1024,
    max_state: MAX_STATE_ROW_PAIRS,
    core: CORTEX_M4F,
    weights_address: 0x0801_0000,
    params_address: 0x0800_C000,
    ram_address: 0x2000_0000,
    qemu: None,
    clock_hz: Some(100_000_000),
};

/// Every board, in the order `charm info` lists them: the QEMU machines
/// from the smallest core up, then the real boards.
pub const BOARDS: &[Board] = &[
    MICROBIT,
    MPS2_AN385,
    MPS2_AN386,
    MPS2_AN500,
    MPS2_AN505,
    MPS3_AN547,
    RISCV32_VIRT,
    RISCV32IMC_VIRT,
    NRF52840,
    RP2040,
    RP2350,
    ESP32C3,
    STM32F411,
];

/// The board called `name`.
pub fn board(name: &str) -> Option<&'static Board> {
    BOARDS.iter().find(|b| b.name == name)
}
