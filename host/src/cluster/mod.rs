//! Nodes that form a cluster through a NATS server: each node announces itself with
//! heartbeats, answers a roll call, and keeps the list of the others — a node not heard from
//! for [`LOST_AFTER`] is lost. Without `--cluster` none of this runs and no NATS is needed.
//!
//! Subjects (one cluster per NATS server): `wippy.nodes.heartbeat` (every node, every
//! [`HEARTBEAT`]), `wippy.nodes.leave` (a node stopping), `wippy.nodes.roll-call` (request;
//! every node replies with itself), `wippy.nodes.ping.<name>` (request; answered by the node of
//! that name, so a second node cannot take a name in use).

pub mod codec;
mod mail;
mod members;
mod names;
mod spawns;
mod wire;

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use crate::process::{self, Node, Pid, RemoteSpawn, SendError};

use mail::Mail;
use members::Members;
use names::Names;
use spawns::Spawns;
use wire::{Announcement, Errand};

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// A node not heard from for this long is lost (well within the 3 s the cluster promises).
pub const LOST_AFTER: Duration = Duration::from_millis(2000);

/// Where to join and under which name.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub url: String,
    pub node: String,
}

/// This node's membership: its NATS client, and the other nodes as last heard.
pub struct Cluster {
    client: async_nats::Client,
    node: String,
    members: Members,
    /// Letters to and from other nodes.
    mail: Arc<Mail>,
    /// The node's processes, which messages from other nodes are delivered to.
    local: Node,
    /// Spawns on other nodes waiting for their answer.
    spawns: Spawns,
    /// Names registered across the cluster.
    names: Arc<Names>,
    me: Weak<Cluster>,
}

impl Cluster {
    /// Connects to the NATS server and joins: refused when the server cannot be reached or a
    /// node of the same name is already in the cluster.
    pub async fn join(config: &ClusterConfig, local: &Node) -> Result<Arc<Cluster>, String> {
        check_name(&config.node)?;
        let node = config.node.clone();
        // The mail is made before the client so its events (a reconnection) reach it.
        let mail_slot = Arc::new(std::sync::OnceLock::<Arc<Mail>>::new());
        let slot = mail_slot.clone();
        let options = async_nats::ConnectOptions::new()
            .name(format!("wippy node {node}"))
            .connection_timeout(Duration::from_secs(3))
            .subscription_capacity(1 << 20)
            .event_callback(move |event| {
                let (node, slot) = (node.clone(), slot.clone());
                async move {
                    if let (async_nats::Event::Connected, Some(mail)) = (&event, slot.get()) {
                        mail.reset(None);
                    }
                    log_event(&node, event)
                }
            });
        let client = options.connect(config.url.as_str()).await.map_err(|e| {
            format!(
                "cannot join the cluster at {}: {e}; start a NATS server there (`nats-server -a 127.0.0.1 -p 4222`) or fix `--cluster`",
                config.url
            )
        })?;
        let taken = client
            .request(wire::ping_subject(&config.node), "".into())
            .await
            .is_ok();
        if taken {
            return Err(format!(
                "a node named `{}` is already in the cluster at {}; give this one another `--node`",
                config.node, config.url
            ));
        }
        let mail = Arc::new(Mail::start(client.clone(), &config.node));
        let _ = mail_slot.set(mail.clone());
        let names = Arc::new(Names::open(&client, &config.node).await);
        // Names taken before this node joined are known before its first process runs.
        let changes = names.read().await;
        let cluster = Arc::new_cyclic(|me| Cluster {
            client,
            node: config.node.clone(),
            members: Members::default(),
            mail,
            local: local.clone(),
            spawns: Spawns::default(),
            names,
            me: me.clone(),
        });
        cluster.clone().start(changes).await?;
        log::info!(
            "node `{}` joined the cluster at {}",
            cluster.node,
            config.url
        );
        Ok(cluster)
    }

    /// The nodes of the cluster now, this one first.
    pub fn nodes(&self) -> Vec<String> {
        let mut nodes = vec![self.node.clone()];
        nodes.extend(self.members.alive());
        nodes
    }

    /// Tells the others this node is leaving (they drop it at once, not after
    /// [`LOST_AFTER`]), and waits until the server has the message.
    pub async fn leave(&self) {
        // Letters posted before leaving go first: a command that sends and exits loses none.
        self.mail.drained().await;
        let announcement = Announcement::of(&self.node).encode();
        let _ = self.client.publish(wire::LEAVE, announcement).await;
        let _ = self.client.flush().await;
    }

