//! QEMU's `mps3-an547`: ARM MPS3 with the AN547 image (Corstone SSE-300, Cortex-M55).
//! Console: CMSDK UART0 at 0x4930_3000.

use crate::uart::cmsdk::Cmsdk;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::MPS3_AN547;

/// The console's transmitter.
pub type Uart = Cmsdk;

/// UART0, clocked by the 32 MHz system clock.
pub fn uart() -> Uart {
    Cmsdk::new(0x4930_3000, 32_000_000)
}
