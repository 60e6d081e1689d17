//! The node: every live process, their links, monitors and names, and the hosts they run on.
//! Processes are tokio tasks; a process waiting for anything holds no thread.

mod calls;
mod event_bus;
mod generation;
mod headroom;
mod heap;
mod names;
mod reload;
mod remote;
mod requests;
mod signals;
mod spawn;
mod stopping;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures_util::future::AbortHandle;
use tokio::sync::oneshot;

use super::mailbox::{Envelope, Event, Mailbox, MailboxFull, Message};
use super::{Alone, Errand, Membership, Pid, Scripts};
use crate::engine::Runtime;
use crate::guest::{LineSink, Stdio};
use crate::registry::{EntryId, EntryKind, Registry, TerminalHost};
use crate::values::Payload;

pub use event_bus::BusEvent;
pub use generation::Generation;
pub use signals::SendError;
pub use spawn::{ContextValues, SpawnRequest, Spawned};

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

#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

/// The tables a message or a spawn looks a pid or name up in. std's SipHash, built to resist
/// hash flooding by an attacker who picks the keys, was 3 % of a Lua ping-pong; the node makes
/// the pids, and foldhash is seeded per process too.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

struct NodeInner {
    /// The registry served now and what was made of its entries; a reload swaps it whole.
    generation: RwLock<Arc<Generation>>,
    runtime: Arc<Runtime>,
    output: Arc<dyn LineSink>,
    /// Runs `process.lua` and `function.lua` entries.
    scripts: Arc<dyn Scripts>,
    /// The cluster the node is in; alone until it joins one.
    membership: std::sync::RwLock<Arc<dyn Membership>>,
    /// The node's name in its cluster, which its pids carry; set once, when it joins.
    cluster_name: std::sync::OnceLock<Arc<str>>,
    processes: Mutex<FastMap<Pid, Record>>,
    /// Live processes per host with `max_processes`.
    per_host: Mutex<FastMap<EntryId, usize>>,
    names: Mutex<FastMap<String, Pid>>,
    next_sequence: AtomicU64,
    /// Set once the node begins to stop: spawns are refused from then on.
    stopping: AtomicBool,
    heap: heap::HeapTrim,
    headroom: headroom::Headroom,
    events: event_bus::EventBus,
}

struct Record {
    /// The host with `max_processes` whose count this process holds, if any.
    counted_on: Option<EntryId>,
    mailbox: Arc<Mailbox>,
    /// Lua processes read their mailbox; WASM processes cannot (yet), so a cancel stops them.
    receives: bool,
    monitors: FastSet<Pid>,
    /// Processes of other nodes it monitors (its half of those monitors; see `remote`).
    watching: Vec<Pid>,
    links: FastSet<Pid>,
    abort: Option<AbortHandle>,
    /// Raised when the process is killed, for code that cannot be dropped at once (a script
    /// busy where it cannot yield checks it).
    stop: Arc<AtomicBool>,
    exit_watchers: Vec<oneshot::Sender<ExitResult>>,
    /// A function call's frame ([`Node::begin_call`]): its caller gets the outcome itself.
    is_call: bool,
    /// Names it registered, released when it ends (without a walk over every name).
    names: Vec<String>,
    /// Names it holds across the cluster, released the same way.
    cluster_names: Vec<String>,
}

impl Record {
    /// A frame's record (a function call's, a request's): it receives events (a CANCEL is
    /// delivered, not fatal), and whoever began it reports how it ended.
    fn frame(mailbox: &Arc<Mailbox>, abort: Option<AbortHandle>, stop: Arc<AtomicBool>) -> Self {
        Self {
            counted_on: None,
            mailbox: mailbox.clone(),
            receives: true,
            monitors: FastSet::default(),
            watching: Vec::new(),
            links: FastSet::default(),
            abort,
            stop,
            exit_watchers: Vec::new(),
            is_call: true,
            names: Vec::new(),
            cluster_names: Vec::new(),
        }
    }
}

/// The context a running process sees of itself.
#[derive(Clone)]
pub struct ProcessContext {
    pub node: Node,
    pub pid: Pid,
    pub entry: EntryId,
    /// The registry generation the process (or call, or request) began in: what it runs.
    pub generation: Arc<Generation>,
    pub mailbox: Arc<Mailbox>,
    pub stdio: Arc<Stdio>,
    pub context: ContextValues,
    /// Raised when this process (for a function call: its caller) is killed.
    pub stop: Arc<AtomicBool>,
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
    /// A node running `registry`'s entries: WASM through `runtime`, scripts through
    /// `scripts`, labelled output of `process.host` processes to `output`.
    pub fn new(
        registry: Arc<Registry>,
        runtime: Arc<Runtime>,
        output: Arc<dyn LineSink>,
        scripts: Arc<dyn Scripts>,
    ) -> Self {
        Self {
            inner: Arc::new(NodeInner {
                generation: RwLock::new(Arc::new(Generation::new(registry))),
                runtime,
                output,
                scripts,
                membership: std::sync::RwLock::new(Arc::new(Alone)),
                cluster_name: std::sync::OnceLock::new(),
                processes: Mutex::default(),
                per_host: Mutex::default(),
                names: Mutex::default(),
                next_sequence: AtomicU64::new(1),
                stopping: AtomicBool::new(false),
                heap: heap::HeapTrim::default(),
                headroom: headroom::Headroom::default(),
                events: event_bus::EventBus::default(),
            }),
        }
    }

