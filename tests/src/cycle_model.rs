//! Estimated cycles from QEMU's trace of the instructions it executed.
//!
//! QEMU counts instructions (`-icount shift=0`), but cores spend different
//! numbers of cycles on them: on a Cortex-M4 a `VMLA.F32` takes 3 cycles
//! where `VMUL.F32` and `VADD.F32` take 1 each, a lone load 2 and a taken
//! branch 2–4. This module turns the trace QEMU writes with
//! `-d in_asm,exec,nochain` into an estimate:
//!
//! ```text
//! cycles = Σ over executed translation blocks b:  Σ over instructions i of b:  cost(i)
//! ```
//!
//! where `cost` comes from the core's published instruction timings
//! ([`CycleTable`]). The trace has two kinds of records: an `IN:` block (the
//! disassembly of a translation block, printed once when QEMU translates it)
//! and a `Trace` line per execution of a block (`nochain` makes QEMU log
//! every execution instead of jumping from block to block unseen). A block
//! ends at a branch, so the next executed block's address says whether that
//! branch was taken; or, in straight-line code, where QEMU stops a block at
//! a 1 KiB page: a load that starts the next block then follows the previous
//! block's last load, as the core sees it, and is priced so.
//!
//! The tables and what they leave out (their known error) are on
//! [`CycleTable`]'s constants; `docs/performance.md` shows them (`scripts/tables.sh cycle-tables`).

use std::collections::HashMap;
use std::io::BufRead;

/// Cycle costs of one core's instruction classes, from its Technical
/// Reference Manual (TRM). `n` is the number of registers (words)
/// transferred by a multiple load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleTable {
    /// The core, as the README's table names it.
    pub name: &'static str,
    /// Data processing (ADD, MOV, shifts, compares, bit fields, extends),
    /// the DSP SIMD instructions (SMLAD, SXTB16, ...), and anything not
    /// listed below.
    pub alu: u32,
    /// MUL and the 32-bit multiply-accumulates (MLA, MLS, SMLAD and kin).
    pub multiply: u32,
    /// Long multiplies (UMULL, SMULL, UMLAL, SMLAL).
    pub multiply_long: u32,
    /// Integer division (SDIV, UDIV; RISC-V DIV, REM); data dependent on
    /// the cores that have it: the middle of the TRM's range.
    pub divide: u32,
    /// A load (LDR and kin) not directly after another load or store.
    pub load: u32,
    /// A load or store directly after a load or store: the Cortex-M3/M4
    /// pipeline overlaps its address phase with the previous data phase.
    pub load_store_pipelined: u32,
    /// A store (STR and kin) not directly after another load or store.
    pub store: u32,
    /// LDM, STM, PUSH, POP, VLDM, VSTM, VPUSH, VPOP: `multiple_base + n`.
    pub multiple_base: u32,
    /// Extra cycles of a taken branch or any write to the PC (pipeline refill `P`).
    pub branch_refill: u32,
    /// BL and BLX: cycles in all (they always branch).
    pub branch_link: u32,
    /// IT (often folded into the previous 16-bit instruction: 0 or 1).
    pub if_then: u32,
    /// VADD, VSUB, VMUL, VNMUL, VABS, VNEG, VCMP, VCVT, VMOV, VMRS (scalar f32).
    pub float_simple: u32,
    /// VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS (scalar f32).
    pub float_multiply_accumulate: u32,
    /// VDIV, VSQRT (scalar f32).
    pub float_divide: u32,
    /// VLDR, VSTR (scalar f32).
    pub float_load_store: u32,
    /// A Helium (MVE) instruction on 128-bit Q registers.
    pub vector: u32,
}

/// Cortex-M0 (Arm DDI 0432C, table 3-1; the single-cycle multiplier QEMU's
/// nRF51 and the micro:bit have): ALU 1, MULS 1, LDR/STR 2, LDM/STM/PUSH/POP
/// 1+n, B taken 3 (1 + refill 2), BL 4, POP {pc} 4+n, BX/BLX 3.
/// Known error: none for the instruction classes of Thumb-1 (the TRM gives
/// exact figures for zero-wait-state memory); flash wait states on a real
/// board add cycles this does not see.
pub const CORTEX_M0: CycleTable = CycleTable {
    name: "Cortex-M0",
    alu: 1,
    multiply: 1,
    multiply_long: 1,
    divide: 1,
    load: 2,
    load_store_pipelined: 2,
    store: 2,
    multiple_base: 1,
    branch_refill: 2,
    branch_link: 4,
    if_then: 1,
    float_simple: 1,
    float_multiply_accumulate: 1,
    float_divide: 1,
    float_load_store: 2,
    vector: 1,
};

