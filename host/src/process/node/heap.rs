//! Gives freed heap back to the system after a burst of processes ends.
//!
//! glibc's malloc keeps what a program frees for its next allocations and returns little of
//! it: after 100,000 processes had come and gone, a node held 2.1 GiB it no longer used, and
//! held it for good. `malloc_trim` returns it (2.1 GiB → 82 MiB, 160 ms of one thread's time),
//! so the node calls it, on a blocking thread, once the live processes of a large burst have
//! fallen to a quarter of their peak. The `wippy` binary allocates with mimalloc, which returns
//! memory by itself; this is for programs that embed the library with glibc's allocator (and
//! for what C code allocates with malloc).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Peaks below this many live processes are not worth a trim.
const BURST: usize = 10_000;

#[derive(Default)]
pub(super) struct HeapTrim {
    /// The most live processes since the last trim.
    peak: AtomicUsize,
}

impl HeapTrim {
    /// Notes the number of live processes after a spawn.
    pub(super) fn spawned(&self, live: usize) {
        self.peak.fetch_max(live, Ordering::Relaxed);
    }

    /// Notes the number of live processes after one ended; trims the heap when a burst is
    /// over. Returns whether it did.
    pub(super) fn ended(&self, live: usize) -> bool {
        let peak = self.peak.load(Ordering::Relaxed);
        if peak < BURST || live > peak / 4 {
            return false;
        }
        if (self
            .peak
            .compare_exchange(peak, live, Ordering::Relaxed, Ordering::Relaxed))
        .is_err()
        {
            return false; // another ending process got there first
        }
        trim();
        true
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // Off the async workers: it walks the whole heap.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn_blocking(|| {
            // SAFETY: malloc_trim has no preconditions.
            unsafe { libc::malloc_trim(0) };
        });
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heap_is_trimmed_once_per_burst_when_it_is_mostly_over() {
        let heap = HeapTrim::default();
        heap.spawned(BURST - 1);
        assert!(!heap.ended(0), "a small burst is not worth it");
        heap.spawned(20_000);
        assert!(!heap.ended(5_001), "most of the burst still lives");
        assert!(heap.ended(5_000));
        assert!(!heap.ended(4_000), "once per burst");
        heap.spawned(30_000);
        assert!(heap.ended(100), "the next burst trims again");
    }
}
