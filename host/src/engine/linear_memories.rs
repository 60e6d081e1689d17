//! Guests' linear memories, carved from shared mappings (see [`super::blocks`]) in
//! power-of-two size classes and handed from a finished process to the next one.
//!
//! wasmtime's own allocator gives each memory a reservation of its own with a guard region
//! behind it and maps its initial image copy-on-write: three or four memory mappings per
//! instance, against Linux's default 65,530 per process. Here a memory is a block of a
//! chunk; the engine is configured with no reservation and no guard, so compiled code checks
//! every access against the memory's current length (it would anyway: a reservation smaller
//! than 4 GiB cannot elide checks), and a memory that outgrows its block moves to a bigger
//! one, taking only its touched pages along (see [`copy_resident`]). Data segments are copied in at instantiation instead of mapped (a Rust guest's are a
//! few KiB).
//!
//! A returned block is zeroed before reuse. Writing zeroes over the pages that were touched
//! (a Rust guest touches a dozen of its 1.1 MiB) keeps them resident for the next process;
//! handing them back to the kernel (`MADV_DONTNEED`) costs a TLB flush on every core and a
//! page fault per page on the next use, and is done only where writing is not known to be
//! safe or would keep too much: many pages touched, more than
//! [`KEEP_WARM`](super::blocks::KEEP_WARM) blocks idle, or residency not known (see
//! [`super::resident_pages`]).

use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

use super::blocks::{Blocks, Mapping, page_size};
use super::resident_pages::{copy_resident, zero_resident};

/// The smallest block: one WebAssembly page.
const MIN_BLOCK: usize = 64 << 10;
/// Classes of 64 KiB, 128 KiB, … 64 MiB; larger memories get a mapping each.
const CLASSES: usize = 11;
/// Address space per chunk (at least four blocks).
const CHUNK_BYTES: usize = 256 << 20;
/// Dirty ranges up to this size are zeroed by writing, whatever is resident.
const ZERO_BY_WRITING: usize = 64 << 10;
/// Larger ones by writing over their resident pages when there are at most this many
/// (256 KiB), else by discarding them.
const MAX_RESIDENT_PAGES: usize = 64;

/// The engine's memory creator; see the module's doc.
pub struct LinearMemories {
    classes: Arc<Vec<Blocks>>,
}

impl LinearMemories {
    pub fn new() -> Self {
        let classes = (0..CLASSES)
            .map(|class| {
                let block = MIN_BLOCK << class;
                Blocks::new(block, (CHUNK_BYTES / block).max(4), usize::MAX)
            })
            .collect();
        Self {
            classes: Arc::new(classes),
        }
    }
}

impl Default for LinearMemories {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a memory's bytes live.
enum Backing {
    Pooled { class: usize, block: NonNull<u8> },
    Own(Mapping),
}

/// One guest memory: `size` accessible bytes of a block of `capacity` (the backing is taken
/// out only as the memory drops).
struct GuestMemory {
    backing: Option<Backing>,
    size: usize,
    capacity: usize,
    classes: Arc<Vec<Blocks>>,
}

// SAFETY: the memory is owned by the one store that uses it.
unsafe impl Send for GuestMemory {}
unsafe impl Sync for GuestMemory {}

/// A zeroed block of at least `bytes`, and its capacity.
fn allocate(classes: &[Blocks], bytes: usize) -> io::Result<(Backing, usize)> {
    let bytes = bytes.max(MIN_BLOCK);
    let class = (bytes.div_ceil(MIN_BLOCK))
        .next_power_of_two()
        .trailing_zeros() as usize;
    if let Some(pool) = classes.get(class) {
        let block = pool
            .take(|_| Ok(()))?
            .expect("memory pools have no chunk limit");
        return Ok((Backing::Pooled { class, block }, pool.block()));
    }
    let page = page_size();
    let capacity = bytes
        .checked_next_power_of_two()
        .unwrap_or(bytes.div_ceil(page) * page);
    Ok((Backing::Own(Mapping::new(capacity)?), capacity))
}

/// Zeroes the first `dirty` bytes of a block and returns it to its class.
fn release(classes: &[Blocks], backing: Backing, dirty: usize) {
    let Backing::Pooled { class, block } = backing else {
        return; // an own mapping is unmapped as it drops
    };
    let dirty = dirty.div_ceil(page_size()) * page_size();
    let pool = &classes[class];
    // SAFETY: the block came from this class and no instance uses it any more; only its first
    // `dirty` bytes were ever accessible.
    unsafe {
        pool.give_back(block, 0..dirty, || {
            if dirty <= ZERO_BY_WRITING {
                std::ptr::write_bytes(block.as_ptr(), 0, dirty);
                true
            } else {
                zero_resident(block.as_ptr(), dirty, MAX_RESIDENT_PAGES)
            }
        })
    };
}

impl Backing {
    fn base(&self) -> *mut u8 {
        match self {
            Backing::Pooled { block, .. } => block.as_ptr(),
            Backing::Own(mapping) => mapping.base().as_ptr(),
        }
    }
}

impl GuestMemory {
    fn base(&self) -> *mut u8 {
        self.backing
            .as_ref()
            .expect("a live memory has its backing")
            .base()
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        if let Some(backing) = self.backing.take() {
            release(&self.classes, backing, self.size);
        }
    }
}

// SAFETY: the memory is page aligned, zero-filled beyond what the guest wrote, at least
// `size` bytes long, and only moves in `grow_to` (the engine allows moving memories).
unsafe impl LinearMemory for GuestMemory {
    fn byte_size(&self) -> usize {
        self.size
    }

