//! `funcs.call(id, ...)` → the function's value, or `nil, err`. Calls `function.lua` and
//! `function.wasm` entries in the caller's process, without spawning one.

use mlua::{Lua, Table, Value, Variadic};

use super::SharedContext;
use super::convert::{from_payload, to_payload};
use super::errors_module::{Failure, INVALID};
use super::lazy::{self, Maker};
use crate::process::{CallError, call_function};
use crate::registry::EntryId;
use crate::values::Payload;

pub fn create(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let ctx = context.clone();
    let call: Maker = Box::new(move |lua| {
        let ctx = ctx.clone();
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
                        call_function(&ctx, &EntryId::resolve(&id, &ctx.entry.namespace), args)
                            .await
                    }
                    Err(e) => Err(CallError::of(Some(INVALID), e)),
                };
                match outcome {
                    Ok(value) => Ok((from_payload(&lua, &value)?, None)),
                    // The callee's own kind when it gave one, as in Wippy.
                    Err(error) => Ok((Value::Nil, Some(Failure::from(error)))),
                }
            }
        })
        .map(Value::Function)
    });
    lazy::fields(lua, &module, vec![("call", call)])?;
    Ok(module)
}
