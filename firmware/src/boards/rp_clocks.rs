//! The clock start-up the Raspberry Pi RP2040 and RP2350 share: the same
//! crystal oscillator (XOSC), system PLL and glitchless clock multiplexers,
//! with the same registers at the same offsets, at different places of the
//! two chips' address maps ([`RpClocks`]). The order is the Pico SDK's
//! `clocks_init`: the crystal as clk_ref, clk_sys back on clk_ref while
//! PLL_SYS is reset, programmed and locked, then clk_sys from PLL_SYS and
//! clk_peri (the UART's clock) from clk_sys.
//!
//! Registers: RP2040 datasheet 2.15 (clocks), 2.16 (XOSC), 2.18 (PLL);
//! RP2350 datasheet 8.1 (clocks), 8.2 (XOSC), 8.6 (PLL).

use crate::mmio::Reg;

/// The crystal's frequency on the Pico and the Pico 2.
pub const XOSC_HZ: u32 = 12_000_000;

/// PLL_SYS's dividers: the output is `XOSC_HZ / refdiv · fbdiv / (postdiv1
/// · postdiv2)`, with the VCO (`XOSC_HZ / refdiv · fbdiv`) within 750 to
/// 1600 MHz on both chips and `postdiv1 ≥ postdiv2`, each 1 to 7.
#[derive(Clone, Copy)]
pub struct Pll {
    /// Reference divider.
    pub refdiv: u32,
    /// Feedback divider (the VCO's multiple of the reference).
    pub fbdiv: u32,
    /// First post divider.
    pub postdiv1: u32,
    /// Second post divider.
    pub postdiv2: u32,
}

impl Pll {
    /// The VCO's frequency.
    pub const fn vco_hz(&self) -> u32 {
        XOSC_HZ / self.refdiv * self.fbdiv
    }

    /// The system clock this PLL makes.
    pub const fn out_hz(&self) -> u32 {
        self.vco_hz() / (self.postdiv1 * self.postdiv2)
    }

    /// Whether the dividers are within the datasheets' ranges.
    pub const fn is_valid(&self) -> bool {
        let vco = self.vco_hz() as u64;
        self.refdiv >= 1
            && vco >= 750_000_000
            && vco <= 1_600_000_000
            && self.postdiv1 >= 1
            && self.postdiv1 <= 7
            && self.postdiv2 >= 1
            && self.postdiv2 <= self.postdiv1
    }
}

/// The registers of one chip that the clock start-up writes.
pub struct RpClocks {
    reset_pll_sys: u32,
    reset_set: Reg,
    reset_clr: Reg,
    reset_done: Reg,
    xosc_ctrl: Reg,
    xosc_status: Reg,
    xosc_startup: Reg,
    pll_cs: Reg,
    pll_pwr_clr: Reg,
    pll_fbdiv: Reg,
    pll_prim: Reg,
    clk_ref_ctrl: Reg,
    clk_ref_selected: Reg,
    clk_sys_ctrl: Reg,
    clk_sys_selected: Reg,
    clk_peri_ctrl: Reg,
}

/// XOSC CTRL: ENABLE = 0xFAB, FREQ_RANGE = 0xAA0 (1-15 MHz).
const XOSC_CTRL_ENABLE_1_15MHZ: u32 = (0xFAB << 12) | 0xAA0;
/// XOSC STATUS bit: the oscillator runs stably.
const XOSC_STATUS_STABLE: u32 = 1 << 31;
/// XOSC STARTUP.DELAY: about 1 ms, in units of 256 crystal cycles.
const XOSC_STARTUP_DELAY: u32 = (XOSC_HZ / 1000).div_ceil(256);
/// PLL CS bit: the PLL is locked.
const PLL_CS_LOCK: u32 = 1 << 31;
/// PLL PWR bits: power-down of the PLL, of the post dividers, of the VCO.
const PLL_PWR_PD: u32 = 1 << 0;
const PLL_PWR_POSTDIVPD: u32 = 1 << 3;
const PLL_PWR_VCOPD: u32 = 1 << 5;
/// CLK_REF_CTRL.SRC = 2: the crystal oscillator.
const CLK_REF_SRC_XOSC: u32 = 2;
/// CLK_SYS_CTRL.SRC: 0 = clk_ref, 1 = the auxiliary source, whose AUXSRC
/// (bits 7:5) 0 is PLL_SYS.
const CLK_SYS_SRC_REF: u32 = 0;
const CLK_SYS_SRC_AUX: u32 = 1;
/// CLK_PERI_CTRL: ENABLE, AUXSRC = 0 (clk_sys).
const CLK_PERI_ENABLE_FROM_SYS: u32 = 1 << 11;