    fn byte_capacity(&self) -> usize {
        self.capacity
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        if new_size <= self.capacity {
            self.size = new_size;
            return Ok(());
        }
        let (backing, capacity) = allocate(&self.classes, new_size).map_err(|e| {
            wasmtime::format_err!("cannot grow a linear memory to {new_size} bytes: {e}")
        })?;
        let old = self
            .backing
            .replace(backing)
            .expect("a live memory has its backing");
        // SAFETY: both blocks hold at least `size` bytes (whole pages: wasm pages are 64 KiB)
        // and are distinct; the new one is all zeroes.
        unsafe {
            if !copy_resident(old.base(), self.base(), self.size) {
                std::ptr::copy_nonoverlapping(old.base(), self.base(), self.size);
            }
        }
        release(&self.classes, old, self.size);
        self.capacity = capacity;
        self.size = new_size;
        Ok(())
    }

    fn as_ptr(&self) -> *mut u8 {
        self.base()
    }
}

// SAFETY: memories are zero-filled, page aligned, and need no reservation or guard: the
// engine is configured with neither (see `allocation`), and other requests are refused.
unsafe impl MemoryCreator for LinearMemories {
    fn new_memory(
        &self,
        ty: MemoryType,
        minimum: usize,
        _maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        if ty.is_shared() || guard_size_in_bytes != 0 || reserved_size_in_bytes.unwrap_or(0) != 0 {
            return Err(format!(
                "this engine's memories have no reservation or guard region and are not shared \
                 (asked for {ty:?}, {reserved_size_in_bytes:?} reserved, {guard_size_in_bytes} guard)"
            ));
        }
        let (backing, capacity) = allocate(&self.classes, minimum)
            .map_err(|e| format!("cannot allocate a {minimum}-byte linear memory: {e}"))?;
        Ok(Box::new(GuestMemory {
            backing: Some(backing),
            size: minimum,
            capacity,
            classes: self.classes.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte(memory: &dyn LinearMemory, at: usize) -> u8 {
        assert!(at < memory.byte_size());
        // SAFETY: inside the accessible range.
        unsafe { *memory.as_ptr().add(at) }
    }

    fn set(memory: &dyn LinearMemory, at: usize, value: u8) {
        assert!(at < memory.byte_size());
        // SAFETY: inside the accessible range, which nothing else uses.
        unsafe { *memory.as_ptr().add(at) = value };
    }

    #[test]
    fn memories_grow_in_place_then_move_keeping_their_bytes() {
        let memories = LinearMemories::new();
        let ty = MemoryType::new(1, None);
        let mut memory = memories.new_memory(ty, 96 << 10, None, Some(0), 0).unwrap();
        assert_eq!(memory.byte_capacity(), 128 << 10);
        set(memory.as_ref(), 100, 9);
        let base = memory.as_ptr();
        memory.grow_to(128 << 10).unwrap();
        assert_eq!(memory.as_ptr(), base, "growth within the block stays put");
        assert_eq!(byte(memory.as_ref(), (128 << 10) - 1), 0);
        memory.grow_to(1 << 20).unwrap();
        assert_ne!(memory.as_ptr(), base, "growth past the block moves");
        assert_eq!(byte(memory.as_ref(), 100), 9);
        assert_eq!(byte(memory.as_ref(), (1 << 20) - 1), 0);
        memory.grow_to(200 << 20).unwrap();
        assert_eq!(
            byte(memory.as_ref(), 100),
            9,
            "a memory beyond the classes too"
        );
    }

    #[test]
    fn a_returned_block_comes_back_zeroed() {
        let memories = LinearMemories::new();
        for size in [64 << 10, 1 << 20] {
            let ty = MemoryType::new(1, None);
            let memory = memories
                .new_memory(ty.clone(), size, None, Some(0), 0)
                .unwrap();
            let base = memory.as_ptr();
            set(memory.as_ref(), 0, 1);
            set(memory.as_ref(), size - 1, 1);
            drop(memory);
            let again = memories.new_memory(ty, size, None, Some(0), 0).unwrap();
            assert_eq!(again.as_ptr(), base, "the block is reused");
            assert_eq!(byte(again.as_ref(), 0), 0);
            assert_eq!(byte(again.as_ref(), size - 1), 0);
        }
    }

    #[test]
    fn reservations_guards_and_shared_memories_are_refused() {
        let memories = LinearMemories::new();
        let ty = MemoryType::new(1, None);
        assert!(
            memories
                .new_memory(ty.clone(), 0, None, Some(0), 4096)
                .is_err()
        );
        assert!(memories.new_memory(ty, 0, None, Some(1 << 30), 0).is_err());
    }
}
