//! How much memory the machine has for a run, from the operating system.

use crate::error::Error;

/// Bytes of memory available for a new allocation without swapping
/// (Linux: `MemAvailable` of `/proc/meminfo`); `None` where unknown.
pub fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses `what`, which needs `needed` bytes, when the machine has less
/// available (`hint` says what to change); passes where that is unknown.
pub fn check_available(needed: u64, what: &'static str, hint: &'static str) -> Result<(), Error> {
    match available_bytes() {
        Some(available) if needed > available => Err(Error::NotEnoughMemory {
            needed,
            available,
            what,
            hint,
        }),
        _ => Ok(()),
    }
}