impl RpClocks {
    /// The blocks at these base addresses; `reset_pll_sys` is PLL_SYS's bit
    /// in RESETS.RESET.
    ///
    /// # Safety
    ///
    /// Each address is the base of that block (RESETS, XOSC, PLL_SYS,
    /// CLOCKS) on the chip the firmware is built for, so that every
    /// register [`RpClocks::start`] makes from it meets [`Reg::at`]'s
    /// contract.
    pub const unsafe fn new(
        resets: usize,
        reset_pll_sys: u32,
        xosc: usize,
        pll_sys: usize,
        clocks: usize,
    ) -> Self {
        // SAFETY: the offsets are those of the registers named, the same in
        // both datasheets, from the bases the caller vouches for; RESETS' and
        // the PLL's atomic set and clear aliases are at +0x2000 and +0x3000
        // (RP2040 datasheet 2.1.2, RP2350 datasheet 2.1.3).
        unsafe {
            RpClocks {
                reset_pll_sys,
                reset_set: Reg::at(resets, 0x2000),
                reset_clr: Reg::at(resets, 0x3000),
                reset_done: Reg::at(resets, 0x008),
                xosc_ctrl: Reg::at(xosc, 0x00),
                xosc_status: Reg::at(xosc, 0x04),
                xosc_startup: Reg::at(xosc, 0x0C),
                pll_cs: Reg::at(pll_sys, 0x0),
                pll_pwr_clr: Reg::at(pll_sys, 0x3000 + 0x4),
                pll_fbdiv: Reg::at(pll_sys, 0x8),
                pll_prim: Reg::at(pll_sys, 0xC),
                clk_ref_ctrl: Reg::at(clocks, 0x30),
                clk_ref_selected: Reg::at(clocks, 0x38),
                clk_sys_ctrl: Reg::at(clocks, 0x3C),
                clk_sys_selected: Reg::at(clocks, 0x44),
                clk_peri_ctrl: Reg::at(clocks, 0x48),
            }
        }
    }

    /// clk_ref from the 12 MHz crystal; clk_sys, and clk_peri from it, at
    /// `pll.out_hz()` from PLL_SYS.
    pub fn start(&self, pll: Pll) {
        self.xosc_startup.write(XOSC_STARTUP_DELAY);
        self.xosc_ctrl.write(XOSC_CTRL_ENABLE_1_15MHZ);
        self.xosc_status
            .wait(XOSC_STATUS_STABLE, XOSC_STATUS_STABLE);
        self.clk_ref_ctrl.write(CLK_REF_SRC_XOSC);
        // The glitchless multiplexers report the source they switched to, one-hot.
        self.clk_ref_selected
            .wait(1 << CLK_REF_SRC_XOSC, 1 << CLK_REF_SRC_XOSC);
        // Off the PLL before it is reset (a bootloader may have left it on).
        self.clk_sys_ctrl.write(CLK_SYS_SRC_REF);
        self.clk_sys_selected
            .wait(1 << CLK_SYS_SRC_REF, 1 << CLK_SYS_SRC_REF);

        self.reset_set.write(self.reset_pll_sys);
        self.reset_clr.write(self.reset_pll_sys);
        self.reset_done.wait(self.reset_pll_sys, self.reset_pll_sys);
        self.pll_cs.write(pll.refdiv);
        self.pll_fbdiv.write(pll.fbdiv);
        self.pll_pwr_clr.write(PLL_PWR_PD | PLL_PWR_VCOPD);
        self.pll_cs.wait(PLL_CS_LOCK, PLL_CS_LOCK);
        self.pll_prim
            .write((pll.postdiv1 << 16) | (pll.postdiv2 << 12));
        self.pll_pwr_clr.write(PLL_PWR_POSTDIVPD);

        // AUXSRC = PLL_SYS while the glitchless multiplexer is on clk_ref,
        // then the multiplexer to the auxiliary source.
        self.clk_sys_ctrl.write(CLK_SYS_SRC_REF);
        self.clk_sys_ctrl.write(CLK_SYS_SRC_AUX);
        self.clk_sys_selected
            .wait(1 << CLK_SYS_SRC_AUX, 1 << CLK_SYS_SRC_AUX);
        self.clk_peri_ctrl.write(CLK_PERI_ENABLE_FROM_SYS);
    }
}
