//! The board layer: one module per board (feature `board-NAME`), each with
//! its entry of charm-boards' table ([`BOARD`]) and its console UART, set up
//! with whatever the board needs first (clocks, pins). Its memory map is
//! `boards/NAME/memory.x`. Everything else in the firmware is shared.

#[cfg(feature = "board-microbit")]
mod microbit;
#[cfg(feature = "board-microbit")]
use microbit as board;

#[cfg(feature = "board-mps2-an385")]
mod mps2_an385;
#[cfg(feature = "board-mps2-an385")]
use mps2_an385 as board;

#[cfg(feature = "board-mps2-an386")]
mod mps2_an386;
#[cfg(feature = "board-mps2-an386")]
use mps2_an386 as board;

#[cfg(feature = "board-mps2-an500")]
mod mps2_an500;
#[cfg(feature = "board-mps2-an500")]
use mps2_an500 as board;

#[cfg(feature = "board-mps2-an505")]
mod mps2_an505;
#[cfg(feature = "board-mps2-an505")]
use mps2_an505 as board;

#[cfg(feature = "board-mps3-an547")]
mod mps3_an547;
#[cfg(feature = "board-mps3-an547")]
use mps3_an547 as board;

#[cfg(feature = "board-riscv32-virt")]
mod riscv32_virt;
#[cfg(feature = "board-riscv32-virt")]
use riscv32_virt as board;

#[cfg(feature = "board-riscv32imc-virt")]
mod riscv32imc_virt;
#[cfg(feature = "board-riscv32imc-virt")]
use riscv32imc_virt as board;

#[cfg(feature = "board-nrf52840")]
mod nrf52840;
#[cfg(feature = "board-nrf52840")]
use nrf52840 as board;

#[cfg(any(feature = "board-rp2040", feature = "board-rp2350"))]
mod rp_clocks;
#[cfg(any(feature = "board-rp2040", feature = "board-rp2350"))]
mod rp_console;

#[cfg(feature = "board-rp2040")]
mod rp2040;
#[cfg(feature = "board-rp2040")]
use rp2040 as board;

#[cfg(feature = "board-rp2350")]
mod rp2350;
#[cfg(feature = "board-rp2350")]
use rp2350 as board;

#[cfg(feature = "board-esp32c3")]
mod esp32c3;
#[cfg(feature = "board-esp32c3")]
use esp32c3 as board;

#[cfg(feature = "board-stm32f411")]
mod stm32f411;
#[cfg(feature = "board-stm32f411")]
use stm32f411 as board;

/// The board this build is for: its regions, capacity and core (`charm-boards`).
pub const BOARD: charm_boards::Board = board::BOARD;

/// The console on this board's UART.
pub type Console = crate::console::Console<board::Uart>;

/// The board's console, set up (again, if it was: the panic handler calls it too).
pub fn console() -> Console {
    Console::new(board::uart())
}