/// Cortex-M0+ (Arm DDI 0484C, table 3-1; RP2040): as the M0 with a 2-stage
/// pipeline: B taken 2 (refill 1), BL 3, POP {pc} 3+n. Known error: as the M0's.
pub const CORTEX_M0_PLUS: CycleTable = CycleTable {
    name: "Cortex-M0+",
    branch_refill: 1,
    branch_link: 3,
    ..CORTEX_M0
};

/// Cortex-M3 (Arm DDI 0337I, table 18-1): ALU 1, MUL 1, MLA 2 (both taken
/// as 2), UMULL and kin 3–7 (taken 4), SDIV 2–12 (taken 7), LDR 2 and 1 when
/// pipelined after a load or store, STR 2 (1 pipelined), LDM 1+n, branch
/// taken 1 + P with P 1–3 (taken 2), IT 1. Known error: P and the divide are
/// ±1 and ±5 per instruction, a MUL +1; stalls on dependent loads (LDR whose
/// result feeds the next address) are not modeled.
pub const CORTEX_M3: CycleTable = CycleTable {
    name: "Cortex-M3",
    alu: 1,
    multiply: 2,
    multiply_long: 4,
    divide: 7,
    load: 2,
    load_store_pipelined: 1,
    store: 2,
    multiple_base: 1,
    branch_refill: 2,
    branch_link: 3,
    if_then: 1,
    float_simple: 1,
    float_multiply_accumulate: 1,
    float_divide: 1,
    float_load_store: 2,
    vector: 1,
};

/// Cortex-M4 with FPU (Arm DDI 0439B, tables 3-1 and 7-1): as the M3 but
/// every multiply and multiply-accumulate (DSP included) in 1 cycle;
/// VADD/VSUB/VMUL 1, VMLA/VMLS/VFMA 3, VDIV/VSQRT 14, VLDR/VSTR 2,
/// VLDM/VSTM 1+n. Known error: as the M3's, and the FPU's register
/// dependencies (a VADD waiting for the VMUL before it) are not modeled.
pub const CORTEX_M4: CycleTable = CycleTable {
    name: "Cortex-M4F",
    multiply: 1,
    multiply_long: 1,
    float_multiply_accumulate: 3,
    float_divide: 14,
    ..CORTEX_M3
};

/// Cortex-M7: Arm publishes no per-instruction table (the M7 issues up to
/// two instructions a cycle, with a branch predictor). The M4 table as a
/// single-issue bound, with the 1-cycle loads of its 64-bit TCM interface
/// and a taken branch of 2. Known error: pessimistic by up to 2× on code
/// that dual-issues (an ALU instruction beside a load).
pub const CORTEX_M7: CycleTable = CycleTable {
    name: "Cortex-M7",
    load: 1,
    branch_refill: 1,
    branch_link: 2,
    ..CORTEX_M4
};

/// Cortex-M33: Arm publishes no per-instruction table; its 3-stage
/// pipeline is the M4's in kind, so the M4 table. Known error: ±1 per taken
/// branch and per load, as the M4's.
pub const CORTEX_M33: CycleTable = CycleTable {
    name: "Cortex-M33",
    ..CORTEX_M4
};

/// Cortex-M55: the scalar side as the M4's, the FPU's VMLA 2; Helium by the
/// beat model: a 128-bit MVE instruction is four 32-bit beats, two per
/// cycle on the M55, so 2 cycles (the Cortex-M55 Software Optimization
/// Guide, "most MVE instructions"). Known error: the M55 overlaps a vector
/// load with the next vector arithmetic instruction, which this does not
/// model: up to 2× pessimistic on a loop of alternating VLDR and VMLADAV.
pub const CORTEX_M55: CycleTable = CycleTable {
    name: "Cortex-M55",
    float_multiply_accumulate: 2,
    vector: 2,
    ..CORTEX_M4
};

