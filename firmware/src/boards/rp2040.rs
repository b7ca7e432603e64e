//! Raspberry Pi Pico (RP2040, Cortex-M0+). Console: UART0, TX on GP0 (pin
//! 1 of the Pico), 115200 baud; the core at 133 MHz.
//!
//! The boot ROM runs the 256-byte second-stage bootloader at the start of
//! flash ([`BOOT2`], for the Pico's W25Q080 flash), which maps the flash for
//! execute-in-place and starts the vector table after it. The chip then runs
//! from its ring oscillator, whose rate varies too much for a UART: [`uart`]
//! starts the crystal oscillator (XOSC) as the reference clock and PLL_SYS
//! at 1596 MHz / 6 / 2 = 133 MHz (the chip's rated maximum, at the reset
//! core voltage) as the system clock ([`super::rp_console`]), clocks the
//! peripherals from it, takes IO_BANK0, PADS_BANK0 and UART0 out of reset
//! and gives GP0 to UART0. boot2 runs the flash's serial clock at clk_sys /
//! 2 (66.5 MHz), as the Pico SDK's boot2 does at the same system clock.
//! Registers from the RP2040 datasheet, chapters 2.14 (resets), 2.15-2.18
//! (clocks, XOSC, PLL) and 2.19 (GPIO).

use super::rp_clocks::Pll;
use super::rp_console::{RpConsole, RpConsoleMap};
use crate::uart::pl011::Pl011;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::RP2040;

/// The console's transmitter.
pub type Uart = Pl011;

/// Second-stage bootloader for the Pico's W25Q080 flash, in section `.boot2`
/// (boards/rp2040/memory.x puts it at 0x1000_0000).
#[link_section = ".boot2"]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// PLL_SYS: VCO = 12 MHz · 133 = 1596 MHz; out = VCO / 6 / 2 = 133 MHz
/// (the Pico SDK's `vcocalc.py 133`).
const PLL_SYS: Pll = Pll {
    refdiv: 1,
    fbdiv: 133,
    postdiv1: 6,
    postdiv2: 2,
};
/// The system (core and peripheral) clock.
const SYS_HZ: u32 = PLL_SYS.out_hz();
const _: () = assert!(PLL_SYS.is_valid() && SYS_HZ == 133_000_000);

// SAFETY: RESETS at 0x4000_C000 (PLL_SYS its bit 12; IO_BANK0 5, PADS_BANK0
// 8, UART0 22), XOSC at 0x4002_4000, PLL_SYS at 0x4002_8000, CLOCKS at
// 0x4000_8000, IO_BANK0 at 0x4001_4000, UART0 (a PL011) at 0x4003_4000
// (RP2040 datasheet 2.14-2.19, 4.2); GP0's pad is not isolated at reset.
const CONSOLE: RpConsole = unsafe {
    RpConsole::new(
        RpConsoleMap {
            resets: 0x4000_C000,
            reset_pll_sys: 1 << 12,
            reset_console: (1 << 5) | (1 << 8) | (1 << 22),
            xosc: 0x4002_4000,
            pll_sys: 0x4002_8000,
            clocks: 0x4000_8000,
            io_bank0: 0x4001_4000,
            isolated_pads_bank0: None,
            uart0: 0x4003_4000,
        },
        PLL_SYS,
    )
};

/// UART0 on GP0, 115200 baud (set up once; later calls reuse it).
pub fn uart() -> Uart {
    CONSOLE.uart()
}
