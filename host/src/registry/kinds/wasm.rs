//! `process.wasm`, `function.wasm` and `function.wat`: WebAssembly code, the export to call,
//! what it is granted, and how it is limited and called.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::pool::{Pool, PoolSpec};
use super::{inert, not_a_field, not_one_of};
use crate::registry::fs_path::inside_directory;
use crate::registry::grants::Grants;
use crate::registry::{EntryId, LoadError, Note, Sha256Digest};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct WasmSpec {
    fs: Option<String>,
    path: Option<String>,
    hash: Option<String>,
    source: Option<String>,
    method: Option<String>,
    transport: Option<String>,
    #[serde(default)]
    imports: Vec<String>,
    #[serde(default)]
    wasi: WasiSpec,
    #[serde(default)]
    limits: Limits,
    wit: Option<String>,
    pool: Option<PoolSpec>,
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

/// A WebAssembly entry: `process.wasm`, `function.wasm` or `function.wat`.
#[derive(Debug, Clone)]
pub struct WasmEntry {
    pub code: WasmCode,
    /// The export to call. Empty only for a `function.wat` without `method`, whose `wit`
    /// then declares the one function.
    pub method: String,
    /// `imports` as written, for messages that show the line to change.
    pub imports: Vec<String>,
    pub grants: Grants,
    pub wasi: WasiConfig,
    pub limits: Limits,
    /// The WIT signature of a core module's functions (`answer: func() -> s32;`).
    pub wit: Option<String>,
    pub transport: Transport,
    /// How calls of a function entry are bounded (processes ignore it, as in Wippy).
    pub pool: Pool,
}

#[derive(Debug, Clone)]
pub enum WasmCode {
    /// A pinned `.wasm` file (component or core module) in an `fs.directory`.
    File(WasmFile),
    /// WAT text (`function.wat`'s `source`), shared with every entry naming the same file.
    Wat(Arc<str>),
}

#[derive(Debug, Clone)]
pub struct WasmFile {
    pub fs: EntryId,
    /// Inside the directory: `/worker.wasm` and `worker.wasm` are both `worker.wasm`.
    pub path: PathBuf,
    pub hash: Sha256Digest,
}

/// How arguments reach the export and its result comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Each argument is one parameter; the result is the value (Wippy's default).
    Payload,
    /// An HTTP request's body in, the response's body out.
    WasiHttp,
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
    /// All memories and tables of a process together.
    pub max_memory_bytes: Option<u64>,
    pub max_fuel: Option<u64>,
    /// Host resources a process may hold at once: files, directories, sockets, streams,
    /// pollables, HTTP requests.
    pub max_open_handles: Option<u64>,
}

impl WasmEntry {
    /// The pinned file, unless the code is WAT text.
    pub fn file(&self) -> Option<&WasmFile> {
        match &self.code {
            WasmCode::File(file) => Some(file),
            WasmCode::Wat(_) => None,
        }
    }
}

const TRANSPORTS: &[&str] = &["payload", "wasi-http"];

