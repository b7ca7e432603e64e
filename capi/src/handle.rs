//! Handles in the caller's memory: checking a pointer before it becomes a
//! reference, and telling an initialized handle from any other bytes.

use crate::status::Failure;

/// Checks that `pointer` is not null and is aligned for a `T`: what must
/// hold before it may become a reference.
pub(crate) fn check_pointer<T>(pointer: *const T) -> Result<(), Failure> {
    if pointer.is_null() {
        return Err(Failure::NullPointer);
    }
    let (address, align) = (pointer as usize, core::mem::align_of::<T>());
    if !address.is_multiple_of(align) {
        return Err(Failure::Misaligned { address, align });
    }
    Ok(())
}

/// Reads the first word of a handle: its tag, which says whether the rest
/// holds a value that charm wrote (a C program zeroes or leaves handles as
/// it likes; only a successful `*_init` writes the tag).
///
/// # Safety
///
/// `pointer` passed [`check_pointer`] for the handle type, which starts with
/// a `usize` tag (it is `#[repr(C)]`) and is at least as aligned as `usize`,
/// and points to readable memory of that type's size.
pub(crate) unsafe fn tag_of<T>(pointer: *const T) -> usize {
    // SAFETY: the caller's contract: aligned, readable; any bits are a usize.
    unsafe { pointer.cast::<usize>().read() }
}
