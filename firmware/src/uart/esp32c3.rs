//! The ESP32-C3's UART (ESP32-C3 TRM chapter 26): the second-stage
//! bootloader leaves UART0 at 115200 baud, 8N1, on GPIO21 (TX); the
//! firmware writes its transmit FIFO.

use crate::console::Transmitter;
use crate::mmio::Reg;

/// UART_FIFO_REG: a write puts one byte in the transmit FIFO.
const FIFO: usize = 0x00;
/// UART_STATUS_REG: TXFIFO_CNT, bits 25:16, the bytes in the transmit FIFO.
const STATUS: usize = 0x1C;
const TXFIFO_CNT_SHIFT: u32 = 16;
const TXFIFO_CNT_MASK: u32 = 0x3FF;
/// The transmit FIFO's size in bytes (TRM 26.4.3).
const TXFIFO_BYTES: u32 = 128;

/// An ESP32-C3 UART's transmitter.
pub struct EspUart {
    fifo: Reg,
    status: Reg,
}

impl EspUart {
    /// The UART at `base`, as the bootloader set it up.
    ///
    /// # Safety
    ///
    /// `base` is the address of a UART of the ESP32-C3 (its registers meet
    /// [`Reg::at`]'s contract).
    pub unsafe fn new(base: usize) -> Self {
        Self {
            // SAFETY: registers of the UART at `base`, by this function's contract.
            fifo: unsafe { Reg::at(base, FIFO) },
            // SAFETY: as above.
            status: unsafe { Reg::at(base, STATUS) },
        }
    }

    fn queued(&self) -> u32 {
        (self.status.read() >> TXFIFO_CNT_SHIFT) & TXFIFO_CNT_MASK
    }
}

impl Transmitter for EspUart {
    fn ready(&self) -> bool {
        self.queued() < TXFIFO_BYTES
    }

    fn send(&mut self, byte: u8) {
        self.fifo.write(u32::from(byte));
    }

    /// The FIFO is empty (the last byte may still be in the shift register).
    fn idle(&self) -> bool {
        self.queued() == 0
    }
}
