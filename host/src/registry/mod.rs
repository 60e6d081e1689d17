//! The registry: every entry declared in a project's YAML files, typed and cross-checked.
//! Loading is all-or-nothing; all problems found are reported together.

mod budget;
mod changes;
mod digest;
mod document;
mod entry;
mod entry_source;
mod error;
mod fs_path;
pub mod grants;
mod id;
mod kinds;
pub mod path_pattern;
mod project;
mod routes;
mod source_files;
mod suggest;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use budget::{BUDGET_VARIABLE, DEFAULT_BUDGET, FILE_LIMIT};
pub use changes::Changes;
pub use digest::Sha256Digest;
pub use entry::{
    Command, Entry, EntryKind, EnvVariable, FsDirectory, LuaEntry, Note, ProcessHost, ServiceEntry,
    TerminalHost, WasmEntry,
};
pub(crate) use error::display_path;
pub use error::{LoadError, LoadErrors};
pub use grants::Grants;
pub use id::EntryId;
pub use kinds::hosts::DEFAULT_MAX_MAILBOX_MESSAGES;
pub use kinds::http::{HttpEndpoint, HttpRouter, HttpService};
pub use kinds::http_limits::{
    DEFAULT_MAX_HEADERS, EndpointLimits, HttpLimits, HttpTimeouts, ResolvedLimits,
};
pub use kinds::lifecycle::{Lifecycle, RestartPolicy};
pub use kinds::lua::{LUA_MODULES, WIPPY_ONLY_MODULES};
pub use kinds::pool::Pool;
pub use kinds::wasm::{
    HttpConfig, Limits, Transport, WasiConfig, WasiEnv, WasiMount, WasmCode, WasmFile,
};
pub use project::{LockCluster, Project};
pub(crate) use suggest::closest;

use budget::Budget;
use entry_source::EntrySource;
use source_files::SourceFiles;

#[derive(Debug)]
pub struct Registry {
    pub project: Project,
    entries: BTreeMap<EntryId, Entry>,
    /// Every file the load read: the registry files and the `file://` targets.
    pub files: Vec<PathBuf>,
}

