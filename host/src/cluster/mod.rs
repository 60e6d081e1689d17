//! Nodes that form a cluster through a NATS server: each node announces itself with
//! heartbeats, answers a roll call, and keeps the list of the others — a node not heard from
//! for [`LOST_AFTER`] is lost. Without `--cluster` none of this runs and no NATS is needed.
//!
//! Subjects (one cluster per NATS server): `wippy.nodes.heartbeat` (every node, every
//! [`HEARTBEAT`]), `wippy.nodes.leave` (a node stopping), `wippy.nodes.roll-call` (request;
//! every node replies with itself), `wippy.nodes.ping.<name>` (request; answered by the node of
//! that name, so a second node cannot take a name in use), `wippy.node.<to>.mail.<from>.<run>`
//! (letters between processes) and `wippy.node.<to>.credit.<from>` (letters taken; see `mail`).

pub mod codec;
mod letter;
mod mail;
mod members;
mod names;
mod spawns;
mod task;
mod wire;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use crate::process::{self, Node, Pid, RemoteSpawn, SendError};

use letter::{Errand, Letter};
use mail::Mail;
use members::Members;
use names::Names;
use spawns::Spawns;
use wire::Announcement;

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
    /// Drawn at start: tells the others this run from an earlier one of the same name.
    incarnation: u64,
    members: Members,
    /// Letters to and from other nodes.
    mail: Arc<Mail>,
    /// The node's processes, which messages from other nodes are delivered to.
    local: Node,
    /// Spawns on other nodes waiting for their answer.
    spawns: Spawns,
    /// Names registered across the cluster.
    names: Arc<Names>,
    /// Whether the client is connected: a node cut off from its server cannot tell the
    /// others lost from itself cut off, so it deletes none of their names.
    connected: AtomicBool,
    /// Set when the node leaves: no more heartbeats.
    leaving: AtomicBool,
    me: Weak<Cluster>,
}

impl Cluster {
    /// Connects to the NATS server and joins: refused when the server cannot be reached or a
    /// node of the same name is already in the cluster. From its return the node's pids
    /// name it, and it knows the nodes that answered its roll call.
    pub async fn join(config: &ClusterConfig, local: &Node) -> Result<Arc<Cluster>, String> {
        check_name(&config.node)?;
        let node = config.node.clone();
        // The client's events (a reconnection) reach the cluster made after it.
        let slot = Arc::new(OnceLock::<Weak<Cluster>>::new());
        let events = slot.clone();
        let options = async_nats::ConnectOptions::new()
            .name(format!("wippy node {node}"))
            .connection_timeout(Duration::from_secs(3))
            .subscription_capacity(1 << 20)
            .event_callback(move |event| {
                let (node, events) = (node.clone(), events.clone());
                async move {
                    if let Some(cluster) = events.get().and_then(Weak::upgrade) {
                        cluster.connection(&event);
                    }
                    log_event(&node, event)
                }
            });
        let client = options.connect(config.url.as_str()).await.map_err(|e| {
            format!(
                "cannot join the cluster at {}: {e}; start a NATS server there (`nats-server -a 127.0.0.1 -p 4222 -js`) or fix `--cluster`",
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
        let names = Arc::new(Names::open(&client, &config.node).await);
        // Names taken before this node joined are known before its first process runs.
        let changes = names.read().await;
        let incarnation =
            std::collections::hash_map::RandomState::new().hash_one(crate::process::now_nanos());
        let cluster = Arc::new_cyclic(|me| Cluster {
            mail: Arc::new(Mail::start(client.clone(), &config.node, incarnation)),
            client,
            node: config.node.clone(),
            incarnation,
            members: Members::default(),
            local: local.clone(),
            spawns: Spawns::default(),
            names,
            connected: AtomicBool::new(true),
            leaving: AtomicBool::new(false),
            me: me.clone(),
        });
        let _ = slot.set(Arc::downgrade(&cluster));
        // Its pids name it before any letter can arrive.
        local.set_membership(cluster.clone());
        task::start(cluster.clone(), changes).await?;
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
        self.leaving.store(true, Ordering::Relaxed);
        // Letters posted before leaving go first: a command that sends and exits loses none.
        self.mail.drained().await;
        let _ = (self.client)
            .publish(wire::LEAVE, self.announcement().encode())
            .await;
        let _ = self.client.flush().await;
    }

    fn announcement(&self) -> Announcement {
        Announcement::of(&self.node, self.incarnation)
    }

    /// The client lost or found its server again.
    fn connection(&self, event: &async_nats::Event) {
        match event {
            async_nats::Event::Disconnected => self.connected.store(false, Ordering::Relaxed),
            async_nats::Event::Connected => {
                self.connected.store(true, Ordering::Relaxed);
                self.mail.reconnected();
                let names = self.names.clone();
                tokio::spawn(async move { names.tidy().await });
            }
            _ => {}
        }
    }

    /// Waits (up to [`LOST_AFTER`]) until `node` is a member: one that is starting has not
    /// been heard yet.
    async fn member(&self, node: &str) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + LOST_AFTER;
        while !self.members.is_alive(node) {
            if tokio::time::Instant::now() >= deadline {
                return Err(self.no_such_node(node));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    fn no_such_node(&self, node: &str) -> String {
        format!(
            "no node `{node}` in the cluster (its nodes: {}); start it with `--node {node}`, or fix the host's `@{node}`",
            self.nodes().join(", ")
        )
    }

    /// Queues `letter` for `node`.
    fn post(&self, node: &str, letter: Letter, refusable: bool) -> Result<(), SendError> {
        let member = self.members.is_alive(node);
        self.mail.post(node, letter, refusable, member)
    }
}

impl process::Membership for Cluster {
    fn node(&self) -> String {
        self.node.clone()
    }

    fn nodes(&self) -> Vec<String> {
        Cluster::nodes(self)
    }

    fn is_member(&self, node: &str) -> bool {
        self.members.is_alive(node)
    }

    fn post(
        &self,
        node: &str,
        from: Option<&Pid>,
        to: &str,
        errand: process::Errand,
    ) -> Result<(), SendError> {
        let refusable = matches!(errand, process::Errand::Message { .. });
        Cluster::post(
            self,
            node,
            letter(from, to, Errand::Process(errand)),
            refusable,
        )
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
            let waiting = me.spawns.wait(&node, &parent, &request);
            // Gone meanwhile (the cluster's task took it off before this spawn waited).
            if !me.members.is_alive(&node) {
                return Err(me.no_such_node(&node));
            }
            let host = request.host.to_string();
            let spawn = Errand::Spawn {
                id: waiting.id(),
                request,
            };
            (me.post(&node, letter(Some(&parent), &host, spawn), false))
                .map_err(|e| e.to_string())?;
            waiting.answer().await
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

fn letter(from: Option<&Pid>, to: &str, errand: Errand) -> Letter {
    Letter {
        from: from.map(|p| p.as_str().to_string()),
        to: to.to_string(),
        errand,
        seq: 0,
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
