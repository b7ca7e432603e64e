//! Ending the program: an exit status for QEMU or a debug probe over
//! semihosting, or parking the core on a board that runs on its own.

/// Exit status on success.
pub const SUCCESS: u32 = 0;
/// The weights are missing or unusable.
pub const BAD_WEIGHTS: u32 = 1;
/// The sampling-parameters record is unusable.
pub const BAD_PARAMS: u32 = 2;
/// The parameters do not fit the model (e.g. a prime character it does not know).
pub const CANNOT_GENERATE: u32 = 3;
/// The UART stopped taking bytes, so output was lost (under QEMU: the
/// reader of its stdout went away).
pub const CONSOLE_STALLED: u32 = 4;
/// The firmware panicked (a bug).
pub const PANIC: u32 = 101;

/// Ends the program with `status`.
///
/// With feature `semihosting`: `SYS_EXIT_EXTENDED` with
/// `ADP_Stopped_ApplicationExit` and the status, so that
/// `qemu-system-arm` (or `-riscv32`) `-semihosting-config enable=on,...`
/// exits with exactly `status`. Without it the core sleeps forever.
pub fn exit(status: u32) -> ! {
    #[cfg(feature = "semihosting")]
    {
        /// Semihosting operation `SYS_EXIT_EXTENDED`.
        const SYS_EXIT_EXTENDED: usize = 0x20;
        /// Semihosting reason code "the application exited".
        const ADP_STOPPED_APPLICATION_EXIT: usize = 0x2_0026;
        let block = [ADP_STOPPED_APPLICATION_EXIT, status as usize];
        // SAFETY: a semihosting call with its documented two-word parameter
        // block; under QEMU or a probe it does not return.
        unsafe {
            crate::cpu::syscall(SYS_EXIT_EXTENDED, &block);
        }
    }
    #[cfg(not(feature = "semihosting"))]
    let _ = status;
    loop {
        crate::cpu::wait_for_interrupt();
    }
}
