//! The node's one cluster task: heartbeats and the member list, letters from other nodes,
//! and reports of letters taken. Being one task, a node found gone and a letter from it are
//! handled in order: nothing a late letter sets up outlives the sweep, and the answer to a
//! spawn is adopted before, or not after, its node is swept.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::kv;
use futures_util::StreamExt;

use super::letter::{Errand, Letter};
use super::members::Heard;
use super::wire::{self, Announcement};
use super::{Cluster, HEARTBEAT, LOST_AFTER, codec, letter};
use crate::process::Pid;

/// Subscribes to the cluster's subjects, calls the roll (the nodes that answer within a
/// short quiet spell are members when this returns), and starts the task.
pub async fn start(cluster: Arc<Cluster>, changes: Option<kv::Watch>) -> Result<(), String> {
    let subscribe = |subject: String| {
        let client = cluster.client.clone();
        async move {
            (client.subscribe(subject.clone()).await)
                .map_err(|e| format!("cannot subscribe to {subject}: {e}"))
        }
    };
    let node = cluster.node.as_str();
    let mut heartbeats = subscribe(wire::HEARTBEAT.into()).await?;
    let mut leaves = subscribe(wire::LEAVE.into()).await?;
    let mut roll_calls = subscribe(wire::ROLL_CALL.into()).await?;
    let mut pings = subscribe(wire::ping_subject(node)).await?;
    let mut mail = subscribe(wire::mail_subject(node, "*", "*")).await?;
    let mut credits = subscribe(wire::credit_subject(node, "*")).await?;
    let inbox = cluster.client.new_inbox();
    let mut present = subscribe(inbox.clone()).await?;
    (cluster.client)
        .publish_with_reply(wire::ROLL_CALL, inbox, "".into())
        .await
        .map_err(|e| format!("cannot call the roll of the cluster: {e}"))?;
    let quiet = Duration::from_millis(20);
    let called = tokio::time::Instant::now();
    while called.elapsed() < Duration::from_millis(500) {
        match tokio::time::timeout(quiet, present.next()).await {
            Ok(Some(message)) => cluster.heard(&message.payload),
            _ => break,
        }
    }
    let names = cluster.names.clone();
    tokio::spawn(async move { names.keep(changes).await });
    let me = cluster.clone();
    tokio::spawn(async move {
        // Names of nodes that were gone before this one joined (a whole cluster stopped at
        // once, say) are swept once every live node has been heard.
        tokio::time::sleep(LOST_AFTER).await;
        me.names.sweep(&me.nodes()).await;
    });
    let me = cluster.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                // Heartbeats first: a node's first letter does not overtake its first beat.
                biased;
                _ = tick.tick() => me.beat().await,
                Some(message) = heartbeats.next() => me.heard(&message.payload),
                Some(message) = present.next() => me.heard(&message.payload),
                Some(message) = leaves.next() => me.left(&message.payload),
                Some(message) = roll_calls.next() => me.reply(message).await,
                Some(message) = pings.next() => me.reply(message).await,
                Some(message) = credits.next() => {
                    let highest = std::str::from_utf8(&message.payload).ok().and_then(|c| c.parse().ok());
                    me.mail.reported(wire::creditor(&message.subject), highest.unwrap_or(0));
                }
                Some(message) = mail.next() => me.arrived(&message.subject, &message.payload).await,
                else => break,
            }
        }
    });
    (cluster.client.flush().await)
        .map_err(|e| format!("the NATS server did not take the subscriptions: {e}"))
}

impl Cluster {
    /// Says this node is alive, reports the letters taken, and sweeps the nodes not heard
    /// from for [`LOST_AFTER`].
    async fn beat(&self) {
        if self.leaving.load(Ordering::Relaxed) {
            return;
        }
        // A failed publish (the server is away) is retried at the next beat.
        let _ = (self.client)
            .publish(wire::HEARTBEAT, self.announcement().encode())
            .await;
        for (node, highest) in self.mail.unreported() {
            self.report(&node, highest).await;
        }
        let connected = self.connected.load(Ordering::Relaxed);
        for lost in self.members.lost(LOST_AFTER) {
            let why = match connected {
                true => format!("is lost: nothing heard from it for {LOST_AFTER:?}"),
                false => format!(
                    "is out of reach: this node lost its NATS server, and has heard nothing from it for {LOST_AFTER:?}"
                ),
            };
            log::warn!("node `{lost}` {why}");
            self.gone(&lost, &why);
        }
    }

