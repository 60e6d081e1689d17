//! The node: every live process, their links, monitors and names, and the hosts they run on.
//! Processes are tokio tasks; a process waiting for anything holds no thread.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, oneshot};
use tokio::task::AbortHandle;

use super::call_pool::CallPool;
use super::mailbox::{Envelope, Event, Mailbox, Message};
use super::{LineSink, Pid, Stdio, wasm};
use crate::engine::{CoreFunction, PreparedEntry, Runtime};
use crate::registry::{EntryId, EntryKind, Pool, Registry, TerminalHost};
use crate::values::Payload;

/// How a process ended: its value, or an error when it failed.
#[derive(Debug, Clone)]
pub struct ExitResult {
    pub value: Payload,
    pub error: Option<String>,
}

impl ExitResult {
    pub fn ok(value: Payload) -> Self {
        Self { value, error: None }
    }

    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            value: Payload::Nil,
            error: Some(error.into()),
        }
    }
}

/// What to start, where, and how it is tied to its parent.
pub struct SpawnRequest {
    pub entry: EntryId,
    pub host: EntryId,
    pub args: Vec<Payload>,
    pub parent: Option<Pid>,
    pub monitor: bool,
    pub link: bool,
    /// Overrides the host's stdio (the CLI runs its command with the terminal's).
    pub stdio: Option<Stdio>,
    /// Values the process can read with Lua's `ctx` module (`process.with_context`).
    pub context: ContextValues,
    /// Messages delivered to the new process before anything else can reach it.
    pub messages: Vec<(String, Payload)>,
}

/// A process's context values: set by its spawner, inherited by what it spawns and calls.
pub type ContextValues = Arc<BTreeMap<String, Payload>>;

impl SpawnRequest {
    /// A process with no parent, on the host's own stdio.
    pub fn new(entry: EntryId, host: EntryId, args: Vec<Payload>) -> Self {
        Self {
            entry,
            host,
            args,
            parent: None,
            monitor: false,
            link: false,
            stdio: None,
            context: ContextValues::default(),
            messages: Vec::new(),
        }
    }
}

/// A spawned process: its pid, a receiver for its exit, and one that resolves when its task
/// is gone (after a terminate, that is when the guest has actually stopped running).
pub struct Spawned {
    pub pid: Pid,
    pub exit: oneshot::Receiver<ExitResult>,
    pub stopped: oneshot::Receiver<()>,
}

/// Sends on drop: dropped with the process's task, however the task ends.
struct StoppedSignal(Option<oneshot::Sender<()>>);

impl Drop for StoppedSignal {
    fn drop(&mut self) {
        if let Some(sender) = self.0.take() {
            let _ = sender.send(());
        }
    }
}

/// An entry's prepared component, made once by whichever process needs it first.
type PreparedOnce = OnceCell<Result<Arc<PreparedEntry>, String>>;
/// An entry's core function (`function.wat`, or a core `function.wasm`); `None` when the
/// entry is a component.
type CoreOnce = OnceCell<Result<Option<Arc<CoreFunction>>, String>>;

#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

struct NodeInner {
    registry: Arc<Registry>,
    runtime: Arc<Runtime>,
    output: Arc<dyn LineSink>,
    prepared: Mutex<HashMap<EntryId, Arc<PreparedOnce>>>,
    core_functions: Mutex<HashMap<EntryId, Arc<CoreOnce>>>,
    processes: Mutex<HashMap<Pid, Record>>,
    /// Each function entry's pool: the bound on its concurrent and waiting calls.
    call_pools: Mutex<HashMap<EntryId, Arc<CallPool>>>,
    /// Live processes per host with `max_processes`.
    per_host: Mutex<HashMap<EntryId, usize>>,
    names: Mutex<HashMap<String, Pid>>,
    next_sequence: AtomicU64,
}

struct Record {
    /// The host with `max_processes` whose count this process holds, if any.
    counted_on: Option<EntryId>,
    mailbox: Arc<Mailbox>,
    /// Lua processes read their mailbox; WASM processes cannot (yet), so a cancel stops them.
    receives: bool,
    monitors: HashSet<Pid>,
    links: HashSet<Pid>,
    abort: Option<AbortHandle>,
    exit_watchers: Vec<oneshot::Sender<ExitResult>>,
}