impl Registry {
    /// Loads every registry file of the project at `root`, within the budget
    /// `WIPPY_MAX_REGISTRY_BYTES` sets (see [`DEFAULT_BUDGET`]).
    pub fn load(root: &Path) -> Result<Self, LoadErrors> {
        let project = Project::open(root)?;
        let mut files = SourceFiles::open(&project.source, Budget::from_env()?)?;
        let mut errors = Vec::new();
        let mut entries: BTreeMap<EntryId, Entry> = BTreeMap::new();
        let yaml_files = project.yaml_files()?;
        for file in &yaml_files {
            if files.exhausted() {
                break;
            }
            let document = match document::parse(file, &mut files) {
                Ok(Some(document)) => document,
                Ok(None) => continue,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            for raw in document.entries {
                let source = EntrySource {
                    file: &document.file,
                    line: raw.line,
                    namespace: &document.namespace,
                    file_meta: &document.meta,
                    project_root: &project.root,
                    source_text: raw.source_text,
                };
                let entry = match source.parse(raw.fields) {
                    Ok(entry) => entry,
                    Err(error) => {
                        errors.push(error);
                        continue;
                    }
                };
                if let Some(first) = entries.get(&entry.id) {
                    errors.push(
                        entry
                            .error(format!(
                                "duplicate entry ID `{}`; it is already declared at {}:{}",
                                entry.id,
                                display_path(&first.file),
                                first.line
                            ))
                            .field("name")
                            .fix("rename one of them; IDs are unique across all registry files"),
                    );
                    continue;
                }
                entries.insert(entry.id.clone(), entry);
            }
        }
        if files.exhausted() {
            // What was not loaded would show up as dangling references: say only what matters.
            return Err(LoadErrors(errors));
        }
        let read = yaml_files.into_iter().chain(files.targets()).collect();
        let mut registry = Self {
            project,
            entries,
            files: read,
        };
        registry.check_references(&mut errors);
        if errors.is_empty() {
            registry.check_routes(&mut errors);
        }
        registry.check_commands(&mut errors);
        if let Err(error) = registry.services_in_order() {
            errors.push(error);
        }
        if !errors.is_empty() {
            return Err(LoadErrors(errors));
        }
        registry.create_auto_init_directories()?;
        Ok(registry)
    }

    pub fn get(&self, id: &EntryId) -> Option<&Entry> {
        self.entries.get(id)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Entries with `meta.command`, sorted by command name.
    pub fn commands(&self) -> Vec<(Command, &Entry)> {
        let mut commands: Vec<_> = self
            .entries()
            .filter_map(|entry| Some((entry.command()?, entry)))
            .collect();
        commands.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        commands
    }

    pub fn command(&self, name: &str) -> Option<&Entry> {
        self.entries()
            .find(|entry| entry.command().is_some_and(|c| c.name == name))
    }

    /// The directory of an `fs.directory` entry. References are checked at load, so a
    /// missing or mistyped target here is a bug in the caller.
    pub fn fs_directory(&self, id: &EntryId) -> &FsDirectory {
        match self.entries.get(id).map(|e| &e.kind) {
            Some(EntryKind::FsDirectory(dir)) => dir,
            _ => panic!("reference to `{id}` was not validated as an fs.directory"),
        }
    }

    fn check_references(&self, errors: &mut Vec<LoadError>) {
        for entry in self.entries() {
            match &entry.kind {
                EntryKind::EnvVariable(var) => {
                    self.expect_kind(
                        entry,
                        "storage",
                        &var.storage,
                        &["env.storage.os", "env.storage.static"],
                        errors,
                    );
                }
                EntryKind::ProcessWasm(wasm)
                | EntryKind::FunctionWasm(wasm)
                | EntryKind::FunctionWat(wasm) => {
                    if let Some(file) = wasm.file() {
                        self.expect_kind(entry, "fs", &file.fs, &["fs.directory"], errors);
                    }
                    for (i, env) in wasm.wasi.env.iter().enumerate() {
                        self.expect_kind(
                            entry,
                            &format!("wasi.env[{i}].id"),
                            &env.id,
                            &["env.variable"],
                            errors,
                        );
                    }
                    for (i, mount) in wasm.wasi.mounts.iter().enumerate() {
                        self.expect_kind(
                            entry,
                            &format!("wasi.mounts[{i}].fs"),
                            &mount.fs,
                            &["fs.directory"],
                            errors,
                        );
                    }
                }
                EntryKind::ProcessLua(lua)
                | EntryKind::FunctionLua(lua)
                | EntryKind::LibraryLua(lua) => {
                    for (alias, target) in &lua.imports {
                        self.expect_kind(
                            entry,
                            &format!("imports.{alias}"),
                            target,
                            &["library.lua"],
                            errors,
                        );
                    }
                }
                EntryKind::HttpService(service) => {
                    self.expect_dependencies(entry, &service.lifecycle, errors);
                }
                EntryKind::HttpRouter(router) => {
                    self.expect_kind(
                        entry,
                        "meta.server",
                        &router.server,
                        &["http.service"],
                        errors,
                    );
                }
                EntryKind::HttpEndpoint(endpoint) => {
                    self.expect_kind(
                        entry,
                        "meta.router",
                        &endpoint.router,
                        &["http.router"],
                        errors,
                    );
                    self.expect_kind(
                        entry,
                        "func",
                        &endpoint.func,
                        &["function.wasm", "function.lua", "function.wat"],
                        errors,
                    );
                }
                EntryKind::ProcessService(service) => {
                    self.expect_kind(
                        entry,
                        "process",
                        &service.process,
                        &["process.wasm", "process.lua"],
                        errors,
                    );
                    self.expect_kind(entry, "host", &service.host, &["process.host"], errors);
                    self.expect_dependencies(entry, &service.lifecycle, errors);
                }
                _ => {}
            }
        }
    }

    fn expect_kind(
        &self,
        entry: &Entry,
        field: &str,
        target: &EntryId,
        kinds: &[&str],
        errors: &mut Vec<LoadError>,
    ) {
        let wanted = kinds.join(" or ");
        match self.entries.get(target) {
            Some(found) if kinds.contains(&found.kind.name()) => {}
            Some(found) => errors.push(
                entry
                    .error(format!(
                        "`{target}` is a {}, but this field needs a {wanted}",
                        found.kind.name()
                    ))
                    .field(field)
                    .fix(format!("point it at a {wanted} entry")),
            ),
            None => {
                let candidates: Vec<_> = (self.entries.values())
                    .filter(|e| kinds.contains(&e.kind.name()))
                    .map(|e| e.id.to_string())
                    .collect();
                let fix = if candidates.is_empty() {
                    format!("declare a {wanted} entry named `{target}`")
                } else {
                    format!(
                        "declare `{target}` or use one of the {wanted} entries: {}",
                        candidates.join(", ")
                    )
                };
                errors.push(missing(entry, field, target, fix));
            }
        }
    }

    fn expect_dependencies(
        &self,
        entry: &Entry,
        lifecycle: &Lifecycle,
        errors: &mut Vec<LoadError>,
    ) {
        for (i, dependency) in lifecycle.depends_on.iter().enumerate() {
            self.expect_entry(
                entry,
                &format!("lifecycle.depends_on[{i}]"),
                dependency,
                errors,
            );
        }
    }

    /// Any entry will do (services may wait for hosts, services, or anything else).
    fn expect_entry(
        &self,
        entry: &Entry,
        field: &str,
        target: &EntryId,
        errors: &mut Vec<LoadError>,
    ) {
        if self.entries.contains_key(target) {
            return;
        }
        let ids: Vec<String> = self.entries.keys().map(|id| id.to_string()).collect();
        let names: Vec<&str> = ids.iter().map(String::as_str).collect();
        let fix = match closest(&target.to_string(), &names) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "name an entry declared in a registry file".to_string(),
        };
        errors.push(missing(entry, field, target, fix));
    }

    /// The `process.service` entries, each after the services it depends on.
    pub fn services_in_order(&self) -> Result<Vec<(&Entry, &ServiceEntry)>, LoadError> {
        let services: BTreeMap<&EntryId, (&Entry, &ServiceEntry)> = (self.entries())
            .filter_map(|e| match &e.kind {
                EntryKind::ProcessService(service) => Some((&e.id, (e, service))),
                _ => None,
            })
            .collect();
        let mut ordered = Vec::with_capacity(services.len());
        let mut placed: std::collections::BTreeSet<&EntryId> = Default::default();
        fn visit<'r>(
            id: &'r EntryId,
            services: &BTreeMap<&'r EntryId, (&'r Entry, &'r ServiceEntry)>,
            placed: &mut std::collections::BTreeSet<&'r EntryId>,
            path: &mut Vec<&'r EntryId>,
            ordered: &mut Vec<(&'r Entry, &'r ServiceEntry)>,
        ) -> Result<(), LoadError> {
            let Some(&(entry, service)) = services.get(id) else {
                return Ok(());
            };
            if placed.contains(id) {
                return Ok(());
            }
            if let Some(start) = path.iter().position(|p| *p == id) {
                let cycle: Vec<String> = (path[start..].iter().chain([&id]))
                    .map(|id| format!("`{id}`"))
                    .collect();
                return Err(entry
                    .error(format!(
                        "services depend on each other in a circle: {}",
                        cycle.join(" → ")
                    ))
                    .field("lifecycle.depends_on")
                    .fix("remove one of these dependencies"));
            }
            path.push(id);
            for dependency in &service.lifecycle.depends_on {
                visit(dependency, services, placed, path, ordered)?;
            }
            path.pop();
            placed.insert(id);
            ordered.push((entry, service));
            Ok(())
        }
        for id in services.keys() {
            visit(id, &services, &mut placed, &mut Vec::new(), &mut ordered)?;
        }
        Ok(ordered)
    }

