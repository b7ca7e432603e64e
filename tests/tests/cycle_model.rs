//! The cycle model (`charm_tests::cycle_model`) on small loops counted by
//! hand from the Technical Reference Manuals' tables, in the exact format
//! QEMU 7.2 writes with `-d in_asm,exec,nochain` (lines copied from real
//! traces, addresses changed).
//!
//! The estimates are integers and the tables are integers, so every
//! expected value is exact: no tolerance.

use charm_tests::cycle_model::{
    block_cycles, InstructionClass, Isa, TraceCounts, CORTEX_M0, CORTEX_M0_PLUS, CORTEX_M4,
    CORTEX_M55, RV32IMAC,
};

/// A trace: the `IN:` records and `Trace` lines joined.
fn counts(trace: &str) -> TraceCounts {
    TraceCounts::read(trace.as_bytes(), Isa::Arm).expect("a well-formed trace")
}

/// A RISC-V trace.
fn riscv_counts(trace: &str) -> TraceCounts {
    TraceCounts::read(trace.as_bytes(), Isa::RiscV).expect("a well-formed trace")
}

/// A counted loop run three times, then one block after it:
///
/// ```text
/// 0x100 ldr  r0, [r1]     M4: 2   M0: 2   M0+: 2
/// 0x102 adds r0, #1           1       1        1
/// 0x104 subs r2, #1           1       1        1
/// 0x106 bne  0x100            taken 1+2, not taken 1 (M0+: taken 1+1)
/// 0x108 movs r0, #0           1
///
/// 0x10a b    0x10a              1+2 (M0+: 1+1)
/// ```
///
/// M4 and M0: 7 + 7 + 5 + 1 + 3 = 23 cycles; M0+: 6 + 6 + 5 + 1 + 2 = 20; 14 instructions.
const COUNTED_LOOP: &str = "\
----------------
IN: main
0x00000100:  6808       ldr      r0, [r1]
0x00000102:  3001       adds     r0, #1
0x00000104:  3a01       subs     r2, #1
0x00000106:  d1fb       bne      #0x100

Trace 0: 0x7f70f0000100 [00800408/00000100/00000110/ff020200] main
Trace 0: 0x7f70f0000100 [00800408/00000100/00000110/ff020200] main
Trace 0: 0x7f70f0000100 [00800408/00000100/00000110/ff020200] main
----------------
IN: main
0x00000108:  2000       movs     r0, #0
0x0000010a:  e7fe       b        #0x10a

Trace 0: 0x7f70f0000200 [00800408/00000108/00000110/ff020200] main
";

#[test]
fn counted_loop_m4_m0_m0plus() {
    // The block after the loop ends in an unconditional `b`: 1 + refill 2
    // (1 + 1 on the M0+) whether or not the trace shows where it went.
    let c = counts(COUNTED_LOOP);
    assert_eq!(c.instructions(), 3 * 4 + 2);
    // loop 7 + 7 + 5, then movs 1 + b 3
    assert_eq!(c.cycles(&CORTEX_M4, Isa::Arm), 7 + 7 + 5 + 1 + 3);
    assert_eq!(c.cycles(&CORTEX_M0, Isa::Arm), 7 + 7 + 5 + 1 + 3);
    // M0+: taken branches 2
    assert_eq!(c.cycles(&CORTEX_M0_PLUS, Isa::Arm), 6 + 6 + 5 + 1 + 2);
}

/// The same loop by block: the loop's 12 instructions and 7 + 7 + 5
/// cycles at 0x100, the block after it 2 and 1 + 3 at 0x108 (Cortex-M4):
/// the sums of `cycles` and `instructions`, split where the blocks start.
#[test]
fn counted_loop_by_address() {
    let c = counts(COUNTED_LOOP);
    assert_eq!(
        c.by_address(&CORTEX_M4, Isa::Arm),
        vec![(0x100, 12, 7 + 7 + 5), (0x108, 2, 1 + 3)]
    );
}