/// The context a running process sees of itself.
#[derive(Clone)]
pub struct ProcessContext {
    pub node: Node,
    pub pid: Pid,
    pub entry: EntryId,
    pub mailbox: Arc<Mailbox>,
    pub stdio: Arc<Stdio>,
    pub context: ContextValues,
}

fn cell_for<T>(
    cells: &Mutex<HashMap<EntryId, Arc<OnceCell<T>>>>,
    entry: &EntryId,
) -> Arc<OnceCell<T>> {
    cells
        .lock()
        .unwrap()
        .entry(entry.clone())
        .or_default()
        .clone()
}

/// Fills `cell` once with `make`'s result for the entry, compiling on a blocking thread so
/// the async workers keep running processes meanwhile.
async fn once_off_the_workers<T: Clone + Send + 'static>(
    cell: &OnceCell<Result<T, String>>,
    node: &Node,
    entry: &EntryId,
    make: fn(&Runtime, &Registry, &crate::registry::Entry) -> Result<T, String>,
) -> Result<T, String> {
    cell.get_or_init(|| async {
        let node = node.clone();
        let id = entry.clone();
        tokio::task::spawn_blocking(move || {
            let registry = &node.inner.registry;
            let entry = registry
                .get(&id)
                .ok_or_else(|| format!("no entry `{id}`"))?;
            make(&node.inner.runtime, registry, entry)
        })
        .await
        .unwrap_or_else(|e| Err(format!("preparing `{entry}` failed: {e}")))
    })
    .await
    .clone()
}

/// The settings of the terminal host `wippy run` implies when the registry declares none.
const IMPLIED_TERMINAL: EntryKind = EntryKind::TerminalHost(TerminalHost { hide_logs: false });

/// The host `wippy run` runs commands on when the registry declares no `terminal.host`.
pub fn terminal_host() -> EntryId {
    EntryId::new("wippy", "terminal")
}

pub(crate) fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

