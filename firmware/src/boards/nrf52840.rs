//! Nordic nRF52840 (nRF52840-DK, Feather/ItsyBitsy nRF52840, nice!nano).
//! Console: UART0, TX on P0.06, the pin wired to the interface MCU's
//! virtual COM port on the nRF52840-DK; change [`TX_PIN`] for other boards.

use crate::uart::nrf::Nrf;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::NRF52840;

/// The console's transmitter.
pub type Uart = Nrf;

/// TX pin: P0.06.
pub const TX_PIN: u32 = 6;

/// UART0 on [`TX_PIN`].
pub fn uart() -> Uart {
    Nrf::new(TX_PIN)
}
