//! RISC-V: riscv-rt, the `slli; ebreak; srai` semihosting sequence, `wfi`,
//! the `minstret` counter.

pub use riscv_rt::entry;
#[cfg(feature = "bench")]
pub use riscv_semihosting::hio;
#[cfg(feature = "semihosting")]
pub use riscv_semihosting::syscall;

/// Sleeps until an interrupt (none is enabled when the firmware parks).
pub fn wait_for_interrupt() {
    riscv::asm::wfi();
}

#[cfg(feature = "bench")]
pub use self::bench::*;

#[cfg(feature = "bench")]
mod bench {
    //! `minstret`, the instructions-retired counter: under QEMU with
    //! `-icount`, every instruction.

    /// Nothing to start: `minstret` always counts.
    pub fn start_ticks() {}

    /// Instructions retired since reset.
    pub fn ticks() -> u64 {
        riscv::register::minstret::read64()
    }

    /// The stack pointer.
    pub fn stack_pointer() -> usize {
        let sp: usize;
        // SAFETY: reads a register.
        unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
        sp
    }

    extern "C" {
        /// Top of the stack (riscv-rt's link.x).
        static _stack_start: u32;
        /// End of the statics, where free RAM begins (riscv-rt's link.x).
        static _sheap: u32;
    }

    /// Free RAM between the statics and the top of the stack.
    pub fn free_ram() -> core::ops::Range<usize> {
        // Taking the address of an extern static is safe; nothing is read.
        core::ptr::addr_of!(_sheap) as usize..core::ptr::addr_of!(_stack_start) as usize
    }

    /// Runs `iterations` of a two-instruction loop (`addi`, `bnez`).
    pub fn known_loop(iterations: u32) {
        if iterations == 0 {
            return;
        }
        // SAFETY: touches only the register it declares.
        unsafe {
            core::arch::asm!(
                "2:",
                "addi {n}, {n}, -1",
                "bnez {n}, 2b",
                n = inout(reg) iterations => _,
                options(nomem, nostack),
            );
        }
    }
}
