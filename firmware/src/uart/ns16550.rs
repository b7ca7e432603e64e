//! The NS16550A UART (QEMU's RISC-V `virt` machine has one at 0x1000_0000),
//! byte-wide registers.

use crate::console::Transmitter;
use core::ptr::{read_volatile, write_volatile};

/// Register offsets and bits.
const THR: usize = 0;
const LCR: usize = 3;
const LSR: usize = 5;
/// LCR: 8 data bits, no parity, one stop bit.
const LCR_8N1: u8 = 0x03;
/// LSR bit: the transmit holding register is empty.
const LSR_THR_EMPTY: u8 = 1 << 5;
/// LSR bit: the transmitter is empty (the last byte has gone).
const LSR_TX_EMPTY: u8 = 1 << 6;

/// An NS16550's transmitter.
pub struct Ns16550 {
    base: usize,
}

impl Ns16550 {
    /// Sets the UART at `base` to 8N1 (the baud rate is the reset value,
    /// which QEMU ignores). Fine to call again.
    ///
    /// # Safety
    ///
    /// `base` is the address of an NS16550 of the board: its byte-wide
    /// registers at `base + offset` are always mapped, and reads and writes
    /// of them change no memory the program uses.
    pub unsafe fn new(base: usize) -> Self {
        let uart = Self { base };
        uart.write(LCR, LCR_8N1);
        uart
    }

    fn read(&self, offset: usize) -> u8 {
        // SAFETY: a register of the NS16550 at `base` (`new`'s contract).
        unsafe { read_volatile((self.base + offset) as *const u8) }
    }

    fn write(&self, offset: usize, value: u8) {
        // SAFETY: as above; the firmware is the only user of the UART.
        unsafe { write_volatile((self.base + offset) as *mut u8, value) }
    }
}

impl Transmitter for Ns16550 {
    fn ready(&self) -> bool {
        self.read(LSR) & LSR_THR_EMPTY != 0
    }

    fn send(&mut self, byte: u8) {
        self.write(THR, byte);
    }

    fn idle(&self) -> bool {
        self.read(LSR) & LSR_TX_EMPTY != 0
    }
}
