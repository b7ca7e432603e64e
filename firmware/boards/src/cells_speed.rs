//! How fast a model of GRU or LSTM cells, or of several layers (format
//! version 5), writes on a core: the cost model of the firmware built with
//! `--features cells`.
//!
//! Such a model's step is charm-core's `StackedModelView::step` (f32) or
//! `Int8StackedModelView::step` (int8): for each layer, each unit and each
//! of the cell's G gates, one dot product of H terms with the layer's own h
//! (its hidden term) and, in the layers above the first, one with the h of
//! the layer below (its input term; the first layer's input term is a row
//! lookup), plus the biases — 16 units' rows of a gate at a time through
//! the kernel of the one-layer models (f32: the two-row FPU kernel on the
//! cores that have one; int8: the row-pair kernel of the core's ISA) — then
//! the cell's update (a tanh or sigmoid per gate, the LSTM's tanh of c);
//! then the output layer's V rows of H, the softmax and the sampler. A
//! character of L layers of H units over V characters therefore costs
//!
//! ```text
//! cycles = mac · (2L − 1)·G·H²  +  row · (2L − 1)·G·H
//!        + sigmoid · S·L·H  +  tanh · T·L·H
//!        + output_mac · V·H  +  vocab · V  +  fixed
//! ```
//!
//! core cycles: the multiply-accumulates of the layers' dot products, what
//! each of those dot products costs besides (its call, its reduction and
//! bias), the sigmoids and the tanh of each unit's update (S and T a unit:
//! rnn 0 and 1, GRU 2 and 1, LSTM 3 and 2; [`Cell::sigmoids`],
//! [`Cell::tanhs`]) with their share of the rest of it, the output layer's
//! multiply-accumulates (a coefficient of its own: the layers' and the output
//! layer's kernels are called on different shapes), the rest of each logit, and what a
//! character costs once. The seven coefficients of each core are least-squares
//! fits (of the relative error) to the estimated cycles per character of
//! `scripts/measure-cycles.sh --features cells` — QEMU's instruction trace
//! of the cells firmware priced by the core's published instruction timings —
//! for the models `scripts/fit-speed.sh --cells` trains and measures, and
//! reproduce each of those estimates within [`CELLS_FIT_ERROR_PERCENT`]
//! (f32) and [`CELLS_INT8_FIT_ERROR_PERCENT`] (int8).
//!
//! Each core has two such fits ([`CellsSpeed`]): f32, and int8 row pairs
//! (`charm quantize`'s default layout; on the Cortex-M55 int8 tiles are
//! faster, and the estimate of a tiles file is that of its row pairs).

/// The recurrent cell of a model's layers, as the cost model and the fit
/// check see it (charm-core's `Cell`, which this table does not depend on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// PyTorch's `nn.RNN` with tanh: one gate, h.
    Rnn,
    /// PyTorch's `nn.GRU`: gates r, z, n; h.
    Gru,
    /// PyTorch's `nn.LSTM`: gates i, f, g, o; h and c.
    Lstm,
}

impl Cell {
    /// Gates per unit: each is a row of W_i and of W_h.
    pub const fn gates(self) -> u32 {
        match self {
            Cell::Rnn => 1,
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// Vectors of H values a layer carries from one character to the next:
    /// h, and an LSTM's c.
    pub const fn state_vectors(self) -> u32 {
        match self {
            Cell::Rnn | Cell::Gru => 1,
            Cell::Lstm => 2,
        }
    }

    /// Sigmoids per unit and character: GRU's σ(r), σ(z); LSTM's σ(i),
    /// σ(f), σ(o).
    pub const fn sigmoids(self) -> u32 {
        match self {
            Cell::Rnn => 0,
            Cell::Gru => 2,
            Cell::Lstm => 3,
        }
    }

    /// tanh per unit and character: rnn's; GRU's tanh(n); LSTM's tanh(g)
    /// and tanh(c').
    pub const fn tanhs(self) -> u32 {
        match self {
            Cell::Rnn | Cell::Gru => 1,
            Cell::Lstm => 2,
        }
    }

    /// The cell called `name` (`"rnn"`, `"gru"` or `"lstm"`, as `charm
    /// train --cell` takes it).
    pub fn from_name(name: &str) -> Option<Cell> {
        match name {
            "rnn" => Some(Cell::Rnn),
            "gru" => Some(Cell::Gru),
            "lstm" => Some(Cell::Lstm),
            _ => None,
        }
    }
}

/// The shape of a model of `layers` layers of `cell`, `hidden` units each,
/// over `vocab` characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackedShape {
    /// The cell of every layer.
    pub cell: Cell,
    /// Layers L (1 to 4 in a `.charm` file).
    pub layers: u32,
    /// Hidden size H of every layer.
    pub hidden: u32,
    /// Vocabulary size V.
    pub vocab: u32,
}

/// How a model of other cells and depths keeps its state in the cells
/// firmware's buffers, by its file's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateLayout {
    /// f32: every layer's h (and an LSTM's c), H f32 values each.
    F32,
    /// int8 row pairs: every layer's Q15 h over `S = H` rounded up to 8,
    /// and an LSTM's f32 c in two Q15 slots a unit (`3·S` a layer).
    Int8RowPairs,
    /// int8 tiles (the Cortex-M55): every layer's int8 h over `T = H`
    /// rounded up to 16, and an LSTM's f32 c in four int8 slots a unit
    /// (`5·T` a layer).
    Int8Tiles,
}

