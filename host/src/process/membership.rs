//! What a node knows of the cluster it is in, for the processes that ask (Lua's `system`
//! module); the cluster layer provides it. A node in no cluster is a cluster of one.

use super::Pid;
use crate::values::Payload;

/// The node's own name and the names of the nodes alive, itself first; and the way to a
/// process on another node.
pub trait Membership: Send + Sync {
    fn node(&self) -> String;
    fn nodes(&self) -> Vec<String>;

    /// Sends a message to `to`, a process of `node`: at most once, in order per sender and
    /// receiver. `Err` only when it cannot even be sent.
    fn send(
        &self,
        node: &str,
        from: Option<&Pid>,
        to: &str,
        topic: &str,
        payload: &Payload,
    ) -> Result<(), String>;

    /// Terminates or cancels `to`, a process of `node`, as [`Membership::send`] sends.
    fn stop(&self, node: &str, from: Option<&Pid>, to: &str, how: Stop) -> Result<(), String>;
}

/// How a process of another node is asked to end.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Terminate,
    Cancel {
        reason: String,
        deadline: Option<std::time::Duration>,
    },
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

    fn send(
        &self,
        node: &str,
        _: Option<&Pid>,
        to: &str,
        _: &str,
        _: &Payload,
    ) -> Result<(), String> {
        Err(not_clustered(node, to))
    }

    fn stop(&self, node: &str, _: Option<&Pid>, to: &str, _: Stop) -> Result<(), String> {
        Err(not_clustered(node, to))
    }
}

fn not_clustered(node: &str, to: &str) -> String {
    format!(
        "process {to} runs on node `{node}`, and this node is in no cluster; run it with `--cluster` and `--node`"
    )
}
