//! The ARM CMSDK APB UART of the MPS2 and MPS3 boards (QEMU's `cmsdk-apb-uart`).

use crate::console::Transmitter;
use crate::mmio::Reg;

/// Register offsets and bits.
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
/// STATE bit: the transmit buffer is full.
const STATE_TX_FULL: u32 = 1 << 0;
/// CTRL bit: transmitter enabled.
const CTRL_TX_ENABLE: u32 = 1 << 0;

/// A CMSDK UART's transmitter.
pub struct Cmsdk {
    base: usize,
}

impl Cmsdk {
    /// Enables the transmitter of the UART at `base` at 115200 baud from a
    /// `clock_hz` peripheral clock (QEMU ignores the rate, but the divisor
    /// must be at least 16). Safe to call again (the panic handler does).
    pub fn new(base: usize, clock_hz: u32) -> Self {
        Reg::at(base, BAUDDIV).write(clock_hz / 115_200);
        Reg::at(base, CTRL).write(CTRL_TX_ENABLE);
        Self { base }
    }
}

impl Transmitter for Cmsdk {
    fn ready(&self) -> bool {
        Reg::at(self.base, STATE).read() & STATE_TX_FULL == 0
    }

    fn send(&mut self, byte: u8) {
        Reg::at(self.base, DATA).write(u32::from(byte));
    }

    fn idle(&self) -> bool {
        self.ready()
    }
}
