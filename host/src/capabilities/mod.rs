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

use std::collections::BTreeSet;

use wasmtime::component::{Component, Linker};
use wasmtime_wasi::WasiCtxBuilder;

pub use actor::{ActorHost, Pending, host};
pub use denied::{ImportReport, ImportStatus};
pub use state::ProcessState;

use crate::guest::{MemoryLimiter, Stdio, limit_handles};
use crate::registry::{Entry, Limits, Registry, WasmEntry};

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

/// The interfaces one entry may use: those its `imports` name, and those they require; and
/// whether a core module may use WASI preview 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    interfaces: BTreeSet<&'static str>,
    preview1: bool,
}

impl Grants {
    /// Parses `imports:` as Wippy normalizes it: names are case-insensitive and may carry an
    /// `@version`; `funcs` names `wippy:runtime`; `wasi1`, `wasi-preview1`, `preview1` and
    /// `wasi_snapshot_preview1` grant WASI preview 1 to core modules. Each item is a group
    /// (`wasi:cli`) or a single interface (`wasi:cli/stdout`). The error names the unknown
    /// item and lists what exists.
    pub fn parse(imports: &[String]) -> Result<Self, String> {
        let mut pending: Vec<&'static str> = Vec::new();
        let mut preview1 = false;
        for item in imports {
            let lowered = item.trim().to_lowercase();
            let name = match unversioned(&lowered) {
                "funcs" => funcs::GROUP,
                other => other,
            };
            if preview1::ALIASES.contains(&name) {
                preview1 = true;
            } else if let Some((_, members)) = GROUPS.iter().find(|(group, _)| *group == name) {
                pending.extend(members.iter().map(|i| i.name));
            } else if let Some((_, interface)) = find_interface(name) {
                pending.push(interface.name);
            } else {
                let mut known: Vec<&str> = GROUPS.iter().map(|(group, _)| *group).collect();
                let groups = known.join(", ");
                known.extend(interfaces().map(|(_, i)| i.name));
                known.extend(preview1::ALIASES);
                known.push("funcs");
                let hint = match crate::registry::closest(name, &known) {
                    Some(near) => format!("did you mean `{near}`? "),
                    None => String::new(),
                };
                return Err(format!(
                    "unknown capability `{item}`; {hint}the groups are {groups} (and `wasi1` for core modules), or name a single interface such as `wasi:cli/stdout`"
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
        Ok(Self {
            interfaces,
            preview1,
        })
    }

    pub fn allows(&self, interface: &str) -> bool {
        self.interfaces.contains(unversioned(interface))
    }

    /// Whether a core module may import `wasi_snapshot_preview1`.
    pub fn allows_preview1(&self) -> bool {
        self.preview1
    }

    /// A granted interface that only components can use, if any.
    pub fn component_interface(&self) -> Option<&'static str> {
        self.interfaces.iter().next().copied()
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
            err.starts_with(
                "unknown capability `wasi:htp`; did you mean `wasi:http`? the groups are wasi:io, wasi:poll"
            ),
            "{err}"
        );
        assert!(Grants::parse(&["wasi:cli/nope".to_string()]).is_err());
        assert!(Grants::parse(&["wasi:filesystemz".to_string()]).is_err());
    }

    #[test]
    fn names_are_normalized_as_wippy_does() {
        assert_eq!(grants(&["WASI:CLI"]), grants(&["wasi:cli"]));
        assert_eq!(grants(&["wasi:cli@0.2.3"]), grants(&["wasi:cli"]));
        assert_eq!(grants(&[" wasi:io/poll@0.2.8 "]), grants(&["wasi:io/poll"]));
        assert_eq!(grants(&["funcs"]), grants(&["wippy:runtime"]));
        assert_eq!(
            grants(&["wippy:runtime/funcs@0.1.0"]),
            grants(&["wippy:runtime"])
        );
        for alias in [
            "wasi1",
            "wasi-preview1",
            "preview1",
            "wasi_snapshot_preview1",
            "WASI1@1",
        ] {
            let grants = grants(&[alias]);
            assert!(grants.allows_preview1(), "{alias}");
            assert_eq!(grants.component_interface(), None, "{alias}");
        }
        assert_eq!(
            grants(&["wasi1", "wasi:clocks"]).component_interface(),
            Some("wasi:clocks/monotonic-clock")
        );
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
