//! Fiber stacks for guests' async calls, carved from shared mappings (see [`super::blocks`])
//! and handed from a finished process to the next one.
//!
//! A guard page below each stack turns a native stack overflow into a crash instead of a
//! write into the neighbouring stack, but it costs two memory mappings per stack, and Linux
//! allows 65,530 by default. So stacks get guard pages while that is cheap — up to an eighth
//! of `vm.max_map_count` in guard pages — and beyond, stacks are carved without them (logged
//! once). What runs on these stacks bounds its own depth: WebAssembly checks every call
//! against `max_wasm_stack` (512 KiB) and traps past it, and the host functions it calls
//! (WASI, `wippy:process`) do not recurse on guest input, with the rest of the 2 MiB stack
//! for them.
//!
//! Stacks are not zeroed between processes unless wasmtime asks (`async_stack_zeroing`): a
//! guest cannot read its native stack. Past [`KEEP_WARM`](super::blocks::KEEP_WARM) idle stacks, a returned stack's
//! pages are given back to the kernel so a burst does not pin its memory.

use std::io;
use std::ops::Range;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::{StackCreator, StackMemory};

use super::blocks::{Blocks, discard, page_size};

/// The async stack size wasmtime is configured with (its default).
pub const STACK_SIZE: usize = 2 << 20;

/// Stacks per mapping.
const PER_CHUNK: usize = 64;

/// The engine's stack creator; see the module's doc.
pub struct FiberStacks {
    pools: Arc<Pools>,
}

struct Pools {
    page: usize,
    /// A guard page, then the stack, per block.
    guarded: Blocks,
    bare: Blocks,
    warned: AtomicBool,
}

impl FiberStacks {
    pub fn new() -> Self {
        let max_maps: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(65_530);
        // Each guarded stack is two mappings; spend at most an eighth of the limit on them.
        Self::with_guarded_chunks((max_maps / 16 / PER_CHUNK).max(1))
    }

    fn with_guarded_chunks(chunks: usize) -> Self {
        let page = page_size();
        Self {
            pools: Arc::new(Pools {
                page,
                guarded: Blocks::new(page + STACK_SIZE, PER_CHUNK, chunks),
                bare: Blocks::new(STACK_SIZE, PER_CHUNK, usize::MAX),
                warned: AtomicBool::new(false),
            }),
        }
    }
}

impl Default for FiberStacks {
    fn default() -> Self {
        Self::new()
    }
}

impl Pools {
    fn take(&self) -> io::Result<Stack> {
        let page = self.page;
        // A block's guard is its first page, protected when the block is first carved: a
        // short run (a CLI command) maps a chunk but pays for the guards of its few stacks.
        let guard_page = |block: NonNull<u8>| {
            // SAFETY: the first page of a fresh block, which nothing uses yet.
            if unsafe { libc::mprotect(block.as_ptr().cast(), page, libc::PROT_NONE) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        };
        if let Some(block) = self.guarded.take(guard_page)? {
            return Ok(Stack { block, guard: page });
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "more than {} processes are running at once: further fiber stacks have no guard page (vm.max_map_count allows too few memory mappings; raising it, e.g. `sysctl -w vm.max_map_count=1048576`, keeps guard pages for more)",
                self.guarded.capacity()
            );
        }
        let block = self
            .bare
            .take(|_| Ok(()))?
            .expect("the unguarded pool has no chunk limit");
        Ok(Stack { block, guard: 0 })
    }

    fn give_back(&self, stack: &Stack) {
        let pool = if stack.guard > 0 {
            &self.guarded
        } else {
            &self.bare
        };
        // SAFETY: the stack's block came from this pool, the range is its stack (not its guard
        // page), and its fiber is gone. A stack needs no clearing to be reused.
        unsafe { pool.give_back(stack.block, stack.guard..stack.guard + STACK_SIZE, || true) };
    }
}

/// A block from one of the pools: `guard` bytes of guard page (or none), then the stack.
struct Stack {
    block: NonNull<u8>,
    guard: usize,
}

