//! The UART of Nordic's nRF51 and nRF52 (the non-DMA "legacy" UART0 at
//! 0x4000_2000, same registers on both), and the GPIO port it drives.

use crate::console::Transmitter;
use crate::mmio::Reg;

const UART0: usize = 0x4000_2000;
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const TASKS_STARTTX: Reg = unsafe { Reg::at(UART0, 0x008) };
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const EVENTS_TXDRDY: Reg = unsafe { Reg::at(UART0, 0x11C) };
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const ENABLE: Reg = unsafe { Reg::at(UART0, 0x500) };
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const PSEL_TXD: Reg = unsafe { Reg::at(UART0, 0x50C) };
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const TXD: Reg = unsafe { Reg::at(UART0, 0x51C) };
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const BAUDRATE: Reg = unsafe { Reg::at(UART0, 0x524) };
// SAFETY: a register of UART0 at 0x4000_2000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const CONFIG: Reg = unsafe { Reg::at(UART0, 0x56C) };
const ENABLE_UART: u32 = 4;
const BAUD_115200: u32 = 0x01D7_E000;
/// GPIO port 0 (P0).
const P0: usize = 0x5000_0000;
// SAFETY: a register of GPIO port 0 at 0x5000_0000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const P0_OUTSET: Reg = unsafe { Reg::at(P0, 0x508) };
// SAFETY: a register of GPIO port 0 at 0x5000_0000 (nRF51/nRF52 reference manuals) (`Reg::at`).
const P0_DIRSET: Reg = unsafe { Reg::at(P0, 0x518) };

/// UART0's transmitter: a byte is taken when the previous one has gone
/// (event TXDRDY).
pub struct Nrf {
    /// A byte was sent and its TXDRDY not yet seen.
    pending: bool,
}

impl Nrf {
    /// Enables UART0 on pin `tx_pin` of P0 at 115200 baud, 8N1, no flow
    /// control. Safe to call again.
    pub fn new(tx_pin: u32) -> Self {
        P0_OUTSET.write(1 << tx_pin);
        P0_DIRSET.write(1 << tx_pin);
        PSEL_TXD.write(tx_pin);
        BAUDRATE.write(BAUD_115200);
        CONFIG.write(0);
        ENABLE.write(ENABLE_UART);
        TASKS_STARTTX.write(1);
        Self { pending: false }
    }
}

impl Transmitter for Nrf {
    fn ready(&self) -> bool {
        !self.pending || EVENTS_TXDRDY.read() != 0
    }

    fn send(&mut self, byte: u8) {
        EVENTS_TXDRDY.write(0);
        TXD.write(u32::from(byte));
        self.pending = true;
    }

    fn idle(&self) -> bool {
        self.ready()
    }
}
