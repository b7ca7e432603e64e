//! QEMU's RISC-V `virt` machine (`qemu-system-riscv32 -machine virt -bios
//! none`): one RV32IMAC hart. Console: the NS16550A UART at 0x1000_0000.

use crate::uart::ns16550::Ns16550;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::RISCV32_VIRT;

/// The console's transmitter.
pub type Uart = Ns16550;

/// The UART at 0x1000_0000.
pub fn uart() -> Uart {
    // SAFETY: QEMU's RISC-V `virt` has an NS16550A at 0x1000_0000.
    unsafe { Ns16550::new(0x1000_0000) }
}
