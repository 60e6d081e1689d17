//! Running an entry's export in a fresh instance: the process lifecycle's Init, Step and Close.

mod actor_host;
mod call_pool;
pub mod channel;
mod functions;
mod mailbox;
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
pub(crate) use node::now_nanos;
pub use node::{
    ContextValues, ExitResult, Node, ProcessContext, SendError, SpawnRequest, Spawned,
    terminal_host,
};
pub use pid::Pid;
pub use scheduler::node_runtime;
pub use scripts::{ScriptRun, Scripts};
pub use service::{ServiceHistory, ServiceRun, start_services};

use crate::capabilities::ActorHost;
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
    state.actor = (config.actor).map(|context| Arc::new(context) as Arc<dyn ActorHost>);
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
