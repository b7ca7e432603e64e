//! QEMU's `mps3-an547`: ARM MPS3 with the AN547 image (Corstone SSE-300, Cortex-M55).
//! Console: CMSDK UART0 at 0x4930_3000.

use crate::uart::cmsdk::Cmsdk;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::MPS3_AN547;

/// The console's transmitter.
pub type Uart = Cmsdk;

/// UART0, clocked by the 32 MHz system clock.
pub fn uart() -> Uart {
    // SAFETY: UART0 of the MPS3 (AN547) is a CMSDK UART at 0x4930_3000.
    unsafe { Cmsdk::new(0x4930_3000, 32_000_000) }
}
