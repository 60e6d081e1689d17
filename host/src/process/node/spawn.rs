//! Starting processes: what to start and where, the checks a spawn makes (entry kind, host,
//! `max_processes`, memory left), and the task that runs it.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};

use futures_util::future::{AbortHandle, Abortable};
use tokio::sync::oneshot;

use super::{ExitResult, FastSet, IMPLIED_TERMINAL, Node, ProcessContext, Record, terminal_host};
use crate::process::mailbox::{Envelope, Mailbox, Message};
use crate::process::{Pid, Stdio, wasm};
use crate::registry::{DEFAULT_MAX_MAILBOX_MESSAGES, EntryId, EntryKind};
use crate::values::Payload;

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

impl Node {
    /// Starts a process. Fails at once when the entry or host does not exist or is of the
    /// wrong kind; everything later (compiling, a trap) is the process's exit.
    pub fn spawn(&self, request: SpawnRequest) -> Result<Spawned, String> {
        let (spawned, run) = self.start(request)?;
        tokio::spawn(run);
        Ok(spawned)
    }

    /// A process ready to run: its record is in the table (it can be sent to, monitored,
    /// terminated) and `run` runs it to its end, wherever it is polled. Terminating it aborts
    /// `run` at its next poll.
    pub(super) fn start(
        &self,
        request: SpawnRequest,
    ) -> Result<
        (
            Spawned,
            Abortable<impl Future<Output = ()> + Send + 'static>,
        ),
        String,
    > {
        if self.is_stopping() {
            return Err(stopping_refusal(&request.entry));
        }
        let generation = self.generation();
        let registry = generation.registry();
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
        let (bounded, max_messages) = match host_kind {
            EntryKind::ProcessHost(settings) => {
                (settings.max_processes, settings.max_mailbox_messages)
            }
            _ => (None, DEFAULT_MAX_MAILBOX_MESSAGES),
        };
        if request.messages.len() > max_messages {
            return Err(format!(
                "{} first messages do not fit the mailbox of a process on `{}` (`host.max_mailbox_messages` is {max_messages}); send fewer, or raise the bound",
                request.messages.len(),
                request.host
            ));
        }
        (self.inner.headroom.check())
            .map_err(|e| format!("cannot spawn `{}`: {e}", request.entry))?;
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

        let pid = self.new_pid(&request.host);
        let stdio = match stdio {
            Stdio::Labelled { sink, .. } => Stdio::Labelled {
                label: format!("{} {pid}", entry.id).into(),
                sink,
            },
            other => other,
        };
        let mailbox = Arc::new(Mailbox::new(max_messages));
        let stop = Arc::new(AtomicBool::new(false));
        // A WASM actor has no `set_options`: it always hears of linked failures as events.
        if entry
            .kind
            .wasm()
            .is_some_and(|w| w.grants.allows("wippy:process/host"))
        {
            mailbox.set_trap_links(true);
        }
        let (exit_sender, exit) = oneshot::channel();
        let (abort, abort_registration) = AbortHandle::new_pair();
        {
            let mut processes = self.inner.processes.lock().unwrap();
            // Again under the lock [`Node::stop`] sets it under: a spawn either is in the table
            // the stop cancels, or does not start.
            if self.is_stopping() {
                drop(processes);
                if bounded.is_some() {
                    self.release_host_slot(&request.host);
                }
                return Err(stopping_refusal(&request.entry));
            }
            // A parent of another node keeps its half of the link there (see `remote`).
            if let Some(parent) = &request.parent
                && request.link
                && self.elsewhere(parent.as_str()).is_none()
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
                        FastSet::default()
                    },
                    watching: Vec::new(),
                    links: if request.link {
                        parent.collect()
                    } else {
                        FastSet::default()
                    },
                    abort: Some(abort),
                    stop: stop.clone(),
                    exit_watchers: vec![exit_sender],
                    is_call: false,
                    names: Vec::new(),
                    cluster_names: Vec::new(),
                },
            );
            self.inner.heap.spawned(processes.len());
        }

        let context = ProcessContext {
            node: self.clone(),
            pid: pid.clone(),
            entry: entry.id.clone(),
            generation: generation.clone(),
            mailbox: mailbox.clone(),
            stdio: Arc::new(stdio),
            context: request.context,
            stop,
        };
        for (topic, payload) in request.messages {
            // They fit: counted above.
            let _ = mailbox.deliver(Envelope::Message(Message {
                from: request.parent.clone(),
                topic,
                payload,
            }));
        }
        let is_lua = matches!(entry.kind, EntryKind::ProcessLua(_));
        let args = request.args;
        let (stopped_sender, stopped) = oneshot::channel();
        let signal = StoppedSignal(Some(stopped_sender));
        let unstarted = self.inner.headroom.unstarted();
        let run = async move {
            drop(unstarted);
            let _signal = signal;
            let result = if is_lua {
                match context.node.scripts().run(context.clone(), args).await {
                    Ok(value) => ExitResult::ok(value),
                    Err(error) => ExitResult::failed(error.message),
                }
            } else {
                // Boxed: inline, its 0.8 KiB would size every process's task, Lua ones too.
                Box::pin(wasm::run_process(&context, args)).await
            };
            context.node.finish(&context.pid, result);
        };
        Ok((
            Spawned { pid, exit, stopped },
            Abortable::new(run, abort_registration),
        ))
    }

    /// Spawns and waits for the result: the value, or the error the process failed with.
    ///
    /// Called from a task (a process's, a service's), the process runs in the caller's task:
    /// it is a process all the same (its own pid, mailbox and limits; `terminate` reaches it),
    /// but is not handed to the scheduler and, as often as not, to the other worker thread and
    /// back — most of an `exec`'s time. If the caller stops waiting (it ends, or is
    /// terminated), the process carries on in a task of its own, as a spawned one would.
    pub async fn exec(&self, request: SpawnRequest) -> Result<Payload, String> {
        let (spawned, run) = self.start(request)?;
        if tokio::task::try_id().is_some() {
            Inline(Some(Box::pin(run))).await;
        } else {
            // Not in a task (a `block_on`, such as the CLI's): that thread is no worker, and
            // every message between the process and others would cross threads.
            tokio::spawn(run);
        }
        let result = spawned
            .exit
            .await
            .unwrap_or_else(|_| ExitResult::failed("the process vanished"));
        match result.error {
            None => Ok(result.value),
            Some(error) => Err(error),
        }
    }
}

/// A process run in its caller's task until it ends; handed to a task of its own if the
/// caller drops it first.
struct Inline<F: Future<Output: Send> + Send + 'static>(Option<Pin<Box<F>>>);

impl<F: Future<Output: Send> + Send + 'static> Future for Inline<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(run) = self.0.as_mut() else {
            return Poll::Ready(());
        };
        let done = run.as_mut().poll(cx).is_ready();
        if done {
            self.0 = None;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<F: Future<Output: Send> + Send + 'static> Drop for Inline<F> {
    fn drop(&mut self) {
        if let (Some(run), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(run);
        }
    }
}

fn stopping_refusal(entry: &EntryId) -> String {
    format!("cannot spawn `{entry}`: the node is stopping and starts no new processes")
}
