//! How much memory the machine has for a run, from the operating system.

/// Bytes of memory available for a new allocation without swapping
/// (Linux: `MemAvailable` of `/proc/meminfo`); `None` where unknown.
pub fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
