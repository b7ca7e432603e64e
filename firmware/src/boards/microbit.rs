//! BBC micro:bit v1 and QEMU's `microbit`: nRF51822 (Cortex-M0). Console:
//! UART0, TX on P0.24, the pin wired to the interface chip's USB serial port.

use crate::uart::nrf::Nrf;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::MICROBIT;

/// The console's transmitter.
pub type Uart = Nrf;

/// UART0 on P0.24.
pub fn uart() -> Uart {
    Nrf::new(24)
}