impl Node {
    pub fn new(registry: Arc<Registry>, runtime: Arc<Runtime>, output: Arc<dyn LineSink>) -> Self {
        Self {
            inner: Arc::new(NodeInner {
                registry,
                runtime,
                output,
                prepared: Mutex::new(HashMap::new()),
                core_functions: Mutex::new(HashMap::new()),
                processes: Mutex::new(HashMap::new()),
                per_host: Mutex::new(HashMap::new()),
                call_pools: Mutex::new(HashMap::new()),
                names: Mutex::new(HashMap::new()),
                next_sequence: AtomicU64::new(1),
            }),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The entry's prepared component, compiled (or loaded from the cache) on first use; one
    /// per entry for the node's lifetime.
    pub async fn prepared(&self, entry: &EntryId) -> Result<Arc<PreparedEntry>, String> {
        let cell = cell_for(&self.inner.prepared, entry);
        once_off_the_workers(&cell, self, entry, |runtime, registry, entry| {
            PreparedEntry::prepare(runtime, registry, entry)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// The entry's core function, compiled on first use; `None` when the entry is not one.
    pub async fn core_function(
        &self,
        entry: &EntryId,
    ) -> Result<Option<Arc<CoreFunction>>, String> {
        let cell = cell_for(&self.inner.core_functions, entry);
        once_off_the_workers(&cell, self, entry, |runtime, registry, entry| match runtime
            .core_function(registry, entry)
        {
            None => Ok(None),
            Some(Ok(function)) => Ok(Some(Arc::new(function))),
            Some(Err(error)) => Err(error.to_string()),
        })
        .await
    }

    /// Compiles, in the background, the function entries whose `pool` asks for `warm_start`,
    /// so their first call does not wait for it. A failure shows at that call (and in the log).
    pub fn warm_start(&self) {
        let warm = (self.registry().entries())
            .filter(|e| e.kind.wasm().is_some_and(|w| w.pool.warm_start))
            .map(|e| e.id.clone());
        for id in warm {
            let node = self.clone();
            tokio::spawn(async move {
                let outcome = match node.core_function(&id).await {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => node.prepared(&id).await.map(|_| ()),
                    Err(error) => Err(error),
                };
                match outcome {
                    Ok(()) => log::info!("{id}: warm (pool.warm_start)"),
                    Err(error) => log::warn!("{id}: warm start failed: {error}"),
                }
            });
        }
    }

    /// Starts a process. Fails at once when the entry or host does not exist or is of the
    /// wrong kind; everything later (compiling, a trap) is the process's exit.
    pub fn spawn(&self, request: SpawnRequest) -> Result<Spawned, String> {
        let registry = &self.inner.registry;
        let entry = registry
            .get(&request.entry)
            .ok_or_else(|| format!("no process entry `{}` in the registry", request.entry))?;
        if !entry.kind.is_process() {
            return Err(format!(
                "`{}` is a {}, not a process (process.wasm or process.lua)",
                entry.id,
                entry.kind.name()
            ));
        }
        let host_kind = match registry.get(&request.host) {
            Some(host) => &host.kind,
            // The CLI's own terminal host exists whether or not the registry declares one.
            None if request.host == terminal_host() => &IMPLIED_TERMINAL,
            None => return Err(format!("no host `{}` in the registry", request.host)),
        };
        let stdio = match (host_kind, request.stdio) {
            (_, Some(stdio)) => stdio,
            (EntryKind::TerminalHost(_), None) => Stdio::Terminal,
            (EntryKind::ProcessHost(_), None) => Stdio::Labelled {
                label: Arc::from(""),
                sink: self.inner.output.clone(),
            },
            (other, None) => {
                return Err(format!(
                    "`{}` is a {}, not a process.host or terminal.host",
                    request.host,
                    other.name()
                ));
            }
        };
        let bounded = match host_kind {
            EntryKind::ProcessHost(settings) => settings.max_processes,
            _ => None,
        };
        if let Some(limit) = bounded {
            let mut per_host = self.inner.per_host.lock().unwrap();
            let live = per_host.entry(request.host.clone()).or_default();
            if *live >= limit {
                return Err(format!(
                    "host `{}` is full: it runs {live} processes, its `max_processes`; wait for one to end, or raise the bound",
                    request.host
                ));
            }
            *live += 1;
        }

        let sequence = self.inner.next_sequence.fetch_add(1, Ordering::Relaxed);
        let pid = Pid::new(&request.host, sequence);
        let stdio = match stdio {
            Stdio::Labelled { sink, .. } => Stdio::Labelled {
                label: format!("{} {pid}", entry.id).into(),
                sink,
            },
            other => other,
        };
        let mailbox = Arc::new(Mailbox::default());
        // A WASM actor has no `set_options`: it always hears of linked failures as events.
        if entry
            .kind
            .wasm()
            .is_some_and(|w| w.grants.allows("wippy:process/host"))
        {
            mailbox.set_trap_links(true);
        }
        let (exit_sender, exit) = oneshot::channel();
        {
            let mut processes = self.inner.processes.lock().unwrap();
            if let Some(parent) = &request.parent
                && request.link
            {
                match processes.get_mut(parent) {
                    Some(parent_record) => {
                        parent_record.links.insert(pid.clone());
                    }
                    None => {
                        drop(processes);
                        if bounded.is_some() {
                            self.release_host_slot(&request.host);
                        }
                        return Err(format!("process {parent} not found"));
                    }
                }
            }
            let parent = request.parent.iter().cloned();
            processes.insert(
                pid.clone(),
                Record {
                    counted_on: bounded.map(|_| request.host.clone()),
                    mailbox: mailbox.clone(),
                    receives: matches!(entry.kind, EntryKind::ProcessLua(_))
                        || entry
                            .kind
                            .wasm()
                            .is_some_and(|w| w.grants.allows("wippy:process/host")),
                    monitors: if request.monitor {
                        parent.clone().collect()
                    } else {
                        HashSet::new()
                    },
                    links: if request.link {
                        parent.collect()
                    } else {
                        HashSet::new()
                    },
                    abort: None,
                    exit_watchers: vec![exit_sender],
                },
            );
        }

        let context = ProcessContext {
            node: self.clone(),
            pid: pid.clone(),
            entry: entry.id.clone(),
            mailbox: mailbox.clone(),
            stdio: Arc::new(stdio),
            context: request.context,
        };
        for (topic, payload) in request.messages {
            mailbox.deliver(Envelope::Message(Message {
                from: request.parent.clone(),
                topic,
                payload,
            }));
        }
        let is_lua = matches!(entry.kind, EntryKind::ProcessLua(_));
        let args = request.args;
        let (stopped_sender, stopped) = oneshot::channel();
        let signal = StoppedSignal(Some(stopped_sender));
        let task = tokio::spawn(async move {
            let _signal = signal;
            let result = if is_lua {
                crate::lua::run_process(context.clone(), args).await
            } else {
                wasm::run_process(&context, args).await
            };
            context.node.finish(&context.pid, result);
        });
        if let Some(record) = self.inner.processes.lock().unwrap().get_mut(&pid) {
            record.abort = Some(task.abort_handle());
        }
        Ok(Spawned { pid, exit, stopped })
    }

    /// A function call's own identity, as Wippy gives each call a frame: a pid and mailbox of
    /// its own for the call's duration, so what the function spawns, monitors or receives is
    /// not mixed with its caller's. [`Node::end_call`] ends it like a process.
    pub fn begin_call(&self, caller: &ProcessContext, entry: &EntryId) -> ProcessContext {
        let sequence = self.inner.next_sequence.fetch_add(1, Ordering::Relaxed);
        let host = caller.pid.host();
        let pid = Pid::new(&host, sequence);
        let mailbox = Arc::new(Mailbox::default());
        self.inner.processes.lock().unwrap().insert(
            pid.clone(),
            Record {
                counted_on: None,
                mailbox: mailbox.clone(),
                receives: true,
                monitors: HashSet::new(),
                links: HashSet::new(),
                abort: None,
                exit_watchers: Vec::new(),
            },
        );
        ProcessContext {
            node: self.clone(),
            pid,
            entry: entry.clone(),
            mailbox,
            stdio: caller.stdio.clone(),
            context: caller.context.clone(),
        }
    }

    /// Ends a call made with [`Node::begin_call`]: its names are released and its links told.
    pub fn end_call(&self, frame: &ProcessContext, outcome: &Result<Payload, String>) {
        let result = match outcome {
            Ok(value) => ExitResult::ok(value.clone()),
            Err(error) => ExitResult::failed(error.clone()),
        };
        self.finish(&frame.pid, result);
    }

    /// Spawns and waits for the result: the value, or the error the process failed with.
    pub async fn exec(&self, request: SpawnRequest) -> Result<Payload, String> {
        let spawned = self.spawn(request)?;
        let result = spawned
            .exit
            .await
            .unwrap_or_else(|_| ExitResult::failed("the process vanished"));
        match result.error {
            None => Ok(result.value),
            Some(error) => Err(error),
        }
    }

    /// Bookkeeping when a process ends, however it ends: names released, watchers and
    /// monitors told, links broken (and told, when it failed). Only the first call counts.
    fn finish(&self, pid: &Pid, result: ExitResult) {
        let Some(record) = self.inner.processes.lock().unwrap().remove(pid) else {
            return;
        };
        if let Some(host) = &record.counted_on {
            self.release_host_slot(host);
        }
        self.inner
            .names
            .lock()
            .unwrap()
            .retain(|_, owner| owner != pid);
        record.mailbox.events.close();
        record.mailbox.inbox.close();
        for watcher in record.exit_watchers {
            let _ = watcher.send(result.clone());
        }
        let at = now_nanos();
        for monitor in &record.monitors {
            self.deliver(
                monitor,
                Envelope::Event(Event::Exit {
                    from: pid.clone(),
                    at,
                    value: result.value.clone(),
                    error: result.error.clone(),
                }),
            );
        }
        for linked in &record.links {
            if let Some(other) = self.inner.processes.lock().unwrap().get_mut(linked) {
                other.links.remove(pid);
            }
            if let Some(error) = &result.error {
                self.link_down(linked, pid, error);
            }
        }
    }

    fn release_host_slot(&self, host: &EntryId) {
        if let Some(live) = self.inner.per_host.lock().unwrap().get_mut(host) {
            *live = live.saturating_sub(1);
        }
    }

    /// A linked process failed: a process trapping links hears of it; any other fails too.
    fn link_down(&self, target: &Pid, from: &Pid, error: &str) {
        let traps = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get(target)
            .map(|r| r.receives && r.mailbox.trap_links());
        match traps {
            Some(true) => {
                self.deliver(
                    target,
                    Envelope::Event(Event::LinkDown {
                        from: from.clone(),
                        at: now_nanos(),
                        error: error.to_string(),
                    }),
                );
            }
            Some(false) => self.kill(target, format!("linked process {from} failed: {error}")),
            None => {}
        }
    }

    fn deliver(&self, target: &Pid, envelope: Envelope) -> bool {
        let mailbox = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get(target)
            .map(|r| r.mailbox.clone());
        match mailbox {
            Some(mailbox) => {
                mailbox.deliver(envelope);
                true
            }
            None => false,
        }
    }

    /// Stops a process at once and ends it with `error`.
    fn kill(&self, pid: &Pid, error: String) {
        let abort = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get_mut(pid)
            .and_then(|r| r.abort.take());
        if let Some(abort) = abort {
            abort.abort();
        }
        self.finish(pid, ExitResult::failed(error));
    }

    /// A pid, or a name registered with [`Node::register`].
    pub fn resolve(&self, dest: &str) -> Result<Pid, String> {
        let pid = match Pid::parse(dest) {
            Some(pid) => pid,
            None => self
                .inner
                .names
                .lock()
                .unwrap()
                .get(dest)
                .cloned()
                .ok_or_else(|| {
                    format!("process {dest} not found: no such pid or registered name")
                })?,
        };
        if self.inner.processes.lock().unwrap().contains_key(&pid) {
            Ok(pid)
        } else {
            Err(format!("process {pid} not found: it is not running"))
        }
    }

    pub fn send(
        &self,
        from: Option<&Pid>,
        dest: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<(), String> {
        let pid = self.resolve(dest)?;
        let message = Envelope::Message(Message {
            from: from.cloned(),
            topic: topic.to_string(),
            payload,
        });
        if self.deliver(&pid, message) {
            Ok(())
        } else {
            Err(format!("process {pid} not found: it is not running"))
        }
    }

    pub fn terminate(&self, dest: &str) -> Result<(), String> {
        let pid = self.resolve(dest)?;
        self.kill(&pid, "terminated".to_string());
        Ok(())
    }

    /// Asks a process to stop: a Lua process gets a CANCEL event it may handle; a process
    /// that cannot receive is terminated with the reason.
    pub fn cancel(&self, from: Option<&Pid>, dest: &str, reason: &str) -> Result<(), String> {
        let pid = self.resolve(dest)?;
        let receives = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get(&pid)
            .is_some_and(|r| r.receives);
        if receives {
            self.deliver(
                &pid,
                Envelope::Event(Event::Cancel {
                    from: from.cloned(),
                    at: now_nanos(),
                    reason: reason.to_string(),
                }),
            );
        } else {
            self.kill(&pid, format!("cancelled: {reason}"));
        }
        Ok(())
    }

    pub fn monitor(&self, watcher: &Pid, dest: &str, on: bool) -> Result<(), String> {
        let pid = self.resolve(dest)?;
        let mut processes = self.inner.processes.lock().unwrap();
        let record = processes
            .get_mut(&pid)
            .ok_or_else(|| format!("process {pid} not found"))?;
        if on {
            record.monitors.insert(watcher.clone());
        } else {
            record.monitors.remove(watcher);
        }
        Ok(())
    }

    pub fn link(&self, from: &Pid, dest: &str, on: bool) -> Result<(), String> {
        let pid = self.resolve(dest)?;
        let mut processes = self.inner.processes.lock().unwrap();
        for (a, b) in [(&pid, from), (from, &pid)] {
            if let Some(record) = processes.get_mut(a) {
                if on {
                    record.links.insert(b.clone());
                } else {
                    record.links.remove(b);
                }
            }
        }
        Ok(())
    }

    /// Names a live process; the name is released when it exits.
    pub fn register(&self, name: &str, pid: &Pid) -> Result<(), String> {
        if !self.inner.processes.lock().unwrap().contains_key(pid) {
            return Err(format!("process {pid} not found"));
        }
        let mut names = self.inner.names.lock().unwrap();
        match names.get(name) {
            Some(owner) if owner != pid => {
                Err(format!("name `{name}` is already registered by {owner}"))
            }
            _ => {
                names.insert(name.to_string(), pid.clone());
                Ok(())
            }
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Pid> {
        self.inner.names.lock().unwrap().get(name).cloned()
    }

    pub fn unregister(&self, name: &str, pid: &Pid) -> bool {
        let mut names = self.inner.names.lock().unwrap();
        if names.get(name) == Some(pid) {
            names.remove(name);
            true
        } else {
            false
        }
    }

    /// The pool bounding calls of a function entry, made on its first call.
    pub(crate) fn call_pool(&self, id: &EntryId, pool: Pool) -> Arc<CallPool> {
        (self.inner.call_pools.lock().unwrap())
            .entry(id.clone())
            .or_insert_with(|| Arc::new(CallPool::new(pool)))
            .clone()
    }

    pub fn process_count(&self) -> usize {
        self.inner.processes.lock().unwrap().len()
    }
}
