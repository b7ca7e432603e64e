//! Raspberry Pi Pico (RP2040, Cortex-M0+). Console: UART0, TX on GP0 (pin
//! 1 of the Pico), 115200 baud; the core at 133 MHz.
//!
//! The boot ROM runs the 256-byte second-stage bootloader at the start of
//! flash ([`BOOT2`], for the Pico's W25Q080 flash), which maps the flash for
//! execute-in-place and starts the vector table after it. The chip then runs
//! from its ring oscillator, whose rate varies too much for a UART: [`uart`]
//! starts the crystal oscillator (XOSC) as the reference clock and PLL_SYS
//! at 1596 MHz / 6 / 2 = 133 MHz (the chip's rated maximum, at the reset
//! core voltage) as the system clock ([`super::rp_clocks`]), clocks the
//! peripherals from it, takes IO_BANK0, PADS_BANK0 and UART0 out of reset
//! and gives GP0 to UART0. boot2 runs the flash's serial clock at clk_sys /
//! 2 (66.5 MHz), as the Pico SDK's boot2 does at the same system clock.
//! Registers from the RP2040 datasheet, chapters 2.14 (resets), 2.15-2.18
//! (clocks, XOSC, PLL) and 2.19 (GPIO).

use super::rp_clocks::{Pll, RpClocks};
use crate::mmio::Reg;
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

const RESETS: usize = 0x4000_C000;
/// RESETS.RESET through the atomic clear alias (+0x3000): clearing a bit
/// takes the block out of reset.
// SAFETY: a register of RESETS at 0x4000_C000 (RP2040 datasheet 2.14) (`Reg::at`).
const RESETS_RESET_CLR: Reg = unsafe { Reg::at(RESETS, 0x3000) };
// SAFETY: a register of RESETS at 0x4000_C000 (RP2040 datasheet 2.14) (`Reg::at`).
const RESETS_RESET_DONE: Reg = unsafe { Reg::at(RESETS, 0x008) };
const RESET_IO_BANK0: u32 = 1 << 5;
const RESET_PADS_BANK0: u32 = 1 << 8;
const RESET_UART0: u32 = 1 << 22;

// SAFETY: RESETS at 0x4000_C000 (PLL_SYS its bit 12), XOSC at 0x4002_4000,
// PLL_SYS at 0x4002_8000, CLOCKS at 0x4000_8000 (RP2040 datasheet 2.14-2.18).
const CLOCKS: RpClocks =
    unsafe { RpClocks::new(RESETS, 1 << 12, 0x4002_4000, 0x4002_8000, 0x4000_8000) };

const IO_BANK0: usize = 0x4001_4000;
/// GPIO0_CTRL.FUNCSEL = 2: UART0 TX.
// SAFETY: a register of IO_BANK0 at 0x4001_4000 (RP2040 datasheet 2.19) (`Reg::at`).
const GPIO0_CTRL: Reg = unsafe { Reg::at(IO_BANK0, 0x004) };
const FUNCSEL_UART: u32 = 2;

const UART0: usize = 0x4003_4000;

/// UART0 on GP0, 115200 baud (set up once; later calls reuse it).
pub fn uart() -> Uart {
    // SAFETY: UART0 of the RP2040 is a PL011 at 0x4003_4000 (datasheet 4.2).
    if !unsafe { Pl011::enabled(UART0) } {
        CLOCKS.start(PLL_SYS);
        let blocks = RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0;
        RESETS_RESET_CLR.write(blocks);
        RESETS_RESET_DONE.wait(blocks, blocks);
        GPIO0_CTRL.write(FUNCSEL_UART);
    }
    // SAFETY: as above.
    unsafe { Pl011::new(UART0, SYS_HZ) }
}
