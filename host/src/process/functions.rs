//! Calling `function.lua` and `function.wasm` entries from a process, without spawning one:
//! `funcs.call` in Lua and `wippy:runtime/funcs` in WebAssembly. A `function.wasm` with
//! `pool: {max_size: N}` runs at most N calls at once; the rest wait their turn.

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
    let callee = ProcessContext {
        entry: id.clone(),
        ..caller.clone()
    };
    match &entry.kind {
        EntryKind::FunctionLua(lua_entry) => crate::lua::run_entry(&callee, lua_entry, args).await,
        EntryKind::FunctionWasm(_) | EntryKind::FunctionWat(_) => {
            let pool_max_size = match &entry.kind {
                EntryKind::FunctionWasm(wasm) => wasm.pool_max_size,
                EntryKind::FunctionWat(wat) => wat.pool_max_size,
                _ => None,
            };
            let pool = pool_max_size.map(|size| caller.node.function_pool(id, size));
            let _slot = match &pool {
                Some(pool) => Some(pool.acquire().await.map_err(|e| e.to_string())?),
                None => None,
            };
            if let Some(core) = caller.node.core_function(id).await? {
                return core.call(&args).await;
            }
            let result = super::run_wasm(&callee, args).await;
            match result.error {
                None => Ok(result.value),
                Some(error) => Err(error),
            }
        }
        other => Err(format!(
            "`{id}` is a {}; only function.lua, function.wasm and function.wat entries can be called",
            other.name()
        )),
    }
}
