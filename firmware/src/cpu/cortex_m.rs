//! Arm Cortex-M: cortex-m-rt, `bkpt 0xAB` semihosting, `wfi`, SysTick.

pub use cortex_m_rt::entry;
#[cfg(feature = "bench")]
pub use cortex_m_semihosting::hio;
#[cfg(feature = "semihosting")]
pub use cortex_m_semihosting::syscall;

/// Sleeps until an interrupt (none is enabled when the firmware parks).
pub fn wait_for_interrupt() {
    cortex_m::asm::wfi();
}

#[cfg(feature = "bench")]
pub use self::bench::*;

#[cfg(feature = "bench")]
mod bench {
    //! SysTick, counting the core clock, wrapping every 2^24 ticks.
    use core::sync::atomic::{AtomicU32, Ordering};
    use cortex_m::peripheral::{syst::SystClkSource, SYST};
    use cortex_m_rt::exception;

    /// SysTick counts down from this and wraps (24 bits).
    const RELOAD: u32 = 0x00FF_FFFF;

    /// SysTick wraps so far. (Armv6-M has no atomic read-modify-write, so
    /// the handler loads and stores; nothing else writes it.)
    static WRAPS: AtomicU32 = AtomicU32::new(0);

    #[exception]
    fn SysTick() {
        WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Starts the tick counter: SysTick on the core clock.
    pub fn start_ticks() {
        // SAFETY: only this module touches SysTick.
        let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        // The counter reads 0 until it has loaded RELOAD.
        while SYST::get_current() == 0 {}
    }

    /// Ticks since [`start_ticks`].
    pub fn ticks() -> u64 {
        loop {
            let before = WRAPS.load(Ordering::Relaxed);
            let current = SYST::get_current();
            if WRAPS.load(Ordering::Relaxed) == before {
                return u64::from(before) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
            }
        }
    }

    /// The stack pointer.
    pub fn stack_pointer() -> usize {
        cortex_m::register::msp::read() as usize
    }

    extern "C" {
        /// Top of the stack (cortex-m-rt's link.x).
        static _stack_start: u32;
        /// End of the statics, where free RAM begins (cortex-m-rt's link.x).
        static __sheap: u32;
    }

    /// Free RAM between the statics and the top of the stack.
    pub fn free_ram() -> core::ops::Range<usize> {
        // Taking the address of an extern static is safe; nothing is read.
        core::ptr::addr_of!(__sheap) as usize..core::ptr::addr_of!(_stack_start) as usize
    }

    /// Runs `iterations` of a two-instruction loop (`subs`, `bne`).
    pub fn known_loop(iterations: u32) {
        if iterations == 0 {
            return;
        }
        // SAFETY: touches only the register it declares and the flags.
        unsafe {
            core::arch::asm!(
                "2:",
                "subs {n}, #1",
                "bne 2b",
                n = inout(reg) iterations => _,
                options(nomem, nostack),
            );
        }
    }
}
