//! Fiber stacks kept for reuse by on-demand instances. Every async call runs on a fiber with
//! its own stack; wasmtime maps a fresh one per instance and unmaps it after (an mmap, an
//! mprotect for the guard page and a munmap per spawn, and each munmap interrupts every other
//! core to flush its TLB). A process that ends hands its stack to the next one instead, as the
//! pooling allocator does with its slots, and as there, stacks are not zeroed between uses
//! (a guest cannot read its native stack; wasmtime's `async_stack_zeroing` asks for zeroing).

use std::ops::Range;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use wasmtime::{StackCreator, StackMemory};

/// Stacks kept when no instance uses them; more are unmapped as they are released.
const MAX_KEPT: usize = 1024;

/// A stack mapping: one guard page at the bottom, then `size` bytes the fiber grows down into.
struct Mapping {
    base: NonNull<u8>,
    size: usize,
    page: usize,
}

// SAFETY: a mapping is plain memory owned by whoever holds it.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(size: usize, page: usize) -> wasmtime::Result<Self> {
        let length = size + page;
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            wasmtime::bail!(
                "cannot map a {size}-byte fiber stack: {}",
                std::io::Error::last_os_error()
            );
        }
        let mapping = Self {
            base: NonNull::new(base.cast()).expect("mmap does not return null on success"),
            size,
            page,
        };
        // SAFETY: the range is inside the mapping just made.
        let usable = unsafe {
            libc::mprotect(
                mapping.base.as_ptr().add(page).cast(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if usable != 0 {
            wasmtime::bail!(
                "cannot make a fiber stack writable: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(mapping)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and no stack refers to it any more.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.size + self.page) };
    }
}

/// The cache wasmtime asks for stacks; see the module's doc.
#[derive(Default)]
pub struct StackCache {
    kept: Arc<Mutex<Vec<Mapping>>>,
}

/// A stack in use; back to the cache when wasmtime drops it.
struct CachedStack {
    mapping: Option<Mapping>,
    kept: Arc<Mutex<Vec<Mapping>>>,
}

impl Drop for CachedStack {
    fn drop(&mut self) {
        let Some(mapping) = self.mapping.take() else {
            return;
        };
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < MAX_KEPT {
            kept.push(mapping);
        }
    }
}

impl CachedStack {
    fn mapping(&self) -> &Mapping {
        self.mapping
            .as_ref()
            .expect("a stack in use has its mapping")
    }
}

// SAFETY: the stack is page aligned, has a guard page below it, and stays mapped while
// wasmtime holds it.
unsafe impl StackMemory for CachedStack {
    fn top(&self) -> *mut u8 {
        let mapping = self.mapping();
        // SAFETY: one past the end of the mapping.
        unsafe { mapping.base.as_ptr().add(mapping.page + mapping.size) }
    }

    fn range(&self) -> Range<usize> {
        let mapping = self.mapping();
        let bottom = mapping.base.as_ptr() as usize + mapping.page;
        bottom..bottom + mapping.size
    }

    fn guard_range(&self) -> Range<*mut u8> {
        let mapping = self.mapping();
        // SAFETY: the guard page is the mapping's first page.
        mapping.base.as_ptr()..unsafe { mapping.base.as_ptr().add(mapping.page) }
    }
}

// SAFETY: stacks are made as `StackCreator` requires: page aligned, with a guard page, and
// zeroed when asked (a reused one is cleared first).
unsafe impl StackCreator for StackCache {
    fn new_stack(&self, size: usize, zeroed: bool) -> wasmtime::Result<Box<dyn StackMemory>> {
        let page = page_size();
        let size = size.div_ceil(page) * page;
        let reused = {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            let found = kept.iter().rposition(|m| m.size == size);
            found.map(|i| kept.swap_remove(i))
        };
        let mapping = match reused {
            Some(mapping) => {
                if zeroed {
                    // SAFETY: the usable range of a mapping nobody else holds.
                    unsafe { std::ptr::write_bytes(mapping.base.as_ptr().add(page), 0, size) };
                }
                mapping
            }
            None => Mapping::new(size, page)?,
        };
        Ok(Box::new(CachedStack {
            mapping: Some(mapping),
            kept: self.kept.clone(),
        }))
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_stack_is_reused_and_zeroed_when_asked() {
        let cache = StackCache::default();
        let first = cache.new_stack(100_000, false).unwrap();
        let range = first.range();
        assert_eq!(range.len() % page_size(), 0);
        assert!(range.len() >= 100_000);
        assert_eq!(first.top() as usize, range.end);
        assert_eq!(first.guard_range().end as usize, range.start);
        // SAFETY: the stack's usable range is writable.
        unsafe { *(range.start as *mut u8) = 7 };
        drop(first);
        let second = cache.new_stack(100_000, true).unwrap();
        assert_eq!(second.range(), range, "the released stack comes back");
        // SAFETY: as above.
        assert_eq!(unsafe { *(range.start as *const u8) }, 0, "and is zeroed");
        let other = cache.new_stack(100_000, false).unwrap();
        assert_ne!(
            other.range(),
            range,
            "a stack in use is not handed out twice"
        );
    }
}