    /// `fs.directory` entries with `auto_init: true` get their folder, as in Wippy.
    fn create_auto_init_directories(&self) -> Result<(), LoadError> {
        for entry in self.entries() {
            let EntryKind::FsDirectory(dir) = &entry.kind else {
                continue;
            };
            if !dir.auto_init || dir.directory.is_dir() {
                continue;
            }
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(dir.mode)
                .create(&dir.directory)
                .map_err(|e| {
                    entry
                        .error(format!(
                            "cannot create {} (auto_init): {e}",
                            dir.directory.display()
                        ))
                        .field("directory")
                        .fix(
                            "point `directory` at a folder wippy may create, or create it yourself",
                        )
                })?;
        }
        Ok(())
    }

    fn check_commands(&self, errors: &mut Vec<LoadError>) {
        let mut seen: BTreeMap<String, &Entry> = BTreeMap::new();
        for entry in self.entries() {
            let Some(command) = entry.command() else {
                continue;
            };
            if let Some(first) = seen.get(&command.name) {
                errors.push(
                    entry
                        .error(format!(
                            "command `{}` is already registered by `{}`",
                            command.name, first.id
                        ))
                        .field("meta.command.name")
                        .fix("give each command a unique name"),
                );
            } else {
                seen.insert(command.name, entry);
            }
        }
    }
}

/// `entry`'s `field` names `target`, which does not exist.
fn missing(entry: &Entry, field: &str, target: &EntryId, fix: String) -> LoadError {
    entry
        .error(format!(
            "refers to `{target}`, which no registry file declares"
        ))
        .field(field)
        .fix(fix)
}
