//! Lua processes and functions on mlua (Lua 5.4). Each process has its own Lua state; its
//! blocking calls (`receive`, `select`, `sleep`, `exec`) are async, so a waiting script holds
//! no thread. As in Wippy, `process` and `channel` are globals; `time`, `funcs`, `json` and
//! `ctx` are globals (and `require`-able) when the entry lists them in `modules`; and
//! `library.lua` entries are `require`-able under their `imports` aliases.

mod annotations;
mod casts;
mod channel_module;
mod convert;
mod coroutines;
mod ctx_module;
mod errors_module;
mod events_module;
mod funcs_module;
mod json_module;
mod lazy;
mod message;
mod patterns;
mod preempt;
mod process_module;
mod process_names;
mod registry_module;
mod sandbox;
mod spawner;
mod system_module;
mod time_module;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value, Variadic};

use crate::guest::{OutputStream, Stdio};
use crate::process::{CallError, ProcessContext, ScriptRun, Scripts};
use crate::registry::{Entry, EntryKind, LUA_MODULES, LuaEntry, WIPPY_ONLY_MODULES};
use crate::values::Payload;

pub use annotations::strip as strip_annotations;
pub use convert::{from_payload, to_payload};

/// The node's scripts are Lua: `process.lua` and `function.lua` entries.
pub struct LuaScripts;

impl Scripts for LuaScripts {
    fn run(&self, context: ProcessContext, args: Vec<Payload>) -> ScriptRun {
        Box::pin(async move {
            let generation = context.generation.clone();
            match generation.registry().get(&context.entry).map(|e| &e.kind) {
                Some(EntryKind::ProcessLua(entry) | EntryKind::FunctionLua(entry)) => {
                    run_entry(&context, entry, args).await
                }
                _ => Err(CallError::from(format!(
                    "`{}` is not a process.lua or function.lua entry",
                    context.entry
                ))),
            }
        })
    }

    fn verify(&self, entry: &Entry) -> Result<(), String> {
        let Some(lua) = entry.kind.lua() else {
            return Ok(());
        };
        sandbox::check_syntax(&lua.source, &entry.id.to_string()).map_err(|error| {
            entry
                .error(format!(
                    "the script does not compile: {}",
                    describe_plainly(&error)
                ))
                .field("source")
                .fix("fix the script; the entry keeps its last version until it compiles")
                .to_string()
        })
    }

    fn forget_replaced(&self) {
        sandbox::forget_replaced_sources();
    }
}

/// Loads the entry's script in a fresh state and runs it: the function named by `method`
/// (returned in a table, or global) with `args`, or, when there is none, the script itself.
/// An error object it returns keeps its kind.
async fn run_entry(
    context: &ProcessContext,
    entry: &LuaEntry,
    args: Vec<Payload>,
) -> Result<Payload, CallError> {
    let id = &context.entry;
    let watch = Arc::new(preempt::Watch {
        stop: context.stop.clone(),
        deadline: (entry.limits.max_execution_ms)
            .map(|ms| (Instant::now() + Duration::from_millis(ms), ms)),
    });
    let run = run_script(context, entry, args, watch);
    let Some(ms) = entry.limits.max_execution_ms else {
        return run.await;
    };
    // The script yields at least every few milliseconds (see `preempt`), so the limit
    // reaches even a loop that never waits.
    match tokio::time::timeout(Duration::from_millis(ms), run).await {
        Ok(outcome) => outcome,
        Err(_) => Err(CallError::from(format!(
            "`{id}` failed: it ran longer than its limit of {ms} ms (limits.max_execution_ms) and was stopped"
        ))),
    }
}

