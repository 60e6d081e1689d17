//! Equal-sized blocks of address space carved from large anonymous mappings, and reused.
//!
//! Fiber stacks and linear memories come from here rather than from one `mmap` each. Linux
//! allows a process 65,530 mappings by default (`vm.max_map_count`), and every mapping with
//! its own protection is at least one of them: wasmtime's on-demand allocator spends about
//! six per instance (stack, guard page, memory, its copy-on-write image, the reservation
//! behind it), which stopped a node near 9,000 live instances. A chunk here holds many
//! blocks with one protection, so it is one mapping however many processes use it. Reuse
//! also spares each spawn the `mmap`/`munmap` pair, whose unmapping interrupts every other
//! core to flush its TLB.

use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;

/// One anonymous, private, read-write mapping. `MAP_NORESERVE`: address space costs nothing
/// until a page is touched, so chunks can be generous.
pub(super) struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping is plain memory; who may touch which part is the owner's business.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    pub(super) fn new(len: usize) -> io::Result<Self> {
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast()).expect("mmap does not return null on success");
        Ok(Self { base, len })
    }

    pub(super) fn base(&self) -> NonNull<u8> {
        self.base
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing refers to it any more.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

pub(super) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// Gives `len` bytes at `start` back to the kernel: they read as zero again and stop counting
/// towards the process's memory.
///
/// # Safety
/// The range must be whole pages inside a [`Mapping`] that nothing else is using.
pub(super) unsafe fn discard(start: *mut u8, len: usize) {
    // SAFETY: the caller's promise. MADV_DONTNEED on private anonymous memory cannot fail
    // for a valid range, and if it did the memory would only stay resident, not wrong —
    // except that callers rely on the zeroes, so fall back to writing them.
    if unsafe { libc::madvise(start.cast(), len, libc::MADV_DONTNEED) } != 0 {
        unsafe { std::ptr::write_bytes(start, 0, len) };
    }
}

/// Idle blocks per pool that may keep resident pages; more are discarded, so after a burst
/// the idle blocks cost address space only.
pub(super) const KEEP_WARM: usize = 1024;

/// Blocks of `block` bytes, `per_chunk` to a mapping, at most `max_chunks` mappings. Blocks
/// handed back are kept for the next taker: warm ones (their pages still resident) first, the
/// most recently returned first, then cold ones (their pages given back). Chunks are never
/// unmapped, so the address space in use is the peak number of blocks; the memory in use is
/// what live blocks touched plus what warm ones keep, which callers bound.
pub(super) struct Blocks {
    block: usize,
    per_chunk: usize,
    max_chunks: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    chunks: Vec<Mapping>,
    /// Blocks of the newest chunk handed out so far.
    carved: usize,
    warm: Vec<usize>,
    cold: Vec<usize>,
}

impl Blocks {
    pub(super) fn new(block: usize, per_chunk: usize, max_chunks: usize) -> Self {
        Self {
            block,
            per_chunk,
            max_chunks,
            state: Mutex::default(),
        }
    }

    pub(super) fn block(&self) -> usize {
        self.block
    }

    /// Blocks in chunks mapped so far, in use or free.
    pub(super) fn capacity(&self) -> usize {
        self.lock().chunks.len() * self.per_chunk
    }

    #[cfg(test)]
    fn warm_count(&self) -> usize {
        self.lock().warm.len()
    }

    /// A block: a returned one, or the next of the newest chunk, or the first of a new chunk;
    /// `prepare` sees a block once, when it is carved, before it is handed out (so a chunk
    /// costs only what its blocks in use need). `None` when every block is in use and
    /// `max_chunks` are mapped.
    pub(super) fn take(
        &self,
        prepare: impl FnOnce(NonNull<u8>) -> io::Result<()>,
    ) -> io::Result<Option<NonNull<u8>>> {
        let mut state = self.lock();
        if let Some(address) = state.warm.pop().or_else(|| state.cold.pop()) {
            let block = NonNull::new(address as *mut u8).expect("blocks are never at address 0");
            return Ok(Some(block));
        }
        if state.chunks.is_empty() || state.carved == self.per_chunk {
            if state.chunks.len() == self.max_chunks {
                return Ok(None);
            }
            let len = self.block.checked_mul(self.per_chunk).ok_or_else(|| {
                io::Error::new(io::ErrorKind::OutOfMemory, "block chunk too large")
            })?;
            state.chunks.push(Mapping::new(len)?);
            state.carved = 0;
        }
        let chunk = state.chunks.last().expect("a chunk was just ensured");
        // SAFETY: `carved < per_chunk`, so the block lies inside the chunk.
        let block = unsafe { chunk.base().add(state.carved * self.block) };
        prepare(block)?;
        state.carved += 1;
        Ok(Some(block))
    }

    /// Takes a block back. While fewer than [`KEEP_WARM`] idle blocks are warm, `clear` may
    /// make it fit for reuse in place (returning false when it cannot); otherwise its `dirty`
    /// bytes (offsets in the block) are discarded and it is kept cold.
    ///
    /// # Safety
    /// The block must have come from [`take`](Self::take) on this value, `dirty` must be whole
    /// writable pages inside it, and nothing may use it any more.
    pub(super) unsafe fn give_back(
        &self,
        block: NonNull<u8>,
        dirty: std::ops::Range<usize>,
        clear: impl FnOnce() -> bool,
    ) {
        let warm = self.lock().warm.len() < KEEP_WARM && clear();
        if !warm {
            // SAFETY: the caller's promise.
            unsafe { discard(block.as_ptr().add(dirty.start), dirty.len()) };
        }
        let mut state = self.lock();
        let list = if warm {
            &mut state.warm
        } else {
            &mut state.cold
        };
        list.push(block.as_ptr() as usize);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_carved_apart_and_reused_last_in_first_out() {
        let page = page_size();
        let blocks = Blocks::new(2 * page, 3, 2);
        let mut prepared = Vec::new();
        let mut take = || {
            blocks
                .take(|block| {
                    prepared.push(block);
                    Ok(())
                })
                .unwrap()
        };
        let [a, b, c] = [take().unwrap(), take().unwrap(), take().unwrap()];
        assert_eq!(b.as_ptr() as usize - a.as_ptr() as usize, 2 * page);
        assert_eq!(c.as_ptr() as usize - b.as_ptr() as usize, 2 * page);
        let d = take().unwrap();
        let [e, f] = [take().unwrap(), take().unwrap()];
        assert!(take().is_none(), "two chunks of three are all there may be");
        assert_eq!(
            prepared,
            [a, b, c, d, e, f],
            "each block is prepared once, when carved"
        );
        assert_eq!(blocks.capacity(), 6);
        // SAFETY: the blocks came from `take` and are not used until taken again.
        unsafe {
            blocks.give_back(a, 0..2 * page, || false);
            blocks.give_back(b, 0..2 * page, || true);
            blocks.give_back(d, 0..2 * page, || true);
        }
        assert_eq!(blocks.warm_count(), 2);
        assert_eq!(blocks.take(|_| Ok(())).unwrap(), Some(d));
        assert_eq!(blocks.take(|_| Ok(())).unwrap(), Some(b));
        assert_eq!(blocks.warm_count(), 0);
        assert_eq!(
            blocks.take(|_| Ok(())).unwrap(),
            Some(a),
            "then the cold ones"
        );
        let _ = (e, f);
        // SAFETY: every block is writable memory of `2 * page` bytes that nothing else uses.
        unsafe {
            for block in [a, b, c, d] {
                std::ptr::write_bytes(block.as_ptr(), 7, 2 * page);
            }
            discard(a.as_ptr(), 2 * page);
            assert_eq!(*a.as_ptr(), 0, "a discarded page reads as zero");
            assert_eq!(*b.as_ptr(), 7, "its neighbour is untouched");
        }
    }
}
