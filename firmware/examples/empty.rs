//! Footprint probe: the runtime's own cost (cortex-m-rt's vector table and
//! reset handler, or riscv-rt's start code), the baseline that `step` is
//! measured against. Not meant to be run.
#![no_std]
#![no_main]

// The firmware's one-entry device part of the vector table.
#[cfg(target_arch = "arm")]
#[path = "../src/cpu/vector_table.rs"]
mod vector_table;

#[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
#[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
fn main() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
