//! Memory-mapped registers, the way every driver of the board layer talks to
//! its peripherals.

use core::ptr::{read_volatile, write_volatile};

/// A memory-mapped 32-bit register at a fixed address.
#[derive(Clone, Copy)]
pub struct Reg(pub usize);

// The read-modify-write helpers serve the boards that set up clocks and pins.
#[allow(dead_code)]
impl Reg {
    /// The register `offset` bytes after `base`.
    pub const fn at(base: usize, offset: usize) -> Self {
        Reg(base + offset)
    }

    /// Reads it.
    pub fn read(self) -> u32 {
        // SAFETY: the address is a register of one of the board's
        // peripherals (board modules name them from the reference manual),
        // always mapped; reads of these registers have no side effects the
        // firmware relies on not happening.
        unsafe { read_volatile(self.0 as *const u32) }
    }

    /// Writes it.
    pub fn write(self, value: u32) {
        // SAFETY: as above; the firmware is the only user of the peripheral.
        unsafe { write_volatile(self.0 as *mut u32, value) }
    }

    /// Sets the bits of `mask`, leaving the others (read, modify, write).
    pub fn set_bits(self, mask: u32) {
        self.write(self.read() | mask);
    }

    /// Clears the bits of `mask`, leaving the others.
    pub fn clear_bits(self, mask: u32) {
        self.write(self.read() & !mask);
    }

    /// Waits until `(read() & mask) == expected`.
    pub fn wait(self, mask: u32, expected: u32) {
        while self.read() & mask != expected {}
    }
}
