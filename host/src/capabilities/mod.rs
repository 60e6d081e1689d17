//! Host interfaces a component can import, mapped onto the linker.

use wasmtime::component::Linker;

use crate::process::ProcessState;

/// The linker a component is instantiated with: WASI 0.2 (p2), asynchronous so that blocking
/// calls suspend the process instead of an OS thread.
pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<ProcessState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Ok(linker)
}