impl StateLayout {
    /// Bytes of one state value: f32 4, Q15 2, int8 1.
    pub const fn value_bytes(self) -> u64 {
        match self {
            StateLayout::F32 => 4,
            StateLayout::Int8RowPairs => 2,
            StateLayout::Int8Tiles => 1,
        }
    }
}

impl StackedShape {
    /// Values of state the model carries in f32: `L · state_vectors · H`
    /// (what the firmware's f32 state buffers must hold; `charm_core`'s
    /// `state_len`).
    pub const fn state_values(&self) -> u64 {
        self.state_values_as(StateLayout::F32)
    }

    /// Values of state the model carries as `layout` keeps it (`charm_core`'s
    /// `state_len` of that model type): what the state buffer of that
    /// element type (max H values) must hold.
    pub const fn state_values_as(&self, layout: StateLayout) -> u64 {
        let h = self.hidden as u64;
        let lstm = matches!(self.cell, Cell::Lstm);
        let per_layer = match layout {
            StateLayout::F32 => (self.cell.state_vectors() as u64).saturating_mul(h),
            StateLayout::Int8RowPairs => {
                let s = h.div_ceil(8).saturating_mul(8);
                if lstm {
                    s.saturating_mul(3)
                } else {
                    s
                }
            }
            StateLayout::Int8Tiles => {
                let t = h.div_ceil(16).saturating_mul(16);
                if lstm {
                    t.saturating_mul(5)
                } else {
                    t
                }
            }
        };
        (self.layers as u64).saturating_mul(per_layer)
    }

    /// The terms of the layers: dot products `(2L − 1)·G·H` (G·H hidden
    /// terms per layer, G·H input terms per layer above the first), their
    /// multiply-accumulates (H each), sigmoids `S·L·H`, tanh `T·L·H`.
    const fn layer_terms(&self) -> (u128, u128, u128, u128) {
        let (l, g, h) = (
            self.layers as u128,
            self.cell.gates() as u128,
            self.hidden as u128,
        );
        let dots = (2 * l).saturating_sub(1) * g * h;
        let units = l * h;
        (
            dots,
            dots * h,
            self.cell.sigmoids() as u128 * units,
            self.cell.tanhs() as u128 * units,
        )
    }
}

/// Estimated core cycles of one character of a model of other cells and
/// depths, as a function of its [`StackedShape`] (the module's equation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackedCost {
    /// Thousandths of a cycle per multiply-accumulate of the layers' dot
    /// products: `mac` above.
    pub mac_millicycles: u32,
    /// Cycles per dot product of the layers besides its multiply-accumulates:
    /// `row` above.
    pub row_cycles: u32,
    /// Cycles per sigmoid with its share of the cell's update: `sigmoid`
    /// above.
    pub sigmoid_cycles: u32,
    /// Cycles per tanh with its share of the cell's update: `tanh` above.
    pub tanh_cycles: u32,
    /// Thousandths of a cycle per multiply-accumulate of the output layer:
    /// `output_mac` above.
    pub output_mac_millicycles: u32,
    /// Cycles per character of the vocabulary besides its
    /// multiply-accumulates: `vocab` above.
    pub vocab_cycles: u32,
    /// Cycles a character costs once: `fixed` above.
    pub fixed_cycles: u32,
}

