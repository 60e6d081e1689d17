use wasmtime::component::{Component, InstancePre};

use super::{ExportedFunc, Runtime, resolve_method};
use crate::capabilities::ProcessState;
use crate::capabilities::{EntryCapabilities, ImportReport};
use crate::registry::{Entry, EntryId, Limits, LoadError, Registry};
use crate::values;

/// A `process.wasm` entry ready to run: verified, compiled, linked, its export resolved.
/// Instantiating it again is cheap, so one is made per entry and reused for every process.
pub struct PreparedEntry {
    pub id: EntryId,
    pub component: Component,
    pub pre: InstancePre<ProcessState>,
    pub export: ExportedFunc,
    pub capabilities: EntryCapabilities,
    /// Each import of the component, and whether the entry grants it.
    pub imports: Vec<ImportReport>,
    pub limits: Limits,
}

impl PreparedEntry {
    pub fn prepare(
        runtime: &Runtime,
        registry: &Registry,
        entry: &Entry,
    ) -> Result<Self, LoadError> {
        let Some(wasm) = entry.kind.wasm() else {
            return Err(entry
                .error(format!(
                    "is a {}, not a WebAssembly entry",
                    entry.kind.name()
                ))
                .fix("run a process.wasm or function.wasm entry"));
        };
        let component = runtime.component(registry, entry)?;
        let export =
            resolve_method(&runtime.engine, &component, &wasm.method).map_err(|problem| {
                entry
                    .error(problem)
                    .field("method")
                    .fix("set `method` to one of the exported functions")
            })?;
        let capabilities = EntryCapabilities::resolve(registry, wasm);
        let (linker, imports) = capabilities
            .linker(&runtime.engine, &component, entry)
            .map_err(|e| entry.error(format!("cannot set up the host interfaces: {e}")))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            entry
                .error(format!(
                    "the component cannot be linked: {}",
                    crate::guest::describe_wasmtime_error(&e)
                ))
                .field("path")
                .fix("build the component against the WASI 0.2 interfaces wippy provides")
        })?;
        Ok(Self {
            id: entry.id.clone(),
            component,
            pre,
            export,
            capabilities,
            imports,
            limits: wasm.limits,
        })
    }

    /// `name(param: type, ...) -> result`, as shown in usage errors and `wippy check`.
    pub fn signature(&self) -> String {
        values::signature(&self.export.name, &self.export.ty)
    }
}
