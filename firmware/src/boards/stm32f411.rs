//! STM32F411CE "Black Pill" (Cortex-M4F). Console: USART1, TX on PA9
//! (alternate function 7), 115200 baud; the core at 100 MHz.
//!
//! The chip starts on its 16 MHz HSI oscillator. [`uart`] first does what
//! STM32CubeF4's `SystemClock_Config` does for 100 MHz from the HSI
//! (RM0383: 3.4 flash latency, 5.4.1 PWR_CR, 6.3 RCC): the regulator to
//! scale 1 (up to 100 MHz), 3 flash wait states with the prefetch and both
//! caches (2.7 to 3.6 V, 90 to 100 MHz), the main PLL at 16 MHz / 8 · 100 / 2
//! = 100 MHz (a 2 MHz VCO input, a 200 MHz VCO), APB1 at 50 MHz (its
//! maximum) and APB2, USART1's bus, at 100 MHz; then clocks GPIOA and
//! USART1 and puts PA9 on USART1. The board's 25 MHz crystal is not used:
//! the HSI is within 1% (RM0383 6.2.2), well inside a UART's tolerance.

use crate::mmio::Reg;
use crate::uart::stm32::Usart;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::STM32F411;

/// The console's transmitter.
pub type Uart = Usart;

const RCC: usize = 0x4002_3800;
/// RCC_CR: PLLON (bit 24), PLLRDY (bit 25).
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_CR: Reg = unsafe { Reg::at(RCC, 0x00) };
const PLL_ON: u32 = 1 << 24;
const PLL_READY: u32 = 1 << 25;
/// RCC_PLLCFGR: PLLM (5:0), PLLN (14:6), PLLP (17:16, 0 = /2), PLLSRC (22,
/// 0 = HSI), PLLQ (27:24); the other bits are reserved and kept.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_PLLCFGR: Reg = unsafe { Reg::at(RCC, 0x04) };
const PLLCFGR_FIELDS: u32 = 0x3F | (0x1FF << 6) | (0b11 << 16) | (1 << 22) | (0xF << 24);
/// VCO input 16 MHz / 8 = 2 MHz (1 to 2 MHz), VCO 2 MHz · 100 = 200 MHz (100
/// to 432 MHz), system clock 200 MHz / 2 = 100 MHz; PLLQ 4 (its 48 MHz
/// output is unused).
const PLL_M: u32 = 8;
const PLL_N: u32 = 100;
const PLL_P_DIV2: u32 = 0b00;
const PLL_Q: u32 = 4;
const HSI_HZ: u32 = 16_000_000;
/// The system clock, AHB and APB2 (USART1's bus).
const SYS_HZ: u32 = HSI_HZ / PLL_M * PLL_N / 2;
const _: () = assert!(SYS_HZ == 100_000_000);
/// RCC_CFGR: SW (1:0) = 0b10 the PLL, SWS (3:2) reports it; PPRE1 (12:10)
/// = 0b100, APB1 at AHB / 2 (at most 50 MHz); HPRE and PPRE2 undivided.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_CFGR: Reg = unsafe { Reg::at(RCC, 0x08) };
const CFGR_SW_PLL: u32 = 0b10;
const CFGR_SWS_MASK: u32 = 0b11 << 2;
const CFGR_SWS_PLL: u32 = 0b10 << 2;
const CFGR_PPRE1_DIV2: u32 = 0b100 << 10;
/// RCC_APB1ENR bit 28: the power interface's clock.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_APB1ENR: Reg = unsafe { Reg::at(RCC, 0x40) };
const PWR_EN: u32 = 1 << 28;
/// RCC_AHB1ENR bit 0: GPIOA clock.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_AHB1ENR: Reg = unsafe { Reg::at(RCC, 0x30) };
const GPIOA_EN: u32 = 1 << 0;
/// RCC_APB2ENR bit 4: USART1 clock.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_APB2ENR: Reg = unsafe { Reg::at(RCC, 0x44) };
const USART1_EN: u32 = 1 << 4;

