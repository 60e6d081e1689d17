//! What nodes say to each other about membership, and the subjects of the cluster.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub const HEARTBEAT: &str = "wippy.nodes.heartbeat";
pub const LEAVE: &str = "wippy.nodes.leave";
pub const ROLL_CALL: &str = "wippy.nodes.roll-call";

/// Where node `to`'s processes get letters from node `from`'s (in its run `incarnation`;
/// `*` and `*` to subscribe to all).
pub fn mail_subject(to: &str, from: &str, incarnation: &str) -> String {
    format!("wippy.node.{to}.mail.{from}.{incarnation}")
}

/// Where node `to` hears how many of its letters node `from` took.
pub fn credit_subject(to: &str, from: &str) -> String {
    format!("wippy.node.{to}.credit.{from}")
}

/// The sending node of a credit subject (its last token).
pub fn creditor(subject: &str) -> &str {
    subject.rsplit('.').next().unwrap_or_default()
}

/// The sending node of a mail subject, and its run.
pub fn sender(subject: &str) -> Option<(&str, u64)> {
    let mut tokens = subject.rsplit('.');
    let incarnation = tokens.next()?.parse().ok()?;
    Some((tokens.next()?, incarnation))
}

/// The subject only the node named `node` answers.
pub fn ping_subject(node: &str) -> String {
    format!("wippy.nodes.ping.{node}")
}

/// A node saying it is there (or leaving).
#[derive(Debug, Serialize, Deserialize)]
pub struct Announcement {
    pub node: String,
    /// The OS process of the node, for people reading a roll call.
    pub os_pid: u32,
    /// Drawn when the node starts: a node of the same name with another one restarted, and
    /// what the others held of its processes is gone.
    #[serde(default)]
    pub incarnation: u64,
}

impl Announcement {
    pub fn of(node: &str, incarnation: u64) -> Self {
        Self {
            node: node.to_string(),
            os_pid: std::process::id(),
            incarnation,
        }
    }

    pub fn encode(&self) -> Bytes {
        serde_json::to_vec(self).unwrap_or_default().into()
    }

    /// `None` for anything that is not an announcement (another program on the subject).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}