/// RV32IMAC: a simple in-order 5-stage core without branch prediction (in
/// the manner of the GD32VF103's Bumblebee or the FE310's E31): ALU 1,
/// MUL 1, DIV/REM 33, load 2 (the load-use bubble), store 1, taken branch
/// or jump 1 + 2. Known error: cores with a branch predictor take a
/// predicted taken branch in 1–2 cycles; the load-use bubble is only there
/// when the next instruction uses the result.
pub const RV32IMAC: CycleTable = CycleTable {
    name: "RV32IMAC",
    alu: 1,
    multiply: 1,
    multiply_long: 1,
    divide: 33,
    load: 2,
    load_store_pipelined: 2,
    store: 1,
    multiple_base: 1,
    branch_refill: 2,
    branch_link: 3,
    if_then: 1,
    float_simple: 1,
    float_multiply_accumulate: 1,
    float_divide: 1,
    float_load_store: 2,
    vector: 1,
};

/// Every table, by the name `charm-cycles --core` takes.
pub const TABLES: [(&str, CycleTable); 8] = [
    ("m0", CORTEX_M0),
    ("m0plus", CORTEX_M0_PLUS),
    ("m3", CORTEX_M3),
    ("m4", CORTEX_M4),
    ("m7", CORTEX_M7),
    ("m33", CORTEX_M33),
    ("m55", CORTEX_M55),
    ("riscv32", RV32IMAC),
];

/// What an instruction costs, by kind; [`Instruction::arm_class`] and
/// [`Instruction::riscv_class`] decide it from the mnemonic and operands
/// QEMU's disassembler prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionClass {
    /// Data processing and anything not listed.
    Alu,
    /// MUL, MLA, SMLAD, ...
    Multiply,
    /// UMULL, SMLAL, ...
    MultiplyLong,
    /// SDIV, UDIV, DIV, REM.
    Divide,
    /// A single load.
    Load,
    /// A single store.
    Store,
    /// LDM/STM/PUSH/POP/VLDM/VSTM/VPUSH/VPOP of `n` words; `writes_pc` for POP {.., pc} / LDM {.., pc}.
    Multiple {
        /// Words transferred.
        words: u32,
        /// The list includes the PC (a return).
        writes_pc: bool,
    },
    /// A branch that may fall through (`B<cond>`, CBZ, BEQ on RISC-V, LE).
    ConditionalBranch,
    /// A branch that always branches: B, BX, J, JR, RET, MOV pc.
    Branch,
    /// BL, BLX, JAL, JALR with a link register.
    BranchLink,
    /// IT.
    IfThen,
    /// Scalar f32 VADD, VMUL, VMOV, ...
    FloatSimple,
    /// Scalar f32 VMLA, VFMA, ...
    FloatMultiplyAccumulate,
    /// VDIV, VSQRT.
    FloatDivide,
    /// VLDR, VSTR.
    FloatLoadStore,
    /// A Helium instruction on Q registers.
    Vector,
}

/// One instruction of a translation block, as QEMU's `in_asm` log prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Its address.
    pub address: u64,
    /// Its length in bytes (2 or 4).
    pub size: u64,
    /// Lower-case mnemonic as printed (`vmla.f32`, `ldr.w`, `bne`, `c.addi`).
    pub mnemonic: String,
    /// The operands as printed (`r0, [r1, #4]`).
    pub operands: String,
    /// The encoding: the halfwords as printed, the first in the high half
    /// of a 32-bit instruction (`f006 fb42` → `0xf006_fb42`).
    pub encoding: u32,
}

/// Thumb: a first halfword whose top five bits are 0b11101, 0b11110 or
/// 0b11111 starts a 32-bit instruction (Arm ARM, A5.1 / C2.1).
fn starts_32_bit_thumb(halfword: u32) -> bool {
    matches!(halfword >> 11, 0b11101..=0b11111)
}

