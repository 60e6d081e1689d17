//! `funcs.call(id, ...)` → the function's value, or `nil, err`. Calls `function.lua` and
//! `function.wasm` entries in the caller's process, without spawning one.

use mlua::{Lua, Table, Value, Variadic};

use super::convert::{from_payload, to_payload};
use crate::process::ProcessContext;
use crate::registry::{EntryId, EntryKind};
use crate::values::Payload;

pub fn create(lua: &Lua, context: &ProcessContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let ctx = context.clone();
    module.set(
        "call",
        lua.create_async_function(move |lua, (id, args): (String, Variadic<Value>)| {
            let ctx = ctx.clone();
            async move {
                let args: Result<Vec<Payload>, String> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| to_payload(a).map_err(|e| format!("argument {}: {e}", i + 1)))
                    .collect();
                let outcome = match args {
                    Ok(args) => {
                        call(&ctx, &EntryId::resolve(&id, &ctx.entry.namespace), args).await
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(value) => Ok((from_payload(&lua, &value)?, None)),
                    Err(error) => Ok((Value::Nil, Some(error))),
                }
            }
        })?,
    )?;
    Ok(module)
}

async fn call(ctx: &ProcessContext, id: &EntryId, args: Vec<Payload>) -> Result<Payload, String> {
    let entry = ctx
        .node
        .registry()
        .get(id)
        .ok_or_else(|| format!("no function `{id}` in the registry"))?;
    let callee = ProcessContext {
        entry: id.clone(),
        ..ctx.clone()
    };
    match &entry.kind {
        EntryKind::FunctionLua(lua_entry) => super::run_entry(&callee, lua_entry, args).await,
        EntryKind::FunctionWasm(_) => {
            let result = crate::process::run_wasm(&callee, args).await;
            match result.error {
                None => Ok(result.value),
                Some(error) => Err(error),
            }
        }
        other => Err(format!(
            "`{id}` is a {}; funcs.call calls function.lua and function.wasm entries",
            other.name()
        )),
    }
}
