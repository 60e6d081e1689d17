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
pub mod random;
pub mod sockets;

use std::collections::BTreeSet;

use wasmtime::component::{Component, Linker};
use wasmtime_wasi::WasiCtxBuilder;

pub use denied::{ImportReport, ImportStatus};

use crate::process::{MemoryLimiter, ProcessState, Stdio};
use crate::registry::{Entry, Registry, WasmEntry};

/// A WASI interface wippy implements: its unversioned name, the interfaces whose resources
/// its functions use (granted along with it), and how to add the real thing to a linker.
pub struct Interface {
    pub name: &'static str,
    pub requires: &'static [&'static str],
    pub link: fn(&mut Linker<ProcessState>) -> wasmtime::Result<()>,
}

/// Every group name that may appear in `imports:`, with its interfaces.
const GROUPS: &[(&str, &[Interface])] = &[
    (io::GROUP, io::INTERFACES),
    (io::POLL_GROUP, io::POLL_INTERFACES),
    (clocks::GROUP, clocks::INTERFACES),
    (cli::GROUP, cli::INTERFACES),
    (filesystem::GROUP, filesystem::INTERFACES),
    (random::GROUP, random::INTERFACES),
    (sockets::GROUP, sockets::INTERFACES),
    (http::GROUP, http::INTERFACES),
    (actor::GROUP, actor::INTERFACES),
    (funcs::GROUP, funcs::INTERFACES),
];

fn interfaces() -> impl Iterator<Item = (&'static str, &'static Interface)> {
    GROUPS
        .iter()
        .flat_map(|(group, interfaces)| interfaces.iter().map(move |i| (*group, i)))
}

fn find_interface(name: &str) -> Option<(&'static str, &'static Interface)> {
    interfaces().find(|(_, i)| i.name == name)
}

/// The group that grants an interface (`wasi:cli/stdout` → `wasi:cli`).
pub fn group_of(interface: &str) -> Option<&'static str> {
    find_interface(unversioned(interface)).map(|(group, _)| group)
}

/// `wasi:cli/stdout@0.2.6` → `wasi:cli/stdout`.
pub fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(name, _)| name)
}

/// The interfaces one entry may use: those its `imports` name, and those they require.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    interfaces: BTreeSet<&'static str>,
}

impl Grants {
    /// Parses `imports:`: group names (`wasi:cli`) or single interfaces (`wasi:cli/stdout`).
    /// The error names the unknown item and lists what exists.
    pub fn parse(imports: &[String]) -> Result<Self, String> {
        let mut pending: Vec<&'static str> = Vec::new();
        for item in imports {
            if let Some((_, members)) = GROUPS.iter().find(|(group, _)| group == item) {
                pending.extend(members.iter().map(|i| i.name));
            } else if let Some((_, interface)) = find_interface(unversioned(item)) {
                pending.push(interface.name);
            } else {
                let groups: Vec<&str> = GROUPS.iter().map(|(group, _)| *group).collect();
                return Err(format!(
                    "unknown capability `{item}`; the groups are {}, or name a single interface such as `wasi:cli/stdout`",
                    groups.join(", ")
                ));
            }
        }
        let mut interfaces = BTreeSet::new();
        while let Some(name) = pending.pop() {
            if interfaces.insert(name) {
                let (_, interface) =
                    find_interface(name).expect("requirements name known interfaces");
                pending.extend(interface.requires);
            }
        }
        Ok(Self { interfaces })
    }

    pub fn allows(&self, interface: &str) -> bool {
        self.interfaces.contains(unversioned(interface))
    }

    fn granted(&self) -> impl Iterator<Item = &'static Interface> + '_ {
        interfaces()
            .filter(|(_, i)| self.interfaces.contains(i.name))
            .map(|(_, i)| i)
    }
}

/// An entry's capability slices, resolved against the registry once, from which every
/// process of the entry gets its linker and its state.
pub struct EntryCapabilities {
    grants: Grants,
    cli: cli::CliSetup,
    mounts: Vec<filesystem::Mount>,
    http: http::HttpConfig,
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
        for interface in self.grants.granted() {
            (interface.link)(&mut linker)?;
        }
        let report = denied::link_ungranted(&mut linker, engine, component, &self.grants, entry)?;
        Ok((linker, report))
    }

    /// State for a new process: arguments (`program` first), environment, cwd, stdio,
    /// mounts, network and HTTP settings, and its memory limiter.
    pub fn new_state(
        &self,
        program: &str,
        cli_args: &[String],
        stdio: &Stdio,
        memory: MemoryLimiter,
    ) -> Result<ProcessState, String> {
        let mut builder = WasiCtxBuilder::new();
        self.cli.configure(&mut builder, program, cli_args, stdio)?;
        if self.grants.allows("wasi:filesystem/preopens") {
            filesystem::configure(&mut builder, &self.mounts)?;
        }
        if sockets::INTERFACES
            .iter()
            .any(|i| self.grants.allows(i.name))
        {
            sockets::configure(&mut builder);
        }
        Ok(ProcessState::new(
            builder.build(),
            http::HttpHooks::new(&self.http),
            memory,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(items: &[&str]) -> Grants {
        Grants::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn groups_grant_their_interfaces_and_what_they_require() {
        let cli = grants(&["wasi:cli"]);
        assert!(cli.allows("wasi:cli/environment@0.2.6"));
        assert!(cli.allows("wasi:io/streams"), "stdout hands out streams");
        assert!(!cli.allows("wasi:http/types"));
        assert!(!cli.allows("wasi:filesystem/types"));
        let stdout = grants(&["wasi:cli/stdout"]);
        assert!(stdout.allows("wasi:cli/stdout@0.2.0"));
        assert!(!stdout.allows("wasi:cli/stderr"));
        let http = grants(&["wasi:http"]);
        assert!(http.allows("wasi:http/outgoing-handler") && http.allows("wasi:io/poll"));
        assert!(!http.allows("wasi:sockets/tcp"));
        assert_eq!(grants(&[]), Grants::default());
    }

    #[test]
    fn unknown_capabilities_are_refused_with_the_list() {
        let err = Grants::parse(&["wasi:htp".to_string()]).unwrap_err();
        assert!(
            err.starts_with("unknown capability `wasi:htp`; the groups are wasi:io, wasi:poll"),
            "{err}"
        );
        assert!(Grants::parse(&["wasi:cli/nope".to_string()]).is_err());
    }

    #[test]
    fn every_requirement_is_a_known_interface() {
        for (_, interface) in interfaces() {
            for required in interface.requires {
                assert!(
                    find_interface(required).is_some(),
                    "{} requires unknown {required}",
                    interface.name
                );
            }
        }
    }
}
