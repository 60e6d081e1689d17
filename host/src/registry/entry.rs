//! A registry entry: its ID, where it was declared, its meta, and its kind's typed settings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::kinds::http::{HttpEndpoint, HttpRouter, HttpService};
use super::kinds::lifecycle::Lifecycle;
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
    HttpService(HttpService),
    HttpRouter(HttpRouter),
    HttpEndpoint(HttpEndpoint),
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
            EntryKind::HttpService(_) => "http.service",
            EntryKind::HttpRouter(_) => "http.router",
            EntryKind::HttpEndpoint(_) => "http.endpoint",
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

    /// The entry as Wippy hands one to scripts: `{id, kind, meta, data}`.
    pub fn description(&self) -> Value {
        let mut description = Map::new();
        description.insert("id".into(), Value::from(self.id.to_string()));
        description.insert("kind".into(), Value::from(self.kind.name()));
        description.insert("meta".into(), Value::Object(self.meta.clone()));
        description.insert("data".into(), Value::Object(self.data()));
        Value::Object(description)
    }

    /// Whether `other` declares the same thing: kind, fields, meta and source text alike,
    /// wherever each is written.
    pub fn same_definition(&self, other: &Entry) -> bool {
        self.kind.name() == other.kind.name()
            && self.fields == other.fields
            && self.meta == other.meta
            && self.source_text.as_deref() == other.source_text.as_deref()
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
