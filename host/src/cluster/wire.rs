//! What nodes say to each other about membership, and on which subjects.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub const HEARTBEAT: &str = "wippy.nodes.heartbeat";
pub const LEAVE: &str = "wippy.nodes.leave";
pub const ROLL_CALL: &str = "wippy.nodes.roll-call";

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
}

impl Announcement {
    pub fn of(node: &str) -> Self {
        Self {
            node: node.to_string(),
            os_pid: std::process::id(),
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
