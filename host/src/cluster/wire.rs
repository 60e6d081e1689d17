//! What nodes say to each other about membership, and on which subjects.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::process::{self, RemoteSpawn};
use crate::registry::EntryId;
use crate::values::Payload;

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

/// What a letter carries: an errand between processes, or a spawn and its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Errand {
    Process(process::Errand),
    /// Start a process for `from` (its parent); answered with [`Errand::Spawned`] and `id`.
    Spawn {
        id: u64,
        request: RemoteSpawn,
    },
    /// The pid of the process a [`Errand::Spawn`] started, or why it did not start.
    Spawned {
        id: u64,
        result: Result<String, String>,
    },
}

/// An errand from a process of one node (or none) for a process of another, carried as a
/// payload map (see `codec`).
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    pub from: Option<String>,
    pub to: String,
    pub errand: Errand,
    /// Its number among the letters from its node to the receiver's (from 1; 0: not
    /// counted), which the receiver reports back (see `mail`).
    pub seq: u64,
}

fn text(s: &str) -> Payload {
    Payload::String(s.to_string())
}

impl Letter {
    pub fn to_payload(&self) -> Payload {
        let mut entries = vec![
            (
                text("from"),
                self.from.as_deref().map_or(Payload::Nil, text),
            ),
            (text("to"), text(&self.to)),
            (text("seq"), Payload::Integer(self.seq as i64)),
        ];
        let mut put = |key: &str, value: Payload| entries.push((text(key), value));
        match &self.errand {
            Errand::Process(errand) => match errand {
                process::Errand::Message { topic, payload } => {
                    put("kind", text("message"));
                    put("topic", text(topic));
                    put("payload", payload.clone());
                }
                process::Errand::Terminate => put("kind", text("terminate")),
                process::Errand::Cancel { reason, deadline } => {
                    put("kind", text("cancel"));
                    put("reason", text(reason));
                    if let Some(deadline) = deadline {
                        put("deadline_ms", Payload::Integer(deadline.as_millis() as i64));
                    }
                }
                process::Errand::Monitor(on) => {
                    put("kind", text("monitor"));
                    put("on", Payload::Bool(*on));
                }
                process::Errand::Link(on) => {
                    put("kind", text("link"));
                    put("on", Payload::Bool(*on));
                }
                process::Errand::Exit { value, error } => {
                    put("kind", text("exit"));
                    put("value", value.clone());
                    put("error", error.as_deref().map_or(Payload::Nil, text));
                }
                process::Errand::LinkDown { error } => {
                    put("kind", text("link-down"));
                    put("error", text(error));
                }
            },
            Errand::Spawn { id, request } => {
                put("kind", text("spawn"));
                put("id", Payload::Integer(*id as i64));
                put("entry", text(&request.entry.to_string()));
                put("host", text(&request.host.to_string()));
                put("args", Payload::List(request.args.clone()));
                put("monitor", Payload::Bool(request.monitor));
                put("link", Payload::Bool(request.link));
                let context = (request.context.iter())
                    .map(|(k, v)| (text(k), v.clone()))
                    .collect();
                put("context", Payload::Map(context));
                let messages = (request.messages.iter())
                    .map(|(topic, payload)| Payload::List(vec![text(topic), payload.clone()]))
                    .collect();
                put("messages", Payload::List(messages));
            }
            Errand::Spawned { id, result } => {
                put("kind", text("spawned"));
                put("id", Payload::Integer(*id as i64));
                match result {
                    Ok(pid) => put("pid", text(pid)),
                    Err(error) => put("error", text(error)),
                }
            }
        }
        Payload::Map(entries)
    }

