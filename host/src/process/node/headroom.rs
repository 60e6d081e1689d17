//! Refuses a spawn, with an error, when the machine (or the node's cgroup) is nearly out of
//! memory.
//!
//! Stacks and memories are reserved without committing memory (`MAP_NORESERVE`), and Linux
//! overcommits: with nothing checking, the spawn that exhausts memory succeeds and the kernel's
//! OOM killer ends the whole node later, every process with it. So each spawn first checks
//! that more than a reserve is still available — `MemAvailable`, or the cgroup's `memory.max`
//! less its `memory.current` when that is smaller — and otherwise fails with a message that
//! says so. Reading the figures costs ~10 µs, so they are read at most every 10 ms; the reserve
//! is larger than what spawning can take in between (100,000 spawns a second of 30 KiB
//! processes: 30 MiB). A process takes its memory when it first runs, which in a burst is
//! seconds after its spawn (spawning 100,000 sleepers takes 0.5 s, starting them 2 s): each
//! spawned process that has not yet started counts as [`UNSTARTED_COST`] taken.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kept free when `WIPPY_MEMORY_RESERVE` does not say otherwise.
const DEFAULT_RESERVE: u64 = 256 << 20;
/// How long a reading of the available memory is trusted.
const FRESH_FOR: Duration = Duration::from_millis(10);
/// What a process that has not started yet is assumed to take: more than a waiting WASM
/// (30 KiB) or Lua (51 KiB) process of the README's table.
const UNSTARTED_COST: u64 = 64 << 10;

pub(super) struct Headroom {
    reserve: u64,
    last: Mutex<Option<(Instant, Option<u64>)>>,
    unstarted: Arc<AtomicU64>,
}

/// A spawned process that has not run yet; dropped when it first runs (or never will).
pub(super) struct Unstarted(Arc<AtomicU64>);

impl Drop for Unstarted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Headroom {
    fn default() -> Self {
        Self::with_reserve(reserve_from_env())
    }
}

impl Headroom {
    fn with_reserve(reserve: u64) -> Self {
        Self {
            reserve,
            last: Mutex::new(None),
            unstarted: Arc::default(),
        }
    }

    /// Counts a spawned process until it first runs.
    pub(super) fn unstarted(&self) -> Unstarted {
        self.unstarted.fetch_add(1, Ordering::Relaxed);
        Unstarted(self.unstarted.clone())
    }

    /// `Err` with a person's explanation when no more than the reserve is available, counting
    /// the processes not started yet as taken.
    pub(super) fn check(&self) -> Result<(), String> {
        let available = {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            match *last {
                Some((at, available)) if at.elapsed() < FRESH_FOR => available,
                _ => {
                    let available = available_memory();
                    *last = Some((Instant::now(), available));
                    available
                }
            }
        };
        let pending = self.unstarted.load(Ordering::Relaxed) * UNSTARTED_COST;
        match available.map(|bytes| bytes.saturating_sub(pending)) {
            // Unknown (no /proc): nothing to check against.
            None => Ok(()),
            Some(bytes) if bytes > self.reserve => Ok(()),
            Some(bytes) => Err(format!(
                "the machine is out of memory: {} MiB available, and {} MiB are kept free (WIPPY_MEMORY_RESERVE); let processes end, or lower `host.max_processes`",
                bytes >> 20,
                self.reserve >> 20
            )),
        }
    }
}

/// `WIPPY_MEMORY_RESERVE` in bytes (a plain number, or with a `K`, `M` or `G` suffix of
/// powers of 1024); the default when unset or unreadable.
fn reserve_from_env() -> u64 {
    let Ok(text) = std::env::var("WIPPY_MEMORY_RESERVE") else {
        return DEFAULT_RESERVE;
    };
    match parse_size(&text) {
        Some(bytes) => bytes,
        None => {
            log::warn!(
                "WIPPY_MEMORY_RESERVE={text} is not a size (bytes, or a number with K, M or G): keeping {} MiB free",
                DEFAULT_RESERVE >> 20
            );
            DEFAULT_RESERVE
        }
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 10),
        'M' => (&text[..text.len() - 1], 20),
        'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The memory still available to this process, in bytes: the smaller of the machine's and
/// its cgroup's; `None` when neither can be read.
fn available_memory() -> Option<u64> {
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_available(&text));
    let cgroup = cgroup_dir().and_then(|dir| {
        let max = std::fs::read_to_string(format!("{dir}/memory.max")).ok()?;
        let current = std::fs::read_to_string(format!("{dir}/memory.current")).ok()?;
        cgroup_available(&max, &current)
    });
    match (machine, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn cgroup_available(max: &str, current: &str) -> Option<u64> {
    let max: u64 = max.trim().parse().ok()?; // "max" (no limit) does not parse
    let current: u64 = current.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// The cgroup v2 folder of this process (`0::/path` in /proc/self/cgroup).
fn cgroup_dir() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(format!("/sys/fs/cgroup{}", path.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_as_linux_writes_them() {
        let meminfo = "MemTotal:       24571008 kB\nMemFree:        15871360 kB\nMemAvailable:   23177876 kB\n";
        assert_eq!(mem_available(meminfo), Some(23177876 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(cgroup_available("max\n", "1000\n"), None, "no limit");
        assert_eq!(cgroup_available("4096\n", "1000\n"), Some(3096));
        assert_eq!(cgroup_available("4096\n", "5000\n"), Some(0));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn a_spawn_is_refused_only_within_the_reserve() {
        if available_memory().is_none() {
            eprintln!("no /proc/meminfo here: the headroom check cannot be tested");
            return;
        }
        assert!(Headroom::with_reserve(0).check().is_ok());
        let err = Headroom::with_reserve(u64::MAX).check().unwrap_err();
        assert!(err.starts_with("the machine is out of memory: "), "{err}");
        assert!(err.contains("WIPPY_MEMORY_RESERVE"), "{err}");
        // Processes spawned but not started count as taken until they run.
        let available = available_memory().unwrap();
        let headroom = Headroom::with_reserve(available / 2);
        assert!(headroom.check().is_ok());
        let unstarted: Vec<Unstarted> = (0..available / 2 / UNSTARTED_COST + 1)
            .map(|_| headroom.unstarted())
            .collect();
        assert!(headroom.check().is_err(), "their share is taken");
        drop(unstarted);
        assert!(headroom.check().is_ok(), "and given back once they run");
    }
}
