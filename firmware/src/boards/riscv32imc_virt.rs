//! QEMU's RISC-V `virt` machine with an RV32IMC hart (`qemu-system-riscv32
//! -machine virt -bios none -cpu rv32,a=off,f=off,d=off`): the ESP32-C3's
//! instruction set, to run the ESP32-C3's code under QEMU. Console: the
//! NS16550A UART at 0x1000_0000.

use crate::uart::ns16550::Ns16550;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::RISCV32IMC_VIRT;

/// The console's transmitter.
pub type Uart = Ns16550;

/// The UART at 0x1000_0000.
pub fn uart() -> Uart {
    // SAFETY: QEMU's RISC-V `virt` has an NS16550A at 0x1000_0000.
    unsafe { Ns16550::new(0x1000_0000) }
}
