//! Typed registry entries: each kind's fields, parsed from a raw YAML entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{EntryId, LoadError, Sha256Digest};
use crate::capabilities::Grants;
use crate::capabilities::http::HttpConfig;

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: EntryId,
    /// The YAML file and line the entry was declared at, for error messages.
    pub file: PathBuf,
    pub line: u64,
    /// The file's `meta` with the entry's own `meta` merged over it.
    pub meta: Map<String, Value>,
    /// The kind-specific fields as written (after `file://` interpolation), for display.
    pub fields: Map<String, Value>,
    pub kind: EntryKind,
}

#[derive(Debug, Clone)]
pub enum EntryKind {
    FsDirectory(FsDirectory),
    EnvStorageOs,
    EnvStorageStatic(BTreeMap<String, String>),
    EnvVariable(EnvVariable),
    ProcessHost(ProcessHost),
    TerminalHost,
    ProcessWasm(WasmEntry),
    FunctionWasm(WasmEntry),
    ProcessLua(LuaEntry),
    FunctionLua(LuaEntry),
    LibraryLua(LuaEntry),
    ProcessService(ServiceEntry),
    FunctionWat(WatEntry),
}

/// Lua modules a `process.lua` or `function.lua` entry may list in `modules`.
pub const LUA_MODULES: &[&str] = &["time", "channel", "funcs"];

const KNOWN_KINDS: &[&str] = &[
    "fs.directory",
    "env.storage.os",
    "env.storage.static",
    "env.variable",
    "process.host",
    "terminal.host",
    "process.wasm",
    "function.wasm",
    "function.wat",
    "process.lua",
    "function.lua",
    "library.lua",
    "process.service",
];

