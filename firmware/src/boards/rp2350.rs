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

use crate::mmio::Reg;
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

/// The crystal's frequency on the Pico 2.
const XOSC_HZ: u32 = 12_000_000;
/// The system (core and peripheral) clock from PLL_SYS.
const SYS_HZ: u32 = XOSC_HZ / PLL_REFDIV * PLL_FBDIV / (PLL_POSTDIV1 * PLL_POSTDIV2);
/// PLL_SYS: VCO = 12 MHz / 1 · 125 = 1500 MHz, within 750-1600 MHz (8.6.3);
/// out = VCO / 5 / 2 = 150 MHz.
const PLL_REFDIV: u32 = 1;
const PLL_FBDIV: u32 = 125;
const PLL_POSTDIV1: u32 = 5;
const PLL_POSTDIV2: u32 = 2;
const _: () = assert!(SYS_HZ == 150_000_000);

const RESETS: usize = 0x4002_0000;
/// RESETS.RESET through the atomic set (+0x2000) and clear (+0x3000)
/// aliases (datasheet 2.1.3): setting a bit holds the block in reset,
/// clearing it lets it go.
// SAFETY: a register of RESETS at 0x4002_0000 (RP2350 datasheet 7.5.3) (`Reg::at`).
const RESETS_RESET_SET: Reg = unsafe { Reg::at(RESETS, 0x2000) };
// SAFETY: as above.
const RESETS_RESET_CLR: Reg = unsafe { Reg::at(RESETS, 0x3000) };
// SAFETY: as above.
const RESETS_RESET_DONE: Reg = unsafe { Reg::at(RESETS, 0x008) };
const RESET_IO_BANK0: u32 = 1 << 6;
const RESET_PADS_BANK0: u32 = 1 << 9;
const RESET_PLL_SYS: u32 = 1 << 14;
const RESET_UART0: u32 = 1 << 26;

const XOSC: usize = 0x4004_8000;
// SAFETY: a register of XOSC at 0x4004_8000 (RP2350 datasheet 8.2.8) (`Reg::at`).
const XOSC_CTRL: Reg = unsafe { Reg::at(XOSC, 0x00) };
// SAFETY: as above.
const XOSC_STATUS: Reg = unsafe { Reg::at(XOSC, 0x04) };
// SAFETY: as above.
const XOSC_STARTUP: Reg = unsafe { Reg::at(XOSC, 0x0C) };
/// CTRL: ENABLE = 0xFAB, FREQ_RANGE = 0xAA0 (1-15 MHz).
const XOSC_CTRL_ENABLE_1_15MHZ: u32 = (0xFAB << 12) | 0xAA0;
/// STATUS bit: the oscillator runs stably.
const XOSC_STATUS_STABLE: u32 = 1 << 31;
/// STARTUP.DELAY: about 1 ms, in units of 256 crystal cycles.
const XOSC_STARTUP_DELAY: u32 = (XOSC_HZ / 1000).div_ceil(256);

const PLL_SYS: usize = 0x4005_0000;
// SAFETY: a register of PLL_SYS at 0x4005_0000 (RP2350 datasheet 8.6.5) (`Reg::at`).
const PLL_CS: Reg = unsafe { Reg::at(PLL_SYS, 0x0) };
// SAFETY: as above.
const PLL_PWR_CLR: Reg = unsafe { Reg::at(PLL_SYS, 0x3000 + 0x4) };
// SAFETY: as above.
const PLL_FBDIV_INT: Reg = unsafe { Reg::at(PLL_SYS, 0x8) };
// SAFETY: as above.
const PLL_PRIM: Reg = unsafe { Reg::at(PLL_SYS, 0xC) };
/// CS bit: the PLL is locked.
const PLL_CS_LOCK: u32 = 1 << 31;
/// PWR bits: power-down of the PLL, of the VCO and of the post dividers.
const PLL_PWR_PD: u32 = 1 << 0;
const PLL_PWR_VCOPD: u32 = 1 << 5;
const PLL_PWR_POSTDIVPD: u32 = 1 << 3;

const CLOCKS: usize = 0x4001_0000;
// SAFETY: a register of CLOCKS at 0x4001_0000 (RP2350 datasheet 8.1.7) (`Reg::at`).
const CLK_REF_CTRL: Reg = unsafe { Reg::at(CLOCKS, 0x30) };
// SAFETY: as above.
const CLK_REF_SELECTED: Reg = unsafe { Reg::at(CLOCKS, 0x38) };
/// CLK_REF_CTRL.SRC = 2: the crystal oscillator.
const CLK_REF_SRC_XOSC: u32 = 2;
// SAFETY: as above.
const CLK_SYS_CTRL: Reg = unsafe { Reg::at(CLOCKS, 0x3C) };
// SAFETY: as above.
const CLK_SYS_SELECTED: Reg = unsafe { Reg::at(CLOCKS, 0x44) };
/// CLK_SYS_CTRL.SRC: 0 = clk_ref, 1 = the auxiliary source, whose AUXSRC
/// (bits 7:5) 0 is PLL_SYS.
const CLK_SYS_SRC_REF: u32 = 0;
const CLK_SYS_SRC_AUX: u32 = 1;
// SAFETY: as above.
const CLK_PERI_CTRL: Reg = unsafe { Reg::at(CLOCKS, 0x48) };
/// CLK_PERI_CTRL: ENABLE, AUXSRC = 0 (clk_sys).
const CLK_PERI_ENABLE_FROM_SYS: u32 = 1 << 11;

