//! `charm-cycles`: estimated cycles from QEMU's trace of executed
//! instructions, by a core's published instruction timings
//! (`charm_tests::cycle_model`).
//!
//! ```text
//! charm-cycles --core CORE TRACE                  # totals of one run
//! charm-cycles --core CORE --symbols NM TRACE     # and the share of each function
//! charm-cycles --core CORE --addresses TRACE      # cycles and instructions of each block
//! charm-cycles --core CORE --chars N SHORT LONG   # per character: (LONG − SHORT) / N
//! charm-cycles --tables                           # the cycle tables, as Markdown
//! ```
//!
//! A trace is QEMU's log of `-d in_asm,exec,nochain` (`-D FILE`); `-` reads
//! it from stdin. CORE is one of m0, m0plus, m3, m4, m7, m33, m55, riscv32.
//! `scripts/measure-cycles.sh` makes the two runs (N apart in generated
//! characters) and calls this. `--symbols NM` takes the output of `llvm-nm
//! -n ELF` (lines `ADDRESS TYPE NAME`) and prints, after the totals, one
//! line `function: CYCLES INSTRUCTIONS NAME` per function that ran (each
//! block counted to the function its first instruction lies in; Thumb's
//! odd symbol addresses taken even; local labels and mapping symbols
//! skipped), largest first
//! (`scripts/measure-cycles.sh --profile`). `--addresses` prints one line
//! `address: HEX CYCLES INSTRUCTIONS` per translated block that ran (its
//! first instruction's address), to find a function's hot blocks in
//! `llvm-objdump -d` of the same ELF.

use charm_tests::cycle_model::{CycleTable, Isa, TraceCounts, TABLES};
use std::io::BufReader;
use std::process::ExitCode;

/// Reads one trace file (or stdin for `-`).
fn read(path: &str, isa: Isa) -> Result<TraceCounts, String> {
    let counts = if path == "-" {
        TraceCounts::read(std::io::stdin().lock(), isa)
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
        TraceCounts::read(BufReader::with_capacity(1 << 20, file), isa)
    };
    counts.map_err(|e| format!("{path}: {e}"))
}

/// The text symbols of `llvm-nm -n` output, `(address, name)` in address
/// order (the Thumb bit cleared).
fn text_symbols(nm: &str) -> Vec<(u64, String)> {
    let mut symbols: Vec<(u64, String)> = nm
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = u64::from_str_radix(fields.next()?, 16).ok()?;
            let kind = fields.next()?;
            let name = fields.collect::<Vec<_>>().join(" ");
            // local labels (`.L0`) and mapping symbols (`$t`) name no function
            let function = !name.is_empty() && !name.starts_with(".L") && !name.starts_with('$');
            (matches!(kind, "t" | "T" | "w" | "W") && function).then_some((address & !1, name))
        })
        .collect();
    symbols.sort();
    symbols
}

/// `(cycles, instructions, function)` of each function that ran, largest first.
fn by_function(
    counts: &TraceCounts,
    table: &CycleTable,
    isa: Isa,
    nm: &str,
) -> Vec<(u64, u64, String)> {
    let symbols = text_symbols(nm);
    let mut sums: std::collections::HashMap<&str, (u64, u64)> = Default::default();
    for (address, instructions, cycles) in counts.by_address(table, isa) {
        let at = symbols.partition_point(|(a, _)| *a <= address);
        let name = at
            .checked_sub(1)
            .map_or("(before every symbol)", |i| symbols[i].1.as_str());
        let sum = sums.entry(name).or_default();
        sum.0 += cycles;
        sum.1 += instructions;
    }
    let mut out: Vec<(u64, u64, String)> = sums
        .into_iter()
        .map(|(name, (c, i))| (c, i, name.to_string()))
        .collect();
    out.sort_by(|a, b| b.cmp(a));
    out
}

fn print_tables() {
    println!("| core | ALU | MUL / MLA | long MUL | DIV | load | load/store after load/store | store | LDM/STM/PUSH/POP (n words) | taken branch | BL | IT | VADD/VMUL | VMLA | VDIV | VLDR/VSTR | MVE (128-bit) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (_, t) in TABLES {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}+n | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.name, t.alu, t.multiply, t.multiply_long, t.divide, t.load, t.load_store_pipelined,
            t.store, t.multiple_base, 1 + t.branch_refill, t.branch_link, t.if_then, t.float_simple,
            t.float_multiply_accumulate, t.float_divide, t.float_load_store, t.vector
        );
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let usage =
        "usage: charm-cycles --core CORE [--chars N SHORT LONG | [--symbols NM | --addresses] TRACE] | --tables";
    if args == ["--tables"] {
        print_tables();
        return Ok(());
    }
    let (core, rest) = match args {
        [flag, core, rest @ ..] if flag == "--core" => (core, rest),
        _ => return Err(usage.into()),
    };
    let table: CycleTable = TABLES
        .iter()
        .find(|(name, _)| name == core)
        .map(|&(_, t)| t)
        .ok_or_else(|| {
            format!("unknown core '{core}' (cores: m0, m0plus, m3, m4, m7, m33, m55, riscv32)")
        })?;
    let isa = if core == "riscv32" {
        Isa::RiscV
    } else {
        Isa::Arm
    };
    match rest {
        [trace] => {
            let counts = read(trace, isa)?;
            println!("core: {}", table.name);
            println!("instructions: {}", counts.instructions());
            println!("estimated cycles: {}", counts.cycles(&table, isa));
        }
        [flag, nm, trace] if flag == "--symbols" => {
            let nm = std::fs::read_to_string(nm).map_err(|e| format!("cannot read {nm}: {e}"))?;
            let counts = read(trace, isa)?;
            println!("core: {}", table.name);
            println!("instructions: {}", counts.instructions());
            println!("estimated cycles: {}", counts.cycles(&table, isa));
            for (cycles, instructions, name) in by_function(&counts, &table, isa, &nm) {
                println!("function: {cycles} {instructions} {name}");
            }
        }
        [flag, trace] if flag == "--addresses" => {
            let counts = read(trace, isa)?;
            for (address, instructions, cycles) in counts.by_address(&table, isa) {
                println!("address: {address:x} {cycles} {instructions}");
            }
        }
        [flag, n, short, long] if flag == "--chars" => {
            let n: u64 = n
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("--chars needs a positive integer, not '{n}'"))?;
            let (short, long) = (read(short, isa)?, read(long, isa)?);
            let per_char = |a: u64, b: u64| (b as f64 - a as f64) / n as f64;
            let insns = per_char(short.instructions(), long.instructions());
            let cycles = per_char(short.cycles(&table, isa), long.cycles(&table, isa));
            println!("core: {}", table.name);
            println!("instructions per character: {insns:.0}");
            println!("estimated cycles per character: {cycles:.0}");
            println!("estimated cycles per instruction: {:.3}", cycles / insns);
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("charm-cycles: {e}");
            ExitCode::FAILURE
        }
    }
}
