//! The Arm PrimeCell PL011 UART (the RP2040's and the RP2350's UART0 and UART1).

use crate::console::Transmitter;
use crate::mmio::Reg;

/// Register offsets and bits.
const DR: usize = 0x000;
const FR: usize = 0x018;
const IBRD: usize = 0x024;
const FBRD: usize = 0x028;
const LCR_H: usize = 0x02C;
const CR: usize = 0x030;
/// FR bit: the transmit FIFO is full.
const FR_TX_FULL: u32 = 1 << 5;
/// FR bit: the UART is sending.
const FR_BUSY: u32 = 1 << 3;
/// LCR_H: 8 data bits, FIFOs on (no parity, one stop bit).
const LCR_H_8N1_FIFO: u32 = (0b11 << 5) | (1 << 4);
/// CR bits: UART enabled, transmitter enabled.
const CR_ENABLE: u32 = 1 << 0;
const CR_TX_ENABLE: u32 = 1 << 8;

/// A PL011's transmitter: its flag and data registers.
pub struct Pl011 {
    fr: Reg,
    dr: Reg,
}

impl Pl011 {
    /// Whether the UART at `base` is already enabled (by an earlier [`Pl011::new`]).
    ///
    /// # Safety
    ///
    /// `base` is the address of a PL011 of the board (its registers meet
    /// [`Reg::at`]'s contract).
    pub unsafe fn enabled(base: usize) -> bool {
        // SAFETY: a register of the PL011 at `base`, by this function's contract.
        unsafe { Reg::at(base, CR) }.read() & CR_ENABLE != 0
    }

    /// Enables the UART at `base` for sending at 115200 baud, 8N1, from a
    /// `clock_hz` UART clock, unless it is enabled already. The divisor is
    /// `clock / (16 · baud)` in 16.6 fixed point (`8 · clock / baud` in
    /// units of 1/128, rounded to 1/64).
    ///
    /// # Safety
    ///
    /// As [`Pl011::enabled`]: `base` is the address of a PL011 of the board.
    pub unsafe fn new(base: usize, clock_hz: u32) -> Self {
        // SAFETY: registers of the PL011 at `base`, by this function's contract.
        let [dr, fr, ibrd, fbrd, lcr_h, cr] =
            [DR, FR, IBRD, FBRD, LCR_H, CR].map(|offset| unsafe { Reg::at(base, offset) });
        if cr.read() & CR_ENABLE == 0 {
            let div = 8 * clock_hz / 115_200;
            ibrd.write(div >> 7);
            fbrd.write((div & 0x7F).div_ceil(2));
            // Writing LCR_H latches the divisor.
            lcr_h.write(LCR_H_8N1_FIFO);
            cr.write(CR_ENABLE | CR_TX_ENABLE);
        }
        Self { fr, dr }
    }
}

impl Transmitter for Pl011 {
    fn ready(&self) -> bool {
        self.fr.read() & FR_TX_FULL == 0
    }

    fn send(&mut self, byte: u8) {
        self.dr.write(u32::from(byte));
    }

    fn idle(&self) -> bool {
        self.fr.read() & FR_BUSY == 0
    }
}