/// The class of a Thumb instruction that only its encoding tells: Helium
/// (MVE) and the low-overhead loop instructions of Armv8.1-M, which the
/// capstone disassembler of Debian's QEMU 7.2 prints as `.byte`, `ldc` or
/// splits into two bogus 16-bit instructions.
fn armv81m_class(encoding: u32, size: u64) -> Option<InstructionClass> {
    if size != 4 {
        return None;
    }
    let (first, second) = (encoding >> 16, encoding & 0xffff);
    let coprocessor = (second >> 8) & 0xf;
    // LE / LETP: 1111 0000 0ab1 1111 | 11x0 ...; DLS / DLSTP: 1111 0000 0100 Rn | 1110 0000 0000 0001
    if first & 0xffcf == 0xf00f && second & 0xd001 == 0xc001 {
        return Some(InstructionClass::ConditionalBranch);
    }
    if first & 0xffc0 == 0xf040 && second == 0xe001 {
        return Some(InstructionClass::Alu);
    }
    // WLS / WLSTP: 1111 0000 01xx Rn | 1100 ... 1: branches over the loop when the count is 0
    if first & 0xffc0 == 0xf040 && second & 0xf001 == 0xc001 {
        return Some(InstructionClass::ConditionalBranch);
    }
    // Vector data processing: 111x 1111 ... (M-profile has no Neon: this is MVE).
    if first & 0xef00 == 0xef00 {
        return Some(InstructionClass::Vector);
    }
    // Coprocessor space with coprocessor 14 or 15 (1111 or 1110 in bits 11..8):
    // MVE loads and stores (111x 110x ...) and the rest of MVE (111x 1110 ...);
    // the FPU uses coprocessors 10 and 11.
    if (first & 0xee00 == 0xec00 || first & 0xef00 == 0xee00) && coprocessor >= 0xe {
        return Some(InstructionClass::Vector);
    }
    None
}

/// Joins the halves of 32-bit Thumb instructions that the disassembler split
/// into two lines (it does so for encodings it does not know).
fn join_split_thumb(block: Vec<Instruction>) -> Vec<Instruction> {
    let mut joined: Vec<Instruction> = Vec::with_capacity(block.len());
    let mut iter = block.into_iter().peekable();
    while let Some(mut instruction) = iter.next() {
        if instruction.size == 2 && starts_32_bit_thumb(instruction.encoding) {
            let next_is_half = iter
                .peek()
                .is_some_and(|n| n.size == 2 && n.address == instruction.address + 2);
            if let (true, Some(second)) = (next_is_half, iter.next_if(|_| next_is_half)) {
                instruction.encoding = (instruction.encoding << 16) | second.encoding;
                instruction.size = 4;
                instruction.mnemonic = String::from(".byte");
                instruction.operands = String::new();
            }
        }
        joined.push(instruction);
    }
    joined
}

/// Condition-code suffixes of Arm mnemonics (B<cond>, and any instruction in an IT block).
const CONDITIONS: [&str; 16] = [
    "eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le",
];

/// Arm base mnemonics the classes tell apart, and the common data-processing
/// ones: a mnemonic is reduced to one of these by taking off a condition
/// and an `s` (flag-setting) suffix.
const ARM_BASES: &[&str] = &[
    "b", "bx", "bl", "blx", "cbz", "cbnz", "le", "letp", "wls", "wlstp", "dls", "dlstp", "it",
    "ldm", "ldmia", "ldmdb", "pop", "stm", "stmia", "stmdb", "push", "ldrd", "strd", "ldr", "ldrb",
    "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrt", "lda", "ldab", "ldah", "str", "strb", "strh",
    "strex", "strt", "stl", "stlb", "stlh", "mul", "mla", "mls", "smlad", "smladx", "smlsd",
    "smuad", "smusd", "smlabb", "smlabt", "smlatb", "smlatt", "smulbb", "smulbt", "smultb",
    "smultt", "smlawb", "smlawt", "smulwb", "smulwt", "smmul", "smmla", "smmls", "usada8", "usad8",
    "umull", "smull", "umlal", "smlal", "umaal", "smlald", "smlsld", "sdiv", "udiv", "add", "adc",
    "sub", "sbc", "rsb", "mov", "movw", "movt", "mvn", "and", "orr", "orn", "eor", "bic", "lsl",
    "lsr", "asr", "ror", "rrx", "neg", "cmp", "cmn", "tst", "teq", "clz", "uxtb", "uxth", "sxtb",
    "sxth", "ubfx", "sbfx", "bfi", "bfc", "ssat", "usat", "rev", "vmov", "vadd", "vsub", "vmul",
    "vnmul", "vneg", "vabs", "vcmp", "vcmpe", "vcvt", "vcvtr", "vmrs", "vmsr", "vldr", "vstr",
    "vldm", "vldmia", "vldmdb", "vstm", "vstmia", "vstmdb", "vpush", "vpop", "vmla", "vmls",
    "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms", "vdiv", "vsqrt", "vsel", "vmaxnm",
    "vminnm",
];

