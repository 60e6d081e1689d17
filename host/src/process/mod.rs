//! Running an entry's export in a fresh instance: the process lifecycle's Init, Step and Close.

pub mod channel;
mod mailbox;
mod node;
mod output;
mod pid;
mod service;
mod state;
mod wasm;

use std::sync::Arc;

use wasmtime::component::Val;
use wasmtime::{Store, Trap, WasmBacktrace};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

pub use mailbox::{Envelope, Event, Mailbox, Message};
pub(crate) use node::now_nanos;
pub use node::{ExitResult, Node, ProcessContext, SpawnRequest, Spawned, terminal_host};
pub use output::{LabelledOutput, LineSink, OutputStream, RuntimeOutput};
pub use pid::Pid;
pub use service::{ServiceHistory, ServiceRun, start_services};
pub use state::ProcessState;
pub(crate) use wasm::run_process as run_wasm;

use crate::engine::PreparedEntry;

/// Where a process's stdin, stdout and stderr go.
#[derive(Clone)]
pub enum Stdio {
    /// The terminal's own (`terminal.host`, `wippy run`).
    Terminal,
    /// Under a `process.host`: no stdin; output in whole lines prefixed with `label`.
    Labelled {
        label: Arc<str>,
        sink: Arc<dyn LineSink>,
    },
}

impl Stdio {
    pub(crate) fn configure(&self, builder: &mut WasiCtxBuilder) {
        match self {
            Stdio::Terminal => {
                builder.inherit_stdio();
            }
            Stdio::Labelled { label, sink } => {
                builder.stdout(LabelledOutput::new(
                    label.clone(),
                    OutputStream::Stdout,
                    sink.clone(),
                ));
                builder.stderr(LabelledOutput::new(
                    label.clone(),
                    OutputStream::Stderr,
                    sink.clone(),
                ));
            }
        }
    }
}

/// How one process starts.
pub struct ProcessConfig {
    /// Arguments from the command line; the guest gets them unless its entry sets `wasi.args`.
    pub cli_args: Vec<String>,
    pub stdio: Stdio,
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
    let state = prepared
        .capabilities
        .new_state(&prepared.id.to_string(), &config.cli_args, &config.stdio)
        .map_err(|problem| format!("`{}` cannot start: {problem}", prepared.id))?;
    let mut store = Store::new(prepared.pre.engine(), state);
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