/// Four f32 multiply-accumulates, fused-looking VMLA against VMUL then VADD:
///
/// ```text
/// vldmia r0!, {s0, s1, s2, s3}   1 + 4
/// vldmia r1!, {s4-s7}            1 + 4
/// 4 × vmla.f32                   4 × 3      (M4 TRM table 7-1)
/// ```
/// = 22 cycles on the M4; with 4 × (vmul.f32 + vadd.f32) 10 + 8 = 18.
#[test]
fn f32_multiply_accumulate_m4() {
    let vmla = "\
IN: dot
0x00000200:  ecb0 0a04  vldmia   r0!, {s0, s1, s2, s3}
0x00000204:  ecf1 2a04  vldmia   r1!, {s4-s7}
0x00000208:  ee00 4a02  vmla.f32 s8, s0, s4
0x0000020c:  ee40 4a22  vmla.f32 s9, s1, s5
0x00000210:  ee01 5a03  vmla.f32 s10, s2, s6
0x00000214:  ee41 5a23  vmla.f32 s11, s3, s7

Trace 0: 0x7f70f0000300 [00800408/00000200/00000110/ff020200] dot
";
    assert_eq!(counts(vmla).cycles(&CORTEX_M4, Isa::Arm), 22);
    let mul_add = "\
IN: dot
0x00000200:  ecb0 0a04  vldmia   r0!, {s0, s1, s2, s3}
0x00000204:  ecf1 2a04  vldmia   r1!, {s4-s7}
0x00000208:  ee20 0a02  vmul.f32 s0, s0, s4
0x0000020c:  ee60 0aa2  vmul.f32 s1, s1, s5
0x00000210:  ee21 1a03  vmul.f32 s2, s2, s6
0x00000214:  ee61 1aa3  vmul.f32 s3, s3, s7
0x00000218:  ee34 4a00  vadd.f32 s8, s8, s0
0x0000021c:  ee74 4aa0  vadd.f32 s9, s9, s1
0x00000220:  ee35 5a01  vadd.f32 s10, s10, s2
0x00000224:  ee75 5aa1  vadd.f32 s11, s11, s3

Trace 0: 0x7f70f0000300 [00800408/00000200/00000110/ff020200] dot
";
    assert_eq!(counts(mul_add).cycles(&CORTEX_M4, Isa::Arm), 18);
}

