//! STM32F411CE "Black Pill" (Cortex-M4F). Console: USART1, TX on PA9
//! (alternate function 7), clocked by the 16 MHz HSI oscillator the chip
//! starts on (APB2 undivided).

use crate::mmio::Reg;
use crate::uart::stm32::Usart;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::STM32F411;

/// The console's transmitter.
pub type Uart = Usart;

const RCC: usize = 0x4002_3800;
/// RCC_AHB1ENR bit 0: GPIOA clock.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_AHB1ENR: Reg = unsafe { Reg::at(RCC, 0x30) };
const GPIOA_EN: u32 = 1 << 0;
/// RCC_APB2ENR bit 4: USART1 clock.
// SAFETY: a register of the RCC at 0x4002_3800 (RM0383) (`Reg::at`).
const RCC_APB2ENR: Reg = unsafe { Reg::at(RCC, 0x44) };
const USART1_EN: u32 = 1 << 4;

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
/// APB2 clock: the HSI's 16 MHz.
const APB2_HZ: u32 = 16_000_000;

/// USART1 on PA9, 115200 baud.
pub fn uart() -> Uart {
    RCC_AHB1ENR.set_bits(GPIOA_EN);
    RCC_APB2ENR.set_bits(USART1_EN);
    GPIOA_AFRH.clear_bits(0xF << (4 * (TX_PIN - 8)));
    GPIOA_AFRH.set_bits(AF_USART1 << (4 * (TX_PIN - 8)));
    GPIOA_MODER.clear_bits(0b11 << (2 * TX_PIN));
    GPIOA_MODER.set_bits(MODE_ALTERNATE << (2 * TX_PIN));
    // SAFETY: USART1 of the STM32F411 is at 0x4001_1000 (RM0383).
    unsafe { Usart::new(USART1, APB2_HZ) }
}