    pub fn from_payload(payload: Payload) -> Result<Letter, String> {
        let Payload::Map(entries) = payload else {
            return Err("not a letter".into());
        };
        let mut fields: std::collections::HashMap<String, Payload> = (entries.into_iter())
            .filter_map(|(k, v)| match k {
                Payload::String(k) => Some((k, v)),
                _ => None,
            })
            .collect();
        let mut take = |name: &str| fields.remove(name).unwrap_or(Payload::Nil);
        let string = |value: Payload| match value {
            Payload::String(s) => Some(s),
            _ => None,
        };
        let flag = |value: Payload| matches!(value, Payload::Bool(true));
        let number = |value: Payload| match value {
            Payload::Integer(n) => u64::try_from(n).ok(),
            _ => None,
        };
        let to = string(take("to")).ok_or("a letter without its receiver")?;
        let from = string(take("from"));
        let seq = number(take("seq")).unwrap_or(0);
        let kind = string(take("kind"));
        let errand = match kind.as_deref() {
            Some("message") => process::Errand::Message {
                topic: string(take("topic")).unwrap_or_default(),
                payload: take("payload"),
            },
            Some("terminate") => process::Errand::Terminate,
            Some("cancel") => process::Errand::Cancel {
                reason: string(take("reason")).unwrap_or_default(),
                deadline: number(take("deadline_ms")).map(Duration::from_millis),
            },
            Some("monitor") => process::Errand::Monitor(flag(take("on"))),
            Some("link") => process::Errand::Link(flag(take("on"))),
            Some("exit") => process::Errand::Exit {
                value: take("value"),
                error: string(take("error")),
            },
            Some("link-down") => process::Errand::LinkDown {
                error: string(take("error")).unwrap_or_default(),
            },
            Some("spawn") => {
                let id = number(take("id")).ok_or("a spawn without its id")?;
                let entry = string(take("entry")).ok_or("a spawn without its entry")?;
                let host = string(take("host")).ok_or("a spawn without its host")?;
                let Payload::List(args) = take("args") else {
                    return Err("a spawn without its arguments".into());
                };
                let context = match take("context") {
                    Payload::Map(pairs) => (pairs.into_iter())
                        .filter_map(|(k, v)| string(k).map(|k| (k, v)))
                        .collect(),
                    _ => Default::default(),
                };
                let messages = match take("messages") {
                    Payload::List(items) => (items.into_iter())
                        .filter_map(|item| match item {
                            Payload::List(mut pair) if pair.len() == 2 => {
                                let payload = pair.pop()?;
                                Some((string(pair.pop()?)?, payload))
                            }
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let request = RemoteSpawn {
                    entry: EntryId::resolve(&entry, ""),
                    host: EntryId::resolve(&host, ""),
                    args,
                    monitor: flag(take("monitor")),
                    link: flag(take("link")),
                    context,
                    messages,
                };
                return Ok(Letter {
                    from,
                    to,
                    errand: Errand::Spawn { id, request },
                    seq,
                });
            }
            Some("spawned") => {
                let id = number(take("id")).ok_or("an answer to a spawn without its id")?;
                let result = match (string(take("pid")), string(take("error"))) {
                    (Some(pid), _) => Ok(pid),
                    (None, error) => Err(error.unwrap_or_default()),
                };
                return Ok(Letter {
                    from,
                    to,
                    errand: Errand::Spawned { id, result },
                    seq,
                });
            }
            other => return Err(format!("a letter of unknown kind {other:?}")),
        };
        Ok(Letter {
            from,
            to,
            errand: Errand::Process(errand),
            seq,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_survive_their_payload_form() {
        let spawn = RemoteSpawn {
            entry: EntryId::new("app", "worker"),
            host: EntryId::new("app", "processes"),
            args: vec![Payload::Integer(6), Payload::Bytes(vec![0xff])],
            monitor: true,
            link: false,
            context: [("k".to_string(), Payload::Bool(true))].into(),
            messages: vec![("hello".into(), Payload::Number(1.5))],
        };
        for errand in [
            Errand::Process(process::Errand::Message {
                topic: "t".into(),
                payload: Payload::List(vec![Payload::Integer(1)]),
            }),
            Errand::Process(process::Errand::Terminate),
            Errand::Process(process::Errand::Cancel {
                reason: "bye".into(),
                deadline: Some(Duration::from_millis(500)),
            }),
            Errand::Process(process::Errand::Monitor(true)),
            Errand::Process(process::Errand::Link(false)),
            Errand::Process(process::Errand::Exit {
                value: Payload::String("done".into()),
                error: None,
            }),
            Errand::Process(process::Errand::Exit {
                value: Payload::Nil,
                error: Some("boom".into()),
            }),
            Errand::Process(process::Errand::LinkDown {
                error: "boom".into(),
            }),
            Errand::Spawn {
                id: 7,
                request: spawn,
            },
            Errand::Spawned {
                id: 7,
                result: Ok("{b@app:processes|0x00003}".into()),
            },
            Errand::Spawned {
                id: 8,
                result: Err("no process entry".into()),
            },
        ] {
            let letter = Letter {
                from: Some("{a@app:p|0x00001}".into()),
                to: "{b@app:p|0x00002}".into(),
                errand,
                seq: 42,
            };
            assert_eq!(Letter::from_payload(letter.to_payload()).unwrap(), letter);
        }
        assert!(Letter::from_payload(Payload::Nil).is_err());
    }
}
