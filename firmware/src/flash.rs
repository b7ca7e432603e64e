//! The two flash regions the linker script reserves (boards/NAME/memory.x,
//! charm-regions.x): WEIGHTS holds a `.charm` file, PARAMS a sampling
//! parameters record. Both are read in place as `&'static [u8]`.

/// Bytes aligned to 16, so a `.charm` file linked into the image
/// (`CHARM_MODEL`) starts where its tensors can be read in place.
/// (Only constructed when a model is linked in.)
#[allow(dead_code)]
#[repr(C, align(16))]
pub struct Aligned<T: ?Sized>(pub T);

extern "C" {
    static __charm_weights_start: u8;
    static __charm_weights_end: u8;
    static __charm_params_start: u8;
    static __charm_params_end: u8;
}

// `LINKED_MODEL` (section .charm_weights) and `LINKED_MODEL_PATH`, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/linked_model.rs"));

/// The bytes between two linker symbols.
///
/// # Safety
/// `start..end` must be memory that is mapped, readable, and not written
/// while the program runs: the memory.x regions are flash (on QEMU, RAM that
/// only the loader writes, before the CPU starts).
unsafe fn region(start: *const u8, end: *const u8) -> &'static [u8] {
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: by the caller's contract.
    unsafe { core::slice::from_raw_parts(start, len) }
}

/// The WEIGHTS region, whole (the `.charm` file at its start may be shorter).
pub fn weights() -> &'static [u8] {
    // SAFETY: linker symbols bounding the WEIGHTS region, which the firmware
    // never writes.
    unsafe {
        region(
            core::ptr::addr_of!(__charm_weights_start),
            core::ptr::addr_of!(__charm_weights_end),
        )
    }
}

/// The PARAMS region, whole.
pub fn params() -> &'static [u8] {
    // SAFETY: linker symbols bounding the PARAMS region, which the firmware
    // never writes.
    unsafe {
        region(
            core::ptr::addr_of!(__charm_params_start),
            core::ptr::addr_of!(__charm_params_end),
        )
    }
}

/// Address of the WEIGHTS region, for messages.
pub fn weights_address() -> usize {
    weights().as_ptr() as usize
}

/// Address of the PARAMS region, for messages.
pub fn params_address() -> usize {
    params().as_ptr() as usize
}

/// Where the model linked into the image came from, if one was.
pub fn linked_model() -> Option<&'static str> {
    LINKED_MODEL_PATH
}