/// `s` without a trailing condition code, if it has one.
fn without_condition(s: &str) -> Option<&str> {
    CONDITIONS
        .iter()
        .find_map(|c| s.strip_suffix(c))
        .filter(|b| !b.is_empty())
}

/// `s` without a trailing `s` (the flag-setting form), if it has one.
fn without_s(s: &str) -> Option<&str> {
    s.strip_suffix('s')
}

impl Instruction {
    /// The Arm mnemonic reduced to its base, and whether it had a
    /// condition: `ldr.w` → `ldr`, `subgt` → `sub`, `bne` → (`b`, true),
    /// `bics` → `bic`, `bls` → (`b`, true), `lsls` → `lsl`. The first of
    /// (as it is, without a condition, without a condition and an `s`,
    /// without an `s`, without an `s` and a condition) that is a known base
    /// wins; an unknown mnemonic stays as it is.
    fn arm_base(&self) -> (&str, bool) {
        let m = self.mnemonic.split('.').next().unwrap_or("");
        let known = |s: &&str| ARM_BASES.contains(s);
        if known(&m) {
            return (m, false);
        }
        if let Some(b) = without_condition(m) {
            if let Some(base) = Some(b).filter(known).or_else(|| without_s(b).filter(known)) {
                return (base, true);
            }
        }
        if let Some(b) = without_s(m) {
            if known(&b) {
                return (b, false);
            }
            if let Some(base) = without_condition(b).filter(known) {
                return (base, true);
            }
        }
        (m, false)
    }

