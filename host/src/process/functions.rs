//! Calling `function.lua`, `function.wasm` and `function.wat` entries from a process, without
//! spawning one: `funcs.call` in Lua and `wippy:runtime/funcs` in WebAssembly. Each call waits
//! for a turn in the entry's pool (see `call_pool`).

use super::ProcessContext;
use crate::registry::{EntryId, EntryKind};
use crate::values::Payload;

/// Why a function call failed: its message, and its kind when the function gave one (a Lua
/// function's `return nil, errors.new{kind = ...}`), so that its caller sees the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub kind: Option<String>,
    pub retryable: Option<bool>,
    pub message: String,
}

impl From<String> for CallError {
    fn from(message: String) -> Self {
        Self::of(None, message)
    }
}

impl CallError {
    pub fn of(kind: Option<&str>, message: String) -> Self {
        Self {
            kind: kind.map(str::to_string),
            retryable: None,
            message,
        }
    }
}

pub async fn call_function(
    caller: &ProcessContext,
    id: &EntryId,
    args: Vec<Payload>,
) -> Result<Payload, CallError> {
    let generation = caller.node.generation();
    let entry = generation.registry().get(id).ok_or_else(|| {
        CallError::of(
            Some("NotFound"),
            format!("no function `{id}` in the registry"),
        )
    })?;
    let pool = match &entry.kind {
        EntryKind::FunctionLua(lua) => lua.pool,
        EntryKind::FunctionWasm(wasm) | EntryKind::FunctionWat(wasm) => wasm.pool,
        other => {
            return Err(CallError::from(format!(
                "`{id}` is a {}; only function.lua, function.wasm and function.wat entries can be called",
                other.name()
            )));
        }
    };
    let pool = caller.node.call_pool(&generation, id, pool);
    let _turn =
        (pool.acquire(id).await).map_err(|message| CallError::of(Some("Unavailable"), message))?;
    match &entry.kind {
        EntryKind::FunctionLua(_) => {
            let frame = CallFrame(Some(caller.node.begin_call(caller, id, &generation)));
            let context = frame.0.clone().expect("the frame is set until it ends");
            let outcome = caller.node.scripts().run(context, args).await;
            frame.end(outcome.as_ref().map_err(|e| e.message.as_str()));
            outcome
        }
        _ => {
            let callee = ProcessContext {
                entry: id.clone(),
                generation: generation.clone(),
                ..caller.clone()
            };
            Ok(super::wasm::call(&callee, args).await?)
        }
    }
}

/// A function call's frame, ended when the call returns — or when its caller is dropped
/// mid-call (terminated, say), so the frame does not outlive it in the process table.
struct CallFrame(Option<ProcessContext>);

impl CallFrame {
    fn end(mut self, outcome: Result<&Payload, &str>) {
        if let Some(frame) = self.0.take() {
            frame.node.end_call(&frame, outcome);
        }
    }
}

impl Drop for CallFrame {
    fn drop(&mut self) {
        if let Some(frame) = self.0.take() {
            frame
                .node
                .end_call(&frame, Err("the caller stopped waiting for the call"));
        }
    }
}
