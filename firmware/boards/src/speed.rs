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
//! V = 200 (f32 in software: H 32 to 128), and reproduce each of those
//! estimates within [`FIT_ERROR_PERCENT`]. `scripts/fit-speed.sh` trains
//! the models, measures them and prints the constants below. The estimates themselves carry the cycle model's
//! error against the silicon (docs/performance.md, "The cycle model"), and
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

/// A core's cost model for both element types of a `.charm` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speed {
    /// f32 models (on the FPU or in software, as the core has it).
    pub f32: CharCost,
    /// int8 row-pair models (`charm quantize`).
    pub int8: CharCost,
}

/// The largest difference, in percent, between a fit of [`Speed`] and the
/// cycle estimates it was fitted to, rounded up: the worst of every core
/// and element type is the Cortex-M0+'s int8, 2.05% (each constant below
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
}

impl Speed {
    /// The cost model of `element`.
    pub const fn of(&self, element: Element) -> CharCost {
        match element {
            Element::F32 => self.f32,
            Element::Int8 => self.int8,
        }
    }
}

// The fits, by core: `scripts/measure-cycles.sh` on each QEMU machine for
// the models named in the module's documentation, fitted by least squares
// of the relative error.

/// Cortex-M0: the micro:bit's trace, the M0 table.
/// Largest difference from the fitted estimates: f32 0.00% (four models, as
/// the micro:bit holds no f32 model of V 200: no check beyond the fit),
/// int8 1.95%.
pub(crate) const SPEED_CORTEX_M0: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 356_462,
        hidden_cycles: 4_924,
        vocab_cycles: 4_203,
        fixed_cycles: 52_055,
    },
    int8: CharCost {
        mac_millicycles: 7_286,
        hidden_cycles: 1_251,
        vocab_cycles: 4_861,
        fixed_cycles: 37_258,
    },
};

/// Cortex-M0+: the micro:bit's trace (the same Thumb-1 code), the M0+ table.
/// Largest difference from the fitted estimates: f32 0.00% (four models, as
/// for the M0), int8 2.05%.
pub(crate) const SPEED_CORTEX_M0_PLUS: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 336_181,
        hidden_cycles: 4_639,
        vocab_cycles: 4_008,
        fixed_cycles: 43_706,
    },
    int8: CharCost {
        mac_millicycles: 6_994,
        hidden_cycles: 1_167,
        vocab_cycles: 4_571,
        fixed_cycles: 36_655,
    },
};

/// Cortex-M3: the `mps2-an385` trace.
/// Largest difference from the fitted estimates: f32 0.02%, int8 1.14%.
pub(crate) const SPEED_CORTEX_M3: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 196_607,
        hidden_cycles: 2_845,
        vocab_cycles: 3_163,
        fixed_cycles: 1_183,
    },
    int8: CharCost {
        mac_millicycles: 7_511,
        hidden_cycles: 784,
        vocab_cycles: 2_861,
        fixed_cycles: 11_368,
    },
};

/// Cortex-M4F: the `mps2-an386` trace.
/// Largest difference from the fitted estimates: f32 0.13%, int8 0.24%.
pub(crate) const SPEED_CORTEX_M4F: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 3_942,
        hidden_cycles: 99,
        vocab_cycles: 123,
        fixed_cycles: 535,
    },
    int8: CharCost {
        mac_millicycles: 1_499,
        hidden_cycles: 83,
        vocab_cycles: 149,
        fixed_cycles: 308,
    },
};

/// Cortex-M7: the `mps2-an500` trace, the M7 table.
/// Largest difference from the fitted estimates: f32 0.22%, int8 0.10%.
pub(crate) const SPEED_CORTEX_M7: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 3_881,
        hidden_cycles: 95,
        vocab_cycles: 116,
        fixed_cycles: 529,
    },
    int8: CharCost {
        mac_millicycles: 1_469,
        hidden_cycles: 74,
        vocab_cycles: 139,
        fixed_cycles: 350,
    },
};

/// Cortex-M33: the `mps2-an505` trace (the Raspberry Pi Pico 2 runs the same code).
/// Largest difference from the fitted estimates: f32 0.19%, int8 0.22%.
pub(crate) const SPEED_CORTEX_M33: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 3_940,
        hidden_cycles: 98,
        vocab_cycles: 106,
        fixed_cycles: 405,
    },
    int8: CharCost {
        mac_millicycles: 1_499,
        hidden_cycles: 82,
        vocab_cycles: 131,
        fixed_cycles: 303,
    },
};

/// Cortex-M55: the `mps3-an547` trace (int8 row pairs; tiles are faster).
/// Largest difference from the fitted estimates: f32 0.45%, int8 0.44%.
pub(crate) const SPEED_CORTEX_M55: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 1_943,
        hidden_cycles: 72,
        vocab_cycles: 60,
        fixed_cycles: 468,
    },
    int8: CharCost {
        mac_millicycles: 654,
        hidden_cycles: 53,
        vocab_cycles: 79,
        fixed_cycles: 343,
    },
};

/// RV32IMAC: the `riscv32-virt` trace.
/// Largest difference from the fitted estimates: f32 0.52%, int8 1.08%.
pub(crate) const SPEED_RV32IMAC: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 157_573,
        hidden_cycles: 1_564,
        vocab_cycles: 2_049,
        fixed_cycles: 29_498,
    },
    int8: CharCost {
        mac_millicycles: 6_922,
        hidden_cycles: 673,
        vocab_cycles: 2_232,
        fixed_cycles: 11_378,
    },
};

/// RV32IMC: the `riscv32imc-virt` trace (the ESP32-C3's code), the RV32IMAC table.
/// Largest difference from the fitted estimates: f32 0.52%, int8 1.08%.
pub(crate) const SPEED_RV32IMC: Speed = Speed {
    f32: CharCost {
        mac_millicycles: 157_573,
        hidden_cycles: 1_564,
        vocab_cycles: 2_049,
        fixed_cycles: 29_498,
    },
    int8: CharCost {
        mac_millicycles: 6_922,
        hidden_cycles: 673,
        vocab_cycles: 2_232,
        fixed_cycles: 11_378,
    },
};
