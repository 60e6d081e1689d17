//! `ctx`: `get(key)` → value or `nil, err`, `all()` → table: the values a process's spawner
//! set with `process.with_context{...}`, inherited by what the process spawns and calls.

use mlua::{Lua, Table, Value};

use super::SharedContext;
use super::convert::from_payload;
use super::errors_module::{INVALID, NOT_FOUND, fail};

pub fn create(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let values = context.context.clone();
    module.set(
        "get",
        lua.create_function(move |lua, key: String| {
            if key.is_empty() {
                return Ok((Value::Nil, Some(fail(INVALID, "key is empty"))));
            }
            Ok(match values.get(&key) {
                Some(value) => (from_payload(lua, value)?, None),
                None => (
                    Value::Nil,
                    Some(fail(NOT_FOUND, format!("key `{key}` not found in context"))),
                ),
            })
        })?,
    )?;
    let values = context.context.clone();
    module.set(
        "all",
        lua.create_function(move |lua, ()| {
            let table = lua.create_table()?;
            for (key, value) in values.iter() {
                table.set(key.as_str(), from_payload(lua, value)?)?;
            }
            Ok(table)
        })?,
    )?;
    Ok(module)
}
