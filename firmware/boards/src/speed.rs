//! How fast a model writes on a core: the per-core cost model.
//!
//! A character of a model with H hidden units and V characters costs the
//! firmware
//!
//! ```text
//! cycles = mac · H·(H + V)  +  hidden · H  +  vocab · V  +  fixed
//! ```
//!
//! core cycles: H·(H + V) multiply-accumulates (W_hh·h and W_hy·h, the
//! step's matrix-vector products), the rest of each hidden unit (its input
//! column and bias, tanh; the int8 row's scale), the rest of each logit
//! (bias, scale, its exponential in softmax, the sampler's search), and
//! what a character costs once (the loop, the UART). The four coefficients
//! of each core and element type are least-squares fits (of the relative
//! error) to the estimated cycles per character of
//! `scripts/measure-cycles.sh` — QEMU's instruction trace of the firmware
//! priced by the core's published instruction timings — for models of
//! H 32, 64, 128, 256 and 384 over V = 65 and of H 128 over V = 24 and
//! V = 200 (f32 in software: H 32 to 128; fixed int8 on the Cortex-M4F
//! with the firmware built with `--features fixed`), and reproduce each of those
//! estimates within [`FIT_ERROR_PERCENT`]. `scripts/fit-speed.sh` trains
//! the models, measures them and prints the constants below. The
//! estimates themselves carry the cycle model's error against the silicon (docs/performance.md, "The cycle model"), and
//! flash wait states slow a real board further.

/// Estimated core cycles of one character, as a function of the model's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharCost {
    /// Thousandths of a cycle per multiply-accumulate: `mac` above.
    pub mac_millicycles: u32,
    /// Cycles per hidden unit besides its multiply-accumulates: `hidden` above.
    pub hidden_cycles: u32,
    /// Cycles per character of the vocabulary besides its
    /// multiply-accumulates: `vocab` above.
    pub vocab_cycles: u32,
    /// Cycles a character costs once: `fixed` above.
    pub fixed_cycles: u32,
}

impl CharCost {
    /// Estimated cycles of one character of a model with `hidden` units and
    /// `vocab` characters.
    pub const fn cycles(&self, hidden: u32, vocab: u32) -> u64 {
        let (h, v) = (hidden as u64, vocab as u64);
        let macs = h * (h + v);
        (macs * self.mac_millicycles as u64).div_ceil(1000)
            + h * self.hidden_cycles as u64
            + v * self.vocab_cycles as u64
            + self.fixed_cycles as u64
    }
}

/// A core's cost model for each element type of a one-layer `.charm` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speed {
    /// f32 models (on the FPU or in software, as the core has it).
    pub f32: CharCost,
    /// int8 row-pair models (`charm quantize`).
    pub int8: CharCost,
    /// Fixed int8 models (`charm quantize --layout fixed`: the row pairs
    /// with an integer step and sampler), on the firmware built with
    /// feature `fixed` (every board's default but the Cortex-M4F's).
    pub int8_fixed: CharCost,
}

/// The largest difference, in percent, between a fit of [`Speed`] and the
/// cycle estimates it was fitted to, rounded up: the worst of every core
/// and element type is the Cortex-M3's int8, 2.39% (each constant below
/// says its own). `charm info`'s characters per
/// second are within this of the QEMU estimate, at the board's clock, for
/// V near 65; the QEMU test `qemu_*_speed_estimate_*` checks it for the
/// Raspberry Pi Pico 2's and the ESP32-C3's cores.
pub const FIT_ERROR_PERCENT: u32 = 3;

/// The element type of a model's weights, as the firmware runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// f32 weights (`charm train`).
    F32,
    /// int8 row pairs (`charm quantize`).
    Int8,
    /// Fixed int8 (`charm quantize --layout fixed`).
    Int8Fixed,
}

impl Speed {
    /// The cost model of `element`.
    pub const fn of(&self, element: Element) -> CharCost {
        match element {
            Element::F32 => self.f32,
            Element::Int8 => self.int8,
            Element::Int8Fixed => self.int8_fixed,
        }
    }
}

// The fits, by core: `scripts/measure-cycles.sh` on each QEMU machine for
// the models named in the module's documentation, fitted by least squares
// of the relative error.

/// Cortex-M0: the micro:bit's trace, the M0 table.
/// Largest difference from the fitted estimates: f32 0.00% (four models, as
/// the micro:bit holds no f32 model of V 200: no check beyond the fit),
/// int8 0.49%, fixed int8 0.06%.
pub(crate) const SPEED_CORTEX_M0: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 356_953,
        hidden_cycles: 4_791,
        vocab_cycles: 3_451,
        fixed_cycles: 61_546,
    },
    int8: CharCost {
        mac_millicycles: 4_286,
        hidden_cycles: 1_038,
        vocab_cycles: 4_242,
        fixed_cycles: 0,
    },
    int8_fixed: CharCost {
        mac_millicycles: 4_321,
        hidden_cycles: 91,
        vocab_cycles: 127,
        fixed_cycles: 1_579,
    },
};

/// Cortex-M0+: the micro:bit's trace (the same Thumb-1 code), the M0+ table.
/// Largest difference from the fitted estimates: f32 0.00% (four models, as
/// for the M0), int8 0.34%, fixed int8 0.11%.
pub(crate) const SPEED_CORTEX_M0_PLUS: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 338_188,
        hidden_cycles: 4_435,
        vocab_cycles: 3_248,
        fixed_cycles: 53_022,
    },
    int8: CharCost {
        mac_millicycles: 4_304,
        hidden_cycles: 964,
        vocab_cycles: 3_958,
        fixed_cycles: 1_245,
    },
    int8_fixed: CharCost {
        mac_millicycles: 4_305,
        hidden_cycles: 89,
        vocab_cycles: 123,
        fixed_cycles: 1_527,
    },
};