const IO_BANK0: usize = 0x4002_8000;
/// GPIO0_CTRL.FUNCSEL = 2: UART0 TX.
// SAFETY: a register of IO_BANK0 at 0x4002_8000 (RP2350 datasheet 9.11.1) (`Reg::at`).
const GPIO0_CTRL: Reg = unsafe { Reg::at(IO_BANK0, 0x004) };
const FUNCSEL_UART: u32 = 2;

const PADS_BANK0: usize = 0x4003_8000;
/// PADS_BANK0.GPIO0 through the atomic clear alias: ISO (bit 8) isolates
/// the pad until software has set it up (datasheet 9.11.3).
// SAFETY: a register of PADS_BANK0 at 0x4003_8000 (RP2350 datasheet 9.11.3) (`Reg::at`).
const PADS_GPIO0_CLR: Reg = unsafe { Reg::at(PADS_BANK0, 0x3000 + 0x004) };
const PADS_ISO: u32 = 1 << 8;

const UART0: usize = 0x4007_0000;

/// UART0 on GP0, 115200 baud (set up once; later calls reuse it).
pub fn uart() -> Uart {
    // SAFETY: UART0 of the RP2350 is a PL011 at 0x4007_0000 (datasheet 12.1).
    if !unsafe { Pl011::enabled(UART0) } {
        clocks_from_pll();
        let blocks = RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0;
        RESETS_RESET_CLR.write(blocks);
        RESETS_RESET_DONE.wait(blocks, blocks);
        GPIO0_CTRL.write(FUNCSEL_UART);
        PADS_GPIO0_CLR.write(PADS_ISO);
    }
    // SAFETY: as above.
    unsafe { Pl011::new(UART0, SYS_HZ) }
}

/// clk_ref from the 12 MHz crystal; clk_sys, and clk_peri from it, from
/// PLL_SYS at 150 MHz (the order of the Pico SDK's clocks_init).
fn clocks_from_pll() {
    XOSC_STARTUP.write(XOSC_STARTUP_DELAY);
    XOSC_CTRL.write(XOSC_CTRL_ENABLE_1_15MHZ);
    XOSC_STATUS.wait(XOSC_STATUS_STABLE, XOSC_STATUS_STABLE);
    CLK_REF_CTRL.write(CLK_REF_SRC_XOSC);
    // The glitchless multiplexers report the source they switched to, one-hot.
    CLK_REF_SELECTED.wait(1 << CLK_REF_SRC_XOSC, 1 << CLK_REF_SRC_XOSC);
    // Off the PLL before it is reset (the boot ROM may have left it on).
    CLK_SYS_CTRL.write(CLK_SYS_SRC_REF);
    CLK_SYS_SELECTED.wait(1 << CLK_SYS_SRC_REF, 1 << CLK_SYS_SRC_REF);

    RESETS_RESET_SET.write(RESET_PLL_SYS);
    RESETS_RESET_CLR.write(RESET_PLL_SYS);
    RESETS_RESET_DONE.wait(RESET_PLL_SYS, RESET_PLL_SYS);
    PLL_CS.write(PLL_REFDIV);
    PLL_FBDIV_INT.write(PLL_FBDIV);
    PLL_PWR_CLR.write(PLL_PWR_PD | PLL_PWR_VCOPD);
    PLL_CS.wait(PLL_CS_LOCK, PLL_CS_LOCK);
    PLL_PRIM.write((PLL_POSTDIV1 << 16) | (PLL_POSTDIV2 << 12));
    PLL_PWR_CLR.write(PLL_PWR_POSTDIVPD);

    // AUXSRC = PLL_SYS while the glitchless multiplexer is on clk_ref, then
    // the multiplexer to the auxiliary source.
    CLK_SYS_CTRL.write(CLK_SYS_SRC_REF);
    CLK_SYS_CTRL.write(CLK_SYS_SRC_AUX);
    CLK_SYS_SELECTED.wait(1 << CLK_SYS_SRC_AUX, 1 << CLK_SYS_SRC_AUX);
    CLK_PERI_CTRL.write(CLK_PERI_ENABLE_FROM_SYS);
}
