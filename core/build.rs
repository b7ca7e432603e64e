//! Names, once, the instruction sets charm-core's hand-written assembly is
//! for, as cfgs the sources test, from the target and the features the
//! firmware enables:
//!
//! - `charm_thumb1`: an Arm core that has Thumb-1 alone as charm builds for
//!   it (soft-float ABI, neither feature `dsp` nor `thumb2`): the
//!   Cortex-M0 and M0+, whose only multiply keeps the low 32 bits;
//! - `charm_thumb2`: an Arm core with Thumb-2, feature `thumb2` (the
//!   Cortex-M3) or `dsp` (the M4, M7, M33 and M55).

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(charm_thumb1)");
    println!("cargo::rustc-check-cfg=cfg(charm_thumb2)");
    let arm = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "arm");
    let hard_float = env::var("CARGO_CFG_TARGET_ABI").is_ok_and(|a| a == "eabihf");
    let dsp = env::var_os("CARGO_FEATURE_DSP").is_some();
    let thumb2 = env::var_os("CARGO_FEATURE_THUMB2").is_some();
    if arm && !dsp && !thumb2 && !hard_float {
        println!("cargo::rustc-cfg=charm_thumb1");
    }
    if arm && (dsp || thumb2) {
        println!("cargo::rustc-cfg=charm_thumb2");
    }
}