/// Cortex-M3: the `mps2-an385` trace.
/// Largest difference from the fitted estimates: f32 0.05%, int8 2.39%, fixed int8 0.12%.
pub(crate) const SPEED_CORTEX_M3: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 198_654,
        hidden_cycles: 2_611,
        vocab_cycles: 3_027,
        fixed_cycles: 4_769,
    },
    int8: CharCost {
        mac_millicycles: 3_881,
        hidden_cycles: 579,
        vocab_cycles: 2_735,
        fixed_cycles: 0,
    },
    int8_fixed: CharCost {
        mac_millicycles: 3_888,
        hidden_cycles: 51,
        vocab_cycles: 61,
        fixed_cycles: 811,
    },
};

/// Cortex-M4F: the `mps2-an386` trace.
/// Largest difference from the fitted estimates: f32 0.28%, int8 0.10%, fixed int8 0.76%.
pub(crate) const SPEED_CORTEX_M4F: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 3_942,
        hidden_cycles: 99,
        vocab_cycles: 122,
        fixed_cycles: 538,
    },
    int8: CharCost {
        mac_millicycles: 1_253,
        hidden_cycles: 74,
        vocab_cycles: 140,
        fixed_cycles: 448,
    },
    int8_fixed: CharCost {
        mac_millicycles: 1_233,
        hidden_cycles: 25,
        vocab_cycles: 48,
        fixed_cycles: 1_449,
    },
};

/// Cortex-M7: the `mps2-an500` trace, the M7 table.
/// Largest difference from the fitted estimates: f32 0.23%, int8 0.38%, fixed int8 0.68%.
pub(crate) const SPEED_CORTEX_M7: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 3_881,
        hidden_cycles: 95,
        vocab_cycles: 116,
        fixed_cycles: 541,
    },
    int8: CharCost {
        mac_millicycles: 1_164,
        hidden_cycles: 58,
        vocab_cycles: 128,
        fixed_cycles: 1_218,
    },
    int8_fixed: CharCost {
        mac_millicycles: 1_161,
        hidden_cycles: 25,
        vocab_cycles: 44,
        fixed_cycles: 1_231,
    },
};

/// Cortex-M33: the `mps2-an505` trace (the Raspberry Pi Pico 2 runs the same code).
/// Largest difference from the fitted estimates: f32 0.10%, int8 0.73%, fixed int8 0.73%.
pub(crate) const SPEED_CORTEX_M33: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 3_940,
        hidden_cycles: 97,
        vocab_cycles: 106,
        fixed_cycles: 435,
    },
    int8: CharCost {
        mac_millicycles: 1_235,
        hidden_cycles: 61,
        vocab_cycles: 117,
        fixed_cycles: 1_390,
    },
    int8_fixed: CharCost {
        mac_millicycles: 1_234,
        hidden_cycles: 25,
        vocab_cycles: 47,
        fixed_cycles: 1_468,
    },
};

/// Cortex-M55: the `mps3-an547` trace (int8 row pairs; tiles are faster).
/// Largest difference from the fitted estimates: f32 0.45%, int8 0.72%, fixed int8 0.89%.
pub(crate) const SPEED_CORTEX_M55: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 1_943,
        hidden_cycles: 71,
        vocab_cycles: 59,
        fixed_cycles: 471,
    },
    int8: CharCost {
        mac_millicycles: 657,
        hidden_cycles: 46,
        vocab_cycles: 72,
        fixed_cycles: 534,
    },
    int8_fixed: CharCost {
        mac_millicycles: 654,
        hidden_cycles: 41,
        vocab_cycles: 56,
        fixed_cycles: 457,
    },
};

/// RV32IMAC: the `riscv32-virt` trace.
/// Largest difference from the fitted estimates: f32 0.63%, int8 0.31%, fixed int8 0.42%.
pub(crate) const SPEED_RV32IMAC: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 156_503,
        hidden_cycles: 1_464,
        vocab_cycles: 2_186,
        fixed_cycles: 30_464,
    },
    int8: CharCost {
        mac_millicycles: 4_382,
        hidden_cycles: 629,
        vocab_cycles: 2_411,
        fixed_cycles: 0,
    },
    int8_fixed: CharCost {
        mac_millicycles: 4_401,
        hidden_cycles: 64,
        vocab_cycles: 91,
        fixed_cycles: 997,
    },
};

/// RV32IMC: the `riscv32imc-virt` trace (the ESP32-C3's code), the RV32IMAC table.
/// Largest difference from the fitted estimates: f32 0.63%, int8 0.31%, fixed int8 0.42%.
pub(crate) const SPEED_RV32IMC: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 156_503,
        hidden_cycles: 1_464,
        vocab_cycles: 2_186,
        fixed_cycles: 30_464,
    },
    int8: CharCost {
        mac_millicycles: 4_382,
        hidden_cycles: 629,
        vocab_cycles: 2_411,
        fixed_cycles: 0,
    },
    int8_fixed: CharCost {
        mac_millicycles: 4_401,
        hidden_cycles: 64,
        vocab_cycles: 91,
        fixed_cycles: 997,
    },
};
