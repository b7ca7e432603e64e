//! `charm-speed-fit`: charm-boards' cost model fitted to measured cycles
//! per character (`charm_tests::speed_fit`), printed as the constants of
//! `firmware/boards/src/speed.rs`; and the corpora of the fit's models.
//!
//! ```text
//! charm-speed-fit < MEASUREMENTS.tsv     # lines: CORE ELEMENT H V CYCLES
//! charm-speed-fit --cells < CELLS.tsv     # lines: CORE ELEMENT CELL LAYERS H V CYCLES
//! charm-speed-fit --corpus V OUT         # a text of V distinct characters
//! ```
//!
//! `scripts/fit-speed.sh` makes the measurements and calls both
//! (`--cells`: `scripts/fit-speed.sh --cells`, the f32 and int8
//! `StackedCost` of each core, for models of other cells and depths).

use charm_boards::{Cell, StackedShape};
use charm_tests::speed_fit::{fit, fit_cells, CellsPoint, Point};
use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

/// A text of 60,000 characters over `v` distinct ones (printable ASCII,
/// then Latin-1 and Latin Extended-A), in an order fixed by integer
/// arithmetic alone, so that every machine writes the same file.
fn corpus(v: usize) -> Result<String, String> {
    let alphabet: Vec<char> = (0x21u32..0x7F)
        .chain(0xA1..0x180)
        .filter_map(char::from_u32)
        .take(v.saturating_sub(2))
        .chain([' ', '\n'])
        .collect();
    if alphabet.len() != v || v < 3 {
        return Err(format!("--corpus takes V from 3 to 382, not {v}"));
    }
    let mut text: String = alphabet.iter().collect();
    let mut state: u64 = 1;
    for _ in 0..60_000 {
        // Knuth's MMIX linear congruential generator.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        text.push(alphabet[((state >> 33) % v as u64) as usize]);
    }
    Ok(text)
}

fn run(args: &[String]) -> Result<(), String> {
    if let [flag, v, out] = args {
        if flag == "--corpus" {
            let v: usize = v
                .parse()
                .map_err(|_| format!("V must be a number, not {v}"))?;
            return std::fs::write(out, corpus(v)?).map_err(|e| format!("{out}: {e}"));
        }
    }
    let cells = args.first().is_some_and(|a| a == "--cells") && args.len() == 1;
    if !args.is_empty() && !cells {
        return Err("usage: charm-speed-fit [--cells] < MEASUREMENTS.tsv | --corpus V OUT".into());
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| e.to_string())?;
    if cells {
        return run_cells(&input);
    }
    let mut groups: BTreeMap<(String, String), Vec<Point>> = BTreeMap::new();
    for (n, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [core, element, h, v, cycles] = fields[..] else {
            return Err(format!(
                "line {}: want CORE ELEMENT H V CYCLES: {line:?}",
                n + 1
            ));
        };
        let number = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| format!("line {}: {s:?}", n + 1))
        };
        groups
            .entry((core.to_string(), element.to_string()))
            .or_default()
            .push(Point {
                hidden: number(h)? as u32,
                vocab: number(v)? as u32,
                cycles: number(cycles)?,
            });
    }
    let mut worst = 0.0f64;
    for ((core, element), points) in &groups {
        let (cost, error) =
            fit(points).ok_or_else(|| format!("{core} {element}: the points fit no model"))?;
        worst = worst.max(error);
        println!(
            "{core} {element} ({} models, largest difference {error:.2}%): CharCost {{ \
             mac_millicycles: {}, hidden_cycles: {}, vocab_cycles: {}, fixed_cycles: {} }}",
            points.len(),
            cost.mac_millicycles,
            cost.hidden_cycles,
            cost.vocab_cycles,
            cost.fixed_cycles
        );
    }
    println!("largest difference of all: {worst:.2}%");
    Ok(())
}

/// `--cells`: lines `CORE ELEMENT CELL LAYERS H V CYCLES` (ELEMENT `f32`
/// or `int8`), one fit per core and element.
fn run_cells(input: &str) -> Result<(), String> {
    let mut groups: BTreeMap<(String, String), Vec<CellsPoint>> = BTreeMap::new();
    for (n, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [core, element, cell, layers, h, v, cycles] = fields[..] else {
            return Err(format!(
                "line {}: want CORE ELEMENT CELL LAYERS H V CYCLES: {line:?}",
                n + 1
            ));
        };
        if element != "f32" && element != "int8" {
            return Err(format!(
                "line {}: the element is f32 or int8, not {element:?}",
                n + 1
            ));
        }
        let whole = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("line {}: {s:?} is not a whole number", n + 1))
        };
        let shape = StackedShape {
            cell: Cell::from_name(cell)
                .ok_or_else(|| format!("line {}: no cell {cell:?}", n + 1))?,
            layers: whole(layers)?,
            hidden: whole(h)?,
            vocab: whole(v)?,
        };
        let cycles = cycles
            .parse::<f64>()
            .map_err(|_| format!("line {}: {cycles:?}", n + 1))?;
        groups
            .entry((core.to_string(), element.to_string()))
            .or_default()
            .push(CellsPoint { shape, cycles });
    }
    let mut worst = 0.0f64;
    for ((core, element), points) in &groups {
        let (c, error) =
            fit_cells(points).ok_or_else(|| format!("{core}: the points fit no model"))?;
        worst = worst.max(error);
        println!(
            "{core} {element} cells ({} models, largest difference {error:.2}%): StackedCost {{ \
             mac_millicycles: {}, row_cycles: {}, sigmoid_cycles: {}, tanh_cycles: {}, \
             output_mac_millicycles: {}, vocab_cycles: {}, fixed_cycles: {} }}",
            points.len(),
            c.mac_millicycles,
            c.row_cycles,
            c.sigmoid_cycles,
            c.tanh_cycles,
            c.output_mac_millicycles,
            c.vocab_cycles,
            c.fixed_cycles
        );
    }
    println!("largest difference of all: {worst:.2}%");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("charm-speed-fit: {e}");
            ExitCode::FAILURE
        }
    }
}
