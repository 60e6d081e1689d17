//! WebAssembly entries on a node: a `process.wasm` as a process, and a `function.wasm` or
//! `function.wat` called by another process. Components take arguments typed by their
//! export's signature; core modules by their `wit`. Each run gets a fresh instance.

use wasmtime::component::Val;

use super::node::{ExitResult, ProcessContext};
use super::{Exit, ProcessConfig, new_store, run_in};
use crate::values::{Payload, signature, wit_conversion};

/// Runs the process: a top-level `result`'s error arm is a failure, its ok arm the value.
pub async fn run_process(context: &ProcessContext, args: Vec<Payload>) -> ExitResult {
    let entry = context.entry.to_string();
    let outcome = match context.core_function().await {
        // Boxed: a core function's call future is twice a component's, and would size
        // every WASM process's future.
        Ok(Some(core)) => Box::pin(core.call(&args, &context.stdio)).await,
        Ok(None) => match run_component(context, args).await {
            Ok((Exit::Returned(results), json)) if json => {
                return match json_result(&entry, results) {
                    Ok(value) => ExitResult::ok(value),
                    Err(error) => ExitResult::failed(error),
                };
            }
            Ok((Exit::Returned(results), _)) => return exit_from_results(&entry, results),
            Ok((Exit::Exited(0), _)) => Ok(Payload::Nil),
            Ok((Exit::Exited(code), _)) => Err(format!("`{entry}` exited with code {code}")),
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    match outcome {
        Ok(value) => ExitResult::ok(value),
        Err(error) => ExitResult::failed(error),
    }
}

/// Calls a function entry: its value, with a `result` kept as `{ok = v}` / `{err = e}` (as
/// Wippy's `funcs.call` gives it), or why the call failed.
pub async fn call(context: &ProcessContext, args: Vec<Payload>) -> Result<Payload, String> {
    if let Some(entry) = context.generation.registry().get(&context.entry) {
        crate::engine::takes_payloads(entry).map_err(|e| e.to_string())?;
    }
    if let Some(core) = context.core_function().await? {
        return core.call(&args, &context.stdio).await;
    }
    let entry = &context.entry;
    match run_component(context, args).await? {
        (Exit::Returned(results), true) => json_result(&entry.to_string(), results),
        (Exit::Returned(results), false) => match results.first() {
            Some(value) => wit_conversion::from_val(value)
                .map_err(|e| format!("`{entry}` returned a value Lua cannot hold: {e}")),
            None => Ok(Payload::Nil),
        },
        (Exit::Exited(0), _) => Ok(Payload::Nil),
        (Exit::Exited(code), _) => Err(format!("`{entry}` exited with code {code}")),
    }
}

/// Runs the component; the flag says its export is a published world's JSON entry point.
async fn run_component(
    context: &ProcessContext,
    args: Vec<Payload>,
) -> Result<(Exit, bool), String> {
    let prepared = context.prepared().await?;
    let json = prepared.export.takes_json();
    let vals = match json {
        true => vec![Val::String(json_arguments(&args).map_err(|problem| {
            format!(
                "`{}`: the arguments cannot be JSON: {problem}",
                context.entry
            )
        })?)],
        false => {
            wit_conversion::payloads_to_args(&prepared.export.ty, &args).map_err(|problem| {
                format!(
                    "`{}`: {problem}; the signature is {}",
                    context.entry,
                    signature(&prepared.export.name, &prepared.export.ty)
                )
            })?
        }
    };
    let store = new_store(
        &prepared,
        ProcessConfig {
            cli_args: Vec::new(),
            stdio: (*context.stdio).clone(),
            actor: Some(context.clone()),
        },
    )?;
    Ok((run_in(&prepared, store, &vals).await?, json))
}

/// The arguments of a JSON entry point: one JSON array.
pub fn json_arguments(args: &[Payload]) -> Result<String, String> {
    Ok(Payload::List(args.to_vec()).to_json()?.to_string())
}

/// A JSON entry point's `result<string, string>`: the `ok` text parsed, or the error.
pub fn json_result(entry: &str, results: Vec<Val>) -> Result<Payload, String> {
    match results.into_iter().next() {
        Some(Val::Result(Ok(Some(value)))) => match *value {
            Val::String(text) => serde_json::from_str::<serde_json::Value>(&text)
                .map(|json| Payload::from(&json))
                .map_err(|e| {
                    format!("`{entry}` returned `{text}`, which is not JSON ({e}); return JSON text, such as `\"{text}\"` for a string")
                }),
            other => Err(format!("`{entry}` returned {}, not JSON text", crate::values::render(&other))),
        },
        Some(Val::Result(Err(Some(error)))) => Err(match *error {
            Val::String(text) => text,
            other => crate::values::render(&other),
        }),
        Some(Val::Result(Err(None))) => Err(format!("`{entry}` returned an error")),
        _ => Err(format!("`{entry}` did not return a `result<string, string>`")),
    }
}

/// A process's result as an exit: a `result`'s error arm is a failure, its ok arm the value.
fn exit_from_results(entry: &str, results: Vec<Val>) -> ExitResult {
    let Some(result) = results.into_iter().next() else {
        return ExitResult::ok(Payload::Nil);
    };
    let convert = |value: &Val| {
        wit_conversion::from_val(value)
            .map_err(|e| format!("`{entry}` returned a value Lua cannot hold: {e}"))
    };
    match &result {
        Val::Result(Err(error)) => ExitResult::failed(match error {
            Some(error) => match error.as_ref() {
                Val::String(text) => text.clone(),
                other => crate::values::render(other),
            },
            None => format!("`{entry}` returned an error"),
        }),
        Val::Result(Ok(value)) => match value.as_deref().map(convert).transpose() {
            Ok(value) => ExitResult::ok(value.unwrap_or(Payload::Nil)),
            Err(error) => ExitResult::failed(error),
        },
        other => match convert(other) {
            Ok(value) => ExitResult::ok(value),
            Err(error) => ExitResult::failed(error),
        },
    }
}
