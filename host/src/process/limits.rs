//! Per-process resource limits: memory (a `ResourceLimiter` that remembers what it refused,
//! so the exit can say why), fuel, and the defaults that apply when an entry sets none.

use wasmtime::ResourceLimiter;

/// Memory a process may grow to when its entry sets no `limits.max_memory_bytes`.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 512 * 1024 * 1024;

/// How often the engine's epoch advances: a running guest yields to the scheduler at least
/// this often, so no guest can starve the others or miss a terminate.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(1);

pub struct MemoryLimiter {
    max_bytes: usize,
    /// The size a refused growth asked for.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(max_bytes: Option<u64>) -> Self {
        Self {
            max_bytes: usize::try_from(max_bytes.unwrap_or(DEFAULT_MAX_MEMORY_BYTES))
                .unwrap_or(usize::MAX),
            refused: None,
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million entries is far beyond any real guest.
        Ok(desired <= 1_000_000)
    }
}
