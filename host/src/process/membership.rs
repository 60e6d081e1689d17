//! What a node knows of the cluster it is in, and the way to processes of other nodes; the
//! cluster layer provides it. A node in no cluster is a cluster of one.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{Pid, SendError};
use crate::registry::EntryId;
use crate::values::Payload;

/// The node's own name and the names of the nodes alive, itself first; and the way to a
/// process on another node.
pub trait Membership: Send + Sync {
    fn node(&self) -> String;
    fn nodes(&self) -> Vec<String>;

    /// Whether `node` (another node) is in the cluster as this node last heard.
    fn is_member(&self, node: &str) -> bool;

    /// Hands `errand` from `from` to `to`, a process of `node`: at most once, in order per
    /// sender and receiver. `Err` when it cannot even be sent, or (a message) when `node`
    /// is not keeping up with what this node sends it ([`SendError::MailboxFull`]).
    fn post(
        &self,
        node: &str,
        from: Option<&Pid>,
        to: &str,
        errand: Errand,
    ) -> Result<(), SendError>;

    /// Starts a process on `node` as a child of `parent`: its pid, or why not. Before the
    /// answer arrives here, nothing the child does can: its EXIT comes after its pid.
    fn spawn(
        &self,
        node: &str,
        parent: &Pid,
        request: RemoteSpawn,
    ) -> BoxFuture<'static, Result<Pid, String>>;

    /// Takes `name` across the cluster for `pid`, a process of this node, unless another
    /// process holds it.
    fn register(&self, name: &str, pid: &Pid) -> BoxFuture<'static, Result<(), String>>;

    /// The process holding `name` across the cluster, as this node last heard.
    fn lookup(&self, name: &str) -> Option<Pid>;

    /// Gives up `name` across the cluster if `pid` holds it: whether it did.
    fn unregister(&self, name: &str, pid: &Pid) -> BoxFuture<'static, bool>;
}

/// What a process of one node asks of (or tells) a process of another.
#[derive(Debug, Clone, PartialEq)]
pub enum Errand {
    Message {
        topic: String,
        payload: Payload,
    },
    Terminate,
    Cancel {
        reason: String,
        deadline: Option<Duration>,
    },
    /// The sender starts (`true`) or stops watching the receiver.
    Monitor(bool),
    /// The sender links to (`true`) or unlinks from the receiver; an unlink also comes when
    /// the sender ended without failing.
    Link(bool),
    /// The sender, which the receiver monitors, ended.
    Exit {
        value: Payload,
        error: Option<String>,
    },
    /// The sender, linked to the receiver, failed.
    LinkDown {
        error: String,
    },
}

/// A spawn for a process of another node, as it travels.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSpawn {
    pub entry: EntryId,
    pub host: EntryId,
    pub args: Vec<Payload>,
    pub monitor: bool,
    pub link: bool,
    pub context: BTreeMap<String, Payload>,
    pub messages: Vec<(String, Payload)>,
}

/// A node that joined no cluster.
pub struct Alone;

/// The name a node in no cluster goes by.
pub const ALONE: &str = "local";

impl Membership for Alone {
    fn node(&self) -> String {
        ALONE.to_string()
    }

    fn nodes(&self) -> Vec<String> {
        vec![ALONE.to_string()]
    }

    fn is_member(&self, _: &str) -> bool {
        false
    }

    fn post(&self, node: &str, _: Option<&Pid>, to: &str, _: Errand) -> Result<(), SendError> {
        let what = format!("process {to} runs on node `{node}`");
        Err(SendError::NotRunning(not_clustered(&what)))
    }

    fn spawn(
        &self,
        node: &str,
        _: &Pid,
        request: RemoteSpawn,
    ) -> BoxFuture<'static, Result<Pid, String>> {
        let error = not_clustered(&format!(
            "`{}@{node}` is a host on node `{node}`",
            request.host
        ));
        Box::pin(async move { Err(error) })
    }

    // A node alone keeps every name itself (see `Node::register_in_cluster`).
    fn register(&self, _: &str, _: &Pid) -> BoxFuture<'static, Result<(), String>> {
        Box::pin(async { Err(not_clustered("a name across the cluster")) })
    }

    fn lookup(&self, _: &str) -> Option<Pid> {
        None
    }

    fn unregister(&self, _: &str, _: &Pid) -> BoxFuture<'static, bool> {
        Box::pin(async { false })
    }
}

fn not_clustered(what: &str) -> String {
    format!("{what}, and this node is in no cluster; run it with `--cluster` and `--node`")
}
