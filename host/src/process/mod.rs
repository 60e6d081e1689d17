//! Running an entry's export in a fresh instance: the process lifecycle's Init, Step and Close.

mod call_pool;
pub mod channel;
mod functions;
mod limits;
mod mailbox;
mod node;
mod output;
mod pid;
mod service;
mod state;
mod wasm;

use std::sync::Arc;

use wasmtime::component::Val;
use wasmtime::{Store, Trap, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

pub use functions::{CallError, call_function};
pub use limits::{
    DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_OPEN_HANDLES, EPOCH_TICK, MemoryLimiter, limit_handles,
};
pub use mailbox::{Envelope, Event, Mailbox, Message};
pub(crate) use node::now_nanos;
pub use node::{
    ContextValues, ExitResult, Node, ProcessContext, SendError, SpawnRequest, Spawned,
    terminal_host,
};
pub use output::{LabelledOutput, LineSink, OutputStream, RuntimeOutput};
pub use pid::Pid;
pub use service::{ServiceHistory, ServiceRun, start_services};
pub use state::ProcessState;

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
    /// The process on a node this instance is, for guests that import `wippy:process`.
    pub actor: Option<ProcessContext>,
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
/// The guest yields to the scheduler at every epoch tick, runs out of fuel at
/// `limits.max_fuel`, cannot grow its memories and tables together past
/// `limits.max_memory_bytes` nor hold more than `limits.max_open_handles` host resources, and
/// is stopped at `limits.max_execution_ms`. A trap, a limit or a host error is returned as a message meant
/// for people.
pub async fn run(
    prepared: &PreparedEntry,
    config: ProcessConfig,
    args: &[Val],
) -> Result<Exit, String> {
    let limits = prepared.limits;
    let state = prepared
        .capabilities
        .new_state(
            &prepared.id.to_string(),
            &config.cli_args,
            &config.stdio,
            &limits,
        )
        .map_err(|problem| format!("`{}` cannot start: {problem}", prepared.id))?;
    let mut state = state;
    state.actor = config.actor;
    let mut store = Store::new(prepared.pre.engine(), state);
    store.limiter(|state| &mut state.memory);
    store
        .set_fuel(limits.max_fuel.unwrap_or(u64::MAX))
        .map_err(|e| format!("`{}` cannot start: {e}", prepared.id))?;
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store.set_epoch_deadline(1);

    let call = async {
        let instance = prepared.pre.instantiate_async(&mut store).await?;
        let func = instance
            .get_func(&mut store, prepared.export.index)
            .expect("the export was resolved against this component");
        let mut results = vec![Val::Bool(false); prepared.export.ty.results().len()];
        func.call_async(&mut store, args, &mut results).await?;
        wasmtime::Result::Ok(results)
    };
    let outcome: wasmtime::Result<Vec<Val>> = match limits.max_execution_ms {
        Some(ms) => match tokio::time::timeout(std::time::Duration::from_millis(ms), call).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return Err(format!(
                    "`{}` failed: it ran longer than its limit of {ms} ms (limits.max_execution_ms) and was stopped",
                    prepared.id
                ));
            }
        },
        None => call.await,
    };
    match outcome {
        Ok(results) => Ok(Exit::Returned(results)),
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Ok(Exit::Exited(*code)),
            None => Err(describe_failure(
                &prepared.id,
                &store.data().memory,
                &prepared.limits,
                &error,
            )),
        },
    }
}

/// Why a guest failed: a limit it hit (named, with the setting to change), or the trap.
pub fn describe_failure(
    id: &crate::registry::EntryId,
    memory: &MemoryLimiter,
    limits: &crate::registry::Limits,
    error: &wasmtime::Error,
) -> String {
    // Checked before memory: a refused growth is remembered even when the guest coped with
    // it, while a full resource table is always what ended this call.
    if limits::ran_out_of_handles(error) {
        let held = (limits.max_open_handles)
            .map_or(DEFAULT_MAX_OPEN_HANDLES.to_string(), |n| n.to_string());
        return format!(
            "`{id}` failed: it already held {held} open handles (files, directories, sockets, streams and the like), its limit (limits.max_open_handles), and asked for another{}; close handles it no longer needs, or raise the limit",
            where_in_guest(error)
        );
    }
    if let Some(asked) = memory.refused {
        return format!(
            "`{id}` failed: it needed {asked} bytes of memory (all its memories and tables together), over its limit of {} bytes (limits.max_memory_bytes); {}",
            memory.max_bytes(),
            describe_wasmtime_error(error)
        );
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => format!(
            "`{id}` failed: it ran out of fuel after {} units (limits.max_fuel)",
            limits.max_fuel.unwrap_or(u64::MAX)
        ),
        Some(Trap::StackOverflow) => {
            format!("`{id}` failed: the guest overflowed its stack (too deep a recursion)")
        }
        _ => format!("`{id}` failed: {}", describe_wasmtime_error(error)),
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
    text.push_str(&where_in_guest(error));
    text
}

/// ` (in f ← g ← h)`: the guest's innermost named frames when the error happened, or nothing.
fn where_in_guest(error: &wasmtime::Error) -> String {
    let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() else {
        return String::new();
    };
    let frames: Vec<String> = backtrace
        .frames()
        .iter()
        .filter_map(|frame| frame.func_name())
        .map(|name| format!("{:#}", rustc_demangle::demangle(name)))
        .filter(|name| !is_runtime_frame(name))
        .take(3)
        .collect();
    match frames.is_empty() {
        true => String::new(),
        false => format!(" (in {})", frames.join(" ← ")),
    }
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
