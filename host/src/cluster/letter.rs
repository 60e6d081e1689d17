//! A letter between nodes: an errand from a process of one node (or none) for a process of
//! another, or a spawn and its answer, as one MessagePack map with named fields. Written and
//! read field by field, without an intermediate payload (a letter's build and parse were
//! a fifth of a node's time in a flood; see the README's *Performance*).

use std::time::Duration;

use rmp::encode;

use super::codec;
use crate::process::{self, RemoteSpawn};
use crate::registry::EntryId;
use crate::values::Payload;

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

#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    pub from: Option<String>,
    pub to: String,
    pub errand: Errand,
    /// Its number among the letters from its node to the receiver's (from 1; 0: not
    /// counted), which the receiver reports back (see `mail`).
    pub seq: u64,
}

/// Writes a map's fields, counting them; the count is filled in at the end.
struct Fields {
    out: Vec<u8>,
    count: u32,
}

impl Fields {
    fn new() -> Self {
        // A map32 header whose count is written last.
        Fields {
            out: vec![0xdf, 0, 0, 0, 0],
            count: 0,
        }
    }

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        self.count += 1;
        drop(encode::write_str(&mut self.out, key));
        &mut self.out
    }

    fn text(&mut self, key: &str, value: &str) {
        drop(encode::write_str(self.key(key), value));
    }

    fn int(&mut self, key: &str, value: u64) {
        drop(encode::write_uint(self.key(key), value));
    }

    fn flag(&mut self, key: &str, value: bool) {
        drop(encode::write_bool(self.key(key), value));
    }

    fn payload(&mut self, key: &str, value: &Payload) {
        codec::write(self.key(key), value);
    }

    fn done(mut self) -> Vec<u8> {
        self.out[1..5].copy_from_slice(&self.count.to_be_bytes());
        self.out
    }
}

impl Letter {
    /// The letter as MessagePack, or why it cannot travel (larger than `limit`).
    pub fn encode(&self, limit: usize) -> Result<Vec<u8>, String> {
        let mut f = Fields::new();
        match &self.from {
            Some(from) => f.text("from", from),
            None => f.payload("from", &Payload::Nil),
        }
        f.text("to", &self.to);
        f.int("seq", self.seq);
        match &self.errand {
            Errand::Process(errand) => match errand {
                process::Errand::Message { topic, payload } => {
                    f.text("kind", "message");
                    f.text("topic", topic);
                    f.payload("payload", payload);
                }
                process::Errand::Terminate => f.text("kind", "terminate"),
                process::Errand::Cancel { reason, deadline } => {
                    f.text("kind", "cancel");
                    f.text("reason", reason);
                    if let Some(deadline) = deadline {
                        f.int("deadline_ms", deadline.as_millis() as u64);
                    }
                }
                process::Errand::Monitor(on) => {
                    f.text("kind", "monitor");
                    f.flag("on", *on);
                }
                process::Errand::Link(on) => {
                    f.text("kind", "link");
                    f.flag("on", *on);
                }
                process::Errand::Exit { value, error } => {
                    f.text("kind", "exit");
                    f.payload("value", value);
                    if let Some(error) = error {
                        f.text("error", error);
                    }
                }
                process::Errand::LinkDown { error } => {
                    f.text("kind", "link-down");
                    f.text("error", error);
                }
            },
            Errand::Spawn { id, request } => {
                f.text("kind", "spawn");
                f.int("id", *id);
                f.text("entry", &request.entry.to_string());
                f.text("host", &request.host.to_string());
                f.payload("args", &Payload::List(request.args.clone()));
                f.flag("monitor", request.monitor);
                f.flag("link", request.link);
                let context = (request.context.iter())
                    .map(|(k, v)| (Payload::String(k.clone()), v.clone()))
                    .collect();
                f.payload("context", &Payload::Map(context));
                let messages = (request.messages.iter())
                    .map(|(topic, payload)| {
                        Payload::List(vec![Payload::String(topic.clone()), payload.clone()])
                    })
                    .collect();
                f.payload("messages", &Payload::List(messages));
            }
            Errand::Spawned { id, result } => {
                f.text("kind", "spawned");
                f.int("id", *id);
                match result {
                    Ok(pid) => f.text("pid", pid),
                    Err(error) => f.text("error", error),
                }
            }
        }
        let bytes = f.done();
        match bytes.len() > limit {
            true => Err(codec::too_large(bytes.len(), limit)),
            false => Ok(bytes),
        }
    }

