//! A process's side of `wippy:process/host`, typed: payloads are any `serde` value (sent as
//! the JSON wippy carries), and every call that can fail returns a `Result`.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::process::wippy::process::host;

/// A process ID such as `{app:processes|0x0002a}`; a registered name works too wherever a
/// destination is taken.
pub type Pid = String;

/// A message: who sent it, its topic, and its payload (JSON), read with [`Message::payload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub from: Option<Pid>,
    pub topic: String,
    pub json: String,
}

impl Message {
    /// The payload as `T` (a Lua `nil` or a send without a value is JSON `null`: read it as
    /// `Option<T>` or `()`).
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_str(&self.json)?)
    }

    /// Sends `payload` on `topic` to the sender (an error when the message had none).
    pub fn reply<T: Serialize + ?Sized>(&self, topic: &str, payload: &T) -> Result<(), Error> {
        match &self.from {
            Some(sender) => send(sender, topic, payload),
            None => Err(Error::Host("the message has no sender to reply to".into())),
        }
    }
}

/// What [`receive`] gives: a message, or an event about another process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Message(Message),
    /// A monitored process ended: its value (JSON), or why it failed.
    Exit {
        from: Pid,
        result: Result<String, String>,
    },
    /// A linked process failed.
    LinkDown {
        from: Pid,
        error: String,
    },
    /// Someone asks this process to stop: clean up and return.
    Cancel {
        from: Option<Pid>,
        reason: String,
    },
}

/// This process's own pid.
pub fn self_pid() -> Pid {
    host::self_pid()
}

/// Sends `payload` (anything `serde` can write as JSON) on `topic`.
pub fn send<T: Serialize + ?Sized>(to: &str, topic: &str, payload: &T) -> Result<(), Error> {
    let json = serde_json::to_string(payload)?;
    host::send(to, topic, &json).map_err(Error::Host)
}

/// The next event (first) or message; `None` when `timeout` passes first. Waiting holds no
/// thread of the host's.
pub fn receive(timeout: Option<Duration>) -> Option<Received> {
    let ms = timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
    Some(match host::receive(ms)? {
        host::Received::Message(m) => Received::Message(Message {
            from: m.sender,
            topic: m.topic,
            json: m.payload,
        }),
        host::Received::Event(host::Event::Exit(e)) => Received::Exit {
            from: e.sender,
            result: match e.error {
                Some(error) => Err(error),
                None => Ok(e.value.unwrap_or_else(|| "null".into())),
            },
        },
        host::Received::Event(host::Event::LinkDown(e)) => Received::LinkDown {
            from: e.sender,
            error: e.error,
        },
        host::Received::Event(host::Event::Cancel(e)) => Received::Cancel {
            from: e.sender,
            reason: e.reason,
        },
    })
}

/// Starts `entry` on `host_entry`; `args` is the argument list (a tuple or a `Vec`, written
/// as a JSON array).
pub fn spawn<A: Serialize + ?Sized>(entry: &str, host_entry: &str, args: &A) -> Result<Pid, Error> {
    host::spawn(entry, host_entry, &arguments(args)?).map_err(Error::Host)
}

/// Like [`spawn`]; this process gets the new one's [`Received::Exit`].
pub fn spawn_monitored<A: Serialize + ?Sized>(
    entry: &str,
    host_entry: &str,
    args: &A,
) -> Result<Pid, Error> {
    host::spawn_monitored(entry, host_entry, &arguments(args)?).map_err(Error::Host)
}

pub fn monitor(destination: &str) -> Result<(), Error> {
    host::monitor(destination).map_err(Error::Host)
}

/// Links both ways: when either fails, the other gets [`Received::LinkDown`].
pub fn link(destination: &str) -> Result<(), Error> {
    host::link(destination).map_err(Error::Host)
}

pub fn terminate(destination: &str) -> Result<(), Error> {
    host::terminate(destination).map_err(Error::Host)
}

fn arguments<A: Serialize + ?Sized>(args: &A) -> Result<String, Error> {
    let json = serde_json::to_value(args)?;
    match json {
        serde_json::Value::Array(_) => Ok(json.to_string()),
        serde_json::Value::Null => Ok("[]".into()),
        other => Ok(serde_json::Value::Array(vec![other]).to_string()),
    }
}
