//! Running an entry's export in a fresh instance: the process lifecycle's Init, Step and Close.

mod state;

use wasmtime::component::Val;
use wasmtime::{Store, Trap, WasmBacktrace};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

pub use state::ProcessState;

use crate::engine::PreparedEntry;

/// How the guest sees the world when it runs.
pub struct ProcessConfig {
    /// `argv` as the guest's `wasi:cli/environment` reports it, program name first.
    pub args: Vec<String>,
}

/// How a process ended without failing.
#[derive(Debug)]
pub enum Exit {
    /// The export returned these values.
    Returned(Vec<Val>),
    /// The guest called `wasi:cli/exit` with this code.
    Exited(i32),
}

/// Instantiates the entry in a new store, calls its export with `args`, and drops the store.
/// A trap or host error is returned as a message meant for people.
pub async fn run(
    prepared: &PreparedEntry,
    config: ProcessConfig,
    args: &[Val],
) -> Result<Exit, String> {
    let wasi = WasiCtxBuilder::new()
        .inherit_stdio()
        .args(&config.args)
        .build();
    let mut store = Store::new(prepared.pre.engine(), ProcessState::new(wasi));
    let outcome: wasmtime::Result<Vec<Val>> = async {
        let instance = prepared.pre.instantiate_async(&mut store).await?;
        let func = instance
            .get_func(&mut store, prepared.export.index)
            .expect("the export was resolved against this component");
        let mut results = vec![Val::Bool(false); prepared.export.ty.results().len()];
        func.call_async(&mut store, args, &mut results).await?;
        wasmtime::Result::Ok(results)
    }
    .await;
    match outcome {
        Ok(results) => Ok(Exit::Returned(results)),
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Ok(Exit::Exited(*code)),
            None => Err(format!(
                "`{}` failed: {}",
                prepared.id,
                describe_wasmtime_error(&error)
            )),
        },
    }
}

/// One line for a wasmtime error: the trap or root cause, then where in the guest it happened.
pub fn describe_wasmtime_error(error: &wasmtime::Error) -> String {
    let mut text = match error.downcast_ref::<Trap>() {
        Some(trap) => {
            let trap = trap.to_string();
            format!(
                "the guest trapped: {}",
                trap.strip_prefix("wasm trap: ").unwrap_or(&trap)
            )
        }
        None => error
            .chain()
            .map(|cause| cause.to_string())
            .filter(|s| !s.starts_with("error while executing at wasm backtrace"))
            .collect::<Vec<_>>()
            .join(": "),
    };
    if let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() {
        let frames: Vec<String> = backtrace
            .frames()
            .iter()
            .filter_map(|frame| frame.func_name())
            .map(|name| format!("{:#}", rustc_demangle::demangle(name)))
            .filter(|name| !is_runtime_frame(name))
            .take(3)
            .collect();
        if !frames.is_empty() {
            text.push_str(&format!(" (in {})", frames.join(" ← ")));
        }
    }
    text
}

/// Frames of the guest language's own panic and abort machinery, which say nothing about
/// where the guest's code failed.
fn is_runtime_frame(name: &str) -> bool {
    const RUNTIME: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "__rust",
        "rust_panic",
        "abort",
        "panic_abort::",
    ];
    RUNTIME.iter().any(|prefix| name.starts_with(prefix))
}
