//! The node's side of the `wippy:process` and `wippy:runtime` imports: a process context is
//! what a WASM actor's imports act as.

use std::time::Duration;

use super::{Envelope, Event, Message, ProcessContext, SpawnRequest, call_function};
use crate::capabilities::{ActorHost, Pending, host};
use crate::registry::EntryId;
use crate::values::Payload;

impl ActorHost for ProcessContext {
    fn pid(&self) -> String {
        self.pid.to_string()
    }

    fn send(&self, destination: &str, topic: &str, payload: Payload) -> Result<(), String> {
        (self.node.send(Some(&self.pid), destination, topic, payload)).map_err(|e| e.to_string())
    }

    fn receive(&self, timeout: Option<Duration>) -> Pending<'_, Option<host::Received>> {
        Box::pin(async move {
            let next = self.mailbox.next();
            let envelope = match timeout {
                Some(limit) => tokio::time::timeout(limit, next).await.ok().flatten(),
                None => next.await,
            };
            envelope.map(received)
        })
    }

    fn spawn(
        &self,
        entry: String,
        host: String,
        args: Vec<Payload>,
        monitor: bool,
    ) -> Pending<'_, Result<String, String>> {
        Box::pin(async move {
            let (host, node) = self.node.placement(&host);
            let request = SpawnRequest {
                parent: Some(self.pid.clone()),
                monitor,
                ..SpawnRequest::new(
                    EntryId::resolve(&entry, &self.entry.namespace),
                    EntryId::resolve(host, &self.entry.namespace),
                    args,
                )
            };
            match node {
                Some(node) => {
                    (self.node.spawn_elsewhere(node, request).await).map(|pid| pid.to_string())
                }
                None => (self.node.spawn(request)).map(|spawned| spawned.pid.to_string()),
            }
        })
    }

    fn monitor(&self, destination: &str) -> Result<(), String> {
        self.node.monitor(&self.pid, destination, true)
    }

    fn link(&self, destination: &str) -> Result<(), String> {
        self.node.link(&self.pid, destination, true)
    }

    fn terminate(&self, destination: &str) -> Result<(), String> {
        self.node.terminate(destination)
    }

    fn call(&self, id: &str, args: Vec<Payload>) -> Pending<'_, Result<Payload, String>> {
        let function = EntryId::resolve(id, &self.entry.namespace);
        Box::pin(async move {
            (call_function(self, &function, args).await).map_err(|error| error.message)
        })
    }
}

fn json(payload: &Payload) -> String {
    payload
        .to_json()
        .map(|v| v.to_string())
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e))
}

fn received(envelope: Envelope) -> host::Received {
    match envelope {
        Envelope::Message(Message {
            from,
            topic,
            payload,
        }) => host::Received::Message(host::Message {
            sender: from.map(|p| p.to_string()),
            topic,
            payload: json(&payload),
        }),
        Envelope::Event(Event::Exit {
            from, value, error, ..
        }) => host::Received::Event(host::Event::Exit(host::ExitEvent {
            sender: from.to_string(),
            value: error.is_none().then(|| json(&value)),
            error,
        })),
        Envelope::Event(Event::LinkDown { from, error, .. }) => {
            host::Received::Event(host::Event::LinkDown(host::LinkDownEvent {
                sender: from.to_string(),
                error,
            }))
        }
        Envelope::Event(Event::Cancel { from, reason, .. }) => {
            host::Received::Event(host::Event::Cancel(host::CancelEvent {
                sender: from.map(|p| p.to_string()),
                reason,
            }))
        }
    }
}
