//! What differs between the two instruction-set families under the
//! firmware: the runtime's entry point, semihosting, sleeping, and the
//! counters and registers the `bench` feature reads. Arm Cortex-M
//! (cortex-m-rt) or RISC-V (riscv-rt); the rest of the firmware is the same.

#[cfg(target_arch = "arm")]
mod cortex_m;
#[cfg(target_arch = "arm")]
pub use self::cortex_m::*;
#[cfg(target_arch = "arm")]
mod vector_table;

#[cfg(target_arch = "riscv32")]
mod riscv;
#[cfg(target_arch = "riscv32")]
pub use self::riscv::*;
