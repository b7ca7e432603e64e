//! How much memory a command may still allocate, from the operating system:
//! the smallest of what the machine has available, what the process's own
//! limits leave, and what its cgroup's limit leaves.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// Where the smallest headroom comes from, in words for the error sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemorySource {
    /// `MemAvailable` of `/proc/meminfo`.
    Machine,
    /// `RLIMIT_AS` (`ulimit -v`) less the process's address space (`VmSize`).
    AddressSpaceLimit,
    /// `RLIMIT_DATA` (`ulimit -d`) less the process's data segment (`VmData`).
    DataLimit,
    /// The cgroup's memory limit less its working set (usage less inactive
    /// page cache, which the kernel reclaims before it fails an allocation).
    Cgroup,
}

impl MemorySource {
    /// The clause that completes "more than the N GiB …".
    pub fn clause(self) -> &'static str {
        match self {
            MemorySource::Machine => "this machine has available",
            MemorySource::AddressSpaceLimit => {
                "this process's address-space limit (ulimit -v) leaves it"
            }
            MemorySource::DataLimit => "this process's data-size limit (ulimit -d) leaves it",
            MemorySource::Cgroup => "the memory limit of this process's cgroup leaves it",
        }
    }
}

/// Bytes a new allocation may take, and which bound that is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    /// Bytes.
    pub bytes: u64,
    /// The bound that gives them.
    pub source: MemorySource,
}

/// A value at or above this is "no limit" (cgroup v1 writes 2^63 less a page).
const UNLIMITED: u64 = 1 << 62;

/// The smallest headroom this process has, over every bound that the
/// operating system reports; `None` where none is known (not Linux).
pub fn headroom() -> Option<Headroom> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cgroup = cgroup_headroom(Path::new("/sys/fs/cgroup"));
    smallest([
        kib_field(&meminfo, "MemAvailable:").map(|b| (b, MemorySource::Machine)),
        limit_left(&limits, "Max address space", &status, "VmSize:")
            .map(|b| (b, MemorySource::AddressSpaceLimit)),
        limit_left(&limits, "Max data size", &status, "VmData:")
            .map(|b| (b, MemorySource::DataLimit)),
        cgroup.map(|b| (b, MemorySource::Cgroup)),
    ])
}

fn smallest(bounds: [Option<(u64, MemorySource)>; 4]) -> Option<Headroom> {
    bounds
        .into_iter()
        .flatten()
        .min_by_key(|&(bytes, _)| bytes)
        .map(|(bytes, source)| Headroom { bytes, source })
}

/// The value of a `NAME:  N kB` line, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The soft limit `name` of `/proc/self/limits` less the usage `field` of
/// `/proc/self/status`; `None` when unlimited or unknown.
fn limit_left(limits: &str, name: &str, status: &str, field: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(name))?;
    let soft: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(soft.saturating_sub(kib_field(status, field).unwrap_or(0)))
}

/// A number in a cgroup file (`max` and huge values: unlimited, `None`).
fn cgroup_number(path: &Path) -> Option<u64> {
    let n: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (n < UNLIMITED).then_some(n)
}

/// A `NAME N` line of a cgroup's `memory.stat`.
fn stat_field(stat: &str, name: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The smallest headroom over this process's cgroup and its ancestors, v2
/// (`memory.max`, `memory.current`) or v1 (`memory.limit_in_bytes`,
/// `memory.usage_in_bytes`), under the cgroup file system at `root`.
fn cgroup_headroom(root: &Path) -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut best: Option<u64> = None;
    for line in membership.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (dir, max, current, inactive) = if controllers.is_empty() {
            (
                root.to_path_buf(),
                "memory.max",
                "memory.current",
                "inactive_file",
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        } else {
            continue;
        };
        // The group and each ancestor: the tightest limit binds.
        let mut group: PathBuf = dir.join(path.trim_start_matches('/'));
        loop {
            if let (Some(limit), Some(used)) = (
                cgroup_number(&group.join(max)),
                cgroup_number(&group.join(current)),
            ) {
                let stat = std::fs::read_to_string(group.join("memory.stat")).unwrap_or_default();
                let reclaimable = stat_field(&stat, inactive).unwrap_or(0);
                let left = limit.saturating_sub(used.saturating_sub(reclaimable));
                best = Some(best.map_or(left, |b| b.min(left)));
            }
            if group == dir || !group.pop() {
                break;
            }
        }
    }
    best
}

/// Refuses `what`, which needs `needed` bytes, when the process may allocate
/// less ([`headroom`]; `hint` says what to change); passes where that is
/// unknown.
pub fn check_available(needed: u64, what: &'static str, hint: &'static str) -> Result<(), Error> {
    match headroom() {
        Some(h) if needed > h.bytes => Err(Error::NotEnoughMemory {
            needed,
            available: h.bytes,
            bound: h.source.clause(),
            what,
            hint,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max data size             unlimited            unlimited            bytes     
Max address space         8192000000           unlimited            bytes     
";
    const STATUS: &str = "Name:\tcharm\nVmSize:\t   20000 kB\nVmData:\t    1000 kB\n";

    #[test]
    fn the_address_space_limit_is_less_what_is_mapped_and_unlimited_is_none() {
        assert_eq!(
            limit_left(LIMITS, "Max address space", STATUS, "VmSize:"),
            Some(8_192_000_000 - 20_000 * 1024)
        );
        assert_eq!(limit_left(LIMITS, "Max data size", STATUS, "VmData:"), None);
        assert_eq!(
            kib_field("MemAvailable:   1000 kB\n", "MemAvailable:"),
            Some(1_024_000)
        );
    }

    #[test]
    fn the_smallest_bound_wins() {
        let h = smallest([
            Some((24 << 30, MemorySource::Machine)),
            Some((7 << 30, MemorySource::AddressSpaceLimit)),
            None,
            Some((9 << 30, MemorySource::Cgroup)),
        ]);
        assert_eq!(
            h,
            Some(Headroom {
                bytes: 7 << 30,
                source: MemorySource::AddressSpaceLimit
            })
        );
        assert_eq!(smallest([None, None, None, None]), None);
    }

    #[test]
    fn a_cgroup_stat_line_is_read_by_its_exact_name() {
        let stat = "active_file 5\ninactive_file 300\ntotal_inactive_file 700\n";
        assert_eq!(stat_field(stat, "inactive_file"), Some(300));
        assert_eq!(stat_field(stat, "total_inactive_file"), Some(700));
        assert_eq!(stat_field(stat, "file"), None);
    }

    #[test]
    fn this_process_has_a_headroom_on_linux() {
        if Path::new("/proc/meminfo").exists() {
            let h = headroom().expect("MemAvailable at least");
            assert!(h.bytes > 0, "{h:?}");
        }
    }
}
