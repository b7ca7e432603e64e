//! The device part of the Cortex-M vector table, kept to one entry.
//!
//! cortex-m-rt (feature `device`, Cargo.toml) writes the 16 words of the
//! architecture's part — stack top, Reset, the exceptions — and takes the
//! device part, one word per interrupt line from IRQ0 on, from the unmangled
//! static `__INTERRUPTS` in section `.vector_table.interrupts` (its crate
//! documentation, "`__INTERRUPTS`"). The firmware enables no interrupt, so
//! none of those words is ever read; without `device` cortex-m-rt would
//! write 240 of them (960 bytes of flash on the M4F). Its linker script
//! requires at least one: IRQ0, pointing at cortex-m-rt's `DefaultHandler`
//! like every unused exception. (`device.x`, the list of handler names a
//! device crate would give, is empty: build.rs writes it.)

extern "C" {
    /// cortex-m-rt's handler of unexpected exceptions and interrupts.
    fn DefaultHandler();
}

/// IRQ0's vector: the device part of the table.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [DefaultHandler];
