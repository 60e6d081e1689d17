//! A registry entry: its ID, where it was declared, its meta, and its kind's typed settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::kinds::hosts::{ProcessHostSpec, TerminalHostSpec};
use super::kinds::lifecycle::{Lifecycle, LifecycleSpec};
use super::kinds::lua::LuaSpec;
use super::kinds::storage::{EnvOsSpec, EnvStaticSpec, EnvVariableSpec, FsDirectorySpec};
use super::kinds::wasm::WasmSpec;
use super::kinds::{PROVIDED, WIPPY_ONLY};
use super::{EntryId, LoadError};

pub use super::kinds::hosts::{ProcessHost, TerminalHost};
pub use super::kinds::lua::LuaEntry;
pub use super::kinds::storage::{EnvVariable, FsDirectory};
pub use super::kinds::wasm::WasmEntry;

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: EntryId,
    /// The YAML file and line the entry was declared at, for error messages.
    pub file: PathBuf,
    pub line: u64,
    /// The file's `meta` with the entry's own `meta` merged over it.
    pub meta: Map<String, Value>,
    /// The kind-specific fields as written, with `file://` references replaced by their text
    /// except in `source`, whose text is [`source_text`](Self::source_text). [`data`](Self::data)
    /// puts it back.
    pub fields: Map<String, Value>,
    /// The text of `source: file://…`, shared by every entry that names the same file, so that
    /// a script named by many entries is held once.
    pub source_text: Option<Arc<str>>,
    pub kind: EntryKind,
    /// What `wippy check` should tell about the entry: keys accepted without effect, and the like.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone)]
pub enum EntryKind {
    FsDirectory(FsDirectory),
    EnvStorageOs,
    EnvStorageStatic(BTreeMap<String, String>),
    EnvVariable(EnvVariable),
    ProcessHost(ProcessHost),
    TerminalHost(TerminalHost),
    ProcessWasm(WasmEntry),
    FunctionWasm(WasmEntry),
    FunctionWat(WasmEntry),
    ProcessLua(LuaEntry),
    FunctionLua(LuaEntry),
    LibraryLua(LuaEntry),
    ProcessService(ServiceEntry),
    /// A kind of Wippy's that wippy-rs does not run yet: loaded, and without effect.
    NotProvided(String),
}

impl EntryKind {
    pub fn name(&self) -> &str {
        match self {
            EntryKind::FsDirectory(_) => "fs.directory",
            EntryKind::EnvStorageOs => "env.storage.os",
            EntryKind::EnvStorageStatic(_) => "env.storage.static",
            EntryKind::EnvVariable(_) => "env.variable",
            EntryKind::ProcessHost(_) => "process.host",
            EntryKind::TerminalHost(_) => "terminal.host",
            EntryKind::ProcessWasm(_) => "process.wasm",
            EntryKind::FunctionWasm(_) => "function.wasm",
            EntryKind::FunctionWat(_) => "function.wat",
            EntryKind::ProcessLua(_) => "process.lua",
            EntryKind::FunctionLua(_) => "function.lua",
            EntryKind::LibraryLua(_) => "library.lua",
            EntryKind::ProcessService(_) => "process.service",
            EntryKind::NotProvided(kind) => kind,
        }
    }

    pub fn lua(&self) -> Option<&LuaEntry> {
        match self {
            EntryKind::ProcessLua(lua)
            | EntryKind::FunctionLua(lua)
            | EntryKind::LibraryLua(lua) => Some(lua),
            _ => None,
        }
    }

    /// Entries that can be spawned as processes.
    pub fn is_process(&self) -> bool {
        matches!(self, EntryKind::ProcessWasm(_) | EntryKind::ProcessLua(_))
    }

    /// `process.wasm`, `function.wasm` and `function.wat`.
    pub fn wasm(&self) -> Option<&WasmEntry> {
        match self {
            EntryKind::ProcessWasm(wasm)
            | EntryKind::FunctionWasm(wasm)
            | EntryKind::FunctionWat(wasm) => Some(wasm),
            _ => None,
        }
    }
}

/// A `process.service` entry: a process kept running by a supervisor.
#[derive(Debug, Clone)]
pub struct ServiceEntry {
    pub process: EntryId,
    pub host: EntryId,
    pub input: Vec<Value>,
    pub lifecycle: Lifecycle,
}

/// Something `wippy check` tells about an entry that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub field: String,
    pub text: String,
}

impl Note {
    pub fn new(field: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            text: text.into(),
        }
    }

    /// A key Wippy knows that wippy-rs accepts without acting on it, and why.
    pub fn inert(field: &str, why: &str) -> Self {
        Self::new(field, format!("accepted, has no effect here: {why}"))
    }
}

