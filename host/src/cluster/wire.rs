//! What nodes say to each other about membership, and on which subjects.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::process::Pid;
use crate::values::Payload;

pub const HEARTBEAT: &str = "wippy.nodes.heartbeat";
pub const LEAVE: &str = "wippy.nodes.leave";
pub const ROLL_CALL: &str = "wippy.nodes.roll-call";

/// Where a node's processes get messages from other nodes.
pub fn mail_subject(node: &str) -> String {
    format!("wippy.node.{node}.mail")
}

/// A message from a process of one node to a process of another, as a payload map (see
/// `codec`).
pub struct Letter {
    pub from: Option<String>,
    pub to: String,
    pub topic: String,
    pub payload: Payload,
}

impl Letter {
    pub fn payload(from: Option<&Pid>, to: &str, topic: &str, payload: Payload) -> Payload {
        let text = |s: &str| Payload::String(s.to_string());
        Payload::Map(vec![
            (
                text("from"),
                from.map_or(Payload::Nil, |p| text(p.as_str())),
            ),
            (text("to"), text(to)),
            (text("topic"), text(topic)),
            (text("payload"), payload),
        ])
    }

    pub fn from_payload(payload: Payload) -> Result<Letter, String> {
        let Payload::Map(entries) = payload else {
            return Err("not a message".into());
        };
        let mut letter = Letter {
            from: None,
            to: String::new(),
            topic: String::new(),
            payload: Payload::Nil,
        };
        for (key, value) in entries {
            match (key, value) {
                (Payload::String(k), Payload::String(v)) if k == "from" => letter.from = Some(v),
                (Payload::String(k), Payload::String(v)) if k == "to" => letter.to = v,
                (Payload::String(k), Payload::String(v)) if k == "topic" => letter.topic = v,
                (Payload::String(k), v) if k == "payload" => letter.payload = v,
                _ => {}
            }
        }
        match letter.to.is_empty() {
            true => Err("a message without its receiver".into()),
            false => Ok(letter),
        }
    }
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
