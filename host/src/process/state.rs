use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::limits::MemoryLimiter;
use crate::capabilities::http::HttpHooks;

/// Everything one process's store holds.
pub struct ProcessState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_hooks: HttpHooks,
    table: ResourceTable,
    pub(crate) memory: MemoryLimiter,
    /// Who this instance is on its node, when it runs as a process (`wippy:process`).
    pub(crate) actor: Option<super::ProcessContext>,
}

impl ProcessState {
    pub fn new(wasi: WasiCtx, http_hooks: HttpHooks, memory: MemoryLimiter) -> Self {
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            http_hooks,
            table: ResourceTable::new(),
            memory,
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