/// `meta.command`: makes an entry runnable as `wippy run <name>`.
#[derive(Debug, Clone, Deserialize)]
pub struct Command {
    pub name: String,
    #[serde(default)]
    pub short: String,
}

impl Entry {
    /// The kind-specific fields with every `file://` reference replaced by its text, as Wippy
    /// shows an entry's data. Made on demand: `source` may be large and shared.
    pub fn data(&self) -> Map<String, Value> {
        let mut data = self.fields.clone();
        if let (Some(text), Some(source)) = (&self.source_text, data.get_mut("source")) {
            *source = Value::String(text.to_string());
        }
        data
    }

    pub fn command(&self) -> Option<Command> {
        serde_json::from_value(self.meta.get("command")?.clone()).ok()
    }

    /// Where this entry is declared, for messages: `file:line`.
    pub fn error(&self, problem: impl Into<String>) -> LoadError {
        LoadError::new(problem)
            .file(&self.file)
            .line(self.line)
            .entry(&self.id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceSpec {
    process: String,
    host: String,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    lifecycle: LifecycleSpec,
}

/// Context for turning one raw entry into an [`Entry`].
pub(super) struct EntrySource<'a> {
    pub file: &'a Path,
    pub line: u64,
    pub namespace: &'a str,
    pub file_meta: &'a Map<String, Value>,
    pub project_root: &'a Path,
    /// The text of the entry's `source: file://…`, if it has one.
    pub source_text: Option<Arc<str>>,
}

impl EntrySource<'_> {
    fn error(&self, id: Option<&EntryId>, problem: impl Into<String>) -> LoadError {
        self.place(LoadError::new(problem), id)
    }

    fn place(&self, error: LoadError, id: Option<&EntryId>) -> LoadError {
        let error = error.file(self.file).line(self.line);
        match id {
            Some(id) => error.entry(id),
            None => error,
        }
    }

    pub(super) fn parse(&self, fields: Value) -> Result<Entry, LoadError> {
        let Value::Object(mut fields) = fields else {
            return Err(self
                .error(None, "an entry must be a mapping with `name` and `kind`")
                .field("entries"));
        };
        let name = match fields.remove("name") {
            Some(Value::String(name)) if !name.is_empty() && !name.contains(':') => name,
            Some(other) => {
                return Err(self
                    .error(None, format!("`{other}` is not a valid entry name"))
                    .field("name")
                    .fix("use a non-empty string without `:`; the namespace comes from the file"));
            }
            None => {
                return Err(self
                    .error(None, "the entry has no `name`")
                    .field("name")
                    .fix("add `name: <name>`; the entry's ID is `<namespace>:<name>`"));
            }
        };
        let id = EntryId::new(self.namespace, name);
        let kind = match fields.remove("kind") {
            Some(Value::String(kind)) => kind,
            _ => {
                return Err(self
                    .error(Some(&id), "the entry has no `kind`")
                    .field("kind")
                    .fix(format!("add `kind:` with one of: {}", PROVIDED.join(", "))));
            }
        };
        let mut meta = self.file_meta.clone();
        match fields.remove("meta") {
            Some(Value::Object(own)) => meta.extend(own),
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(self
                    .error(Some(&id), "`meta` must be a mapping")
                    .field("meta"));
            }
        }
        // Wippy's long form: the kind's fields under `data:` instead of beside `name`.
        if let Some(Value::Object(data)) = fields.get("data") {
            fields = data.clone();
        }
        let mut notes = Vec::new();
        let kind = self
            .parse_kind(&id, &kind, Value::Object(fields.clone()), &mut notes)
            .map_err(|error| self.place(error, Some(&id)))?;
        let entry = Entry {
            id,
            file: self.file.to_path_buf(),
            line: self.line,
            meta,
            fields,
            source_text: self.source_text.clone(),
            kind,
            notes,
        };
        if entry.meta.contains_key("command") && entry.command().is_none() {
            return Err(entry
                .error("`meta.command` must be a mapping with a string `name` (and optionally `short`)")
                .field("meta.command")
                .fix("write `meta: {command: {name: greet, short: \"Say hello\"}}`"));
        }
        Ok(entry)
    }

