//! QEMU's `mps2-an505`: ARM MPS2+ with the AN505 image (Cortex-M33, run in the secure state).
//! Console: CMSDK UART0 at 0x4020_0000.

use crate::uart::cmsdk::Cmsdk;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::MPS2_AN505;

/// The console's transmitter.
pub type Uart = Cmsdk;

/// UART0, clocked by the 20 MHz system clock.
pub fn uart() -> Uart {
    // SAFETY: UART0 of the MPS2 (AN505) is a CMSDK UART at 0x4020_0000.
    unsafe { Cmsdk::new(0x4020_0000, 20_000_000) }
}