    /// Subscribes to the cluster's subjects and starts the heartbeat.
    async fn start(
        self: Arc<Self>,
        changes: Option<async_nats::jetstream::kv::Watch>,
    ) -> Result<(), String> {
        let subscribe = |subject: String| {
            let client = self.client.clone();
            async move {
                client
                    .subscribe(subject.clone())
                    .await
                    .map_err(|e| format!("cannot subscribe to {subject}: {e}"))
            }
        };
        let mut heartbeats = subscribe(wire::HEARTBEAT.into()).await?;
        let mut leaves = subscribe(wire::LEAVE.into()).await?;
        let mut roll_calls = subscribe(wire::ROLL_CALL.into()).await?;
        let mut pings = subscribe(wire::ping_subject(&self.node)).await?;
        let mut mail = subscribe(wire::mail_subject(&self.node, "*")).await?;
        let mut credits = subscribe(wire::credit_subject(&self.node, "*")).await?;
        // The nodes already there answer a roll call at once, not at their next heartbeat.
        let inbox = self.client.new_inbox();
        let mut present = subscribe(inbox.clone()).await?;
        (self
            .client
            .publish_with_reply(wire::ROLL_CALL, inbox, "".into())
            .await)
            .map_err(|e| format!("cannot call the roll of the cluster: {e}"))?;
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(message) = heartbeats.next() => me.heard(&message.payload),
                    Some(message) = present.next() => me.heard(&message.payload),
                    Some(message) = leaves.next() => {
                        if let Some(a) = Announcement::decode(&message.payload)
                            && me.members.remove(&a.node)
                        {
                            log::info!("node `{}` left the cluster", a.node);
                            me.gone(&a.node, "left the cluster");
                        }
                    }
                    Some(message) = roll_calls.next() => me.reply(message).await,
                    Some(message) = pings.next() => me.reply(message).await,
                    Some(message) = mail.next() => {
                        let from = wire::sender(&message.subject);
                        me.deliver(&message.payload);
                        if let Some(count) = me.mail.taken(from) {
                            me.credit(from, count).await;
                        }
                    }
                    Some(message) = credits.next() => {
                        let count = std::str::from_utf8(&message.payload).ok().and_then(|c| c.parse().ok());
                        me.mail.credited(wire::sender(&message.subject), count.unwrap_or(0));
                    }
                    else => break,
                }
            }
        });
        let names = self.names.clone();
        tokio::spawn(async move { names.keep(changes).await });
        let me = self.clone();
        tokio::spawn(async move {
            // Names of nodes that were gone before this one joined (a whole cluster stopped
            // at once, say) are swept once every live node has been heard.
            tokio::time::sleep(LOST_AFTER).await;
            me.names.sweep(&me.nodes()).await;
        });
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            loop {
                tick.tick().await;
                let beat = Announcement::of(&me.node).encode();
                // A failed publish (the server is away) is retried at the next beat.
                let _ = me.client.publish(wire::HEARTBEAT, beat).await;
                for (node, count) in me.mail.owed() {
                    me.credit(&node, count).await;
                }
                for lost in me.members.lost(LOST_AFTER) {
                    let why = format!("is lost: nothing heard from it for {LOST_AFTER:?}");
                    log::warn!("node `{lost}` {why}");
                    me.gone(&lost, &why);
                }
            }
        });
        self.client
            .flush()
            .await
            .map_err(|e| format!("the NATS server did not take the subscriptions: {e}"))
    }

    /// A heartbeat or an answer to the roll call.
    fn heard(&self, bytes: &[u8]) {
        if let Some(a) = Announcement::decode(bytes)
            && a.node != self.node
            && self.members.heard(&a.node)
        {
            log::info!("node `{}` joined the cluster", a.node);
            self.mail.reset(Some(&a.node));
        }
    }

    /// Tells `node` this one took `count` of its letters.
    async fn credit(&self, node: &str, count: u64) {
        let subject = wire::credit_subject(node, &self.node);
        let _ = self.client.publish(subject, count.to_string().into()).await;
    }

    /// `node` is lost or left: what waited on it hears so.
    fn gone(&self, node: &str, why: &str) {
        self.local.node_gone(node, why);
        self.spawns.node_gone(node, why);
        self.mail.reset(Some(node));
        let (names, node) = (self.names.clone(), node.to_string());
        tokio::spawn(async move { names.node_gone(&node).await });
    }

    /// A letter from another node, for this one.
    fn deliver(&self, bytes: &[u8]) {
        let letter =
            codec::decode(bytes, codec::max_payload()).and_then(wire::Letter::from_payload);
        let letter = match letter {
            Ok(letter) => letter,
            Err(problem) => {
                log::warn!(
                    "node `{}`: a letter from another node was dropped: {problem}",
                    self.node
                );
                return;
            }
        };
        let from = letter.from.as_deref().and_then(Pid::parse);
        let outcome = match (letter.errand, from) {
            (Errand::Process(errand), from) => self.local.arrived(from, &letter.to, errand),
            (Errand::Spawn { id, request }, Some(parent)) => {
                let back = parent.node().unwrap_or_default().to_string();
                let answering = parent.clone();
                self.local.spawn_for(parent, request, |result| {
                    let result = result.map(|pid| pid.to_string());
                    let answer = Errand::Spawned { id, result };
                    let letter = wire_letter(None, answering.as_str(), answer);
                    let _ = self.mail.post(&back, &letter, false);
                });
                Ok(())
            }
            (Errand::Spawned { id, result }, _) => {
                self.spawns.answered(id, result, &self.local);
                Ok(())
            }
            (Errand::Spawn { .. }, None) => Err("a spawn without its parent".to_string()),
        };
        if let Err(error) = outcome {
            log::debug!(
                "node `{}`: a letter from another node was not delivered: {error}",
                self.node
            );
        }
    }

    /// Waits (up to [`LOST_AFTER`]) until `node` is a member: a node that just joined has
    /// not heard every other one yet.
    async fn member(&self, node: &str) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + LOST_AFTER;
        while !self.members.alive().iter().any(|n| n == node) {
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "no node `{node}` in the cluster (its nodes: {}); start it with `--node {node}`, or fix the host's `@{node}`",
                    self.nodes().join(", ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    async fn reply(&self, message: async_nats::Message) {
        if let Some(reply) = message.reply {
            let _ = self
                .client
                .publish(reply, Announcement::of(&self.node).encode())
                .await;
        }
    }
}

