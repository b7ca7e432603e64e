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

/// A CMSDK UART's transmitter: its data and state registers.
pub struct Cmsdk {
    data: Reg,
    state: Reg,
}

impl Cmsdk {
    /// Enables the transmitter of the UART at `base` at 115200 baud from a
    /// `clock_hz` peripheral clock (QEMU ignores the rate, but the divisor
    /// must be at least 16). Fine to call again (the panic handler does).
    ///
    /// # Safety
    ///
    /// `base` is the address of a CMSDK APB UART of the board (its registers
    /// meet [`Reg::at`]'s contract).
    pub unsafe fn new(base: usize, clock_hz: u32) -> Self {
        // SAFETY: registers of the UART at `base`, by this function's contract.
        let [data, state, ctrl, bauddiv] =
            [DATA, STATE, CTRL, BAUDDIV].map(|offset| unsafe { Reg::at(base, offset) });
        bauddiv.write(clock_hz / 115_200);
        ctrl.write(CTRL_TX_ENABLE);
        Self { data, state }
    }
}

impl Transmitter for Cmsdk {
    fn ready(&self) -> bool {
        self.state.read() & STATE_TX_FULL == 0
    }

    fn send(&mut self, byte: u8) {
        self.data.write(u32::from(byte));
    }

    fn idle(&self) -> bool {
        self.ready()
    }
}
