//! The console: the board's UART, transmit only, polled. Tiny drivers of
//! our own, one per board, with the same four methods.

use core::ptr::{read_volatile, write_volatile};

/// A memory-mapped 32-bit register.
#[derive(Clone, Copy)]
struct Reg(usize);

impl Reg {
    fn read(self) -> u32 {
        // SAFETY: the address is a register of the board's UART (or GPIO),
        // always mapped; reading it has no side effect on these registers.
        unsafe { read_volatile(self.0 as *const u32) }
    }
    fn write(self, value: u32) {
        // SAFETY: as above; the firmware is the only user of the UART.
        unsafe { write_volatile(self.0 as *mut u32, value) }
    }
}

/// Polls of a busy transmitter before the console is declared stalled:
/// far longer than a byte takes on hardware (about 1,000 polls at 115200
/// baud), and a fraction of a second under QEMU, whose UART stays busy for
/// ever once the host side of the console has gone (a closed pipe).
const STALL_POLLS: u32 = 1 << 24;

/// The transmit side of the board's UART.
pub struct Uart {
    /// Set when the transmitter stayed busy for [`STALL_POLLS`] polls; from
    /// then on bytes are dropped, so the firmware still ends.
    stalled: bool,
}

#[cfg(feature = "board-mps2-an386")]
mod regs {
    //! ARM CMSDK APB UART0 of the MPS2 boards (QEMU's `cmsdk-apb-uart`).
    use super::Reg;
    const BASE: usize = 0x4000_4000;
    pub const DATA: Reg = Reg(BASE);
    pub const STATE: Reg = Reg(BASE + 0x04);
    pub const CTRL: Reg = Reg(BASE + 0x08);
    pub const BAUDDIV: Reg = Reg(BASE + 0x10);
    /// STATE bit: the transmit buffer is full.
    pub const STATE_TXFULL: u32 = 1 << 0;
    /// CTRL bit: transmitter enabled.
    pub const CTRL_TX_ENABLE: u32 = 1 << 0;
    /// 115200 baud from the MPS2's 25 MHz system clock (QEMU ignores it, but
    /// the divisor must be at least 16).
    pub const BAUD_DIVISOR: u32 = 25_000_000 / 115_200;
}

#[cfg(feature = "board-mps2-an386")]
impl Uart {
    /// Enables the transmitter at 115200 baud. Safe to call again (the panic
    /// handler does).
    pub fn new() -> Self {
        regs::BAUDDIV.write(regs::BAUD_DIVISOR);
        regs::CTRL.write(regs::CTRL_TX_ENABLE);
        Self { stalled: false }
    }

    /// Sends one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        self.flush();
        if !self.stalled {
            regs::DATA.write(u32::from(byte));
        }
    }

    /// Waits until the last byte has left the transmit buffer.
    pub fn flush(&mut self) {
        self.wait_until(|| regs::STATE.read() & regs::STATE_TXFULL == 0);
    }
}

#[cfg(feature = "board-nrf52840")]
mod regs {
    //! nRF52840 UART0 (the non-DMA "legacy" UART at 0x4000_2000) and GPIO P0.
    use super::Reg;
    const BASE: usize = 0x4000_2000;
    pub const TASKS_STARTTX: Reg = Reg(BASE + 0x008);
    pub const EVENTS_TXDRDY: Reg = Reg(BASE + 0x11C);
    pub const ENABLE: Reg = Reg(BASE + 0x500);
    pub const PSEL_TXD: Reg = Reg(BASE + 0x50C);
    pub const TXD: Reg = Reg(BASE + 0x51C);
    pub const BAUDRATE: Reg = Reg(BASE + 0x524);
    pub const CONFIG: Reg = Reg(BASE + 0x56C);
    pub const ENABLE_UART: u32 = 4;
    pub const BAUD_115200: u32 = 0x01D7_E000;
    /// TX pin: P0.06, wired to the interface MCU's virtual COM port on the
    /// nRF52840-DK. Change it for other boards.
    pub const TX_PIN: u32 = 6;
    const P0: usize = 0x5000_0000;
    pub const P0_OUTSET: Reg = Reg(P0 + 0x508);
    pub const P0_DIRSET: Reg = Reg(P0 + 0x518);
}

#[cfg(feature = "board-nrf52840")]
impl Uart {
    /// Enables UART0 on P0.06 at 115200 baud, 8N1, no flow control.
    pub fn new() -> Self {
        regs::P0_OUTSET.write(1 << regs::TX_PIN);
        regs::P0_DIRSET.write(1 << regs::TX_PIN);
        regs::PSEL_TXD.write(regs::TX_PIN);
        regs::BAUDRATE.write(regs::BAUD_115200);
        regs::CONFIG.write(0);
        regs::ENABLE.write(regs::ENABLE_UART);
        regs::TASKS_STARTTX.write(1);
        Self { stalled: false }
    }

    /// Sends one byte and waits until it has gone.
    pub fn write_byte(&mut self, byte: u8) {
        if self.stalled {
            return;
        }
        regs::EVENTS_TXDRDY.write(0);
        regs::TXD.write(u32::from(byte));
        self.wait_until(|| regs::EVENTS_TXDRDY.read() != 0);
    }

    /// Nothing to wait for: [`Uart::write_byte`] waits for each byte.
    pub fn flush(&mut self) {}
}

impl Uart {
    /// Polls `ready` until it holds, at most [`STALL_POLLS`] times; marks the
    /// console stalled if it never does.
    fn wait_until(&mut self, ready: impl Fn() -> bool) {
        if self.stalled {
            return;
        }
        for _ in 0..STALL_POLLS {
            if ready() {
                return;
            }
        }
        self.stalled = true;
    }

    /// `true` if output was lost because the transmitter stopped taking bytes.
    pub fn stalled(&self) -> bool {
        self.stalled
    }

    /// Sends bytes in order.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }
}

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}
