//! A function entry's `pool` at run time: at most `concurrency` of its calls run at once, and
//! at most `queue` wait for a turn; a call beyond that fails at once with the bound named.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::registry::{EntryId, Pool};

pub struct CallPool {
    slots: Option<Semaphore>,
    waiting: AtomicUsize,
    pool: Pool,
}

/// Counts a call as waiting until it gets its turn or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl CallPool {
    pub fn new(pool: Pool) -> Self {
        Self {
            slots: pool.concurrency.map(Semaphore::new),
            waiting: AtomicUsize::new(0),
            pool,
        }
    }

    /// A turn for one call of `id`; dropping it lets the next call run.
    pub async fn acquire(&self, id: &EntryId) -> Result<Option<SemaphorePermit<'_>>, String> {
        let Some(slots) = &self.slots else {
            return Ok(None);
        };
        if let Ok(permit) = slots.try_acquire() {
            return Ok(Some(permit));
        }
        let before = self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        if let Some(queue) = self.pool.queue
            && before >= queue
        {
            return Err(format!(
                "`{id}` is busy: {} calls are running and {before} are waiting, the most its pool allows. Retry later, or raise the bound (`pool.buffer` of a static pool, `pool.max_size` of an adaptive one)",
                self.pool.concurrency.unwrap_or_default()
            ));
        }
        slots
            .acquire()
            .await
            .map(Some)
            .map_err(|_| format!("`{id}`: its pool is closed"))
    }
}
