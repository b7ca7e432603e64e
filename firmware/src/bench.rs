//! Feature `bench`: times the generation and reports it over semihosting
//! (stderr), leaving the UART output untouched.
//!
//! The tick counter is the core's ([`crate::cpu`]): SysTick on the core clock
//! on Cortex-M, `minstret` on RISC-V. Under QEMU with `-icount shift=0` every
//! instruction advances virtual time by 1 ns; SysTick then ticks once per
//! `10⁹ / f` instructions for the board's system clock `f` (40 on the MPS2's
//! 25 MHz), and `minstret` once per instruction. [`report`] also times a loop
//! of known length, which gives that factor on the machine at hand.
//!
//! It also measures the peak stack depth: [`paint_stack`] fills the unused
//! stack with a pattern at boot, and [`report`] finds how deep it was overwritten.

use crate::cpu;
use core::fmt::Write;

/// Pattern written to the unused stack.
const PAINT: u32 = 0x5AA5_C33C;
/// At most this many bytes of stack are painted below the stack pointer (all
/// the free RAM on a small board).
const PAINT_BYTES: usize = 32 * 1024;
/// Bytes below the stack pointer left alone: [`paint_stack`]'s own frame.
const MARGIN: usize = 256;

/// The RAM [`paint_stack`] paints: up to [`PAINT_BYTES`] below the top of the
/// stack, never below the statics.
fn painted() -> core::ops::Range<usize> {
    let free = cpu::free_ram();
    let bottom = free.end.saturating_sub(PAINT_BYTES).max(free.start);
    (bottom.next_multiple_of(4))..free.end
}

/// Fills the painted RAM below the current stack pointer (less a margin for
/// this function's own frame) with [`PAINT`].
#[inline(never)]
pub fn paint_stack() {
    let sp = cpu::stack_pointer();
    let mut p = painted().start;
    while p + MARGIN < sp {
        // SAFETY: free RAM below the stack pointer that nothing uses yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Peak stack depth in bytes since [`paint_stack`].
fn stack_used() -> usize {
    let area = painted();
    let mut p = area.start;
    // SAFETY: reads the painted area, which is mapped RAM.
    while p < area.end && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    area.end - p
}

/// Starts the tick counter.
pub fn start() {
    cpu::start_ticks();
}

/// Ticks since [`start`].
pub fn ticks() -> u64 {
    cpu::ticks()
}

/// Prints the generation time and a calibration over semihosting stderr.
pub fn report(chars: u32, ticks: u64) {
    const LOOP: u32 = 5_000_000;
    let t0 = self::ticks();
    cpu::known_loop(LOOP);
    let calibration = self::ticks() - t0;
    if let Ok(mut stderr) = cpu::hio::hstderr() {
        let _ = writeln!(
            stderr,
            "bench: {} chars in {} ticks; calibration: {} instructions in {} ticks; \
             peak stack {} bytes",
            chars,
            ticks,
            2 * LOOP,
            calibration,
            stack_used()
        );
    }
}