    /// Words in a register list `{r4, r5, lr}` or `{d8-d15}` (a D register is two words).
    fn register_list_words(&self) -> (u32, bool) {
        let Some(list) = self
            .operands
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(list, _)| list)
        else {
            return (1, false);
        };
        let mut words = 0;
        let mut writes_pc = false;
        for item in list.split(',').map(str::trim) {
            let per_register = if item.starts_with('d') { 2 } else { 1 };
            let count = match item.split_once('-') {
                Some((a, b)) => {
                    let n = |s: &str| {
                        s.trim_start_matches(|c: char| c.is_alphabetic())
                            .parse::<u32>()
                    };
                    match (n(a), n(b)) {
                        (Ok(a), Ok(b)) if b >= a => b - a + 1,
                        _ => 1,
                    }
                }
                None => 1,
            };
            writes_pc |= item == "pc";
            words += per_register * count;
        }
        (words.max(1), writes_pc)
    }

    /// The class of an Arm (Thumb) instruction.
    pub fn arm_class(&self) -> InstructionClass {
        use InstructionClass::*;
        if let Some(class) = armv81m_class(self.encoding, self.size) {
            return class;
        }
        let (base, conditional) = self.arm_base();
        let writes_pc_directly = self.operands.starts_with("pc,") || self.operands == "pc";
        if self.operands.contains('q')
            && base.starts_with('v')
            && mentions_q_register(&self.operands)
        {
            return Vector;
        }
        match base {
            "b" if conditional => ConditionalBranch,
            "b" | "bx" => Branch,
            "cbz" | "cbnz" | "le" | "letp" | "wls" | "wlstp" => ConditionalBranch,
            "bl" | "blx" => BranchLink,
            b if is_if_then(b) => IfThen,
            "ldm" | "ldmia" | "ldmdb" | "pop" | "stm" | "stmia" | "stmdb" | "push" | "vldm"
            | "vldmia" | "vldmdb" | "vstm" | "vstmia" | "vstmdb" | "vpush" | "vpop" => {
                let (words, writes_pc) = self.register_list_words();
                Multiple { words, writes_pc }
            }
            "ldrd" | "strd" => Multiple {
                words: 2,
                writes_pc: false,
            },
            "ldr" | "ldrb" | "ldrh" | "ldrsb" | "ldrsh" | "ldrex" | "ldrt" | "lda"
                if writes_pc_directly =>
            {
                Branch
            }
            "ldr" | "ldrb" | "ldrh" | "ldrsb" | "ldrsh" | "ldrex" | "ldrt" | "lda" | "ldab"
            | "ldah" => Load,
            "str" | "strb" | "strh" | "strex" | "strt" | "stl" | "stlb" | "stlh" => Store,
            "mul" | "mla" | "mls" | "smlad" | "smladx" | "smlsd" | "smuad" | "smusd" | "smlabb"
            | "smlabt" | "smlatb" | "smlatt" | "smulbb" | "smulbt" | "smultb" | "smultt"
            | "smlawb" | "smlawt" | "smulwb" | "smulwt" | "smmul" | "smmla" | "smmls"
            | "usada8" | "usad8" => Multiply,
            "umull" | "smull" | "umlal" | "smlal" | "umaal" | "smlald" | "smlsld" | "smlalbb" => {
                MultiplyLong
            }
            "sdiv" | "udiv" => Divide,
            "vmla" | "vmls" | "vnmla" | "vnmls" | "vfma" | "vfms" | "vfnma" | "vfnms" => {
                FloatMultiplyAccumulate
            }
            "vdiv" | "vsqrt" => FloatDivide,
            "vldr" | "vstr" => FloatLoadStore,
            "mov" | "add" if writes_pc_directly => Branch,
            b if b.starts_with('v') => FloatSimple,
            _ => Alu,
        }
    }

    /// The class of a RISC-V instruction (compressed `c.` forms as their full ones).
    pub fn riscv_class(&self) -> InstructionClass {
        use InstructionClass::*;
        let m = self.mnemonic.strip_prefix("c.").unwrap_or(&self.mnemonic);
        match m {
            "beq" | "bne" | "blt" | "bge" | "bltu" | "bgeu" | "beqz" | "bnez" | "blez" | "bgez"
            | "bltz" | "bgtz" | "bgt" | "ble" | "bgtu" | "bleu" => ConditionalBranch,
            "j" | "jr" | "ret" | "tail" => Branch,
            "jal" | "jalr" | "call" => {
                // `jal zero, x` / `jalr zero, ...` are plain jumps.
                if self.operands.starts_with("zero") {
                    Branch
                } else {
                    BranchLink
                }
            }
            "lw" | "lh" | "lhu" | "lb" | "lbu" | "lwsp" => Load,
            "sw" | "sh" | "sb" | "swsp" => Store,
            "mul" | "mulh" | "mulhu" | "mulhsu" => Multiply,
            "div" | "divu" | "rem" | "remu" => Divide,
            _ => Alu,
        }
    }
}

/// IT, ITT, ITE, ITTE, ... (up to four conditions).
fn is_if_then(base: &str) -> bool {
    base.strip_prefix("it")
        .is_some_and(|rest| rest.len() <= 3 && rest.chars().all(|c| c == 't' || c == 'e'))
}

/// True if the operands name a Q register (`q0` … `q7`).
fn mentions_q_register(operands: &str) -> bool {
    operands
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|t| t.len() == 2 && t.starts_with('q') && t.as_bytes()[1].is_ascii_digit())
}

/// The instruction set of a trace: which classifier applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Thumb (Cortex-M).
    Arm,
    /// RV32 (compressed instructions included).
    RiscV,
}

/// The cycles of one instruction, after `previous` (for the load-store pipelining).
pub fn instruction_cycles(
    table: &CycleTable,
    class: InstructionClass,
    previous: Option<InstructionClass>,
    taken: bool,
) -> u32 {
    use InstructionClass::*;
    let after_memory = matches!(previous, Some(Load | Store | FloatLoadStore));
    match class {
        Alu => table.alu,
        Multiply => table.multiply,
        MultiplyLong => table.multiply_long,
        Divide => table.divide,
        Load if after_memory => table.load_store_pipelined,
        Load => table.load,
        Store if after_memory => table.load_store_pipelined,
        Store => table.store,
        Multiple { words, writes_pc } => {
            table.multiple_base + words + if writes_pc { table.branch_refill } else { 0 }
        }
        ConditionalBranch if taken => 1 + table.branch_refill,
        ConditionalBranch => 1,
        Branch => 1 + table.branch_refill,
        BranchLink => table.branch_link,
        IfThen => table.if_then,
        FloatSimple => table.float_simple,
        FloatMultiplyAccumulate => table.float_multiply_accumulate,
        FloatDivide => table.float_divide,
        FloatLoadStore => table.float_load_store,
        Vector => table.vector,
    }
}