async fn run_script(
    context: &ProcessContext,
    entry: &LuaEntry,
    args: Vec<Payload>,
    watch: Arc<preempt::Watch>,
) -> Result<Payload, CallError> {
    let id = &context.entry;
    let memory = sandbox::memory_limit(entry);
    let fail = |error: mlua::Error| {
        CallError::from(format!("`{id}` failed: {}", describe(&error, memory)))
    };
    let lua = new_state(context, entry).map_err(fail)?;
    lua.set_app_data(watch);
    let chunk = sandbox::compile(&lua, &entry.source, format!("={id}")).map_err(fail)?;
    let returned = run(&lua, chunk, MultiValue::new(), &fail).await?;
    let exported = match returned.front() {
        Some(Value::Table(table)) => table
            .get::<Option<Function>>(entry.method.as_str())
            .map_err(fail)?,
        _ => None,
    };
    let main = match exported {
        Some(main) => Some(main),
        None => lua
            .globals()
            .get::<Option<Function>>(entry.method.as_str())
            .map_err(fail)?,
    };
    let values = match main {
        Some(main) => {
            let args = (args.iter())
                .map(|arg| from_payload(&lua, arg))
                .collect::<mlua::Result<MultiValue>>()
                .map_err(fail)?;
            run(&lua, main, args, &fail).await?
        }
        None => returned,
    };
    match process_module::outcome_of(values) {
        Ok(value) => to_payload(&value)
            .map_err(|e| format!("`{id}` returned a value that cannot leave it: {e}").into()),
        Err(error) => Err(match errors_module::as_call_error(&error) {
            Some(error) => error,
            None => CallError::from(match to_payload(&error) {
                Ok(Payload::String(text)) => text,
                Ok(other) => other.to_string(),
                Err(e) => e,
            }),
        }),
    }
}

/// Calls `f(args)`; an error raised out of it (an error object as its text) is the failure.
async fn run(
    lua: &Lua,
    f: Function,
    args: MultiValue,
    fail: &impl Fn(mlua::Error) -> CallError,
) -> Result<MultiValue, CallError> {
    match errors_module::call_reading_errors(lua, f, args).await {
        Ok(Ok(values)) => Ok(values),
        Ok(Err(Value::Error(error))) => Err(fail(*error)),
        Ok(Err(Value::String(text))) => {
            Err(fail(mlua::Error::RuntimeError(text.to_string_lossy())))
        }
        Ok(Err(other)) => Err(fail(mlua::Error::RuntimeError(
            other
                .to_string()
                .unwrap_or_else(|_| other.type_name().to_string()),
        ))),
        Err(error) => Err(fail(error)),
    }
}

/// A state with the safe standard libraries (no `io`, no loading files, `os` with its clock
/// and calendar only, string patterns with a step budget), `print` bound to the process's
/// stdout, and the modules the entry may `require`.
/// A process's context as the functions of its state hold it: one allocation shared by all
/// of them (each holding a copy would copy its strings, some forty per state).
type SharedContext = Arc<ProcessContext>;

/// Switches the collector to generational mode, first, while the heap is empty (a switch
/// collects the whole heap).
///
/// Lua 5.4's default incremental collector falls behind objects with finalizers: every
/// message, payload and channel a script sees is userdata with one, each outlives a cycle to
/// be finalized, and at most ten are finalized per step. A process in a message loop grew
/// by ~40 bytes per message without bound (1,000,000 round trips: 192 MiB RSS, its heap
/// 47 MiB). Generational collection frees them young: the same loop stays near 0.5 MiB of heap.
fn generational_gc(lua: &Lua) -> mlua::Result<()> {
    lua.globals()
        .get::<Function>("collectgarbage")?
        .call::<Value>("generational")
        .map(drop)
}

