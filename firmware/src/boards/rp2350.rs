//! Raspberry Pi Pico 2 (RP2350, Cortex-M33). Console: UART0, TX on GP0
//! (pin 1 of the Pico 2), 115200 baud; the core at 150 MHz.
//!
//! The boot ROM starts an image that carries an IMAGE_DEF block in its
//! first 4 KiB ([`IMAGE_DEF`]; boards/rp2350/memory.x puts it after the
//! vector table) and runs it from its vector table, in the secure state. The
//! chip then runs from its ring oscillator, whose rate varies too much for a
//! UART: [`uart`] starts the 12 MHz crystal oscillator (XOSC) and makes it
//! the reference clock, runs PLL_SYS at 1500 MHz / 5 / 2 = 150 MHz (the
//! Pico SDK's default) as the system clock, clocks the peripherals from
//! it, takes IO_BANK0, PADS_BANK0 and UART0 out of reset, gives GP0 to
//! UART0 and lifts the pad's isolation. Registers from the RP2350 datasheet:
//! 2.2 (address map), 5.9.5 (the block), 7.5 (resets), 8.1 (clocks), 8.2
//! (XOSC), 8.6 (PLL), 9.11 (IO_BANK0, PADS_BANK0).

use super::rp_clocks::{Pll, XOSC_HZ};
use super::rp_console::{RpConsole, RpConsoleMap};
use crate::uart::pl011::Pl011;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::RP2350;

/// The console's transmitter.
pub type Uart = Pl011;

/// The smallest IMAGE_DEF block the boot ROM accepts (datasheet 5.9.5.1,
/// "Minimum viable image metadata"): a block of one item, IMAGE_TYPE =
/// executable, Arm, secure, RP2350 (0x1021), then the last-item marker
/// with the block's size in words, a link to itself (0: a block loop of
/// one) and the end marker. rp235x-hal's `ImageDef::secure_exe()` is these
/// five words.
#[link_section = ".start_block"]
#[used]
pub static IMAGE_DEF: [u32; 5] = [
    0xFFFF_DED3, // PICOBIN_BLOCK_MARKER_START
    0x1021_0142, // item IMAGE_TYPE (0x42), 1 word: EXE | S-mode | ARM | RP2350
    0x0000_01FF, // item LAST (0xFF), block size 1 word
    0x0000_0000, // link to the next block: itself
    0xAB12_3579, // PICOBIN_BLOCK_MARKER_END
];

/// PLL_SYS: VCO = 12 MHz · 125 = 1500 MHz; out = VCO / 5 / 2 = 150 MHz
/// (the Pico SDK's default).
const PLL_SYS: Pll = Pll {
    refdiv: 1,
    fbdiv: 125,
    postdiv1: 5,
    postdiv2: 2,
};
/// The system (core and peripheral) clock.
const SYS_HZ: u32 = PLL_SYS.out_hz();
const _: () = assert!(PLL_SYS.is_valid() && SYS_HZ == 150_000_000 && XOSC_HZ == 12_000_000);

// SAFETY: RESETS at 0x4002_0000 (PLL_SYS its bit 14; IO_BANK0 6, PADS_BANK0
// 9, UART0 26), XOSC at 0x4004_8000, PLL_SYS at 0x4005_0000, CLOCKS at
// 0x4001_0000, IO_BANK0 at 0x4002_8000, PADS_BANK0 at 0x4003_8000 (GP0's
// pad isolated at reset), UART0 (a PL011) at 0x4007_0000 (RP2350 datasheet
// 2.2, 7.5, 8.1, 8.2, 8.6, 9.11, 12.1).
const CONSOLE: RpConsole = unsafe {
    RpConsole::new(
        RpConsoleMap {
            resets: 0x4002_0000,
            reset_pll_sys: 1 << 14,
            reset_console: (1 << 6) | (1 << 9) | (1 << 26),
            xosc: 0x4004_8000,
            pll_sys: 0x4005_0000,
            clocks: 0x4001_0000,
            io_bank0: 0x4002_8000,
            isolated_pads_bank0: Some(0x4003_8000),
            uart0: 0x4007_0000,
        },
        PLL_SYS,
    )
};

/// UART0 on GP0, 115200 baud (set up once; later calls reuse it).
pub fn uart() -> Uart {
    CONSOLE.uart()
}
