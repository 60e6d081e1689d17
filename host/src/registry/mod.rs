//! The registry: every entry declared in a project's YAML files, typed and cross-checked.
//! Loading is all-or-nothing; all problems found are reported together.

mod digest;
mod document;
mod entry;
mod error;
mod id;
mod project;

use std::collections::BTreeMap;
use std::path::Path;

pub use digest::Sha256Digest;
pub use entry::LUA_MODULES;
pub(crate) use entry::closest;
pub use entry::{
    Command, Entry, EntryKind, EnvVariable, FsDirectory, Limits, LuaEntry, ProcessHost,
    RestartPolicy, ServiceEntry, WasiConfig, WasiEnv, WasiMount, WasmEntry, WatEntry,
};
pub(crate) use error::display_path;
pub use error::{LoadError, LoadErrors};
pub use id::EntryId;
pub use project::Project;

use entry::EntrySource;

#[derive(Debug)]
pub struct Registry {
    pub project: Project,
    entries: BTreeMap<EntryId, Entry>,
}

impl Registry {
    /// Loads every registry file of the project at `root`.
    pub fn load(root: &Path) -> Result<Self, LoadErrors> {
        let project = Project::open(root)?;
        let mut errors = Vec::new();
        let mut entries: BTreeMap<EntryId, Entry> = BTreeMap::new();
        for file in project.yaml_files()? {
            let document = match document::parse(&file, &project.source) {
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
        let registry = Self { project, entries };
        registry.check_references(&mut errors);
        registry.check_commands(&mut errors);
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(LoadErrors(errors))
        }
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
                EntryKind::ProcessWasm(wasm) | EntryKind::FunctionWasm(wasm) => {
                    self.expect_kind(entry, "fs", &wasm.fs, &["fs.directory"], errors);
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
                EntryKind::ProcessService(service) => {
                    self.expect_kind(
                        entry,
                        "process",
                        &service.process,
                        &["process.wasm", "process.lua"],
                        errors,
                    );
                    self.expect_kind(entry, "host", &service.host, &["process.host"], errors);
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
                errors.push(
                    entry
                        .error(format!(
                            "refers to `{target}`, which no registry file declares"
                        ))
                        .field(field)
                        .fix(fix),
                );
            }
        }
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
