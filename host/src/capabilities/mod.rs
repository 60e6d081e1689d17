//! Capabilities: what an entry's `imports` grant, mapped onto its own linker, and the
//! per-process state its `wasi` slice configures.
//!
//! One module per group, each owning its interfaces (how they are linked, what they need)
//! and its slice of the entry: [`io`] (`wasi:io`, `wasi:poll`), [`clocks`], [`cli`] (args,
//! env, cwd, stdio), [`filesystem`] (mounts), [`random`], [`sockets`], [`http`] (timeouts).
//! Whatever a component imports that its entry does not grant is linked by [`denied`] as a
//! function that fails with a message naming the grant that is missing.

pub mod actor;
pub mod cli;
pub mod clocks;
pub mod denied;
pub mod filesystem;
pub mod funcs;
pub mod http;
pub mod io;
pub mod preview1;
pub mod random;
pub mod sockets;
mod state;
pub mod symlinks;

use wasmtime::component::{Component, Linker};
use wasmtime_wasi::WasiCtxBuilder;

pub use actor::{ActorHost, Pending, host};
pub use denied::{ImportReport, ImportStatus};
pub use state::ProcessState;

use crate::guest::{MemoryLimiter, Stdio, limit_handles};
use crate::registry::{Entry, Grants, Limits, Registry, WasmEntry};

/// An interface wippy implements, by the unversioned name `imports` grants it under
/// (see [`crate::registry::grants`]), and how to add the real thing to a linker.
pub struct Interface {
    pub name: &'static str,
    pub link: fn(&mut Linker<ProcessState>) -> wasmtime::Result<()>,
}

/// Every interface wippy links, by capability.
const LINKED: &[&[Interface]] = &[
    io::INTERFACES,
    io::POLL_INTERFACES,
    clocks::INTERFACES,
    cli::INTERFACES,
    filesystem::INTERFACES,
    random::INTERFACES,
    sockets::INTERFACES,
    http::INTERFACES,
    actor::INTERFACES,
    funcs::INTERFACES,
];

/// The interfaces `grants` allows, ready to link.
fn granted(grants: &Grants) -> impl Iterator<Item = &'static Interface> + '_ {
    (LINKED.iter())
        .flat_map(|interfaces| interfaces.iter())
        .filter(|i| grants.allows(i.name))
}

/// An entry's capability slices, resolved against the registry once, from which every
/// process of the entry gets its linker and its state.
pub struct EntryCapabilities {
    grants: Grants,
    cli: cli::CliSetup,
    mounts: Vec<filesystem::Mount>,
    http: crate::registry::HttpConfig,
}

impl EntryCapabilities {
    pub fn resolve(registry: &Registry, wasm: &WasmEntry) -> Self {
        Self {
            grants: wasm.grants.clone(),
            cli: cli::CliSetup::resolve(registry, wasm),
            mounts: filesystem::resolve_mounts(registry, wasm),
            http: wasm.wasi.http,
        }
    }

    /// The entry's own linker: the real interfaces it was granted, and a failing stand-in
    /// for everything else the component imports. Also reports each import's status.
    pub fn linker(
        &self,
        engine: &wasmtime::Engine,
        component: &Component,
        entry: &Entry,
    ) -> wasmtime::Result<(Linker<ProcessState>, Vec<ImportReport>)> {
        let mut linker = Linker::new(engine);
        for interface in granted(&self.grants) {
            (interface.link)(&mut linker)?;
        }
        let report = denied::link_ungranted(&mut linker, engine, component, &self.grants, entry)?;
        Ok((linker, report))
    }

    /// State for a new process: arguments (`program` first), environment, cwd, stdio,
    /// mounts, network and HTTP settings, its memory limiter and its cap on open handles.
    pub fn new_state(
        &self,
        program: &str,
        cli_args: &[String],
        stdio: &Stdio,
        limits: &Limits,
    ) -> Result<ProcessState, String> {
        let filesystem = self.grants.allows("wasi:filesystem/preopens");
        let mut builder = self.wasi_builder(program, cli_args, stdio, filesystem)?;
        if sockets::INTERFACES
            .iter()
            .any(|i| self.grants.allows(i.name))
        {
            sockets::configure(&mut builder);
        }
        Ok(ProcessState::new(
            builder.build(),
            http::HttpHooks::new(&self.http),
            limits,
        ))
    }

    /// A core module's store state: WASI preview 1 (args, environment, cwd, stdio, mounts)
    /// when the entry grants it, its memory limiter and its cap on open handles.
    pub fn new_core_state(
        &self,
        program: &str,
        stdio: &Stdio,
        limits: &Limits,
    ) -> Result<preview1::CoreState, String> {
        let wasi = match self.grants.allows_preview1() {
            true => {
                let mut wasi = self.wasi_builder(program, &[], stdio, true)?.build_p1();
                limit_handles(
                    wasmtime_wasi::WasiView::ctx(&mut wasi).table,
                    limits.max_open_handles,
                );
                Some(wasi)
            }
            false => None,
        };
        Ok(preview1::CoreState {
            wasi,
            memory: MemoryLimiter::new(limits.max_memory_bytes),
        })
    }

    fn wasi_builder(
        &self,
        program: &str,
        cli_args: &[String],
        stdio: &Stdio,
        filesystem: bool,
    ) -> Result<WasiCtxBuilder, String> {
        let mut builder = WasiCtxBuilder::new();
        self.cli.configure(&mut builder, program, cli_args, stdio)?;
        if filesystem {
            filesystem::configure(&mut builder, &self.mounts)?;
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::grants::catalogued;

    #[test]
    fn every_catalogued_interface_is_linked_once_and_nothing_else_is() {
        let mut linked: Vec<&str> = (LINKED.iter())
            .flat_map(|interfaces| interfaces.iter().map(|i| i.name))
            .collect();
        let mut catalogued: Vec<&str> = catalogued().collect();
        linked.sort();
        catalogued.sort();
        assert_eq!(linked, catalogued);
    }
}
