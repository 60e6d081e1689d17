//! WASI preview 1 (`wasi_snapshot_preview1`) for core modules, granted with `imports: [wasi1]`
//! or Wippy's other names for it. It is configured from the same `wasi` slice of the entry as
//! a component's WASI (args, env, cwd, mounts, stdio) and implemented by wasmtime-wasi.

use wasmtime::{Engine, ExternType, Linker, Module};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::guest::MemoryLimiter;

pub(super) const MODULE: &str = "wasi_snapshot_preview1";

/// What a core module's store holds.
pub struct CoreState {
    /// Present exactly when the entry grants preview 1 (only then is it linked).
    pub wasi: Option<WasiP1Ctx>,
    pub memory: MemoryLimiter,
}

/// The linker for one core module: preview 1 when granted (symlink targets checked, see
/// [`super::symlinks`]), else a stand-in for each preview 1
/// function it imports that fails with the grant to add. Any other import is refused.
pub fn linker(
    engine: &Engine,
    module: &Module,
    granted: bool,
    entry: &str,
) -> Result<Linker<CoreState>, String> {
    let mut linker = Linker::new(engine);
    if granted {
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state: &mut CoreState| {
            state
                .wasi
                .as_mut()
                .expect("a store's preview 1 context exists whenever preview 1 is linked")
        })
        .map_err(|e| e.to_string())?;
        super::symlinks::guard_preview1(&mut linker).map_err(|e| e.to_string())?;
    }
    for import in module.imports() {
        let name = format!("{}::{}", import.module(), import.name());
        let (true, ExternType::Func(ty)) = (import.module() == MODULE, import.ty()) else {
            return Err(format!(
                "the module imports `{name}`; a core module may import WASI preview 1 functions (`{MODULE}`) and nothing else"
            ));
        };
        if !granted {
            let message = format!(
                "it called `{name}`, but entry `{entry}` does not grant WASI preview 1. Grant it with `imports: [wasi1]`"
            );
            linker
                .func_new(MODULE, import.name(), ty, move |_, _, _| {
                    Err(wasmtime::Error::msg(message.clone()))
                })
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(linker)
}