impl StackedCost {
    /// Estimated cycles of one character of a model of `shape` (saturating
    /// at `u64::MAX`, far beyond any model a board holds).
    pub const fn cycles(&self, shape: &StackedShape) -> u64 {
        let (dots, macs, sigmoids, tanhs) = shape.layer_terms();
        let (h, v) = (shape.hidden as u128, shape.vocab as u128);
        // u32 factors: the layers' MACs times their cost saturate, every
        // other product is below 2^100, so the sum does not overflow.
        let total = (macs.saturating_mul(self.mac_millicycles as u128)).div_ceil(1000)
            + dots * self.row_cycles as u128
            + sigmoids * self.sigmoid_cycles as u128
            + tanhs * self.tanh_cycles as u128
            + (v * h * self.output_mac_millicycles as u128).div_ceil(1000)
            + v * self.vocab_cycles as u128
            + self.fixed_cycles as u128;
        if total > u64::MAX as u128 {
            u64::MAX
        } else {
            total as u64
        }
    }
}

/// A core's cost model for models of other cells and depths, by element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellsSpeed {
    /// f32 models (on the FPU or in software, as the core has it).
    pub f32: StackedCost,
    /// int8 models (row pairs; a tiles file on the Cortex-M55 is priced as
    /// its row pairs, which are slower); `None` on a core whose int8 cost is
    /// not measured (`charm info` then gives no int8 chars/s).
    pub int8: Option<StackedCost>,
}

/// The largest difference, in percent, between an f32 fit of [`StackedCost`]
/// and the cycle estimates it was fitted to, rounded up: the worst of every
/// core is the RV32IMAC's, 1.12% (each constant below says its own). `charm
/// info`'s f32 characters per second of a model of other cells and depths
/// are within this of the QEMU estimate, at the board's clock; the QEMU
/// tests `qemu_*_cells_speed_estimate_*` check it.
pub const CELLS_FIT_ERROR_PERCENT: u32 = 2;

/// [`CELLS_FIT_ERROR_PERCENT`] of the int8 fits (row pairs): the worst of
/// every core is the Cortex-M3's, 4.09%, rounded up. The QEMU tests
/// `qemu_*_cells_int8_speed_estimate_*` check `charm info`'s int8 figure
/// within it.
pub const CELLS_INT8_FIT_ERROR_PERCENT: u32 = 5;

// The fits, by core: `scripts/fit-speed.sh --cells`.

/// Cortex-M0: the micro:bit's trace of the cells firmware, the M0 table.
/// Largest difference from the fitted estimates: f32 0.19% (9 models), int8 3.24% (13 models).
/// The micro:bit's 192 KiB hold neither the gru×1 of H 128, the gru×2 of
/// H 64, nor the GRU of H 64 over V = 200 in f32; the int8 state of the
/// lstm×1 of H 128 (384 Q15 values) is over its buffers of 256.
pub(crate) const CELLS_CORTEX_M0: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 373_699,
        row_cycles: 608,
        sigmoid_cycles: 3_831,
        tanh_cycles: 2_938,
        output_mac_millicycles: 327_785,
        vocab_cycles: 5_855,
        fixed_cycles: 29_117,
    },
    int8: Some(StackedCost {
        mac_millicycles: 5_462,
        row_cycles: 323,
        sigmoid_cycles: 1_494,
        tanh_cycles: 515,
        output_mac_millicycles: 11_997,
        vocab_cycles: 4_075,
        fixed_cycles: 43_555,
    }),
};

/// Cortex-M0+: the micro:bit's trace (the same Thumb-1 code), the M0+ table.
/// Largest difference from the fitted estimates: f32 0.17% (9 models), int8 2.92% (13 models).
/// The models of the M0.
pub(crate) const CELLS_CORTEX_M0_PLUS: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 352_167,
        row_cycles: 551,
        sigmoid_cycles: 3_596,
        tanh_cycles: 2_814,
        output_mac_millicycles: 314_138,
        vocab_cycles: 5_271,
        fixed_cycles: 28_078,
    },
    int8: Some(StackedCost {
        mac_millicycles: 5_401,
        row_cycles: 307,
        sigmoid_cycles: 1_389,
        tanh_cycles: 482,
        output_mac_millicycles: 11_247,
        vocab_cycles: 3_799,
        fixed_cycles: 42_166,
    }),
};

/// Cortex-M3: the `mps2-an385` trace.
/// Largest difference from the fitted estimates: f32 0.41% (12 models), int8 4.09% (14 models).
pub(crate) const CELLS_CORTEX_M3: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 198_967,
        row_cycles: 559,
        sigmoid_cycles: 2_678,
        tanh_cycles: 1_907,
        output_mac_millicycles: 200_139,
        vocab_cycles: 3_115,
        fixed_cycles: 9_959,
    },
    int8: Some(StackedCost {
        mac_millicycles: 4_448,
        row_cycles: 236,
        sigmoid_cycles: 913,
        tanh_cycles: 306,
        output_mac_millicycles: 9_631,
        vocab_cycles: 2_693,
        fixed_cycles: 24_018,
    }),
};

