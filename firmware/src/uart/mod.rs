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
#[cfg(any(feature = "board-microbit", feature = "board-nrf52840"))]
pub mod nrf;
#[cfg(feature = "board-riscv32-virt")]
pub mod ns16550;
#[cfg(feature = "board-rp2040")]
pub mod pl011;
#[cfg(feature = "board-stm32f411")]
pub mod stm32;
