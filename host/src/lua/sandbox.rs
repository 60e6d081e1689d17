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
///
/// A registry source is compiled once per node: its bytecode is kept (by the address of the
/// source text, which is kept with it so the address is never another text's) and loaded
/// into the next process's state. Parsing a script of a few hundred lines costs more than
/// the rest of a Lua process's start; loading bytecode is a copy. The bytecode is what Lua
/// itself made from the text, so the text-only rule for scripts still holds.
pub fn compile(lua: &Lua, source: &Arc<str>, name: String) -> mlua::Result<Function> {
    let key = (Arc::as_ptr(source) as *const u8 as usize, name);
    let cached = compiled_sources()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .by_source
        .get(&key)
        .map(|(_, bytecode)| bytecode.clone());
    if let Some(bytecode) = cached {
        return lua
            .load(&bytecode[..])
            .set_name(key.1)
            .set_mode(ChunkMode::Binary)
            .into_function();
    }
    let function = compile_text(lua, source, key.1.clone())?;
    let bytecode: Arc<[u8]> = function.dump(false).into();
    let mut compiled = compiled_sources().lock().unwrap_or_else(|p| p.into_inner());
    if compiled.bytes + bytecode.len() <= MAX_COMPILED_BYTES {
        compiled.bytes += bytecode.len();
        compiled.by_source.insert(key, (source.clone(), bytecode));
    }
    Ok(function)
}

/// Compiles `source` in a scratch state, as a process would, and keeps nothing.
pub fn check_syntax(source: &Arc<str>, id: &str) -> mlua::Result<()> {
    compile_text(&Lua::new(), source, format!("={id}")).map(|_| ())
}

/// Drops the bytecode of sources only this cache still holds: after a reload, the texts of
/// replaced scripts, once no process runs them.
pub fn forget_replaced_sources() {
    let mut compiled = compiled_sources().lock().unwrap_or_else(|p| p.into_inner());
    let mut freed = 0;
    compiled.by_source.retain(|_, (source, bytecode)| {
        let held = Arc::strong_count(source) > 1;
        if !held {
            freed += bytecode.len();
        }
        held
    });
    compiled.bytes -= freed;
}

/// Bytecode kept for registry sources at most; past it, sources are compiled at each start.
const MAX_COMPILED_BYTES: usize = 64 << 20;

/// A source text's address and a chunk name.
type SourceKey = (usize, String);

#[derive(Default)]
struct CompiledSources {
    /// By the source text's address and the chunk name: the text and its bytecode.
    by_source: HashMap<SourceKey, (Arc<str>, Arc<[u8]>)>,
    bytes: usize,
}

fn compiled_sources() -> &'static Mutex<CompiledSources> {
    static COMPILED: OnceLock<Mutex<CompiledSources>> = OnceLock::new();
    COMPILED.get_or_init(Default::default)
}

fn compile_text(lua: &Lua, source: &Arc<str>, name: String) -> mlua::Result<Function> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(lua: &Lua, function: Function) -> String {
        lua.globals().set("f", function).unwrap();
        let (_, message): (bool, String) = lua.load("return pcall(f)").eval().unwrap();
        message
    }

    #[test]
    fn a_source_compiled_again_comes_from_bytecode_with_its_lines_and_rules() {
        let source: Arc<str> = "local x = 1\n\nerror('at three')\n".into();
        let (first, second) = (Lua::new(), Lua::new());
        let compiled = compile(&first, &source, "=app:lines".into()).unwrap();
        assert_eq!(failure(&first, compiled), "app:lines:3: at three");
        let cached = compile(&second, &source, "=app:lines".into()).unwrap();
        assert_eq!(
            failure(&second, cached),
            "app:lines:3: at three",
            "same name and line"
        );
        let other = compile(&second, &source, "=app:other".into()).unwrap();
        assert_eq!(
            failure(&second, other),
            "app:other:3: at three",
            "keyed by name too"
        );

        let bytecode: Arc<str> = String::from_utf8_lossy(
            &compiled_sources().lock().unwrap().by_source[&(
                Arc::as_ptr(&source) as *const u8 as usize,
                "=app:lines".to_string(),
            )]
                .1,
        )
        .into_owned()
        .into();
        assert!(
            compile(&second, &bytecode, "=app:sly".into()).is_err(),
            "a source that is bytecode is still refused"
        );
        let annotated: Arc<str> =
            "local function f(n: number): number return n end\nerror('n=' .. f(4))\n".into();
        for lua in [&first, &second] {
            let function = compile(lua, &annotated, "=app:typed".into()).unwrap();
            assert_eq!(failure(lua, function), "app:typed:2: n=4");
        }
    }
}
