//! Raspberry Pi Pico (RP2040, Cortex-M0+). Console: UART0, TX on GP0 (pin
//! 1 of the Pico), 115200 baud from the 12 MHz crystal.
//!
//! The boot ROM runs the 256-byte second-stage bootloader at the start of
//! flash ([`BOOT2`], for the Pico's W25Q080 flash), which maps the flash for
//! execute-in-place and starts the vector table after it. The chip then runs
//! from its ring oscillator, whose rate varies too much for a UART: [`uart`]
//! starts the crystal oscillator (XOSC), makes it the reference clock and the
//! system clock (which runs from the reference clock, as out of reset),
//! enables the peripheral clock from it, takes IO_BANK0, PADS_BANK0 and UART0 out of
//! reset and gives GP0 to UART0. Registers from the RP2040 datasheet,
//! chapters 2.14 (resets), 2.15-2.16 (clocks, XOSC) and 2.19 (GPIO).

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

/// The crystal's frequency on the Pico.
const XOSC_HZ: u32 = 12_000_000;

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

const XOSC: usize = 0x4002_4000;
// SAFETY: a register of XOSC at 0x4002_4000 (RP2040 datasheet 2.16) (`Reg::at`).
const XOSC_CTRL: Reg = unsafe { Reg::at(XOSC, 0x00) };
// SAFETY: a register of XOSC at 0x4002_4000 (RP2040 datasheet 2.16) (`Reg::at`).
const XOSC_STATUS: Reg = unsafe { Reg::at(XOSC, 0x04) };
// SAFETY: a register of XOSC at 0x4002_4000 (RP2040 datasheet 2.16) (`Reg::at`).
const XOSC_STARTUP: Reg = unsafe { Reg::at(XOSC, 0x0C) };
/// CTRL: ENABLE = 0xFAB, FREQ_RANGE = 0xAA0 (1-15 MHz).
const XOSC_CTRL_ENABLE_1_15MHZ: u32 = (0xFAB << 12) | 0xAA0;
/// STATUS bit: the oscillator runs stably.
const XOSC_STATUS_STABLE: u32 = 1 << 31;
/// STARTUP.DELAY: about 1 ms, in units of 256 crystal cycles.
const XOSC_STARTUP_DELAY: u32 = (XOSC_HZ / 1000).div_ceil(256);

const CLOCKS: usize = 0x4000_8000;
// SAFETY: a register of CLOCKS at 0x4000_8000 (RP2040 datasheet 2.15) (`Reg::at`).
const CLK_REF_CTRL: Reg = unsafe { Reg::at(CLOCKS, 0x30) };
// SAFETY: a register of CLOCKS at 0x4000_8000 (RP2040 datasheet 2.15) (`Reg::at`).
const CLK_REF_SELECTED: Reg = unsafe { Reg::at(CLOCKS, 0x38) };
/// CLK_REF_CTRL.SRC = 2: the crystal oscillator.
const CLK_REF_SRC_XOSC: u32 = 2;
// SAFETY: a register of CLOCKS at 0x4000_8000 (RP2040 datasheet 2.15) (`Reg::at`).
const CLK_SYS_CTRL: Reg = unsafe { Reg::at(CLOCKS, 0x3C) };
// SAFETY: a register of CLOCKS at 0x4000_8000 (RP2040 datasheet 2.15) (`Reg::at`).
const CLK_SYS_SELECTED: Reg = unsafe { Reg::at(CLOCKS, 0x44) };
/// CLK_SYS_CTRL.SRC = 0: clk_ref (the reset value; set in case a bootloader changed it).
const CLK_SYS_SRC_REF: u32 = 0;
// SAFETY: a register of CLOCKS at 0x4000_8000 (RP2040 datasheet 2.15) (`Reg::at`).
const CLK_PERI_CTRL: Reg = unsafe { Reg::at(CLOCKS, 0x48) };
/// CLK_PERI_CTRL: ENABLE, AUXSRC = 0 (clk_sys).
const CLK_PERI_ENABLE_FROM_SYS: u32 = 1 << 11;

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
        clocks_from_crystal();
        let blocks = RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0;
        RESETS_RESET_CLR.write(blocks);
        RESETS_RESET_DONE.wait(blocks, blocks);
        GPIO0_CTRL.write(FUNCSEL_UART);
    }
    // SAFETY: as above.
    unsafe { Pl011::new(UART0, XOSC_HZ) }
}

/// clk_ref, and with it clk_sys and clk_peri, from the 12 MHz crystal.
fn clocks_from_crystal() {
    XOSC_STARTUP.write(XOSC_STARTUP_DELAY);
    XOSC_CTRL.write(XOSC_CTRL_ENABLE_1_15MHZ);
    XOSC_STATUS.wait(XOSC_STATUS_STABLE, XOSC_STATUS_STABLE);
    CLK_REF_CTRL.write(CLK_REF_SRC_XOSC);
    // The glitchless multiplexer reports the source it switched to, one-hot.
    CLK_REF_SELECTED.wait(1 << CLK_REF_SRC_XOSC, 1 << CLK_REF_SRC_XOSC);
    CLK_SYS_CTRL.write(CLK_SYS_SRC_REF);
    CLK_SYS_SELECTED.wait(1 << CLK_SYS_SRC_REF, 1 << CLK_SYS_SRC_REF);
    CLK_PERI_CTRL.write(CLK_PERI_ENABLE_FROM_SYS);
}
