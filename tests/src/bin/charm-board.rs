//! `charm-board`: what charm-boards' table says of a board, as shell
//! variables, for scripts (scripts/measure-firmware.sh) that run its
//! firmware under QEMU.
//!
//! ```text
//! $ cargo run -q -p charm-tests --bin charm-board -- mps2-an386
//! board=mps2-an386
//! core='Cortex-M4F'
//! rust_target=thumbv7em-none-eabihf
//! weights_address=0x00100000
//! params_address=0x000ff000
//! max_hidden=512
//! qemu='qemu-system-arm -machine mps2-an386 -cpu cortex-m4'
//! ```
//!
//! `qemu` is empty for a board that QEMU does not emulate. `charm-board`
//! with no argument lists the boards.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = match args.as_slice() {
        [] => {
            for b in charm_boards::BOARDS {
                println!("{:<14} {}", b.name, b.summary);
            }
            return ExitCode::SUCCESS;
        }
        [name] => name,
        _ => {
            eprintln!("usage: charm-board [BOARD]");
            return ExitCode::from(2);
        }
    };
    let Some(b) = charm_boards::board(name) else {
        let names: Vec<&str> = charm_boards::BOARDS.iter().map(|b| b.name).collect();
        eprintln!(
            "charm-board: no board {name:?}; the boards are {}",
            names.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let qemu = b.qemu.map_or(String::new(), |q| {
        std::iter::once(q.program)
            .chain(q.args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ")
    });
    println!("board={}", b.name);
    println!("core='{}'", b.core.name);
    println!("rust_target={}", b.core.rust_target);
    println!("weights_address={:#010x}", b.weights_address);
    println!("params_address={:#010x}", b.params_address);
    println!("max_hidden={}", b.max_hidden);
    println!("qemu='{qemu}'");
    ExitCode::SUCCESS
}
