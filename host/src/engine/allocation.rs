//! How instances get their memory: fiber stacks and linear memories come from the node's own
//! pools ([`FiberStacks`], [`LinearMemories`]) through wasmtime's `StackCreator` and
//! `MemoryCreator`, not from wasmtime's allocators.
//!
//! Why not wasmtime's pooling allocator, which also reuses slots: it fixes the number of live
//! instances when the engine starts (a spawn past it fails), and it sets up a guard page per
//! stack slot up front — two memory mappings each, so a pool of 100,000 cannot even be made
//! under Linux's default `vm.max_map_count`. The on-demand allocator maps about six regions
//! per instance and unmaps them after. The pools here grow with demand, shrink what is idle,
//! and keep the number of mappings independent of the number of processes; the only limit on
//! live processes is memory.

use std::sync::Arc;

use wasmtime::{Config, Engine};

use super::fiber_stacks::{FiberStacks, STACK_SIZE};
use super::linear_memories::LinearMemories;

pub fn engine_with_allocator(mut config: Config) -> anyhow::Result<Engine> {
    // Memories come from `LinearMemories`: no reservation or guard region (every access is
    // bounds-checked), free to move when they grow, initialised by copying data segments.
    config
        .memory_reservation(0)
        .memory_guard_size(0)
        .memory_reservation_for_growth(0)
        .memory_init_cow(false)
        .with_host_memory(Arc::new(LinearMemories::new()));
    config
        .async_stack_size(STACK_SIZE)
        .with_host_stack(Arc::new(FiberStacks::new()));
    Ok(Engine::new(&config)?)
}
