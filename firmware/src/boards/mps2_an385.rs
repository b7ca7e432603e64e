//! QEMU's `mps2-an385`: ARM MPS2 with the AN385 image (Cortex-M3).
//! Console: CMSDK UART0 at 0x4000_4000.

use crate::uart::cmsdk::Cmsdk;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::MPS2_AN385;

/// The console's transmitter.
pub type Uart = Cmsdk;

/// UART0, clocked by the 25 MHz system clock.
pub fn uart() -> Uart {
    // SAFETY: UART0 of the MPS2 (AN385) is a CMSDK UART at 0x4000_4000.
    unsafe { Cmsdk::new(0x4000_4000, 25_000_000) }
}
