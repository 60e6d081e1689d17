//! What keeps one Lua process from harming the others: its state's memory is capped (an
//! allocation past the cap fails in that process only, never aborts the runtime), and it loads
//! text chunks only (crafted bytecode can crash the VM, so `load` refuses binary chunks and
//! `string.dump` is gone).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use mlua::chunk::{Chunk, ChunkMode};
use mlua::{Function, Lua, MultiValue, Table, Value};

use super::annotations;
use crate::registry::LuaEntry;

/// The memory a Lua state may hold when its entry sets no `limits.max_memory_bytes`.
pub const DEFAULT_MAX_MEMORY_BYTES: usize = 256 * 1024 * 1024;

/// Lua's own wording when an allocation fails.
const OUT_OF_MEMORY: &str = "not enough memory";

pub fn seal(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    let load: Function = globals.get("load")?;
    // load(chunk, name, mode, env) with the mode forced to text; `env` stays absent when absent.
    let text_only = lua.create_function(move |lua, args: MultiValue| {
        let mut args: Vec<Value> = args.into_iter().collect();
        args.resize(args.len().max(3), Value::Nil);
        args[2] = Value::String(lua.create_string("t")?);
        load.call::<MultiValue>(MultiValue::from_vec(args))
    })?;
    globals.set("load", text_only)?;
    let string: Table = globals.get("string")?;
    string.set("dump", Value::Nil)?;
    // mlua's safe mode refuses it already; absent reads better than a call that fails.
    let package: Table = globals.get("package")?;
    package.set("loadlib", Value::Nil)?;
    Ok(())
}

/// The entry's memory cap.
pub fn memory_limit(entry: &LuaEntry) -> usize {
    (entry.limits.max_memory_bytes)
        .map(|bytes| usize::try_from(bytes).unwrap_or(usize::MAX))
        .unwrap_or(DEFAULT_MAX_MEMORY_BYTES)
}

/// Caps the state's memory. Called last when a state is made: with a cap set, mlua guards
/// every allocation it makes through the API, which would slow the setup down by a sixth.
pub fn cap_memory(lua: &Lua, bytes: usize) -> mlua::Result<()> {
    lua.set_memory_limit(bytes).map(|_| ())
}

/// Compiled preludes by name.
type Bytecode = HashMap<&'static str, Arc<[u8]>>;

/// wippy-rs's own Lua (the preludes that set up a state), compiled once per runtime and loaded
/// into each state as bytecode: it is ours, so the text-only rule for scripts does not apply,
/// and parsing it for every process was a tenth of a Lua process's start.
pub fn trusted(lua: &Lua, name: &'static str, source: &'static str) -> mlua::Result<Function> {
    static COMPILED: OnceLock<Mutex<Bytecode>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(Default::default);
    let cached = compiled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(name)
        .cloned();
    let bytecode = match cached {
        Some(bytecode) => bytecode,
        None => {
            let scratch = Lua::new();
            let function = scratch
                .load(source)
                .set_name(format!("={name}"))
                .into_function()?;
            let bytecode: Arc<[u8]> = function.dump(false).into();
            let mut compiled = compiled.lock().unwrap_or_else(|p| p.into_inner());
            compiled.insert(name, bytecode.clone());
            bytecode
        }
    };
    lua.load(&bytecode[..])
        .set_name(format!("={name}"))
        .set_mode(ChunkMode::Binary)
        .into_function()
}

/// Source text as a chunk, refusing bytecode whatever it starts with.
fn chunk<'a>(lua: &'a Lua, source: &'a str, name: String) -> Chunk<'a> {
    lua.load(source).set_name(name).set_mode(ChunkMode::Text)
}

/// Compiles source text (never bytecode) named `name` (`=app:main`): as it is, or, when Lua
/// cannot read it, with Wippy's type annotations blanked out (see `annotations`).
pub fn compile(lua: &Lua, source: &Arc<str>, name: String) -> mlua::Result<Function> {
    if let Some(stripped) = annotations::known(source) {
        return chunk(lua, &stripped, name).into_function();
    }
    match chunk(lua, source, name.clone()).into_function() {
        // Bytecode is refused as it is; anything else Lua cannot read may be annotated.
        Err(mlua::Error::SyntaxError { .. }) if !source.starts_with('\x1b') => {
            let shown = name.strip_prefix('=').unwrap_or(&name);
            let stripped = annotations::strip_once(source, shown).map_err(|message| {
                mlua::Error::SyntaxError {
                    message,
                    incomplete_input: false,
                }
            })?;
            chunk(lua, &stripped, name).into_function()
        }
        compiled => compiled,
    }
}

/// A failure message for people: an exhausted state names its limit.
pub fn describe_memory(message: &str, limit: usize) -> Option<String> {
    message.contains(OUT_OF_MEMORY).then(|| {
        let size = match limit {
            bytes if bytes % (1 << 20) == 0 => format!("{} MiB", bytes >> 20),
            bytes => format!("{bytes} bytes"),
        };
        format!(
            "it needed more memory than its limit of {size} (limits.max_memory_bytes; the default is {} MiB)",
            DEFAULT_MAX_MEMORY_BYTES >> 20
        )
    })
}
