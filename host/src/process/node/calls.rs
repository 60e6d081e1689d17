//! What a node does for function calls: each entry compiled once (off the async workers),
//! warm starts, a frame per `function.lua` call, and the pools that bound calls.

use std::sync::Arc;

use super::generation::{Cells, Generation};
use super::{ExitResult, Node, ProcessContext, Record};
use crate::engine::{CoreFunction, PreparedEntry, Runtime};
use crate::process::call_pool::CallPool;
use crate::process::mailbox::Mailbox;
use crate::registry::{DEFAULT_MAX_MAILBOX_MESSAGES, EntryId, Pool, Registry};
use crate::values::Payload;

/// The entry's cell in `cells`, filled once with `make`'s result for it in `generation`,
/// compiling on a blocking thread so the async workers keep running processes meanwhile.
///
/// The filling runs in a task of its own, not in the caller: a process terminated while it
/// waits for its entry's first compile must not abandon it (the next spawn would start over,
/// and every abandoned compile would run on regardless, as 200 spawned-and-terminated
/// processes once did, for minutes of CPU).
async fn once_off_the_workers<T: Clone + Send + Sync + 'static>(
    cells: &Cells<T>,
    runtime: &Arc<Runtime>,
    generation: &Generation,
    entry: &EntryId,
    make: fn(&Runtime, &Registry, &crate::registry::Entry) -> Result<T, String>,
) -> Result<T, String> {
    let cell = (cells.lock().unwrap().entry(entry.clone()))
        .or_default()
        .clone();
    if let Some(done) = cell.get() {
        return done.clone();
    }
    let runtime = runtime.clone();
    let registry = generation.registry.clone();
    let id = entry.clone();
    let filler = tokio::spawn(async move {
        cell.get_or_init(|| async {
            let entry = id.clone();
            tokio::task::spawn_blocking(move || {
                let entry = registry
                    .get(&id)
                    .ok_or_else(|| format!("no entry `{id}`"))?;
                make(&runtime, &registry, entry)
            })
            .await
            .unwrap_or_else(|e| Err(format!("preparing `{entry}` failed: {e}")))
        })
        .await
        .clone()
    });
    filler
        .await
        .unwrap_or_else(|e| Err(format!("preparing `{entry}` failed: {e}")))
}

impl ProcessContext {
    /// Its entry's prepared component, in the generation it began in.
    pub async fn prepared(&self) -> Result<Arc<PreparedEntry>, String> {
        self.node.prepared_in(&self.generation, &self.entry).await
    }

    /// Its entry's core function, in the generation it began in; `None` when not one.
    pub async fn core_function(&self) -> Result<Option<Arc<CoreFunction>>, String> {
        self.node
            .core_function_in(&self.generation, &self.entry)
            .await
    }
}

impl Node {
    /// The entry's prepared component in `generation`, compiled (or loaded from the cache) on
    /// first use; one per entry for as long as its definition does not change.
    pub async fn prepared_in(
        &self,
        generation: &Generation,
        entry: &EntryId,
    ) -> Result<Arc<PreparedEntry>, String> {
        let (cells, runtime) = (&generation.prepared, &self.inner.runtime);
        once_off_the_workers(
            cells,
            runtime,
            generation,
            entry,
            |runtime, registry, entry| {
                PreparedEntry::prepare(runtime, registry, entry)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            },
        )
        .await
    }

    /// The entry's core function in `generation`, compiled on first use; `None` when the
    /// entry is not one.
    pub async fn core_function_in(
        &self,
        generation: &Generation,
        entry: &EntryId,
    ) -> Result<Option<Arc<CoreFunction>>, String> {
        let (cells, runtime) = (&generation.core_functions, &self.inner.runtime);
        once_off_the_workers(
            cells,
            runtime,
            generation,
            entry,
            |runtime, registry, entry| match runtime.core_function(registry, entry) {
                None => Ok(None),
                Some(Ok(function)) => Ok(Some(Arc::new(function))),
                Some(Err(error)) => Err(error.to_string()),
            },
        )
        .await
    }

    /// Verifies and compiles (or loads from the artifact cache) every WebAssembly entry of
    /// the registry, all at once, so that a wrong hash, a missing file or a component that
    /// does not link fails a run before its first process starts — not inside an EXIT that a
    /// script may never look at. (Wippy's `pool.warm_start` asks for this per entry; here
    /// every entry gets it.) Returns every failure.
    pub async fn prepare_all(&self) -> Result<(), Vec<String>> {
        (self.prepare_all_in(&self.generation()).await)
            .map_err(|errors| errors.into_iter().map(|(_, error)| error).collect())
    }

    /// [`Node::prepare_all`] for a generation, served or not yet.
    pub(super) async fn prepare_all_in(
        &self,
        generation: &Generation,
    ) -> Result<(), Vec<(EntryId, String)>> {
        let ids = (generation.registry.entries())
            .filter(|e| e.kind.wasm().is_some())
            .map(|e| e.id.clone());
        let each = ids.map(|id| async move {
            let outcome = match self.core_function_in(generation, &id).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => self.prepared_in(generation, &id).await.map(|_| ()),
                Err(error) => Err(error),
            };
            outcome.map_err(|error| (id, error))
        });
        let errors: Vec<(EntryId, String)> = futures_util::future::join_all(each)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors),
        }
    }

    /// A function call's own identity, as Wippy gives each call a frame: a pid and mailbox of
    /// its own for the call's duration, so what the function spawns, monitors or receives is
    /// not mixed with its caller's. [`Node::end_call`] ends it like a process.
    pub fn begin_call(
        &self,
        caller: &ProcessContext,
        entry: &EntryId,
        generation: &Arc<Generation>,
    ) -> ProcessContext {
        let pid = self.new_pid(&caller.pid.host());
        let mailbox = Arc::new(Mailbox::new(DEFAULT_MAX_MAILBOX_MESSAGES));
        (self.inner.processes.lock().unwrap())
            .insert(pid.clone(), Record::frame(&mailbox, None, Arc::default()));
        ProcessContext {
            node: self.clone(),
            pid,
            entry: entry.clone(),
            generation: generation.clone(),
            mailbox,
            stdio: caller.stdio.clone(),
            context: caller.context.clone(),
            stop: caller.stop.clone(),
        }
    }

    /// Ends a call made with [`Node::begin_call`]: its names are released and its links told.
    pub fn end_call(&self, frame: &ProcessContext, outcome: Result<&Payload, &str>) {
        let result = match outcome {
            Ok(value) => ExitResult::ok(value.clone()),
            Err(error) => ExitResult::failed(error),
        };
        self.finish(&frame.pid, result);
    }

    /// The pool bounding calls of a function entry, made on its first call.
    pub(crate) fn call_pool(
        &self,
        generation: &Generation,
        id: &EntryId,
        pool: Pool,
    ) -> Arc<CallPool> {
        (generation.call_pools.lock().unwrap())
            .entry(id.clone())
            .or_insert_with(|| Arc::new(CallPool::new(pool)))
            .clone()
    }
}