/// The cycles of a block of instructions executed in order, its last
/// instruction's branch `taken` or not.
pub fn block_cycles(table: &CycleTable, isa: Isa, block: &[Instruction], taken: bool) -> u64 {
    block_cycles_after(table, isa, block, taken, false)
}

/// [`block_cycles`] of a block entered right after a load or store:
/// `after_memory` when QEMU ended the block before at no branch (a
/// translation block stops at a 1 KiB page, or after 512 instructions) with a load or
/// store that the core's pipeline overlaps with this block's first load.
pub fn block_cycles_after(
    table: &CycleTable,
    isa: Isa,
    block: &[Instruction],
    taken: bool,
    after_memory: bool,
) -> u64 {
    let mut previous = after_memory.then_some(InstructionClass::Load);
    let mut cycles = 0u64;
    for (i, instruction) in block.iter().enumerate() {
        let class = class_of(instruction, isa);
        let last = i + 1 == block.len();
        cycles += u64::from(instruction_cycles(table, class, previous, taken && last));
        previous = Some(class);
    }
    cycles
}

/// The class of `instruction` in `isa`.
fn class_of(instruction: &Instruction, isa: Isa) -> InstructionClass {
    match isa {
        Isa::Arm => instruction.arm_class(),
        Isa::RiscV => instruction.riscv_class(),
    }
}

/// Whether `block` ends in a load or store (and so at no branch: QEMU split
/// straight-line code there).
fn ends_in_memory(block: &[Instruction], isa: Isa) -> bool {
    use InstructionClass::*;
    block
        .last()
        .is_some_and(|i| matches!(class_of(i, isa), Load | Store | FloatLoadStore))
}

/// Why a trace could not be read.
#[derive(Debug)]
pub enum TraceError {
    /// Reading failed.
    Io(std::io::Error),
    /// A `Trace` line names a block that no `IN:` record described (the
    /// trace was not made with `-d in_asm,exec,nochain`).
    UnknownBlock {
        /// The line number.
        line: usize,
    },
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceError::Io(e) => write!(f, "cannot read the trace: {e}"),
            TraceError::UnknownBlock { line } => write!(
                f,
                "line {line}: a block executed that no IN: record describes; \
                 make the trace with qemu -d in_asm,exec,nochain"
            ),
        }
    }
}

impl std::error::Error for TraceError {}

/// A trace summed up: how often each block ran, with its last branch
/// taken or not, and entered right after a load or store or not (QEMU
/// ended the block before it at no branch, in a run of loads that the
/// core pipelines).
#[derive(Debug, Default)]
pub struct TraceCounts {
    /// Blocks by their host code address (QEMU's key for a block).
    blocks: HashMap<u64, Vec<Instruction>>,
    /// (host address, taken, entered after a load or store) → executions.
    executions: HashMap<(u64, bool, bool), u64>,
}

/// One line of an `IN:` block: `0x00006a88:  b580       push     {r7, lr}`.
fn parse_instruction(line: &str) -> Option<Instruction> {
    let (address, rest) = line.strip_prefix("0x")?.split_once(':')?;
    let address = u64::from_str_radix(address, 16).ok()?;
    let mut tokens = rest.split_whitespace().peekable();
    let mut hex_digits = 0u64;
    let mut encoding = 0u32;
    while let Some(t) = tokens.peek() {
        let is_encoding = matches!(t.len(), 4 | 8) && t.chars().all(|c| c.is_ascii_hexdigit());
        if !is_encoding {
            break;
        }
        hex_digits += t.len() as u64;
        let value = u32::from_str_radix(t, 16).ok()?;
        encoding = if t.len() == 8 {
            value
        } else {
            (encoding << 16) | value
        };
        tokens.next();
    }
    let mnemonic = tokens.next()?.to_ascii_lowercase();
    let operands = tokens.collect::<Vec<_>>().join(" ");
    (hex_digits > 0).then_some(Instruction {
        address,
        size: hex_digits / 2,
        mnemonic,
        operands,
        encoding,
    })
}