/// Cortex-M4F: the `mps2-an386` trace.
/// Largest difference from the fitted estimates: f32 0.59% (14 models), int8 1.50% (14 models).
pub(crate) const CELLS_CORTEX_M4F: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 3_999,
        row_cycles: 36,
        sigmoid_cycles: 101,
        tanh_cycles: 69,
        output_mac_millicycles: 4_116,
        vocab_cycles: 115,
        fixed_cycles: 2_262,
    },
    int8: Some(StackedCost {
        mac_millicycles: 1_368,
        row_cycles: 78,
        sigmoid_cycles: 174,
        tanh_cycles: 42,
        output_mac_millicycles: 1_776,
        vocab_cycles: 140,
        fixed_cycles: 5_504,
    }),
};

/// Cortex-M7: the `mps2-an500` trace, the M7 table.
/// Largest difference from the fitted estimates: f32 0.56% (14 models), int8 1.89% (14 models).
pub(crate) const CELLS_CORTEX_M7: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 3_935,
        row_cycles: 33,
        sigmoid_cycles: 98,
        tanh_cycles: 64,
        output_mac_millicycles: 4_059,
        vocab_cycles: 108,
        fixed_cycles: 2_239,
    },
    int8: Some(StackedCost {
        mac_millicycles: 1_231,
        row_cycles: 80,
        sigmoid_cycles: 144,
        tanh_cycles: 25,
        output_mac_millicycles: 1_692,
        vocab_cycles: 131,
        fixed_cycles: 5_831,
    }),
};

/// Cortex-M33: the `mps2-an505` trace (the Raspberry Pi Pico 2 runs the same code).
/// Largest difference from the fitted estimates: f32 0.75% (14 models), int8 2.28% (14 models).
pub(crate) const CELLS_CORTEX_M33: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 4_001,
        row_cycles: 33,
        sigmoid_cycles: 101,
        tanh_cycles: 66,
        output_mac_millicycles: 4_126,
        vocab_cycles: 98,
        fixed_cycles: 2_250,
    },
    int8: Some(StackedCost {
        mac_millicycles: 1_321,
        row_cycles: 91,
        sigmoid_cycles: 157,
        tanh_cycles: 23,
        output_mac_millicycles: 1_867,
        vocab_cycles: 120,
        fixed_cycles: 6_925,
    }),
};

/// Cortex-M55: the `mps3-an547` trace.
/// Largest difference from the fitted estimates: f32 0.83% (14 models), int8 1.60% (14 models).
pub(crate) const CELLS_CORTEX_M55: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 1_992,
        row_cycles: 29,
        sigmoid_cycles: 92,
        tanh_cycles: 48,
        output_mac_millicycles: 2_108,
        vocab_cycles: 53,
        fixed_cycles: 2_163,
    },
    int8: Some(StackedCost {
        mac_millicycles: 734,
        row_cycles: 70,
        sigmoid_cycles: 96,
        tanh_cycles: 44,
        output_mac_millicycles: 979,
        vocab_cycles: 91,
        fixed_cycles: 3_392,
    }),
};

/// RV32IMAC: the `riscv32-virt` trace.
/// Largest difference from the fitted estimates: f32 1.12% (12 models), int8 2.77% (14 models).
pub(crate) const CELLS_RV32IMAC: CellsSpeed = CellsSpeed {
    f32: StackedCost {
        mac_millicycles: 154_171,
        row_cycles: 609,
        sigmoid_cycles: 2_143,
        tanh_cycles: 1_183,
        output_mac_millicycles: 156_492,
        vocab_cycles: 2_658,
        fixed_cycles: 15_945,
    },
    int8: Some(StackedCost {
        mac_millicycles: 4_886,
        row_cycles: 235,
        sigmoid_cycles: 848,
        tanh_cycles: 335,
        output_mac_millicycles: 8_722,
        vocab_cycles: 2_324,
        fixed_cycles: 24_138,
    }),
};

/// RV32IMC: the `riscv32imc-virt` trace (the ESP32-C3's code), the RV32IMAC table.
/// Largest difference from the fitted estimates: f32 1.11% (12 models), int8 2.70% (14 models).
/// The same code as on the RV32IMAC, so the same cycles: its table.
pub(crate) const CELLS_RV32IMC: CellsSpeed = CELLS_RV32IMAC;