fn new_state(context: &ProcessContext, entry: &LuaEntry) -> mlua::Result<Lua> {
    let context = &SharedContext::new(context.clone());
    let libs = StdLib::TABLE | StdLib::STRING | StdLib::COROUTINE | StdLib::PACKAGE | StdLib::OS;
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::default())?;
    generational_gc(&lua)?;
    lua.load_std_libs(libs)?;
    lazy::libraries(&lua, &[("math", StdLib::MATH), ("utf8", StdLib::UTF8)])?;
    // First, before anything can copy the string functions it replaces.
    patterns::install(&lua)?;
    let globals = lua.globals();
    for unsafe_global in ["dofile", "loadfile"] {
        globals.set(unsafe_global, Value::Nil)?;
    }
    // Wippy's `os`: the clock and calendar functions only (no exit, execute, files, env).
    let os: Table = globals.get("os")?;
    let safe_os = lua.create_table()?;
    for name in ["time", "clock", "date", "difftime"] {
        safe_os.set(name, os.get::<Value>(name)?)?;
    }
    safe_os.set("platform", "wippy")?;
    globals.set("os", safe_os.clone())?;
    globals.set("print", print_function(&lua, context)?)?;

    let package: Table = globals.get("package")?;
    package.set("path", "")?;
    package.set("cpath", "")?;
    errors_module::install(&lua)?;
    coroutines::install(&lua)?;
    casts::install(&lua)?;
    sandbox::seal(&lua)?;
    let loaded: Table = package.get("loaded")?;
    // `require("os")` answers from here: left alone, it would hand out the whole library.
    loaded.set("os", safe_os)?;
    let process = process_module::create(&lua, context)?;
    globals.set("process", process.clone())?;
    loaded.set("process", process)?;
    let channel = channel_module::create(&lua)?;
    globals.set("channel", channel.clone())?;
    loaded.set("channel", channel)?;

    for &module in LUA_MODULES {
        if entry.modules.iter().any(|m| m == module) {
            let table = match module {
                "time" => time_module::create(&lua)?,
                "json" => json_module::create(&lua)?,
                "ctx" => ctx_module::create(&lua, context)?,
                "registry" => registry_module::create(&lua, context)?,
                "system" => system_module::create(&lua, context)?,
                "events" => events_module::create(&lua, context)?,
                _ => funcs_module::create(&lua, context)?,
            };
            globals.set(module, table.clone())?;
            loaded.set(module, table)?;
        }
    }
    // After `package.preload`, one searcher explains the modules this entry may not use.
    let entry_id = context.entry.clone();
    let missing = lua.create_function(move |_, name: String| -> mlua::Result<Value> {
        Err(mlua::Error::runtime(if WIPPY_ONLY_MODULES.contains(&name.as_str()) {
            format!("module `{name}` is a Wippy module that wippy-rs does not provide yet")
        } else {
            format!(
                "module `{name}` is not enabled for `{entry_id}`; add it to the entry's `modules: [{name}]`"
            )
        }))
    })?;
    let searcher = lua.create_function(move |_, name: String| {
        let known =
            LUA_MODULES.contains(&name.as_str()) || WIPPY_ONLY_MODULES.contains(&name.as_str());
        Ok(known.then(|| missing.clone()))
    })?;
    let searchers: Table = package.get("searchers")?;
    searchers.raw_insert(2, searcher)?;
    let preload: Table = package.get("preload")?;
    let registry = context.generation.registry();
    for (alias, library) in &entry.imports {
        let Some(source) = registry
            .get(library)
            .and_then(|e| e.kind.lua())
            .map(|l| l.source.clone())
        else {
            continue;
        };
        let name = format!("={library}");
        preload.set(
            alias.as_str(),
            lua.create_function(move |lua, ()| {
                sandbox::compile(lua, &source, name.clone())?.call::<Value>(())
            })?,
        )?;
    }
    sandbox::cap_memory(&lua, sandbox::memory_limit(entry))?;
    Ok(lua)
}

fn print_function(lua: &Lua, context: &SharedContext) -> mlua::Result<Function> {
    let stdio = context.stdio.clone();
    lua.create_function(move |_, values: Variadic<Value>| {
        let line = values
            .iter()
            .map(|v| v.to_string())
            .collect::<mlua::Result<Vec<String>>>()?
            .join("\t");
        match &*stdio {
            Stdio::Terminal => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
            }
            Stdio::Labelled { label, sink } => {
                sink.write_line(OutputStream::Stdout, label, line.as_bytes())
            }
        }
        Ok(())
    })
}

/// The message of a Lua error, without mlua's wrapping or Lua's stack traceback.
fn describe(error: &mlua::Error, memory_limit: usize) -> String {
    let text = describe_plainly(error);
    sandbox::describe_memory(&text, memory_limit).unwrap_or(text)
}

fn describe_plainly(error: &mlua::Error) -> String {
    match error {
        mlua::Error::CallbackError { cause, .. } => describe_plainly(cause),
        mlua::Error::RuntimeError(message) | mlua::Error::SyntaxError { message, .. } => message
            .split("\nstack traceback:")
            .next()
            .unwrap_or(message)
            .to_string(),
        other => other
            .to_string()
            .split("\nstack traceback:")
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}
