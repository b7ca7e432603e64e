//! Helium's f32 instructions and IEEE-754: a check around hand-written code.
//!
//! Helium (MVE) computes f32 lanes with the standard FPSCR value, which
//! flushes subnormal inputs and results to zero where the scalar FPU
//! (FPSCR.FZ = 0) and the host keep them. Each flush sets one of FPSCR's
//! cumulative flags IDC (bit 7, a subnormal input read as zero) or UFC (bit
//! 3, a result below the normal range; scalar code also sets it for a tiny
//! inexact result). So charm-core's Helium f32 code runs through
//! [`without_flush`], and its caller recomputes the rows in scalar IEEE
//! arithmetic when it says a flag was raised: the same bits as the host for
//! any model, at the cost of one scalar pass when that happens. The
//! sampler's max runs through [`without_flags`] with IOC too (a signalling
//! NaN); its weights, which overwrite their logits, are checked before
//! instead: they meet no subnormal that could change a result (the proof in
//! `sample`'s module `helium`).
//!
//! The M55 build keeps LLVM's own code off Helium floating point
//! (`-C target-feature=-mve.fp`, charm-boards' `CORTEX_M55`); the asm that
//! uses it says `.arch_extension mve.fp`.

use core::arch::asm;

/// FPSCR's IDC (bit 7) and UFC (bit 3).
pub(crate) const FLUSH_FLAGS: u32 = (1 << 7) | (1 << 3);

/// FPSCR's IOC (bit 0): an invalid operation, among them any operation
/// that reads a signalling NaN.
pub(crate) const INVALID_FLAG: u32 = 1;

/// Clears [`FLUSH_FLAGS`], calls `run`, and says whether neither was set
/// meanwhile, that is whether `run`'s Helium f32 results are IEEE-754's.
#[inline(always)]
pub(crate) fn without_flush(run: impl FnOnce()) -> bool {
    without_flags(FLUSH_FLAGS, run)
}

/// Clears FPSCR's cumulative flags `flags`, calls `run`, and says whether
/// none of them was set meanwhile.
#[inline(always)]
pub(crate) fn without_flags(flags: u32, run: impl FnOnce()) -> bool {
    // SAFETY: reads and writes FPSCR's cumulative flags only; the rounding
    // and flush modes, which code generation assumes, stay.
    unsafe {
        asm!(
            "vmrs {t}, fpscr",
            "bic {t}, {t}, {flags}",
            "vmsr fpscr, {t}",
            t = out(reg) _,
            flags = in(reg) flags,
            options(nomem, nostack),
        );
    }
    run();
    let fpscr: u32;
    // SAFETY: reads FPSCR.
    unsafe { asm!("vmrs {t}, fpscr", t = out(reg) fpscr, options(nomem, nostack)) };
    fpscr & flags == 0
}
