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

/// A USART's transmitter: its status and data registers.
pub struct Usart {
    sr: Reg,
    dr: Reg,
}

impl Usart {
    /// Enables the transmitter of the USART at `base` at 115200 baud, 8N1,
    /// from a `clock_hz` bus clock (oversampling by 16: BRR = clock / baud,
    /// rounded). Fine to call again.
    ///
    /// # Safety
    ///
    /// `base` is the address of an STM32F4 USART of the board (its registers
    /// meet [`Reg::at`]'s contract).
    pub unsafe fn new(base: usize, clock_hz: u32) -> Self {
        // SAFETY: registers of the USART at `base`, by this function's contract.
        let [sr, dr, brr, cr1] = [SR, DR, BRR, CR1].map(|offset| unsafe { Reg::at(base, offset) });
        brr.write((clock_hz + 115_200 / 2) / 115_200);
        cr1.write(CR1_UE | CR1_TE);
        Self { sr, dr }
    }
}

impl Transmitter for Usart {
    fn ready(&self) -> bool {
        self.sr.read() & SR_TXE != 0
    }

    fn send(&mut self, byte: u8) {
        self.dr.write(u32::from(byte));
    }

    fn idle(&self) -> bool {
        self.sr.read() & SR_TC != 0
    }
}
