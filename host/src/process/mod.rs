//! Running an entry's export in a fresh instance: the process lifecycle's Init, Step and Close.

mod actor_host;
mod call_pool;
pub mod channel;
mod functions;
mod mailbox;
mod membership;
mod node;
mod pid;
mod scheduler;
mod scripts;
mod service;
mod wasm;

use std::sync::Arc;

use wasmtime::component::Val;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::I32Exit;

pub use functions::{CallError, call_function};
pub use mailbox::{Envelope, Event, Mailbox, Message};
pub use membership::{ALONE, Alone, Errand, Membership, RemoteSpawn};
pub(crate) use node::now_nanos;
pub use node::{
    BusEvent, ContextValues, ExitResult, Generation, Node, ProcessContext, SendError, SpawnRequest,
    Spawned, terminal_host,
};
pub use pid::Pid;
pub use scheduler::node_runtime;
pub use scripts::{ScriptRun, Scripts};
pub use service::{ServiceHistory, ServiceRun, Services, start_services};
pub use wasm::{json_arguments, json_result};

use crate::capabilities::{ActorHost, ProcessState};
use crate::engine::PreparedEntry;
use crate::guest::{Stdio, describe_failure};

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
    run_in(prepared, new_store(prepared, config)?, args).await
}

/// [`run`] in a store made by [`new_store`]. A node's processes come here directly: the
/// future of [`run`] holds its `config` for as long as the process runs, since an async
/// function's arguments stay in its future, and a sleeping process would carry it for
/// nothing.
pub(crate) async fn run_in(
    prepared: &PreparedEntry,
    mut store: Store<ProcessState>,
    args: &[Val],
) -> Result<Exit, String> {
    let limits = prepared.limits;
    let call = async {
        // Boxed: inline, wasmtime's 1.2 KiB instantiation future would size this future
        // for as long as the process runs or sleeps; boxed, it is freed once the instance
        // exists.
        let instance = Box::pin(prepared.pre.instantiate_async(&mut store)).await?;
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

/// The process's store, with its limits, fuel and epoch deadline set. Not made in an async
/// function: one keeps room for its locals' values even after they moved, and the store's
/// state is several hundred bytes that a sleeping process would carry for nothing.
pub(crate) fn new_store(
    prepared: &PreparedEntry,
    config: ProcessConfig,
) -> Result<Store<ProcessState>, String> {
    let limits = prepared.limits;
    let mut state = prepared
        .capabilities
        .new_state(
            &prepared.id.to_string(),
            &config.cli_args,
            &config.stdio,
            &limits,
        )
        .map_err(|problem| format!("`{}` cannot start: {problem}", prepared.id))?;
    state.actor = (config.actor).map(|context| Arc::new(context) as Arc<dyn ActorHost>);
    let mut store = Store::new(prepared.pre.engine(), state);
    store.limiter(|state| &mut state.memory);
    store
        .set_fuel(limits.max_fuel.unwrap_or(u64::MAX))
        .map_err(|e| format!("`{}` cannot start: {e}", prepared.id))?;
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store.set_epoch_deadline(1);
    Ok(store)
}
