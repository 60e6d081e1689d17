//! Everything one process's store holds: the WASI contexts its capabilities link against,
//! its resource table, its memory limiter, and who it is on its node.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use std::sync::Arc;

use super::actor::ActorHost;
use super::http::HttpHooks;
use crate::guest::{MemoryLimiter, limit_handles};
use crate::registry::Limits;

/// Everything one process's store holds.
pub struct ProcessState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_hooks: HttpHooks,
    table: ResourceTable,
    pub(crate) memory: MemoryLimiter,
    /// Who this instance is on its node, when it runs as a process (`wippy:process`,
    /// `wippy:runtime`).
    pub actor: Option<Arc<dyn ActorHost>>,
}

impl ProcessState {
    /// The store's state under the entry's `limits`: a memory limiter, and a resource table
    /// capped at `limits.max_open_handles`.
    pub fn new(wasi: WasiCtx, http_hooks: HttpHooks, limits: &Limits) -> Self {
        let mut table = ResourceTable::new();
        limit_handles(&mut table, limits.max_open_handles);
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            http_hooks,
            table,
            memory: MemoryLimiter::new(limits.max_memory_bytes),
            actor: None,
        }
    }
}

impl WasiView for ProcessState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ProcessState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}