/// Neighbouring loads and stores pipeline on the M4 (2, then 1 each), not on the M0 (2 each).
#[test]
fn load_store_pipelining() {
    let trace = "\
IN: copy
0x00000300:  6808       ldr      r0, [r1]
0x00000302:  684a       ldr      r2, [r1, #4]
0x00000304:  6018       str      r0, [r3]
0x00000306:  3301       adds     r3, #1

Trace 0: 0x7f70f0000400 [00800408/00000300/00000110/ff020200] copy
";
    let c = counts(trace);
    assert_eq!(c.cycles(&CORTEX_M4, Isa::Arm), 2 + 1 + 1 + 1);
    assert_eq!(c.cycles(&CORTEX_M0, Isa::Arm), 2 + 2 + 2 + 1);
}

/// Mnemonics as QEMU's disassembler prints them, reduced to their class.
#[test]
fn arm_mnemonics() {
    use InstructionClass::*;
    let cases = [
        ("bls", "#0x100", ConditionalBranch),
        ("bls.w", "#0x100", ConditionalBranch),
        ("bne", "#0x100", ConditionalBranch),
        ("cbz", "r0, #0x100", ConditionalBranch),
        ("bics", "r0, r1", Alu),
        ("bicsne", "r0, r1", Alu),
        ("lsls", "r0, r1, #2", Alu),
        ("subgt", "r0, #1", Alu),
        ("mls", "r0, r1, r2, r3", Multiply),
        ("muls", "r0, r1, r0", Multiply),
        ("smlad", "r11, r7, r3, r11", Multiply),
        ("sxtb16", "r7, r7, ror #8", Alu),
        ("umull", "r0, r1, r2, r3", MultiplyLong),
        ("udiv", "r0, r1, r2", Divide),
        ("ldr.w", "r0, [r1, #4]", Load),
        ("ldr", "pc, [sp], #4", Branch),
        (
            "strdeq",
            "r0, r1, [r2]",
            Multiple {
                words: 2,
                writes_pc: false,
            },
        ),
        ("bx", "lr", Branch),
        ("bl", "#0x6a88", BranchLink),
        ("itt", "gt", IfThen),
        ("itete", "eq", IfThen),
        (
            "pop",
            "{r4, r5, r6, r7, pc}",
            Multiple {
                words: 5,
                writes_pc: true,
            },
        ),
        (
            "push.w",
            "{r8, sb, sl, fp}",
            Multiple {
                words: 4,
                writes_pc: false,
            },
        ),
        (
            "vpush",
            "{d8, d9}",
            Multiple {
                words: 4,
                writes_pc: false,
            },
        ),
        ("vmovgt.f32", "s0, s1", FloatSimple),
        ("vmla.f32", "s8, s0, s4", FloatMultiplyAccumulate),
        ("vdiv.f32", "s0, s1, s2", FloatDivide),
        ("vldr", "s0, [r0, #4]", FloatLoadStore),
        ("vldrb.u8", "q0, [r0], #0x10", Vector),
        ("vmladava.s8", "r2, q0, q1", Vector),
        ("le", "lr, #0x100", ConditionalBranch),
    ];
    for (mnemonic, operands, class) in cases {
        let line = format!("0x00000100:  f000 f000  {mnemonic}  {operands}\n");
        let trace =
            format!("IN: x\n{line}\nTrace 0: 0x1000 [00000000/00000100/00000000/00000000] x\n");
        let c = counts(&trace);
        assert_eq!(c.instructions(), 1, "{mnemonic}");
        let block = c.block(0x1000).expect("the block");
        assert_eq!(block[0].arm_class(), class, "{mnemonic} {operands}");
    }
}

/// POP {.., pc} on the M4: 1 + n + refill 2; on the M0: 1 + n + 2 (TRM: 4 + n for n − 1 registers and pc).
#[test]
fn return_by_pop() {
    let trace = "\
IN: f
0x00000500:  bdf0       pop      {r4, r5, r6, r7, pc}

Trace 0: 0x7f70f0000600 [00800408/00000500/00000110/ff020200] f
";
    assert_eq!(counts(trace).cycles(&CORTEX_M4, Isa::Arm), 1 + 5 + 2);
    assert_eq!(counts(trace).cycles(&CORTEX_M0, Isa::Arm), 1 + 5 + 2);
}

/// The Helium int8 loop of charm-core on the M55 as QEMU 7.2's capstone
/// prints it (copied from a trace: it knows no MVE, so it prints `ldc`,
/// `.byte` and bogus 16-bit halves), ten instructions: VLDRH, 2 × VLDRB,
/// 4 × VMLADAVA, 2 × VSHR, LE. By the beat model 9 × 2 + LE taken 1 + 2 =
/// 21 cycles, the last pass (LE not taken) 19.
#[test]
fn helium_loop_m55() {
    let trace = "\
IN: _ZN10charm_core5quant16pair_dots_summed17haa87e7b8a2e0897bE
0x00002a26:  ecb1 3e88  ldc      p14, c3, [r1], #0x220
0x00002a2a:  ecb3 1e10  ldc      p14, c1, [r3], #0x40
0x00002a2e:  ecb5 5e10  ldc      p14, c5, [r5], #0x40
0x00002a32:  eef0       .byte    0xf0, 0xee
0x00002a34:  0e22       lsrs     r2, r4, #0x18
0x00002a36:  ef98 0050  vshr.s16 q0, q0, #8
0x00002a3a:  eef0       .byte    0xf0, 0xee
0x00002a3c:  2e22       cmp      r6, #0x22
0x00002a3e:  eef4       .byte    0xf4, 0xee
0x00002a40:  4e22       ldr      r6, [pc, #0x88]
0x00002a42:  ef98 4054  vshr.s16 q2, q2, #8
0x00002a46:  eef4       .byte    0xf4, 0xee
0x00002a48:  8e22       ldrh     r2, [r4, #0x30]
0x00002a4a:  f00f       .byte    0x0f, 0xf0
0x00002a4c:  c015       stm      r0!, {r0, r2, r4}

Trace 0: 0x7f70f0000800 [00800408/00002a26/00000110/ff020200] pair
Trace 0: 0x7f70f0000800 [00800408/00002a26/00000110/ff020200] pair
";
    let c = counts(trace);
    let block = c.block(0x7f70f0000800).expect("the loop");
    assert_eq!(block.len(), 10);
    let classes: Vec<_> = block.iter().map(|i| i.arm_class()).collect();
    assert_eq!(classes[..9], [InstructionClass::Vector; 9]);
    assert_eq!(classes[9], InstructionClass::ConditionalBranch);
    assert_eq!(c.instructions(), 20);
    // first pass taken (back to 0x2a26), the last one not (nothing followed)
    assert_eq!(c.cycles(&CORTEX_M55, Isa::Arm), 21 + 19);
}

/// DLS (the loop's start), as QEMU 7.2 prints it, split in two.
#[test]
fn low_overhead_loop_start() {
    let trace = "\
IN: f
0x00002a22:  f049       .byte    0x49, 0xf0
0x00002a24:  e001       b        #0x2a2a

Trace 0: 0x1000 [00000000/00002a22/00000000/00000000] f
";
    let c = counts(trace);
    assert_eq!(c.instructions(), 1);
    assert_eq!(
        c.block(0x1000).unwrap()[0].arm_class(),
        InstructionClass::Alu
    );
    assert_eq!(c.cycles(&CORTEX_M55, Isa::Arm), 1);
}

/// RV32 in QEMU's format (compressed and full encodings), a counted loop twice:
/// lw 2 + c.addi 1 + addi 1 + bnez taken 3 / not taken 1.
#[test]
fn riscv_loop() {
    let trace = "\
----------------
IN: main
0x80000100:  0005a503          lw                      a0,0(a1)
0x80000104:  0505              addi                    a0,a0,1
0x80000106:  fff60613          addi                    a2,a2,-1
0x8000010a:  fa7d              bnez                    a2,-12                  # 0x80000100

Trace 0: 0x7f70f0000900 [00000000/80000100/00000000/00000000] main
Trace 0: 0x7f70f0000900 [00000000/80000100/00000000/00000000] main
";
    let c = riscv_counts(trace);
    assert_eq!(c.instructions(), 8);
    assert_eq!(
        c.cycles(&RV32IMAC, Isa::RiscV),
        (2 + 1 + 1 + 3) + (2 + 1 + 1 + 1)
    );
}

/// A block with no taken branch costs the same either way; one executed block
/// is counted by `block_cycles` as the trace does.
#[test]
fn block_cycles_matches_trace() {
    let c = counts(COUNTED_LOOP);
    let block = c.block(0x7f70f0000100).expect("the loop");
    assert_eq!(block_cycles(&CORTEX_M4, Isa::Arm, block, true), 7);
    assert_eq!(block_cycles(&CORTEX_M4, Isa::Arm, block, false), 5);
}

/// Straight-line loads that QEMU splits into two blocks (at a 1 KiB page)
/// pipeline across the split as the core runs them; a block entered by a
/// branch starts with a lone load:
///
/// ```text
/// 0x3fc ldr  r0, [r1]         M4: 2
/// 0x3fe ldr  r2, [r1, #4]         1 (pipelined)
/// ---- QEMU's new block at the page ----
/// 0x400 ldr  r3, [r1, #8]         1 after 0x3fe, 2 after the branch at 0x500
/// 0x402 movs r0, #0               1
/// 0x404 b    0x500                1+2
/// 0x500 b    0x400                1+2
/// ```
///
/// Run as 0x3fc, 0x400, 0x500, 0x400: 3 + 5 + 3 + 6 = 17 cycles.
#[test]
fn loads_pipeline_across_a_split_block() {
    let trace = "\
----------------
IN: main
0x000003fc:  6808       ldr      r0, [r1]
0x000003fe:  684a       ldr      r2, [r1, #4]

Trace 0: 0x7f70f0000100 [00800408/000003fc/00000110/ff020200] main
----------------
IN: main
0x00000400:  688b       ldr      r3, [r1, #8]
0x00000402:  2000       movs     r0, #0
0x00000404:  e07c       b        #0x500

Trace 0: 0x7f70f0000200 [00800408/00000400/00000110/ff020200] main
----------------
IN: main
0x00000500:  e77e       b        #0x400

Trace 0: 0x7f70f0000300 [00800408/00000500/00000110/ff020200] main
Trace 0: 0x7f70f0000200 [00800408/00000400/00000110/ff020200] main
";
    let c = counts(trace);
    assert_eq!(c.instructions(), 2 + 3 + 1 + 3);
    assert_eq!(c.cycles(&CORTEX_M4, Isa::Arm), 3 + 5 + 3 + 6);
    assert_eq!(
        c.by_address(&CORTEX_M4, Isa::Arm),
        vec![(0x3fc, 2, 3), (0x400, 6, 5 + 6), (0x500, 1, 3)]
    );
}

/// A `Trace` line for a block no `IN:` record described is an error, not a guess.
#[test]
fn unknown_block_is_an_error() {
    let trace = "Trace 0: 0x1000 [00000000/00000100/00000000/00000000] x\n";
    let err = TraceCounts::read(trace.as_bytes(), Isa::Arm).expect_err("no IN: record");
    assert!(err.to_string().contains("line 1"), "{err}");
}
