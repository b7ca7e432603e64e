//! The USART of the STM32F4 family (USART1, USART2, USART6: same registers).

use crate::console::Transmitter;
use crate::mmio::Reg;

/// Register offsets and bits.
const SR: usize = 0x00;
const DR: usize = 0x04;
const BRR: usize = 0x08;
const CR1: usize = 0x0C;
/// SR bit: the transmit data register is empty.
const SR_TXE: u32 = 1 << 7;
/// SR bit: transmission complete.
const SR_TC: u32 = 1 << 6;
/// CR1 bits: USART enabled, transmitter enabled.
const CR1_UE: u32 = 1 << 13;
const CR1_TE: u32 = 1 << 3;

/// A USART's transmitter.
pub struct Usart {
    base: usize,
}

impl Usart {
    /// Enables the transmitter of the USART at `base` at 115200 baud, 8N1,
    /// from a `clock_hz` bus clock (oversampling by 16: BRR = clock / baud,
    /// rounded). Safe to call again.
    pub fn new(base: usize, clock_hz: u32) -> Self {
        Reg::at(base, BRR).write((clock_hz + 115_200 / 2) / 115_200);
        Reg::at(base, CR1).write(CR1_UE | CR1_TE);
        Self { base }
    }
}

impl Transmitter for Usart {
    fn ready(&self) -> bool {
        Reg::at(self.base, SR).read() & SR_TXE != 0
    }

    fn send(&mut self, byte: u8) {
        Reg::at(self.base, DR).write(u32::from(byte));
    }

    fn idle(&self) -> bool {
        Reg::at(self.base, SR).read() & SR_TC != 0
    }
}
