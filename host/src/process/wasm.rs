//! A `process.wasm` entry as a process: its arguments typed by the export's signature, the
//! call run in a fresh instance, the result turned into the process's exit.

use wasmtime::component::Val;

use super::node::{ExitResult, ProcessContext};
use super::{Exit, ProcessConfig, run};
use crate::values::{Payload, signature, wit_conversion};

pub async fn run_process(context: &ProcessContext, args: Vec<Payload>) -> ExitResult {
    let prepared = match context.node.prepared(&context.entry).await {
        Ok(prepared) => prepared,
        Err(error) => return ExitResult::failed(error),
    };
    let vals = match wit_conversion::payloads_to_args(&prepared.export.ty, &args) {
        Ok(vals) => vals,
        Err(problem) => {
            return ExitResult::failed(format!(
                "`{}`: {problem}; the signature is {}",
                context.entry,
                signature(&prepared.export.name, &prepared.export.ty)
            ));
        }
    };
    let config = ProcessConfig {
        cli_args: Vec::new(),
        stdio: (*context.stdio).clone(),
        actor: Some(context.clone()),
    };
    match run(&prepared, config, &vals).await {
        Ok(Exit::Returned(results)) => exit_from_results(&context.entry.to_string(), results),
        Ok(Exit::Exited(0)) => ExitResult::ok(Payload::Nil),
        Ok(Exit::Exited(code)) => {
            ExitResult::failed(format!("`{}` exited with code {code}", context.entry))
        }
        Err(error) => ExitResult::failed(error),
    }
}

/// A function's result as an exit: a `result`'s error arm is a failure, its ok arm the value.
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