const PWR: usize = 0x4000_7000;
/// PWR_CR: VOS (15:14) = 0b11, regulator scale 1 (the reset value, scale
/// 2, allows at most 84 MHz).
// SAFETY: a register of PWR at 0x4000_7000 (RM0383) (`Reg::at`).
const PWR_CR: Reg = unsafe { Reg::at(PWR, 0x00) };
const VOS_SCALE1: u32 = 0b11 << 14;
/// PWR_CSR: VOSRDY (bit 14), the scale reached (valid once the PLL runs).
// SAFETY: a register of PWR at 0x4000_7000 (RM0383) (`Reg::at`).
const PWR_CSR: Reg = unsafe { Reg::at(PWR, 0x04) };
const VOS_READY: u32 = 1 << 14;

/// FLASH_ACR: LATENCY (3:0) = 3 wait states, PRFTEN (8), ICEN (9), DCEN (10).
// SAFETY: a register of the flash interface at 0x4002_3C00 (RM0383) (`Reg::at`).
const FLASH_ACR: Reg = unsafe { Reg::at(0x4002_3C00, 0x00) };
const FLASH_LATENCY_MASK: u32 = 0xF;
const FLASH_3WS_PREFETCH_CACHES: u32 = 3 | (1 << 8) | (1 << 9) | (1 << 10);

const GPIOA: usize = 0x4002_0000;
// SAFETY: a register of GPIOA at 0x4002_0000 (RM0383) (`Reg::at`).
const GPIOA_MODER: Reg = unsafe { Reg::at(GPIOA, 0x00) };
// SAFETY: a register of GPIOA at 0x4002_0000 (RM0383) (`Reg::at`).
const GPIOA_AFRH: Reg = unsafe { Reg::at(GPIOA, 0x24) };
/// The TX pin, PA9: MODER field 9 = 0b10 (alternate function), AFRH field
/// 9 − 8 = 7 (USART1).
const TX_PIN: u32 = 9;
const MODE_ALTERNATE: u32 = 0b10;
const AF_USART1: u32 = 7;

const USART1: usize = 0x4001_1000;

/// USART1 on PA9, 115200 baud, after the clocks (set up once; later calls
/// reuse them).
pub fn uart() -> Uart {
    if RCC_CFGR.read() & CFGR_SWS_MASK != CFGR_SWS_PLL {
        clocks_from_pll();
    }
    RCC_AHB1ENR.set_bits(GPIOA_EN);
    RCC_APB2ENR.set_bits(USART1_EN);
    GPIOA_AFRH.clear_bits(0xF << (4 * (TX_PIN - 8)));
    GPIOA_AFRH.set_bits(AF_USART1 << (4 * (TX_PIN - 8)));
    GPIOA_MODER.clear_bits(0b11 << (2 * TX_PIN));
    GPIOA_MODER.set_bits(MODE_ALTERNATE << (2 * TX_PIN));
    // SAFETY: USART1 of the STM32F411 is at 0x4001_1000 (RM0383).
    unsafe { Usart::new(USART1, SYS_HZ) }
}

/// The system clock at 100 MHz from the HSI through the main PLL, in the
/// order RM0383 requires: the regulator and the flash's wait states before
/// the faster clock, the APB1 divider before the switch.
fn clocks_from_pll() {
    RCC_APB1ENR.set_bits(PWR_EN);
    PWR_CR.set_bits(VOS_SCALE1);
    FLASH_ACR.write(FLASH_3WS_PREFETCH_CACHES);
    // The new latency is in effect once it reads back (RM0383 3.4.1).
    FLASH_ACR.wait(FLASH_LATENCY_MASK, 3);
    let pll = (RCC_PLLCFGR.read() & !PLLCFGR_FIELDS)
        | PLL_M
        | (PLL_N << 6)
        | (PLL_P_DIV2 << 16)
        | (PLL_Q << 24);
    RCC_PLLCFGR.write(pll);
    RCC_CFGR.set_bits(CFGR_PPRE1_DIV2);
    RCC_CR.set_bits(PLL_ON);
    RCC_CR.wait(PLL_READY, PLL_READY);
    PWR_CSR.wait(VOS_READY, VOS_READY);
    RCC_CFGR.write((RCC_CFGR.read() & !0b11) | CFGR_SW_PLL);
    RCC_CFGR.wait(CFGR_SWS_MASK, CFGR_SWS_PLL);
}