/// A `Trace` line: `Trace 0: 0x7f70f0000100 [00800408/00000400/00000110/ff020200] Reset`
/// → (host address, guest address).
fn parse_execution(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("Trace ")?;
    let (_, rest) = rest.split_once(": 0x")?;
    let (host, rest) = rest.split_once(' ')?;
    let fields = rest.strip_prefix('[')?.split(']').next()?;
    let guest = fields.split('/').nth(1)?;
    Some((
        u64::from_str_radix(host, 16).ok()?,
        u64::from_str_radix(guest, 16).ok()?,
    ))
}

impl TraceCounts {
    /// Reads a trace made with `-d in_asm,exec,nochain` of code for `isa`.
    pub fn read(trace: impl BufRead, isa: Isa) -> Result<Self, TraceError> {
        let mut counts = TraceCounts::default();
        // The block being described by an `IN:` record, waiting for its first execution.
        let mut described: Vec<Instruction> = Vec::new();
        // The block executed last, where it falls through to, whether it
        // was entered after a load or store and whether it ends in one.
        let mut pending: Option<(u64, u64, bool, bool)> = None;
        for (number, line) in trace.lines().enumerate() {
            let line = line.map_err(TraceError::Io)?;
            if let Some(instruction) = parse_instruction(&line) {
                described.push(instruction);
                continue;
            }
            let Some((host, guest)) = parse_execution(&line) else {
                continue;
            };
            if !described.is_empty() {
                let block = std::mem::take(&mut described);
                let block = match isa {
                    Isa::Arm => join_split_thumb(block),
                    Isa::RiscV => block,
                };
                counts.blocks.insert(host, block);
            }
            let Some(block) = counts.blocks.get(&host) else {
                return Err(TraceError::UnknownBlock { line: number + 1 });
            };
            // The previous block's last branch was taken iff execution did not
            // continue right after it; this one follows its load or store
            // iff it continued and the block ended in one.
            let mut after_memory = false;
            if let Some((previous, fall_through, entered, memory_end)) = pending.take() {
                let continued = guest == fall_through;
                *counts
                    .executions
                    .entry((previous, !continued, entered))
                    .or_default() += 1;
                after_memory = continued && memory_end;
            }
            let end = block.last().map_or(guest, |i| i.address + i.size);
            pending = Some((host, end, after_memory, ends_in_memory(block, isa)));
        }
        if let Some((previous, _, entered, _)) = pending {
            *counts
                .executions
                .entry((previous, false, entered))
                .or_default() += 1;
        }
        Ok(counts)
    }

    /// The instructions of the block QEMU keeps at host address `host`.
    pub fn block(&self, host: u64) -> Option<&[Instruction]> {
        self.blocks.get(&host).map(Vec::as_slice)
    }

    /// Instructions executed.
    pub fn instructions(&self) -> u64 {
        self.executions
            .iter()
            .map(|(&(host, _, _), &n)| n * self.blocks.get(&host).map_or(0, |b| b.len() as u64))
            .sum()
    }

    /// Instructions executed and estimated cycles under `table` of each
    /// block, by the guest address of its first instruction (blocks that
    /// start at the same address, as QEMU may translate one twice, are
    /// summed), in address order.
    pub fn by_address(&self, table: &CycleTable, isa: Isa) -> Vec<(u64, u64, u64)> {
        let mut sums: std::collections::BTreeMap<u64, (u64, u64)> = Default::default();
        for (&(host, taken, after_memory), &n) in &self.executions {
            let Some(block) = self.blocks.get(&host) else {
                continue;
            };
            let Some(first) = block.first() else {
                continue;
            };
            let sum = sums.entry(first.address).or_default();
            sum.0 += n * block.len() as u64;
            sum.1 += n * block_cycles_after(table, isa, block, taken, after_memory);
        }
        sums.into_iter().map(|(a, (i, c))| (a, i, c)).collect()
    }

    /// Estimated cycles under `table`.
    pub fn cycles(&self, table: &CycleTable, isa: Isa) -> u64 {
        self.executions
            .iter()
            .map(|(&(host, taken, after_memory), &n)| {
                let block = self.blocks.get(&host).map_or(&[][..], |b| b.as_slice());
                n * block_cycles_after(table, isa, block, taken, after_memory)
            })
            .sum()
    }
}