// SAFETY: a stack is memory owned by the fiber that holds it.
unsafe impl Send for Stack {}
unsafe impl Sync for Stack {}

impl Stack {
    fn bottom(&self) -> *mut u8 {
        // SAFETY: the guard is inside the block.
        unsafe { self.block.as_ptr().add(self.guard) }
    }
}

/// A stack lent to wasmtime; back to its pool when wasmtime drops it.
struct LentStack {
    stack: Stack,
    pools: Arc<Pools>,
}

impl Drop for LentStack {
    fn drop(&mut self) {
        self.pools.give_back(&self.stack);
    }
}

// SAFETY: the stack is page aligned, stays mapped while wasmtime holds it, and its guard
// range is either a PROT_NONE page or empty.
unsafe impl StackMemory for LentStack {
    fn top(&self) -> *mut u8 {
        // SAFETY: one past the end of the block.
        unsafe { self.stack.bottom().add(STACK_SIZE) }
    }

    fn range(&self) -> Range<usize> {
        let bottom = self.stack.bottom() as usize;
        bottom..bottom + STACK_SIZE
    }

    fn guard_range(&self) -> Range<*mut u8> {
        self.stack.block.as_ptr()..self.stack.bottom()
    }
}

// SAFETY: stacks are page aligned, at least as large as asked, and zeroed when asked.
unsafe impl StackCreator for FiberStacks {
    fn new_stack(&self, size: usize, zeroed: bool) -> wasmtime::Result<Box<dyn StackMemory>> {
        if size > STACK_SIZE {
            wasmtime::bail!(
                "a {size}-byte fiber stack was asked for; stacks are {STACK_SIZE} bytes"
            );
        }
        let stack = self
            .pools
            .take()
            .map_err(|e| wasmtime::format_err!("cannot map a fiber stack: {e}"))?;
        if zeroed {
            // SAFETY: the stack nobody else holds.
            unsafe { discard(stack.bottom(), STACK_SIZE) };
        }
        Ok(Box::new(LentStack {
            stack,
            pools: self.pools.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(stack: &dyn StackMemory) -> bool {
        !stack.guard_range().is_empty()
    }

    #[test]
    fn stacks_are_reused_and_guarded_while_the_budget_lasts() {
        let stacks = FiberStacks::with_guarded_chunks(1);
        let first = stacks.new_stack(STACK_SIZE, false).unwrap();
        let range = first.range();
        assert_eq!(range.len(), STACK_SIZE);
        assert_eq!(first.top() as usize, range.end);
        assert_eq!(first.guard_range().end as usize, range.start);
        let guard = first.guard_range();
        assert_eq!(guard.end as usize - guard.start as usize, page_size());
        // SAFETY: the stack's usable range is writable.
        unsafe { *((range.end - 1) as *mut u8) = 7 };
        drop(first);
        let again = stacks.new_stack(STACK_SIZE, false).unwrap();
        assert_eq!(again.range(), range, "the released stack comes back");
        // SAFETY: as above.
        assert_eq!(unsafe { *((range.end - 1) as *const u8) }, 7, "not zeroed");
        drop(again);
        let zeroed = stacks.new_stack(STACK_SIZE, true).unwrap();
        // SAFETY: as above.
        assert_eq!(
            unsafe { *((range.end - 1) as *const u8) },
            0,
            "zeroed when asked"
        );

        let mut held = vec![zeroed];
        for _ in 1..PER_CHUNK {
            held.push(stacks.new_stack(STACK_SIZE, false).unwrap());
        }
        assert!(held.iter().all(|s| guarded(s.as_ref())));
        let bare = stacks.new_stack(1000, false).unwrap();
        assert!(
            !guarded(bare.as_ref()),
            "past the budget, stacks have no guard page"
        );
        assert!(held.iter().all(|s| s.range() != bare.range()));
        assert!(stacks.new_stack(STACK_SIZE + 1, false).is_err());
    }
}
