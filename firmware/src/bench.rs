//! Feature `bench`: times the generation with SysTick and reports it over
//! semihosting (stderr), leaving the UART output untouched.
//!
//! Under `qemu-system-arm -icount shift=0` every instruction advances virtual
//! time by 1 ns, and QEMU clocks SysTick from the MPS2's 25 MHz system clock,
//! so one SysTick tick is 40 instructions. [`report`] also times a loop of
//! known length, which checks that factor on the machine at hand.
//!
//! It also measures the peak stack depth: [`paint_stack`] fills the unused
//! stack with a pattern at boot, and [`report`] finds how deep it was overwritten.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::exception;

/// SysTick counts down from this and wraps (24 bits).
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick wraps so far.
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick on the core clock, wrapping every 2^24 ticks.
pub fn start() {
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

/// Ticks since [`start`].
pub fn ticks() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == before {
            return u64::from(before) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
        }
    }
}

/// Pattern written to the unused stack.
const PAINT: u32 = 0x5AA5_C33C;
/// Bytes of stack painted below the stack pointer at boot.
const PAINT_BYTES: usize = 32 * 1024;

extern "C" {
    /// Top of the stack (cortex-m-rt's link.x).
    static _stack_start: u32;
}

fn stack_top() -> usize {
    // Taking the address of an extern static is safe; nothing is read.
    core::ptr::addr_of!(_stack_start) as usize
}

/// Fills the [`PAINT_BYTES`] below the current stack pointer (less a margin
/// for this function's own frame) with [`PAINT`].
#[inline(never)]
pub fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = sp - PAINT_BYTES;
    while p < sp - 256 {
        // SAFETY: RAM below the stack pointer that nothing uses yet (the
        // mps2-an386 image has 4 MiB of RAM and 6 KiB of .bss).
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Peak stack depth in bytes since [`paint_stack`].
fn stack_used() -> usize {
    let bottom = stack_top() - PAINT_BYTES;
    let mut p = bottom;
    // SAFETY: reads the painted area, which is mapped RAM.
    while p < stack_top() && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    stack_top() - p
}

/// Runs `iterations` of a two-instruction loop (`subs`, `bne`).
fn known_loop(iterations: u32) {
    if iterations == 0 {
        return;
    }
    // SAFETY: touches only the register it declares.
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

/// Prints the generation time and a calibration over semihosting stderr.
pub fn report(chars: u32, ticks: u64) {
    const LOOP: u32 = 5_000_000;
    let t0 = self::ticks();
    known_loop(LOOP);
    let calibration = self::ticks() - t0;
    cortex_m_semihosting::heprintln!(
        "bench: {} chars in {} SysTick ticks; calibration: {} instructions in {} ticks; \
         peak stack {} bytes",
        chars,
        ticks,
        2 * LOOP,
        calibration,
        stack_used()
    );
}