    /// A heartbeat or an answer to the roll call.
    fn heard(&self, bytes: &[u8]) {
        if let Some(a) = Announcement::decode(bytes) {
            self.heard_from(&a.node, a.incarnation);
        }
    }

    fn heard_from(&self, node: &str, incarnation: u64) {
        if node == self.node {
            return;
        }
        match self.members.heard(node, incarnation) {
            Heard::Again => {}
            Heard::Joined => {
                log::info!("node `{node}` joined the cluster");
                self.mail.forget(node);
            }
            Heard::Restarted => {
                log::warn!("node `{node}` started again");
                self.gone(node, "started again");
            }
        }
    }

    fn left(&self, bytes: &[u8]) {
        if let Some(a) = Announcement::decode(bytes)
            && a.incarnation == self.members.incarnation(&a.node).unwrap_or(a.incarnation)
            && self.members.remove(&a.node)
        {
            log::info!("node `{}` left the cluster", a.node);
            self.gone(&a.node, "left the cluster");
        }
    }

    /// `node` is lost, left or started again: what waited on its processes hears so.
    fn gone(&self, node: &str, why: &str) {
        self.spawns.node_gone(node, why);
        self.local.node_gone(node, why);
        self.mail.forget(node);
        // Cut off itself, this node cannot tell; the nodes still connected delete them.
        if self.connected.load(Ordering::Relaxed) {
            let (names, node) = (self.names.clone(), node.to_string());
            tokio::spawn(async move { names.node_gone(&node).await });
        }
    }

    /// Tells `node` this one took its letters up to `highest`.
    async fn report(&self, node: &str, highest: u64) {
        let subject = wire::credit_subject(node, &self.node);
        let _ = (self.client)
            .publish(subject, highest.to_string().into())
            .await;
    }

    async fn reply(&self, message: async_nats::Message) {
        if let Some(reply) = message.reply {
            let _ = (self.client)
                .publish(reply, self.announcement().encode())
                .await;
        }
    }

    /// A letter on this node's mail subject: a node that writes is alive.
    async fn arrived(&self, subject: &str, bytes: &[u8]) {
        let Some((node, incarnation)) = wire::sender(subject) else {
            return;
        };
        self.heard_from(node, incarnation);
        let seq = self.deliver(node, bytes);
        if let Some(highest) = self.mail.took(node, seq) {
            self.report(node, highest).await;
        }
    }

    /// A letter from a process of `node`: its number, once handled.
    fn deliver(&self, node: &str, bytes: &[u8]) -> u64 {
        let received = Letter::decode(bytes, codec::max_payload());
        let received = match received {
            Ok(received) => received,
            Err(problem) => {
                log::warn!(
                    "node `{}`: a letter from node `{node}` was dropped: {problem}",
                    self.node
                );
                return 0;
            }
        };
        let from = received.from.as_deref().and_then(Pid::parse);
        let to = received.to.as_str();
        // A letter speaks for processes of the node that sent it, to one of this node's.
        let own_to = !Pid::is_pid(to)
            || Pid::parse(to).is_some_and(|p| p.node() == Some(self.node.as_str()));
        let outcome = match (received.errand, from) {
            (_, Some(from)) if from.node() != Some(node) => {
                Err(format!("it speaks for {from}, a process of another node"))
            }
            (Errand::Process(_), _) if !own_to => {
                Err(format!("{to} is not a process of this node"))
            }
            (Errand::Process(errand), from) => self.local.arrived(from, to, errand),
            (Errand::Spawn { id, request }, Some(parent)) => {
                self.local.spawn_for(parent.clone(), request, |result| {
                    let result = result.map(|pid| pid.to_string());
                    let answer = letter(None, parent.as_str(), Errand::Spawned { id, result });
                    let _ = self.post(node, answer, false);
                });
                Ok(())
            }
            (Errand::Spawn { .. }, None) => Err("a spawn without its parent".to_string()),
            (Errand::Spawned { id, result }, _) => {
                if let Some(orphan) = self.spawns.answered(id, node, result, &self.local) {
                    // Its spawner gave up waiting: it is not left running unwatched.
                    let end = letter(
                        None,
                        orphan.as_str(),
                        Errand::Process(crate::process::Errand::Terminate),
                    );
                    let _ = self.post(node, end, false);
                }
                Ok(())
            }
        };
        if let Err(error) = outcome {
            log::debug!(
                "node `{}`: a letter from node `{node}` was not delivered: {error}",
                self.node
            );
        }
        received.seq
    }
}
