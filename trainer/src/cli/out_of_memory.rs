//! An allocation that fails ends `charm` with its one-line error, not an
//! abort and a backtrace.
//!
//! Every command checks its large allocations against the memory it may
//! still take before it makes them ([`crate::files::memory`]); this is the
//! net under that estimate. The binary installs [`ExitOnOutOfMemory`] as its
//! global allocator: it is the system allocator, except that a request the
//! system refuses prints
//!
//! ```text
//! error: out of memory: an allocation of N bytes failed (the machine's memory, or this process's limit: ulimit -v, ulimit -d or its cgroup's); lower --hidden, --batch or --seq-len, or give the run more memory
//! ```
//!
//! removes the lock file of a training run in progress, and exits with
//! status 1. Nothing else is cleaned up: every file charm writes goes
//! through a temporary file and a rename, so what was there stays whole.
//! The message is formatted into a buffer on the stack: the process may
//! have no heap left to format it.

use crate::files::lock;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// The system allocator, with charm's error and exit status 1 where it
/// fails (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct ExitOnOutOfMemory;

/// Set by the first failure: a second one while reporting aborts at once.
static REPORTING: AtomicBool = AtomicBool::new(false);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and returns its result; a null result never returns (it exits),
// which GlobalAlloc allows.
unsafe impl GlobalAlloc for ExitOnOutOfMemory {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, which is `System.alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }
}

/// The sentence for a failed allocation of `bytes`, into `buf`; returns
/// the bytes written. Formats without the heap.
pub fn message(bytes: usize, buf: &mut [u8; 320]) -> usize {
    let mut w = StackText { buf, len: 0 };
    let _ = writeln!(
        w,
        "error: out of memory: an allocation of {bytes} bytes failed (the machine's memory, or \
         this process's limit: ulimit -v, ulimit -d or its cgroup's); lower --hidden, --batch or \
         --seq-len, or give the run more memory"
    );
    w.len
}

fn out_of_memory(bytes: usize) -> ! {
    if REPORTING.swap(true, Ordering::SeqCst) {
        std::process::abort();
    }
    let mut buf = [0u8; 320];
    let n = message(bytes, &mut buf);
    let _ = std::io::stderr().write_all(&buf[..n]);
    lock::remove_on_abort();
    std::process::exit(1)
}

/// A `Write` into a fixed buffer that drops what does not fit.
struct StackText<'a> {
    buf: &'a mut [u8; 320],
    len: usize,
}

impl Write for StackText<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = &mut self.buf[self.len..];
        let n = data.len().min(room.len());
        room[..n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_one_line_with_the_number_and_fits_its_buffer() {
        let mut buf = [0u8; 320];
        let n = message(usize::MAX, &mut buf);
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(n < buf.len(), "the buffer has room to spare: {n}");
        assert!(
            text.starts_with("error: out of memory: an allocation of 18446744073709551615 bytes")
        );
        assert!(
            text.ends_with("more memory\n") && text.matches('\n').count() == 1,
            "{text}"
        );
    }
}