    fn parse_kind(
        &self,
        id: &EntryId,
        kind: &str,
        fields: Value,
        notes: &mut Vec<Note>,
    ) -> Result<EntryKind, LoadError> {
        let ns = self.namespace;
        Ok(match kind {
            "fs.directory" => EntryKind::FsDirectory(
                self.fields::<FsDirectorySpec>(kind, fields)?
                    .resolve(self.project_root, notes)?,
            ),
            "env.storage.os" => {
                let EnvOsSpec {} = self.fields(kind, fields)?;
                EntryKind::EnvStorageOs
            }
            "env.storage.static" => {
                EntryKind::EnvStorageStatic(self.fields::<EnvStaticSpec>(kind, fields)?.values)
            }
            "env.variable" => EntryKind::EnvVariable(
                self.fields::<EnvVariableSpec>(kind, fields)?
                    .resolve(id, notes),
            ),
            "process.host" => EntryKind::ProcessHost(
                self.fields::<ProcessHostSpec>(kind, fields)?
                    .resolve(notes)?,
            ),
            "terminal.host" => EntryKind::TerminalHost(
                self.fields::<TerminalHostSpec>(kind, fields)?
                    .resolve(notes)?,
            ),
            "process.wasm" | "function.wasm" | "function.wat" => {
                let wasm = self.fields::<WasmSpec>(kind, fields)?.resolve(
                    kind,
                    ns,
                    self.source_text.clone(),
                    notes,
                )?;
                match kind {
                    "process.wasm" => EntryKind::ProcessWasm(wasm),
                    "function.wasm" => EntryKind::FunctionWasm(wasm),
                    _ => EntryKind::FunctionWat(wasm),
                }
            }
            "process.lua" | "function.lua" | "library.lua" => {
                let lua = self.fields::<LuaSpec>(kind, fields)?.resolve(
                    kind,
                    ns,
                    self.source_text.clone(),
                    notes,
                )?;
                match kind {
                    "process.lua" => EntryKind::ProcessLua(lua),
                    "function.lua" => EntryKind::FunctionLua(lua),
                    _ => EntryKind::LibraryLua(lua),
                }
            }
            "process.service" => {
                let spec: ServiceSpec = self.fields(kind, fields)?;
                let input = match spec.input {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items,
                    Some(single) => vec![single],
                };
                EntryKind::ProcessService(ServiceEntry {
                    process: EntryId::resolve(&spec.process, ns),
                    host: EntryId::resolve(&spec.host, ns),
                    input,
                    lifecycle: spec.lifecycle.resolve(ns, notes)?,
                })
            }
            wippy if WIPPY_ONLY.contains(&wippy) => {
                notes.push(Note::new(
                    "kind",
                    format!("`{wippy}` is a Wippy kind that wippy-rs does not provide yet; the entry is loaded and has no effect"),
                ));
                EntryKind::NotProvided(wippy.to_string())
            }
            unknown => {
                let error = LoadError::new(format!("unknown kind `{unknown}`")).field("kind");
                let mut known = PROVIDED.to_vec();
                known.extend(WIPPY_ONLY);
                return Err(match closest(unknown, &known) {
                    Some(near) => error.fix(format!("did you mean `{near}`?")),
                    None => error.fix(format!("use one of: {}", PROVIDED.join(", "))),
                });
            }
        })
    }

    /// Deserializes a kind's fields; the error names the field by its path inside the entry.
    fn fields<T: DeserializeOwned>(&self, kind: &str, fields: Value) -> Result<T, LoadError> {
        serde_path_to_error::deserialize(fields).map_err(|error| {
            let path = error.path().to_string();
            let message = error.inner().to_string();
            let (field, problem, fix) = describe_field_error(&path, &message, kind);
            let mut result = LoadError::new(problem).field(field);
            if let Some(fix) = fix {
                result = result.fix(fix);
            }
            result
        })
    }
}

/// Turns serde's wording into ours: which field, what is wrong, and how to fix it.
fn describe_field_error(path: &str, message: &str, kind: &str) -> (String, String, Option<String>) {
    let parent = if path == "." {
        String::new()
    } else {
        format!("{path}.")
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return (
            format!("{parent}{name}"),
            format!("required field `{name}` is missing"),
            Some(format!("add `{name}:` to this {kind} entry")),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let expected: Vec<&str> = (rest.split_once(", expected ").map(|(_, e)| e))
            .unwrap_or_default()
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        let fix = match closest(name, &expected) {
            Some(near) => format!("did you mean `{near}`?"),
            None if expected.is_empty() => format!("this {kind} field takes no keys"),
            None => format!("the fields here are: {}", expected.join(", ")),
        };
        return (
            path.to_string(),
            format!("`{name}` is not a field of {kind}"),
            Some(fix),
        );
    }
    (path.to_string(), message.to_string(), None)
}

/// The known name closest to a misspelling, if one is close enough to suggest.
pub(crate) fn closest<'a>(wrong: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(wrong, k), *k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}
