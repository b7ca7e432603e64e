//! UART transmitters, one module per kind of UART; the boards choose theirs
//! and give it its address and clock.

#[cfg(any(
    feature = "board-mps2-an385",
    feature = "board-mps2-an386",
    feature = "board-mps2-an500",
    feature = "board-mps2-an505",
    feature = "board-mps3-an547"
))]
pub mod cmsdk;
#[cfg(feature = "board-esp32c3")]
pub mod esp32c3;
#[cfg(any(feature = "board-microbit", feature = "board-nrf52840"))]
pub mod nrf;
#[cfg(any(feature = "board-riscv32-virt", feature = "board-riscv32imc-virt"))]
pub mod ns16550;
#[cfg(any(feature = "board-rp2040", feature = "board-rp2350"))]
pub mod pl011;
#[cfg(feature = "board-stm32f411")]
pub mod stm32;
