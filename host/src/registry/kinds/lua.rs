//! `process.lua`, `function.lua` and `library.lua`: Lua source, the function to call, the
//! modules it may `require`, and the libraries it imports under aliases.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::not_a_field;
use super::pool::{Pool, PoolSpec};
use super::wasm::Limits;
use crate::registry::{EntryId, LoadError, Note, closest};

/// Modules an entry may list in `modules` (`process` and `channel` are always there).
pub const LUA_MODULES: &[&str] = &[
    "time", "funcs", "json", "ctx", "registry", "system", "events",
];
/// Always loaded; listing them is harmless.
const BUILT_IN: &[&str] = &["process", "channel", "os"];
/// Wippy's other Lua modules: an entry may list them, and `require` says they are missing.
pub const WIPPY_ONLY_MODULES: &[&str] = &[
    "base64",
    "cdc",
    "cloudstorage",
    "compress",
    "contract",
    "crypto",
    "env",
    "eval_runner",
    "excel",
    "exec",
    "expr",
    "fs",
    "hash",
    "html",
    "http",
    "http_client",
    "hub",
    "io",
    "loader",
    "logger",
    "metrics",
    "pg",
    "queue",
    "security",
    "sql",
    "store",
    "stream",
    "templates",
    "text",
    "treesitter",
    "tty",
    "uuid",
    "websocket",
    "workflow",
    "yaml",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct LuaSpec {
    source: String,
    method: Option<String>,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    imports: BTreeMap<String, String>,
    pool: Option<PoolSpec>,
    #[serde(default)]
    limits: Option<Limits>,
}

/// A `process.lua`, `function.lua` or `library.lua` entry.
#[derive(Debug, Clone)]
pub struct LuaEntry {
    /// Shared with every entry whose `source` names the same file.
    pub source: Arc<str>,
    /// The function to call; when the script defines none, the script itself is the body.
    pub method: String,
    pub modules: Vec<String>,
    /// `require(alias)` → a `library.lua` entry.
    pub imports: BTreeMap<String, EntryId>,
    /// How calls of a `function.lua` are bounded.
    pub pool: Pool,
    /// `max_execution_ms` and `max_memory_bytes` (the Lua state's cap); no fuel.
    pub limits: Limits,
}

impl LuaSpec {
    pub(in crate::registry) fn resolve(
        self,
        kind: &str,
        namespace: &str,
        source_text: Option<Arc<str>>,
        notes: &mut Vec<Note>,
    ) -> Result<LuaEntry, LoadError> {
        not_a_field(
            kind,
            "method",
            kind == "library.lua" && self.method.is_some(),
            "a library is `require`d by the entries that import it; its functions are whatever it returns",
        )?;
        not_a_field(
            kind,
            "pool",
            kind != "function.lua" && self.pool.is_some(),
            "only function.lua entries have a pool",
        )?;
        not_a_field(
            kind,
            "limits",
            kind == "library.lua" && self.limits.is_some(),
            "a library runs inside the process that requires it, under that entry's limits",
        )?;
        let limits = self.limits.unwrap_or_default();
        not_a_field(
            kind,
            "limits.max_fuel",
            limits.max_fuel.is_some(),
            "fuel counts WebAssembly instructions; bound a Lua entry's time with `limits.max_execution_ms`",
        )?;
        for (i, module) in self.modules.iter().enumerate() {
            let name = module.as_str();
            if LUA_MODULES.contains(&name) || BUILT_IN.contains(&name) {
                continue;
            }
            if WIPPY_ONLY_MODULES.contains(&name) {
                notes.push(Note::new(
                    format!("modules[{i}]"),
                    format!("module `{name}` is a Wippy module that wippy-rs does not provide yet; `require(\"{name}\")` fails"),
                ));
                continue;
            }
            let mut known: Vec<&str> = LUA_MODULES.to_vec();
            known.extend(BUILT_IN);
            known.extend(WIPPY_ONLY_MODULES);
            let fix = match closest(name, &known) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "the modules are: {}, {} (process, channel and os are always loaded)",
                    LUA_MODULES.join(", "),
                    BUILT_IN.join(", ")
                ),
            };
            return Err(LoadError::new(format!("unknown Lua module `{name}`"))
                .field(format!("modules[{i}]"))
                .fix(fix));
        }
        Ok(LuaEntry {
            source: source_text.unwrap_or_else(|| self.source.into()),
            method: self.method.unwrap_or_else(|| "main".to_string()),
            modules: self.modules,
            imports: (self.imports.into_iter())
                .map(|(alias, target)| (alias, EntryId::resolve(&target, namespace)))
                .collect(),
            pool: match self.pool {
                Some(spec) => spec.resolve()?,
                None => Pool::default(),
            },
            limits,
        })
    }
}
