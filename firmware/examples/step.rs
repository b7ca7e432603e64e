//! Footprint probe: the smallest program that runs charm-core's forward step
//! (`ModelView::new` + `ModelView::step` on f32 weights read from the WEIGHTS
//! region). `llvm-size` of this minus `empty` is what the step costs in flash.
//! Built by scripts/measure-firmware.sh; not meant to be run.
#![no_std]
#![no_main]

// The firmware's one-entry device part of the vector table.
#[cfg(target_arch = "arm")]
#[path = "../src/cpu/vector_table.rs"]
mod vector_table;

use charm_core::{tensor_lengths, ModelView};
use core::ptr::{read_volatile, write_volatile};

extern "C" {
    static __charm_weights_start: u8;
}

/// Largest model this probe steps.
const H: usize = 128;
/// Largest vocabulary this probe steps.
const V: usize = 65;

#[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
#[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
fn main() -> ! {
    // Shape read at run time, so that nothing is constant-folded away.
    let base = core::ptr::addr_of!(__charm_weights_start) as *const u32;
    // SAFETY: the WEIGHTS region is mapped flash, on every board large
    // enough for the f32 tensors of an H 128, V 65 model.
    let (hidden, vocab) = unsafe {
        (
            read_volatile(base) as usize,
            read_volatile(base.add(1)) as usize,
        )
    };
    let (hidden, vocab) = (hidden.min(H), vocab.min(V));
    let [a, b, c, d, e] = tensor_lengths(hidden, vocab);
    // SAFETY: as above; f32 tensors start 16 bytes into the region.
    let w = unsafe { core::slice::from_raw_parts(base.add(4) as *const f32, a + b + c + d + e) };
    let (wxh, w) = w.split_at(a);
    let (whh, w) = w.split_at(b);
    let (bh, w) = w.split_at(c);
    let (why, by) = w.split_at(d);
    let (mut h, mut h_next, mut logits) = ([0.0f32; H], [0.0f32; H], [0.0f32; V]);
    if let Ok(model) = ModelView::new(hidden, vocab, wxh, whh, bh, why, by) {
        let (h, h_next, logits) = (
            &mut h[..hidden],
            &mut h_next[..hidden],
            &mut logits[..vocab],
        );
        for x in 0..vocab {
            if model.step(h, x, h_next, logits).is_ok() {
                h.copy_from_slice(h_next);
            }
        }
        // SAFETY: a RAM word of our own, so the result is used.
        unsafe { write_volatile(&mut logits[0] as *mut f32, logits[0]) };
    }
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
