//! Processes of other nodes: what arrives from them, monitors and links that cross nodes,
//! spawns on and for other nodes, and what a node that is gone leaves its watchers.
//!
//! Each side keeps its half: a process monitored or linked from another node holds that
//! node's pid in its `monitors` or `links`, as for a local one, and its end is posted there;
//! the watcher holds the pid in `watching` (monitors) or `links`, so that an EXIT or
//! LINK_DOWN arriving after an unmonitor or unlink is dropped, and a node that is gone can
//! be answered for.

use std::sync::Arc;

use super::{
    Envelope, Event, ExitResult, Node, Pid, Record, SendError, SpawnRequest, Spawned, now_nanos,
};
use crate::process::mailbox::Mailbox;
use crate::process::{Errand, RemoteSpawn};
use crate::registry::DEFAULT_MAX_MAILBOX_MESSAGES;
use crate::values::Payload;

impl Node {
    /// The node a pid names when it is another than this one.
    pub(super) fn elsewhere<'d>(&self, dest: &'d str) -> Option<&'d str> {
        let host_part = dest.strip_prefix('{')?.split('|').next()?;
        let (node, _) = host_part.split_once('@')?;
        let own = self.inner.cluster_name.get().map(|n| &**n);
        (own != Some(node)).then_some(node)
    }

    /// A spawn's host as written (`app:processes`, or `app:processes@b` for a host of node
    /// `b`): the host, and the node when it is another than this one.
    pub fn placement<'h>(&self, host: &'h str) -> (&'h str, Option<&'h str>) {
        let Some((host, node)) = host.rsplit_once('@') else {
            return (host, None);
        };
        let own = self.inner.cluster_name.get().map(|n| &**n);
        (host, (own != Some(node)).then_some(node))
    }

    pub(super) fn post(
        &self,
        node: &str,
        from: Option<&Pid>,
        to: &str,
        errand: Errand,
    ) -> Result<(), SendError> {
        self.membership().post(node, from, to, errand)
    }

    /// An errand from a process of another node (`from`) for `to`, a process of this one.
    pub fn arrived(&self, from: Option<Pid>, to: &str, errand: Errand) -> Result<(), String> {
        match errand {
            Errand::Message { topic, payload } => {
                (self.send(from.as_ref(), to, &topic, payload)).map_err(|e| e.to_string())
            }
            Errand::Terminate => self.terminate(to),
            Errand::Cancel { reason, deadline } => {
                self.cancel(from.as_ref(), to, &reason, deadline)
            }
            errand => {
                let from = from.ok_or("a letter about a process without its sender")?;
                self.tie(&from, to, errand);
                Ok(())
            }
        }
    }

    /// A monitor, link, EXIT or LINK_DOWN between `from` (of another node) and `to`.
    fn tie(&self, from: &Pid, to: &str, errand: Errand) {
        let Some(to) = Pid::parse(to) else {
            return;
        };
        let mut processes = self.inner.processes.lock().unwrap();
        let Some(record) = processes.get_mut(&to) else {
            drop(processes);
            // Watching or linking a process that is not running: its watcher hears at once,
            // as from one that ended.
            let error = format!("process {to} is not running");
            let answer = match errand {
                Errand::Monitor(true) => Errand::Exit {
                    value: Payload::Nil,
                    error: Some(error),
                },
                Errand::Link(true) => Errand::LinkDown { error },
                _ => return,
            };
            if let Some(node) = from.node() {
                let _ = self.post(node, Some(&to), from.as_str(), answer);
            }
            return;
        };
        match errand {
            Errand::Monitor(true) => drop(record.monitors.insert(from.clone())),
            Errand::Monitor(false) => drop(record.monitors.remove(from)),
            Errand::Link(true) => drop(record.links.insert(from.clone())),
            Errand::Link(false) => drop(record.links.remove(from)),
            // Unwatched since (an unmonitor crossed it): dropped, as after a local one.
            Errand::Exit { value, error } => record.watched_ended(from, value, error),
            Errand::LinkDown { error } => {
                if record.links.remove(from) {
                    drop(processes);
                    self.link_down(&to, from, &error);
                }
            }
            Errand::Message { .. } | Errand::Terminate | Errand::Cancel { .. } => {}
        }
    }

    /// Starts `request` on `node`, another node of the cluster, as a child of its parent.
    pub async fn spawn_elsewhere(&self, node: &str, request: SpawnRequest) -> Result<Pid, String> {
        let parent = request.parent.clone().ok_or_else(|| {
            format!("a spawn on node `{node}` comes from a process, and this one has none")
        })?;
        let remote = RemoteSpawn {
            entry: request.entry,
            host: request.host,
            args: request.args,
            monitor: request.monitor,
            link: request.link,
            context: (*request.context).clone(),
            messages: request.messages,
        };
        self.membership().spawn(node, &parent, remote).await
    }

    /// [`Node::exec`] on another node: the process is spawned there, monitored by a frame of
    /// the caller (a pid of its own on the caller's host, as a function call has), and its
    /// EXIT is the result. If the caller stops waiting, the process carries on there.
    pub async fn exec_elsewhere(
        &self,
        node: &str,
        request: SpawnRequest,
    ) -> Result<Payload, String> {
        let caller = request.parent.clone().ok_or_else(|| {
            format!("an exec on node `{node}` comes from a process, and this one has none")
        })?;
        let mailbox = Arc::new(Mailbox::new(DEFAULT_MAX_MAILBOX_MESSAGES));
        let frame = Frame(self.clone(), self.new_pid(&caller.host()));
        {
            let record = Record::frame(&mailbox, None, Arc::default());
            self.inner
                .processes
                .lock()
                .unwrap()
                .insert(frame.1.clone(), record);
        }
        let request = SpawnRequest {
            parent: Some(frame.1.clone()),
            monitor: true,
            link: false,
            ..request
        };
        let child = self.spawn_elsewhere(node, request).await?;
        loop {
            match mailbox.next().await {
                Some(Envelope::Event(Event::Exit {
                    from, value, error, ..
                })) if from == child => return error.map_or(Ok(value), Err),
                Some(_) => {}
                None => return Err(format!("the wait for {child} on node `{node}` ended")),
            }
        }
    }

    /// Starts a process for `parent`, a process of another node; `answer` is told its pid
    /// (or why not) before it runs, so its EXIT cannot overtake the answer.
    pub fn spawn_for(
        &self,
        parent: Pid,
        request: RemoteSpawn,
        answer: impl FnOnce(Result<&Pid, String>),
    ) {
        let local = SpawnRequest {
            parent: Some(parent),
            monitor: request.monitor,
            link: request.link,
            context: request.context.into(),
            messages: request.messages,
            ..SpawnRequest::new(request.entry, request.host, request.args)
        };
        match self.start(local) {
            Ok((Spawned { pid, .. }, run)) => {
                answer(Ok(&pid));
                tokio::spawn(run);
            }
            Err(error) => answer(Err(error)),
        }
    }

    /// `child`, a process of another node, was spawned by `parent` with these ties.
    pub fn adopt(&self, parent: &Pid, child: &Pid, monitor: bool, link: bool) {
        let mut processes = self.inner.processes.lock().unwrap();
        if let Some(record) = processes.get_mut(parent) {
            if monitor {
                record.watching.push(child.clone());
            }
            if link {
                record.links.insert(child.clone());
            }
            return;
        }
        drop(processes);
        // The parent ended while it waited: a linked child hears of it (as of any linked
        // process that ended first), a monitor is dropped.
        if let Some(node) = child.node() {
            let error = format!("process {parent} ended before node `{node}` answered its spawn");
            for (tied, untie) in [
                (monitor, Errand::Monitor(false)),
                (link, Errand::LinkDown { error }),
            ] {
                if tied {
                    let _ = self.post(node, Some(parent), child.as_str(), untie);
                }
            }
        }
    }

    /// `watcher` just tied itself to `target`, a process of `node`, which is not (or no
    /// longer) in the cluster: the EXIT (a monitor) or LINK_DOWN (a link) comes at once, as
    /// Erlang's `noconnection` — unless the sweep of `node` already brought it.
    pub(super) fn unreachable(&self, watcher: &Pid, target: &Pid, node: &str, link: bool) {
        let error = format!("node `{node}` is not in the cluster");
        let mut processes = self.inner.processes.lock().unwrap();
        let Some(record) = processes.get_mut(watcher) else {
            return;
        };
        if link {
            if record.links.remove(target) {
                drop(processes);
                self.link_down(watcher, target, &error);
            }
            return;
        }
        record.watched_ended(target, Payload::Nil, Some(error));
    }

    /// `node` is gone (lost, or left): every process here that monitors one of its processes
    /// gets an EXIT, every one linked to one a LINK_DOWN (or fails), with `why` in the error.
    pub fn node_gone(&self, node: &str, why: &str) {
        let on_node = |pid: &Pid| pid.node() == Some(node);
        let error = format!("node `{node}` {why}");
        let mut downs = Vec::new();
        for (pid, record) in self.inner.processes.lock().unwrap().iter_mut() {
            record.monitors.retain(|p| !on_node(p));
            let gone: Vec<Pid> = record
                .watching
                .iter()
                .filter(|p| on_node(p))
                .cloned()
                .collect();
            for from in gone {
                record.watched_ended(&from, Payload::Nil, Some(error.clone()));
            }
            let linked: Vec<Pid> = record
                .links
                .iter()
                .filter(|p| on_node(p))
                .cloned()
                .collect();
            for gone in linked {
                record.links.remove(&gone);
                downs.push((pid.clone(), gone));
            }
        }
        for (local, from) in downs {
            self.link_down(&local, &from, &error);
        }
    }
}

impl Record {
    /// `from`, a process of another node this one watches, ended: it is watched no more,
    /// and its EXIT is delivered (events are never refused). Nothing if it was not watched.
    fn watched_ended(&mut self, from: &Pid, value: Payload, error: Option<String>) {
        let Some(at) = self.watching.iter().position(|p| p == from) else {
            return;
        };
        self.watching.swap_remove(at);
        let exit = Event::Exit {
            from: from.clone(),
            at: now_nanos(),
            value,
            error,
        };
        let _ = self.mailbox.deliver(Envelope::Event(exit));
    }
}

/// An exec's frame on this node, ended however the exec ends (its caller may be dropped).
struct Frame(Node, Pid);

impl Drop for Frame {
    fn drop(&mut self) {
        self.0.finish(&self.1, ExitResult::ok(Payload::Nil));
    }
}