impl EntryKind {
    pub fn name(&self) -> &str {
        match self {
            EntryKind::FsDirectory(_) => "fs.directory",
            EntryKind::EnvStorageOs => "env.storage.os",
            EntryKind::EnvStorageStatic(_) => "env.storage.static",
            EntryKind::EnvVariable(_) => "env.variable",
            EntryKind::ProcessHost(_) => "process.host",
            EntryKind::TerminalHost => "terminal.host",
            EntryKind::ProcessWasm(_) => "process.wasm",
            EntryKind::FunctionWasm(_) => "function.wasm",
            EntryKind::ProcessLua(_) => "process.lua",
            EntryKind::FunctionLua(_) => "function.lua",
            EntryKind::LibraryLua(_) => "library.lua",
            EntryKind::ProcessService(_) => "process.service",
            EntryKind::FunctionWat(_) => "function.wat",
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

    pub fn wasm(&self) -> Option<&WasmEntry> {
        match self {
            EntryKind::ProcessWasm(wasm) | EntryKind::FunctionWasm(wasm) => Some(wasm),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FsDirectory {
    /// Absolute; relative paths in YAML are taken from the project root.
    pub directory: PathBuf,
}

#[derive(Debug, Clone)]
pub struct EnvVariable {
    pub storage: EntryId,
    pub variable: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessHost {
    pub workers: Option<usize>,
    pub queue_size: Option<usize>,
}

/// A `process.wasm` or `function.wasm` entry.
#[derive(Debug, Clone)]
pub struct WasmEntry {
    pub fs: EntryId,
    pub path: String,
    pub hash: Sha256Digest,
    pub method: String,
    /// `imports` as written, for messages that show the line to change.
    pub imports: Vec<String>,
    pub grants: Grants,
    pub wasi: WasiConfig,
    pub limits: Limits,
    pub wit: Option<String>,
    /// `pool.max_size`: how many calls of a function may run at once.
    pub pool_max_size: Option<usize>,
}

/// A `process.lua`, `function.lua` or `library.lua` entry.
#[derive(Debug, Clone)]
pub struct LuaEntry {
    pub source: String,
    /// The function to call; when the script defines none, the script itself is the body.
    pub method: String,
    pub modules: Vec<String>,
    /// `require(alias)` → a `library.lua` entry.
    pub imports: BTreeMap<String, EntryId>,
}

/// A `function.wat` entry: a core module in WAT text, called through its `wit` signature.
#[derive(Debug, Clone)]
pub struct WatEntry {
    pub source: String,
    pub wit: String,
    pub limits: Limits,
    pub pool_max_size: Option<usize>,
}

/// A `process.service` entry: a process kept running by a supervisor.
#[derive(Debug, Clone)]
pub struct ServiceEntry {
    pub process: EntryId,
    pub host: EntryId,
    pub input: Vec<Value>,
    pub auto_start: bool,
    pub restart: RestartPolicy,
}

/// Exponential backoff: the n-th restart in a row waits `initial_delay * backoff_factor^(n-1)`,
/// at most `max_delay`; after `max_attempts` restarts in a row the service stays down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartPolicy {
    pub initial_delay: std::time::Duration,
    pub max_delay: std::time::Duration,
    pub backoff_factor: f64,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Default)]
pub struct WasiConfig {
    pub args: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub env: Vec<WasiEnv>,
    pub mounts: Vec<WasiMount>,
    pub http: HttpConfig,
}

#[derive(Debug, Clone)]
pub struct WasiEnv {
    pub id: EntryId,
    pub name: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct WasiMount {
    pub fs: EntryId,
    pub guest: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_execution_ms: Option<u64>,
    pub max_memory_bytes: Option<u64>,
    pub max_fuel: Option<u64>,
}

/// `meta.command`: makes an entry runnable as `wippy run <name>`.
#[derive(Debug, Clone, Deserialize)]
pub struct Command {
    pub name: String,
    #[serde(default)]
    pub short: String,
}

impl Entry {
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

// ---- parsing -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FsDirectorySpec {
    directory: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvStaticSpec {
    #[serde(default)]
    values: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvVariableSpec {
    storage: String,
    variable: Option<String>,
    default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptySpec {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessHostSpec {
    #[serde(default)]
    host: ProcessHost,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LuaSpec {
    source: String,
    method: Option<String>,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    imports: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WatSpec {
    source: String,
    wit: String,
    #[serde(default)]
    limits: Limits,
    pool: Option<PoolSpec>,
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LifecycleSpec {
    #[serde(default)]
    auto_start: bool,
    #[serde(default)]
    restart: RestartSpec,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestartSpec {
    initial_delay: Option<Value>,
    max_delay: Option<Value>,
    backoff_factor: Option<f64>,
    max_attempts: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WasmSpec {
    fs: String,
    path: String,
    hash: String,
    method: String,
    #[serde(default)]
    imports: Vec<String>,
    #[serde(default)]
    wasi: WasiSpec,
    #[serde(default)]
    limits: Limits,
    wit: Option<String>,
    pool: Option<PoolSpec>,
}

/// `pool` of a function entry. Wippy's other pool settings are accepted and not used.
#[derive(Deserialize)]
struct PoolSpec {
    max_size: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WasiSpec {
    args: Option<Vec<String>>,
    cwd: Option<String>,
    #[serde(default)]
    env: Vec<WasiEnvSpec>,
    #[serde(default)]
    mounts: Vec<WasiMountSpec>,
    #[serde(default)]
    http: HttpConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WasiEnvSpec {
    id: String,
    name: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WasiMountSpec {
    fs: String,
    guest: String,
    #[serde(default)]
    read_only: bool,
}

/// Context for turning one raw entry into an [`Entry`].
pub(super) struct EntrySource<'a> {
    pub file: &'a Path,
    pub line: u64,
    pub namespace: &'a str,
    pub file_meta: &'a Map<String, Value>,
    pub project_root: &'a Path,
}

impl EntrySource<'_> {
    fn error(&self, id: Option<&EntryId>, problem: impl Into<String>) -> LoadError {
        let error = LoadError::new(problem).file(self.file).line(self.line);
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
                    .fix(format!(
                        "add `kind:` with one of: {}",
                        KNOWN_KINDS.join(", ")
                    )));
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
        let kind = self.parse_kind(&id, &kind, Value::Object(fields.clone()))?;
        let entry = Entry {
            id,
            file: self.file.to_path_buf(),
            line: self.line,
            meta,
            fields,
            kind,
        };
        if entry.meta.contains_key("command") && entry.command().is_none() {
            return Err(entry
                .error("`meta.command` must be a mapping with a string `name` (and optionally `short`)")
                .field("meta.command")
                .fix("write `meta: {command: {name: greet, short: \"Say hello\"}}`"));
        }
        Ok(entry)
    }

    fn parse_kind(&self, id: &EntryId, kind: &str, fields: Value) -> Result<EntryKind, LoadError> {
        let ns = self.namespace;
        Ok(match kind {
            "fs.directory" => {
                let spec: FsDirectorySpec = self.fields(id, kind, fields)?;
                EntryKind::FsDirectory(FsDirectory {
                    directory: self.project_root.join(spec.directory),
                })
            }
            "env.storage.os" => {
                let EmptySpec {} = self.fields(id, kind, fields)?;
                EntryKind::EnvStorageOs
            }
            "env.storage.static" => {
                let spec: EnvStaticSpec = self.fields(id, kind, fields)?;
                EntryKind::EnvStorageStatic(spec.values)
            }
            "env.variable" => {
                let spec: EnvVariableSpec = self.fields(id, kind, fields)?;
                EntryKind::EnvVariable(EnvVariable {
                    storage: EntryId::resolve(&spec.storage, ns),
                    variable: spec.variable.unwrap_or_else(|| id.to_string()),
                    default: spec.default,
                })
            }
            "process.host" => {
                let spec: ProcessHostSpec = self.fields(id, kind, fields)?;
                EntryKind::ProcessHost(spec.host)
            }
            "terminal.host" => {
                let EmptySpec {} = self.fields(id, kind, fields)?;
                EntryKind::TerminalHost
            }
            "process.wasm" => EntryKind::ProcessWasm(self.wasm(id, kind, fields)?),
            "process.lua" => EntryKind::ProcessLua(self.lua(id, kind, fields)?),
            "function.lua" => EntryKind::FunctionLua(self.lua(id, kind, fields)?),
            "library.lua" => EntryKind::LibraryLua(self.lua(id, kind, fields)?),
            "process.service" => EntryKind::ProcessService(self.service(id, kind, fields)?),
            "function.wat" => {
                let spec: WatSpec = self.fields(id, kind, fields)?;
                EntryKind::FunctionWat(WatEntry {
                    source: spec.source,
                    wit: spec.wit,
                    limits: spec.limits,
                    pool_max_size: spec.pool.and_then(|p| p.max_size).filter(|n| *n > 0),
                })
            }
            "function.wasm" => EntryKind::FunctionWasm(self.wasm(id, kind, fields)?),
            unknown => {
                let mut error = self
                    .error(Some(id), format!("unknown kind `{unknown}`"))
                    .field("kind");
                error = match closest(unknown, KNOWN_KINDS) {
                    Some(near) => error.fix(format!("did you mean `{near}`?")),
                    None => error.fix(format!("use one of: {}", KNOWN_KINDS.join(", "))),
                };
                return Err(error);
            }
        })
    }

    fn wasm(&self, id: &EntryId, kind: &str, fields: Value) -> Result<WasmEntry, LoadError> {
        let spec: WasmSpec = self.fields(id, kind, fields)?;
        let ns = self.namespace;
        let hash = Sha256Digest::parse(&spec.hash).map_err(|problem| {
            self.error(Some(id), format!("malformed hash: {problem}"))
                .field("hash")
                .fix("write it as `sha256:` followed by 64 lowercase hex digits, as `sha256sum <file>` prints them")
        })?;
        let grants = Grants::parse(&spec.imports).map_err(|problem| {
            self.error(Some(id), problem).field("imports").fix(
                "grant whole groups such as `imports: [wasi:cli, wasi:http]`, or single interfaces such as `wasi:cli/stdout`",
            )
        })?;
        self.check_wasi_paths(id, &spec.wasi)?;
        Ok(WasmEntry {
            fs: EntryId::resolve(&spec.fs, ns),
            path: spec.path,
            hash,
            method: spec.method,
            imports: spec.imports,
            grants,
            wasi: WasiConfig {
                args: spec.wasi.args,
                cwd: spec.wasi.cwd,
                env: (spec.wasi.env.into_iter())
                    .map(|e| WasiEnv {
                        id: EntryId::resolve(&e.id, ns),
                        name: e.name,
                        required: e.required,
                    })
                    .collect(),
                mounts: (spec.wasi.mounts.into_iter())
                    .map(|m| WasiMount {
                        fs: EntryId::resolve(&m.fs, ns),
                        guest: m.guest,
                        read_only: m.read_only,
                    })
                    .collect(),
                http: spec.wasi.http,
            },
            limits: spec.limits,
            wit: spec.wit,
            pool_max_size: spec.pool.and_then(|p| p.max_size).filter(|n| *n > 0),
        })
    }

    fn lua(&self, id: &EntryId, kind: &str, fields: Value) -> Result<LuaEntry, LoadError> {
        let spec: LuaSpec = self.fields(id, kind, fields)?;
        if let Some(unknown) = spec
            .modules
            .iter()
            .find(|m| !LUA_MODULES.contains(&m.as_str()) && m.as_str() != "process")
        {
            return Err(self
                .error(Some(id), format!("unknown Lua module `{unknown}`"))
                .field("modules")
                .fix(format!(
                    "the modules are: process (always loaded), {}",
                    LUA_MODULES.join(", ")
                )));
        }
        Ok(LuaEntry {
            source: spec.source,
            method: spec.method.unwrap_or_else(|| "main".to_string()),
            modules: spec.modules,
            imports: (spec.imports.into_iter())
                .map(|(alias, target)| (alias, EntryId::resolve(&target, self.namespace)))
                .collect(),
        })
    }

    fn service(&self, id: &EntryId, kind: &str, fields: Value) -> Result<ServiceEntry, LoadError> {
        let spec: ServiceSpec = self.fields(id, kind, fields)?;
        let restart = &spec.lifecycle.restart;
        let duration = |field: &str,
                        value: &Option<Value>,
                        default_ms: u64|
         -> Result<std::time::Duration, LoadError> {
            match value {
                None => Ok(std::time::Duration::from_millis(default_ms)),
                Some(Value::Number(n)) if n.as_u64().is_some() => {
                    Ok(std::time::Duration::from_nanos(n.as_u64().unwrap()))
                }
                Some(Value::String(text)) => {
                    crate::values::parse_duration(text).map_err(|problem| {
                        self.error(Some(id), problem)
                            .field(format!("lifecycle.restart.{field}"))
                    })
                }
                Some(other) => Err(self
                    .error(Some(id), format!("`{other}` is not a duration"))
                    .field(format!("lifecycle.restart.{field}"))
                    .fix("write a duration like \"500ms\" or \"2s\"")),
            }
        };
        let input = match spec.input {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(single) => vec![single],
        };
        Ok(ServiceEntry {
            process: EntryId::resolve(&spec.process, self.namespace),
            host: EntryId::resolve(&spec.host, self.namespace),
            input,
            auto_start: spec.lifecycle.auto_start,
            restart: RestartPolicy {
                initial_delay: duration("initial_delay", &restart.initial_delay, 1_000)?,
                max_delay: duration("max_delay", &restart.max_delay, 60_000)?,
                backoff_factor: restart.backoff_factor.unwrap_or(2.0),
                max_attempts: restart.max_attempts.unwrap_or(5),
            },
        })
    }

    /// Guest paths are absolute, and no two mounts share one.
    fn check_wasi_paths(&self, id: &EntryId, wasi: &WasiSpec) -> Result<(), LoadError> {
        if let Some(cwd) = &wasi.cwd
            && !cwd.starts_with('/')
        {
            return Err(self
                .error(Some(id), format!("`{cwd}` is not an absolute path"))
                .field("wasi.cwd")
                .fix("write the guest's working directory as an absolute path, such as `/data`"));
        }
        for (i, mount) in wasi.mounts.iter().enumerate() {
            if !mount.guest.starts_with('/') {
                return Err(self
                    .error(
                        Some(id),
                        format!("`{}` is not an absolute path", mount.guest),
                    )
                    .field(format!("wasi.mounts[{i}].guest"))
                    .fix("mount at an absolute guest path, such as `/data`"));
            }
            if let Some(first) = wasi.mounts[..i].iter().position(|m| m.guest == mount.guest) {
                return Err(self
                    .error(
                        Some(id),
                        format!(
                            "`{}` is already mounted by wasi.mounts[{first}]",
                            mount.guest
                        ),
                    )
                    .field(format!("wasi.mounts[{i}].guest"))
                    .fix("give each mount its own guest path"));
            }
        }
        Ok(())
    }

    /// Deserializes a kind's fields; the error names the field by its path inside the entry.
    fn fields<T: DeserializeOwned>(
        &self,
        id: &EntryId,
        kind: &str,
        fields: Value,
    ) -> Result<T, LoadError> {
        serde_path_to_error::deserialize(fields).map_err(|error| {
            let path = error.path().to_string();
            let message = error.inner().to_string();
            let (field, problem, fix) = describe_field_error(&path, &message, kind);
            let mut result = self.error(Some(id), problem).field(field);
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
        let expected = rest.split_once(", expected ").map(|(_, e)| e.to_string());
        return (
            path.to_string(),
            format!("`{name}` is not a field of {kind}"),
            expected.map(|e| format!("expected {e}")),
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
