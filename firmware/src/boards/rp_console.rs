//! The console the Raspberry Pi RP2040 and RP2350 bring up the same way:
//! the clocks of [`super::rp_clocks`] (the crystal, PLL_SYS, clk_peri),
//! then IO_BANK0, PADS_BANK0 and UART0 out of reset, GP0 given to UART0
//! (GPIO0_CTRL.FUNCSEL = 2) and, on the RP2350, the pad's isolation lifted;
//! UART0 is a PL011 at 115200 baud. The chips differ only in their blocks'
//! addresses and their bits in RESETS ([`RpConsoleMap`]).
//!
//! Registers: RP2040 datasheet 2.14 (resets), 2.19 (GPIO), 4.2 (UART);
//! RP2350 datasheet 7.5 (resets), 9.11 (IO_BANK0, PADS_BANK0), 12.1 (UART).

use super::rp_clocks::{Pll, RpClocks};
use crate::mmio::Reg;
use crate::uart::pl011::Pl011;

/// Where one chip keeps the blocks the console uses.
pub struct RpConsoleMap {
    /// RESETS' base.
    pub resets: usize,
    /// PLL_SYS's bit in RESETS.RESET.
    pub reset_pll_sys: u32,
    /// IO_BANK0's, PADS_BANK0's and UART0's bits in RESETS.RESET.
    pub reset_console: u32,
    /// XOSC's base.
    pub xosc: usize,
    /// PLL_SYS's base.
    pub pll_sys: usize,
    /// CLOCKS' base.
    pub clocks: usize,
    /// IO_BANK0's base.
    pub io_bank0: usize,
    /// PADS_BANK0's base where GP0's pad starts isolated (the RP2350), else `None`.
    pub isolated_pads_bank0: Option<usize>,
    /// UART0's base.
    pub uart0: usize,
}

/// The registers of one chip that [`RpConsole::uart`] writes.
pub struct RpConsole {
    clocks: RpClocks,
    pll: Pll,
    reset_console: u32,
    reset_clr: Reg,
    reset_done: Reg,
    gpio0_ctrl: Reg,
    pad_gpio0_clr: Option<Reg>,
    uart0: usize,
}

/// GPIO0_CTRL.FUNCSEL = 2: UART0 TX.
const FUNCSEL_UART: u32 = 2;
/// PADS_BANK0.GPIO0 ISO (RP2350): the pad is isolated until software has
/// set it up (datasheet 9.11.3).
const PADS_ISO: u32 = 1 << 8;

impl RpConsole {
    /// The console of the chip `map` describes, its system clock from `pll`.
    ///
    /// # Safety
    ///
    /// Every base of `map` is that block's on the chip the firmware is built
    /// for (UART0 a PL011), so that the registers made from them meet
    /// [`Reg::at`]'s and [`Pl011::new`]'s contracts.
    pub const unsafe fn new(map: RpConsoleMap, pll: Pll) -> Self {
        // SAFETY: the caller vouches for the bases; the offsets are the
        // registers named, the same in both datasheets: RESETS.RESET's atomic
        // clear alias at +0x3000 and RESET_DONE at +0x008, GPIO0_CTRL at
        // +0x004 of IO_BANK0, PADS_BANK0.GPIO0 at +0x004 (its clear alias
        // +0x3000).
        unsafe {
            RpConsole {
                clocks: RpClocks::new(
                    map.resets,
                    map.reset_pll_sys,
                    map.xosc,
                    map.pll_sys,
                    map.clocks,
                ),
                pll,
                reset_console: map.reset_console,
                reset_clr: Reg::at(map.resets, 0x3000),
                reset_done: Reg::at(map.resets, 0x008),
                gpio0_ctrl: Reg::at(map.io_bank0, 0x004),
                pad_gpio0_clr: match map.isolated_pads_bank0 {
                    Some(pads) => Some(Reg::at(pads, 0x3000 + 0x004)),
                    None => None,
                },
                uart0: map.uart0,
            }
        }
    }

    /// UART0 on GP0, 115200 baud (set up once; later calls reuse it).
    pub fn uart(&self) -> Pl011 {
        // SAFETY: UART0 is a PL011 at `uart0` (`RpConsole::new`'s contract).
        if !unsafe { Pl011::enabled(self.uart0) } {
            self.clocks.start(self.pll);
            self.reset_clr.write(self.reset_console);
            self.reset_done.wait(self.reset_console, self.reset_console);
            self.gpio0_ctrl.write(FUNCSEL_UART);
            if let Some(pad) = self.pad_gpio0_clr {
                pad.write(PADS_ISO);
            }
        }
        // SAFETY: as above.
        unsafe { Pl011::new(self.uart0, self.pll.out_hz()) }
    }
}