    /// The registry served now. A process that started keeps the entry it started from;
    /// what it looks up later (a function, a spawn) comes from the registry of that moment.
    pub fn registry(&self) -> Arc<Registry> {
        self.generation().registry.clone()
    }

    /// The generation served now: its registry and what was made of its entries.
    pub fn generation(&self) -> Arc<Generation> {
        self.inner.generation.read().unwrap().clone()
    }

    pub(crate) fn scripts(&self) -> &dyn Scripts {
        &*self.inner.scripts
    }

    /// The cluster the node is in (a cluster of one until it joins one).
    pub fn membership(&self) -> Arc<dyn Membership> {
        self.inner.membership.read().unwrap().clone()
    }

    /// Records the cluster the node joined: from now on its pids name it.
    pub fn set_membership(&self, membership: Arc<dyn Membership>) {
        let _ = self.inner.cluster_name.set(membership.node().into());
        *self.inner.membership.write().unwrap() = membership;
    }

    /// A new pid on `host`: `{node@host|0x…}` once the node is in a cluster.
    fn new_pid(&self, host: &EntryId) -> Pid {
        let sequence = self.inner.next_sequence.fetch_add(1, Ordering::Relaxed);
        Pid::on_node(self.inner.cluster_name.get().map(|n| &**n), host, sequence)
    }

    /// Bookkeeping when a process ends, however it ends: names released, watchers and
    /// monitors told, links broken (and told, when it failed). Only the first call counts.
    fn finish(&self, pid: &Pid, result: ExitResult) {
        let (record, live) = {
            let mut processes = self.inner.processes.lock().unwrap();
            (processes.remove(pid), processes.len())
        };
        let Some(record) = record else {
            return;
        };
        self.inner.heap.ended(live);
        if let Some(host) = &record.counted_on {
            self.release_host_slot(host);
        }
        if !record.names.is_empty() {
            let mut names = self.inner.names.lock().unwrap();
            for name in &record.names {
                if names.get(name) == Some(pid) {
                    names.remove(name);
                }
            }
        }
        if !record.cluster_names.is_empty()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let membership = self.membership();
            for name in record.cluster_names {
                runtime.spawn(membership.unregister(&name, pid));
            }
        }
        record.mailbox.events.close();
        record.mailbox.inbox.close();
        if let Some(error) = &result.error {
            // Killed (terminated, cancelled without a mailbox, or by a failed link): whoever
            // did it knows.
            let observed = record.is_call
                || record.stop.load(Ordering::Relaxed)
                || record.exit_watchers.iter().any(|w| !w.is_closed())
                || !record.monitors.is_empty()
                || !record.links.is_empty();
            if observed {
                log::debug!("process {pid} failed: {error}");
            } else {
                // Nobody waits for it, monitors or links it: this line is all that says so.
                log::warn!("process {pid} failed, and no process monitors or links it: {error}");
            }
        }
        for watcher in record.exit_watchers {
            let _ = watcher.send(result.clone());
        }
        let at = now_nanos();
        for monitor in &record.monitors {
            if let Some(node) = self.elsewhere(monitor.as_str()) {
                let exit = Errand::Exit {
                    value: result.value.clone(),
                    error: result.error.clone(),
                };
                let _ = self.post(node, Some(pid), monitor.as_str(), exit);
                continue;
            }
            // Events are never refused.
            let _ = self.deliver(
                monitor,
                Envelope::Event(Event::Exit {
                    from: pid.clone(),
                    at,
                    value: result.value.clone(),
                    error: result.error.clone(),
                }),
            );
        }
        for watched in &record.watching {
            if let Some(node) = watched.node() {
                let _ = self.post(node, Some(pid), watched.as_str(), Errand::Monitor(false));
            }
        }
        for linked in &record.links {
            if let Some(node) = self.elsewhere(linked.as_str()) {
                let errand = match &result.error {
                    Some(error) => Errand::LinkDown {
                        error: error.clone(),
                    },
                    None => Errand::Link(false),
                };
                let _ = self.post(node, Some(pid), linked.as_str(), errand);
                continue;
            }
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

    /// Queues `envelope` for `target`: `false` when it is not running. A message to a full
    /// mailbox is refused with the reason.
    fn deliver(&self, target: &Pid, envelope: Envelope) -> Result<bool, String> {
        let mailbox = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get(target)
            .map(|r| r.mailbox.clone());
        let Some(mailbox) = mailbox else {
            return Ok(false);
        };
        match mailbox.deliver(envelope) {
            Ok(()) => Ok(true),
            Err(MailboxFull(waiting)) => Err(mailbox_full(target, waiting)),
        }
    }

    /// Stops a process at once and ends it with `error`.
    fn kill(&self, pid: &Pid, error: String) {
        let abort = (self.inner.processes.lock().unwrap().get_mut(pid)).and_then(|r| {
            r.stop.store(true, Ordering::Relaxed);
            r.abort.take()
        });
        if let Some(abort) = abort {
            abort.abort();
        }
        self.finish(pid, ExitResult::failed(error));
    }

    pub fn process_count(&self) -> usize {
        self.inner.processes.lock().unwrap().len()
    }
}

/// Why a message for `target` was refused when `waiting` messages fill its mailbox.
fn mailbox_full(target: &Pid, waiting: usize) -> String {
    format!(
        "the mailbox of process {target} is full: {waiting} messages wait unread (its host's `host.max_mailbox_messages`); the receiver is not keeping up — send less often, wait for its replies, or raise the bound"
    )
}