    /// A letter from the bytes another node sent: anything but a well-formed letter within
    /// `limit` is refused with the reason.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Letter, String> {
        if bytes.len() > limit {
            return Err(codec::too_large(bytes.len(), limit));
        }
        let mut input = bytes;
        let count = codec::read_map_len(&mut input).ok_or("not a letter")?;
        let mut fields: Vec<(&str, Payload)> = Vec::with_capacity(count.min(16));
        for _ in 0..count {
            let key = codec::read_str(&mut input).ok_or("a letter's field without a name")?;
            fields.push((key, codec::read(&mut input, 1)?));
        }
        if !input.is_empty() {
            return Err(format!("{} bytes follow the letter", input.len()));
        }
        Letter::from_fields(fields)
    }

    fn from_fields(mut fields: Vec<(&str, Payload)>) -> Result<Letter, String> {
        let mut take = |name: &str| match fields.iter().position(|(k, _)| *k == name) {
            Some(at) => fields.swap_remove(at).1,
            None => Payload::Nil,
        };
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
            Some("message") => Errand::Process(process::Errand::Message {
                topic: string(take("topic")).unwrap_or_default(),
                payload: take("payload"),
            }),
            Some("terminate") => Errand::Process(process::Errand::Terminate),
            Some("cancel") => Errand::Process(process::Errand::Cancel {
                reason: string(take("reason")).unwrap_or_default(),
                deadline: number(take("deadline_ms")).map(Duration::from_millis),
            }),
            Some("monitor") => Errand::Process(process::Errand::Monitor(flag(take("on")))),
            Some("link") => Errand::Process(process::Errand::Link(flag(take("on")))),
            Some("exit") => Errand::Process(process::Errand::Exit {
                value: take("value"),
                error: string(take("error")),
            }),
            Some("link-down") => Errand::Process(process::Errand::LinkDown {
                error: string(take("error")).unwrap_or_default(),
            }),
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
                Errand::Spawn { id, request }
            }
            Some("spawned") => {
                let id = number(take("id")).ok_or("an answer to a spawn without its id")?;
                let result = match (string(take("pid")), string(take("error"))) {
                    (Some(pid), _) => Ok(pid),
                    (None, error) => Err(error.unwrap_or_default()),
                };
                Errand::Spawned { id, result }
            }
            other => return Err(format!("a letter of unknown kind {other:?}")),
        };
        Ok(Letter {
            from,
            to,
            errand,
            seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = codec::DEFAULT_MAX_PAYLOAD;

    #[test]
    fn every_letter_survives_the_trip() {
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
            for from in [Some("{a@app:p|0x00001}".to_string()), None] {
                let letter = Letter {
                    from,
                    to: "{b@app:p|0x00002}".into(),
                    errand: errand.clone(),
                    seq: 42,
                };
                let bytes = letter.encode(LIMIT).unwrap();
                assert_eq!(Letter::decode(&bytes, LIMIT).unwrap(), letter);
            }
        }
    }

    #[test]
    fn what_is_not_a_letter_is_refused() {
        let nil = codec::encode(&Payload::Nil, LIMIT).unwrap();
        assert_eq!(Letter::decode(&nil, LIMIT).unwrap_err(), "not a letter");
        let letter = Letter {
            from: None,
            to: "x".into(),
            errand: Errand::Process(process::Errand::Terminate),
            seq: 0,
        };
        let mut bytes = letter.encode(LIMIT).unwrap();
        bytes.push(0xc0);
        assert!(
            Letter::decode(&bytes, LIMIT)
                .unwrap_err()
                .contains("1 bytes follow")
        );
        let small = letter.encode(LIMIT).unwrap();
        assert!(
            Letter::decode(&small, 8)
                .unwrap_err()
                .contains("more than the 8")
        );
        assert!(letter.encode(8).is_err());
        let unknown = Payload::Map(vec![
            (Payload::String("to".into()), Payload::String("x".into())),
            (
                Payload::String("kind".into()),
                Payload::String("dance".into()),
            ),
        ]);
        let unknown = codec::encode(&unknown, LIMIT).unwrap();
        assert!(
            Letter::decode(&unknown, LIMIT)
                .unwrap_err()
                .contains("unknown kind")
        );
    }
}