impl process::Membership for Cluster {
    fn node(&self) -> String {
        self.node.clone()
    }

    fn nodes(&self) -> Vec<String> {
        Cluster::nodes(self)
    }

    fn post(
        &self,
        node: &str,
        from: Option<&Pid>,
        to: &str,
        errand: process::Errand,
    ) -> Result<(), SendError> {
        let refusable = matches!(errand, process::Errand::Message { .. });
        let letter = wire_letter(from, to, Errand::Process(errand));
        self.mail.post(node, &letter, refusable)
    }

    fn spawn(
        &self,
        node: &str,
        parent: &Pid,
        request: RemoteSpawn,
    ) -> BoxFuture<'static, Result<Pid, String>> {
        let (me, node, parent) = (self.me.upgrade(), node.to_string(), parent.clone());
        Box::pin(async move {
            let me = me.ok_or("the node is leaving its cluster")?;
            me.member(&node).await?;
            let (id, answer) = me.spawns.wait(&node, &parent, &request);
            let host = request.host.to_string();
            let letter = wire_letter(Some(&parent), &host, Errand::Spawn { id, request });
            if let Err(error) = me.mail.post(&node, &letter, false) {
                me.spawns.forget(id);
                return Err(error.to_string());
            }
            me.spawns.answer(id, answer, &node).await
        })
    }

    fn register(&self, name: &str, pid: &Pid) -> BoxFuture<'static, Result<(), String>> {
        let (names, name, pid) = (self.names.clone(), name.to_string(), pid.clone());
        Box::pin(async move { names.register(&name, &pid).await })
    }

    fn lookup(&self, name: &str) -> Option<Pid> {
        self.names.lookup(name)
    }

    fn unregister(&self, name: &str, pid: &Pid) -> BoxFuture<'static, bool> {
        let (names, name, pid) = (self.names.clone(), name.to_string(), pid.clone());
        Box::pin(async move { names.unregister(&name, &pid).await })
    }
}

fn wire_letter(from: Option<&Pid>, to: &str, errand: Errand) -> wire::Letter {
    wire::Letter {
        from: from.map(|p| p.as_str().to_string()),
        to: to.to_string(),
        errand,
    }
}

/// The nodes that answer a roll call at `url` within `wait`, by name.
pub async fn roll_call(url: &str, wait: Duration) -> Result<Vec<String>, String> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(3))
        .connect(url)
        .await
        .map_err(|e| format!("cannot reach the NATS server at {url}: {e}"))?;
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    client
        .publish_with_reply(wire::ROLL_CALL, inbox, "".into())
        .await
        .map_err(|e| e.to_string())?;
    let mut nodes = Vec::new();
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            Some(message) = replies.next() => {
                if let Some(a) = Announcement::decode(&message.payload) {
                    nodes.push(a.node);
                }
            }
        }
    }
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

/// A node's name is one NATS subject token: letters, digits, `-` and `_`.
fn check_name(node: &str) -> Result<(), String> {
    let valid = !node.is_empty()
        && node.len() <= 64
        && (node.chars()).all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match valid {
        true => Ok(()),
        false => Err(format!(
            "`{node}` is not a node name: use 1 to 64 letters, digits, `-` or `_` (`--node app-1`)"
        )),
    }
}

fn log_event(node: &str, event: async_nats::Event) {
    match event {
        async_nats::Event::Disconnected => {
            log::warn!("node `{node}` lost its NATS server; reconnecting")
        }
        async_nats::Event::Connected => log::info!("node `{node}` is connected to its NATS server"),
        async_nats::Event::SlowConsumer(_) => log::warn!(
            "node `{node}` is not keeping up with the letters from other nodes: the NATS client dropped some"
        ),
        other => log::debug!("node `{node}`: NATS {other}"),
    }
}
