//! What nodes say to each other about membership, and on which subjects.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::values::Payload;

pub const HEARTBEAT: &str = "wippy.nodes.heartbeat";
pub const LEAVE: &str = "wippy.nodes.leave";
pub const ROLL_CALL: &str = "wippy.nodes.roll-call";

/// Where a node's processes get messages from other nodes.
pub fn mail_subject(node: &str) -> String {
    format!("wippy.node.{node}.mail")
}

/// What one node's process asks of another node's process.
#[derive(Debug, Clone, PartialEq)]
pub enum Errand {
    Message {
        topic: String,
        payload: Payload,
    },
    Terminate,
    Cancel {
        reason: String,
        deadline_ms: Option<u64>,
    },
}

/// An errand from a process of one node (or none) for a process of another, carried as a
/// payload map (see `codec`).
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    pub from: Option<String>,
    pub to: String,
    pub errand: Errand,
}

impl Letter {
    pub fn to_payload(&self) -> Payload {
        let text = |s: &str| Payload::String(s.to_string());
        let mut entries = vec![
            (
                text("from"),
                self.from.as_deref().map_or(Payload::Nil, text),
            ),
            (text("to"), text(&self.to)),
        ];
        match &self.errand {
            Errand::Message { topic, payload } => {
                entries.push((text("kind"), text("message")));
                entries.push((text("topic"), text(topic)));
                entries.push((text("payload"), payload.clone()));
            }
            Errand::Terminate => entries.push((text("kind"), text("terminate"))),
            Errand::Cancel {
                reason,
                deadline_ms,
            } => {
                entries.push((text("kind"), text("cancel")));
                entries.push((text("reason"), text(reason)));
                if let Some(ms) = deadline_ms {
                    entries.push((text("deadline_ms"), Payload::Integer(*ms as i64)));
                }
            }
        }
        Payload::Map(entries)
    }

    pub fn from_payload(payload: Payload) -> Result<Letter, String> {
        let Payload::Map(entries) = payload else {
            return Err("not a letter".into());
        };
        let field = |name: &str| {
            (entries.iter())
                .find(|(k, _)| matches!(k, Payload::String(s) if s == name))
                .map(|(_, v)| v.clone())
        };
        let text = |value: Option<Payload>| match value {
            Some(Payload::String(s)) => Some(s),
            _ => None,
        };
        let to = text(field("to")).ok_or("a letter without its receiver")?;
        let from = text(field("from"));
        let errand = match text(field("kind")).as_deref() {
            Some("message") => Errand::Message {
                topic: text(field("topic")).unwrap_or_default(),
                payload: field("payload").unwrap_or(Payload::Nil),
            },
            Some("terminate") => Errand::Terminate,
            Some("cancel") => Errand::Cancel {
                reason: text(field("reason")).unwrap_or_default(),
                deadline_ms: match field("deadline_ms") {
                    Some(Payload::Integer(ms)) => u64::try_from(ms).ok(),
                    _ => None,
                },
            },
            other => return Err(format!("a letter of unknown kind {other:?}")),
        };
        Ok(Letter { from, to, errand })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_survive_their_payload_form() {
        for errand in [
            Errand::Message {
                topic: "t".into(),
                payload: Payload::List(vec![Payload::Integer(1)]),
            },
            Errand::Terminate,
            Errand::Cancel {
                reason: "bye".into(),
                deadline_ms: Some(500),
            },
        ] {
            let letter = Letter {
                from: Some("{a@app:p|0x00001}".into()),
                to: "{b@app:p|0x00002}".into(),
                errand,
            };
            assert_eq!(Letter::from_payload(letter.to_payload()).unwrap(), letter);
        }
        assert!(Letter::from_payload(Payload::Nil).is_err());
    }
}
