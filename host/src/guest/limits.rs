//! Per-process resource limits: memory (a `ResourceLimiter` that remembers what it refused,
//! so the exit can say why), open handles, and the defaults that apply when an entry sets none.

use wasmtime::ResourceLimiter;
use wasmtime::component::{ResourceTable, ResourceTableError};

/// Memory a process may grow to when its entry sets no `limits.max_memory_bytes`.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 512 * 1024 * 1024;

/// Host resources (files, directories, sockets, streams, pollables…) a process may hold at
/// once when its entry sets no `limits.max_open_handles`. Each may be an OS file descriptor,
/// which every process on the node draws from; wasmtime's own cap is a million per store.
pub const DEFAULT_MAX_OPEN_HANDLES: usize = 1024;

/// How often the engine's epoch advances: a running guest yields to the scheduler at least
/// this often, so no guest can starve the others or miss a terminate.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// What one table element costs the host. wasmtime documents a pointer's worth per element
/// (funcref and externref tables alike), so table growth is charged at that rate.
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// One budget for everything a process's instances allocate: every linear memory and every
/// table of every core instance in the store, together. A component is built from several
/// core instances, each with its own memory; a limit checked per memory would let a
/// component with eight of them hold eight times its `limits.max_memory_bytes`.
pub struct MemoryLimiter {
    max_bytes: usize,
    /// Bytes granted so far, across all memories and tables of the store. Nothing in a store
    /// shrinks or is freed before the store is dropped, so the total only grows.
    used: usize,
    /// The total a refused growth would have brought the process to.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(max_bytes: Option<u64>) -> Self {
        Self {
            max_bytes: usize::try_from(max_bytes.unwrap_or(DEFAULT_MAX_MEMORY_BYTES))
                .unwrap_or(usize::MAX),
            used: 0,
            refused: None,
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Grants `growth` more bytes if the total stays within the limit. A growth granted here
    /// stays counted even if wasmtime then fails it (its declared maximum, the OS): the
    /// `*_grow_failed` callbacks also fire for growths that never asked the limiter, so
    /// taking bytes back there would let a guest drive its total down and past the limit.
    /// Over-counting only ever shrinks the failing guest's own budget.
    fn grant(&mut self, growth: usize) -> bool {
        let total = self.used.saturating_add(growth);
        if total > self.max_bytes {
            self.refused = Some(total);
            return false;
        }
        self.used = total;
        true
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grant(desired.saturating_sub(current)))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let elements = desired.saturating_sub(current);
        Ok(self.grant(elements.saturating_mul(TABLE_ELEMENT_BYTES)))
    }
}

/// The table of host resources for one process, holding at most `limit` at once (the default
/// when `None`). Every WASI resource a guest gets lives in it; a push past the cap fails, and
/// wasmtime-wasi turns that failure into a trap, which ends the process (see
/// [`ran_out_of_handles`]). A trap rather than an error code: most of the calls that hand out
/// a resource (`subscribe`, `get-stdout`, `read-via-stream`…) have no error to return, and
/// `wasi:filesystem` has no code for "too many open files".
pub fn limit_handles(table: &mut ResourceTable, limit: Option<u64>) {
    let limit = limit.map_or(DEFAULT_MAX_OPEN_HANDLES, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    });
    table.set_max_capacity(limit);
}

/// Whether a guest ended because its resource table was full: it held as many handles as
/// [`limit_handles`] allows and asked for one more.
pub fn ran_out_of_handles(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<ResourceTableError>(),
            Some(ResourceTableError::Full)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn memories_and_tables_share_one_budget() {
        let mut limiter = MemoryLimiter::new(Some(8 * MIB as u64));
        // Three memories of 3 MiB each: the third would take the total to 9 MiB.
        assert!(limiter.memory_growing(0, 3 * MIB, None).unwrap());
        assert!(limiter.memory_growing(0, 3 * MIB, None).unwrap());
        assert!(!limiter.memory_growing(0, 3 * MIB, None).unwrap());
        assert_eq!(limiter.refused, Some(9 * MIB));
        // Growing an existing memory is charged only what it adds.
        assert!(limiter.memory_growing(3 * MIB, 4 * MIB, None).unwrap());
        // 1 MiB is left: a table of 128 Ki elements (8 bytes each) fits, one more does not.
        assert!(limiter.table_growing(0, 128 * 1024, None).unwrap());
        assert!(
            !limiter
                .table_growing(128 * 1024, 128 * 1024 + 1, None)
                .unwrap()
        );
    }

    #[test]
    fn a_growth_past_usize_is_refused_not_wrapped() {
        let mut limiter = MemoryLimiter::new(None);
        assert!(limiter.memory_growing(0, MIB, None).unwrap());
        assert!(!limiter.table_growing(0, usize::MAX, None).unwrap());
        assert_eq!(limiter.refused, Some(usize::MAX));
    }
}