impl WasmSpec {
    pub(in crate::registry) fn resolve(
        self,
        kind: &str,
        namespace: &str,
        source_text: Option<Arc<str>>,
        notes: &mut Vec<Note>,
    ) -> Result<WasmEntry, LoadError> {
        let required = |field: &str, value: Option<String>| {
            value.filter(|v| !v.is_empty()).ok_or_else(|| {
                LoadError::new(format!("required field `{field}` is missing"))
                    .field(field)
                    .fix(format!("add `{field}:` to this {kind} entry"))
            })
        };
        let not_a_field =
            |field: &str, given: bool, fix: &str| not_a_field(kind, field, given, fix);
        let code = if kind == "function.wat" {
            for field in ["fs", "path", "hash"] {
                let given = match field {
                    "fs" => self.fs.is_some(),
                    "path" => self.path.is_some(),
                    _ => self.hash.is_some(),
                };
                not_a_field(
                    field,
                    given,
                    "a function.wat carries its WAT text in `source`; use function.wasm for a file",
                )?;
            }
            if self.wit.is_none() {
                return Err(LoadError::new("required field `wit` is missing")
                    .field("wit")
                    .fix("add the function's signature, e.g. `wit: \"answer: func() -> s32;\"`"));
            }
            match source_text {
                Some(text) if !text.is_empty() => WasmCode::Wat(text),
                Some(_) => WasmCode::Wat(required("source", None)?.into()),
                None => WasmCode::Wat(required("source", self.source)?.into()),
            }
        } else {
            not_a_field(
                "source",
                self.source.is_some(),
                "a .wasm file is named by `fs` and `path`; use function.wat for WAT text",
            )?;
            let path = required("path", self.path)?;
            let hash = required("hash", self.hash)?;
            let fs = EntryId::resolve(&required("fs", self.fs)?, namespace);
            WasmCode::File(WasmFile {
                path: inside_directory(&path, &fs.to_string()).map_err(|problem| {
                    LoadError::new(problem).field("path").fix(
                        "give a path inside the fs directory (its root is `/`), or declare an fs.directory entry for the folder that holds the file",
                    )
                })?,
                hash: Sha256Digest::parse(&hash).map_err(|problem| {
                    LoadError::new(format!("malformed hash: {problem}"))
                        .field("hash")
                        .fix("write it as `sha256:` followed by 64 lowercase hex digits, as `sha256sum <file>` prints them")
                })?,
                fs,
            })
        };
        let method = match (&code, self.method) {
            (WasmCode::Wat(_), method) => method.unwrap_or_default(),
            (WasmCode::File(_), method) => required("method", method)?,
        };
        let transport = match self.transport.as_deref() {
            None | Some("payload") => Transport::Payload,
            Some("wasi-http") => Transport::WasiHttp,
            Some(other) => return Err(not_one_of(other, "transport", "transport", TRANSPORTS)),
        };
        let grants = Grants::parse(&self.imports).map_err(|problem| {
            LoadError::new(problem).field("imports").fix(
                "grant whole groups such as `imports: [wasi:cli, wasi:http]`, or single interfaces such as `wasi:cli/stdout`",
            )
        })?;
        if matches!(code, WasmCode::Wat(_))
            && let Some(component_only) = grants.component_interface()
        {
            return Err(LoadError::new(format!(
                "`{component_only}` is for components, and a function.wat is a core module"
            ))
            .field("imports")
            .fix("a core module can be granted WASI preview 1 only: `imports: [wasi1]`"));
        }
        check_wasi_paths(&self.wasi)?;
        let pool = match self.pool {
            Some(spec) if kind == "process.wasm" => {
                spec.resolve()?;
                inert(
                    notes,
                    "pool",
                    true,
                    "every spawn of a process.wasm is a process of its own (Wippy ignores it too)",
                );
                Pool::default()
            }
            Some(spec) => spec.resolve()?,
            None => Pool::default(),
        };
        Ok(WasmEntry {
            code,
            method,
            imports: self.imports,
            grants,
            wasi: WasiConfig {
                args: self.wasi.args,
                cwd: self.wasi.cwd,
                env: (self.wasi.env.into_iter())
                    .map(|e| WasiEnv {
                        id: EntryId::resolve(&e.id, namespace),
                        name: e.name,
                        required: e.required,
                    })
                    .collect(),
                mounts: (self.wasi.mounts.into_iter())
                    .map(|m| WasiMount {
                        fs: EntryId::resolve(&m.fs, namespace),
                        guest: m.guest,
                        read_only: m.read_only,
                    })
                    .collect(),
                http: self.wasi.http,
            },
            limits: self.limits,
            wit: self.wit,
            transport,
            pool,
        })
    }
}

/// Guest paths are absolute, and no two mounts share one.
fn check_wasi_paths(wasi: &WasiSpec) -> Result<(), LoadError> {
    if let Some(cwd) = &wasi.cwd
        && !cwd.starts_with('/')
    {
        return Err(LoadError::new(format!("`{cwd}` is not an absolute path"))
            .field("wasi.cwd")
            .fix("write the guest's working directory as an absolute path, such as `/data`"));
    }
    for (i, mount) in wasi.mounts.iter().enumerate() {
        if !mount.guest.starts_with('/') {
            return Err(
                LoadError::new(format!("`{}` is not an absolute path", mount.guest))
                    .field(format!("wasi.mounts[{i}].guest"))
                    .fix("mount at an absolute guest path, such as `/data`"),
            );
        }
        if let Some(first) = wasi.mounts[..i].iter().position(|m| m.guest == mount.guest) {
            return Err(LoadError::new(format!(
                "`{}` is already mounted by wasi.mounts[{first}]",
                mount.guest
            ))
            .field(format!("wasi.mounts[{i}].guest"))
            .fix("give each mount its own guest path"));
        }
    }
    Ok(())
}

/// Used for each of connect, first byte and between bytes when the entry sets no timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// `wasi.http` in an entry.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Applies separately to connecting, waiting for the first response byte, and waiting
    /// between body chunks, unless the guest sets its own request options.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}
