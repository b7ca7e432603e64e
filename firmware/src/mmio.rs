//! Memory-mapped registers, the way every driver of the board layer talks to
//! its peripherals.

use core::ptr::{read_volatile, write_volatile};

/// A memory-mapped 32-bit register at a fixed address.
///
/// Made only by the `unsafe` [`Reg::at`], whose caller vouches for the
/// address: reading and writing it are then safe.
#[derive(Clone, Copy)]
pub struct Reg(usize);

// The read-modify-write helpers serve the boards that set up clocks and pins.
#[allow(dead_code)]
impl Reg {
    /// The register `offset` bytes after `base`.
    ///
    /// # Safety
    ///
    /// `base + offset` is the address of a 32-bit register of a peripheral
    /// of the board this firmware is built for (always mapped, 4-aligned),
    /// which reads and writes of any value do not turn into changes of
    /// memory the program uses (it is no DMA or memory controller), and
    /// which nothing but this firmware's [`Reg`]s touch.
    pub const unsafe fn at(base: usize, offset: usize) -> Self {
        Reg(base + offset)
    }

    /// Reads it.
    pub fn read(self) -> u32 {
        // SAFETY: by `Reg::at`'s contract, a mapped, aligned register whose
        // reads touch no memory the program uses.
        unsafe { read_volatile(self.0 as *const u32) }
    }

    /// Writes it.
    pub fn write(self, value: u32) {
        // SAFETY: by `Reg::at`'s contract, a mapped, aligned register whose
        // writes change no memory the program uses.
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
