//! Calling `function.lua`, `function.wasm` and `function.wat` entries from a process, without
//! spawning one: `funcs.call` in Lua and `wippy:runtime/funcs` in WebAssembly. Each call waits
//! for a turn in the entry's pool (see `call_pool`).

use super::ProcessContext;
use crate::registry::{EntryId, EntryKind};
use crate::values::Payload;

pub async fn call_function(
    caller: &ProcessContext,
    id: &EntryId,
    args: Vec<Payload>,
) -> Result<Payload, String> {
    let entry = (caller.node.registry().get(id))
        .ok_or_else(|| format!("no function `{id}` in the registry"))?;
    let pool = match &entry.kind {
        EntryKind::FunctionLua(lua) => lua.pool,
        EntryKind::FunctionWasm(wasm) | EntryKind::FunctionWat(wasm) => wasm.pool,
        other => {
            return Err(format!(
                "`{id}` is a {}; only function.lua, function.wasm and function.wat entries can be called",
                other.name()
            ));
        }
    };
    let pool = caller.node.call_pool(id, pool);
    let _turn = pool.acquire(id).await?;
    match &entry.kind {
        EntryKind::FunctionLua(lua_entry) => {
            let frame = caller.node.begin_call(caller, id);
            let outcome = crate::lua::run_entry(&frame, lua_entry, args).await;
            caller.node.end_call(&frame, &outcome);
            outcome
        }
        _ => {
            let callee = ProcessContext {
                entry: id.clone(),
                ..caller.clone()
            };
            super::wasm::call(&callee, args).await
        }
    }
}
