//! How instances get their memory: wasmtime's pooling allocator when `WIPPY_POOL_INSTANCES`
//! asks for it (slots reserved up front: instantiation is a few microseconds cheaper and memory
//! is reused copy-on-write), else on demand. A pool that cannot be reserved falls back to on
//! demand with a log line.

use std::sync::Arc;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::stack_cache::StackCache;

use crate::guest::DEFAULT_MAX_MEMORY_BYTES;

const MEMORY_RESERVATION: u64 = 64 * 1024 * 1024;
const MEMORY_GUARD: u64 = 64 * 1024;

/// Reads the pool's size from the environment.
struct PoolSettings {
    instances: u32,
    memory_bytes: usize,
}

impl PoolSettings {
    fn from_env() -> Option<Self> {
        let instances = std::env::var("WIPPY_POOL_INSTANCES")
            .ok()?
            .parse()
            .ok()
            .filter(|n| *n > 0)?;
        let memory_bytes = std::env::var("WIPPY_POOL_MEMORY_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_MEMORY_BYTES as usize);
        Some(Self {
            instances,
            memory_bytes,
        })
    }
}

pub fn engine_with_allocator(mut config: Config) -> anyhow::Result<Engine> {
    // Copy-on-write initial memory images: an instance maps its data segments instead of
    // copying them.
    config.memory_init_cow(true);
    // wasmtime reserves 4 GiB of address space per linear memory by default, which caps a
    // node at ~30,000 live instances (the 47-bit address space). A smaller reservation with
    // explicit bounds checks lets 100,000 processes sleep at once; memories that outgrow it
    // move.
    config.memory_reservation(MEMORY_RESERVATION);
    config.memory_guard_size(MEMORY_GUARD);
    if let Some(pool) = PoolSettings::from_env() {
        let mut pooling = PoolingAllocationConfig::new();
        // A Rust component has a few core instances and one or two memories.
        pooling
            .total_component_instances(pool.instances)
            // Every instance runs its calls on a fiber stack: one per instance, or the pool
            // stops at wasmtime's default of 1,000 concurrent fibers.
            .total_stacks(pool.instances)
            .total_core_instances(pool.instances.saturating_mul(4))
            .total_memories(pool.instances.saturating_mul(2))
            .total_tables(pool.instances.saturating_mul(4))
            .max_memory_size(pool.memory_bytes);
        let mut pooled = config.clone();
        pooled
            .memory_reservation(pool.memory_bytes as u64)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        match Engine::new(&pooled) {
            Ok(engine) => {
                log::info!(
                    "pooling allocator: {} instances of up to {} bytes",
                    pool.instances,
                    pool.memory_bytes
                );
                return Ok(engine);
            }
            Err(error) => log::warn!(
                "cannot reserve a pool of {} instances ({error}); falling back to on-demand allocation",
                pool.instances
            ),
        }
    }
    // On demand, fiber stacks are kept for the next instance rather than unmapped.
    config.with_host_stack(Arc::new(StackCache::default()));
    Ok(Engine::new(&config)?)
}
