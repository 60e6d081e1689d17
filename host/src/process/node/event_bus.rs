//! The node's event bus, Wippy's `events`: a process subscribes to a system and, if it
//! wants, a kind; every event sent that matches reaches it as a message on a topic of its
//! own (its `events` channel). The node's own events go here too: `registry` /
//! `entry.create|update|delete|reject` when a reload adds, changes, removes or refuses an
//! entry. Events stay on their node, as in Wippy.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::{Node, SendError};
use crate::process::Pid;
use crate::values::Payload;

/// One event: where it comes from (`system`), what happened (`kind`), to what (`path`).
#[derive(Debug, Clone)]
pub struct BusEvent {
    pub system: String,
    pub kind: String,
    pub path: String,
    pub data: Payload,
}

#[derive(Default)]
pub(super) struct EventBus {
    subscriptions: Mutex<Vec<Subscription>>,
    next: AtomicU64,
    /// How many subscriptions there were after the last sweep of ended subscribers.
    swept: AtomicUsize,
}

struct Subscription {
    pid: Pid,
    system: String,
    kind: Option<String>,
    topic: String,
}

/// Wippy's patterns: `*` (or nothing) is any; a trailing `*` any rest; else the exact text.
fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        _ if pattern.is_empty() => true,
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

impl Node {
    /// Subscribes `pid` to the events of `system` (of `kind`, if given); returns the topic
    /// they arrive on, which no script can name (it starts with `@`).
    pub fn subscribe(&self, pid: &Pid, system: &str, kind: Option<&str>) -> String {
        let bus = &self.inner.events;
        let topic = format!("@events.{}", bus.next.fetch_add(1, Ordering::Relaxed));
        let mut subscriptions = bus.subscriptions.lock().unwrap();
        // Processes that end without closing theirs are swept here too (a send sweeps them
        // as well), once their number has doubled: they cannot pile up between events.
        if subscriptions.len() >= (2 * bus.swept.load(Ordering::Relaxed)).max(64) {
            let processes = self.inner.processes.lock().unwrap();
            subscriptions.retain(|s| processes.contains_key(&s.pid));
            bus.swept.store(subscriptions.len(), Ordering::Relaxed);
        }
        subscriptions.push(Subscription {
            pid: pid.clone(),
            system: system.to_string(),
            kind: kind
                .filter(|k| !k.is_empty() && *k != "*")
                .map(str::to_string),
            topic: topic.clone(),
        });
        topic
    }

    pub fn unsubscribe(&self, topic: &str) {
        (self.inner.events.subscriptions.lock().unwrap()).retain(|s| s.topic != topic);
    }

    /// Sends `event` to every subscriber it matches, as `{system, kind, path, data}`. A
    /// subscriber whose mailbox is full misses it; one that has ended is forgotten.
    pub fn publish(&self, event: BusEvent) {
        let targets: Vec<(Pid, String)> = (self.inner.events.subscriptions.lock().unwrap())
            .iter()
            .filter(|s| matches(&s.system, &event.system))
            .filter(|s| {
                s.kind
                    .as_deref()
                    .is_none_or(|kind| matches(kind, &event.kind))
            })
            .map(|s| (s.pid.clone(), s.topic.clone()))
            .collect();
        if targets.is_empty() {
            return;
        }
        let mut fields = vec![
            ("system", Payload::String(event.system)),
            ("kind", Payload::String(event.kind)),
            ("path", Payload::String(event.path)),
        ];
        if event.data != Payload::Nil {
            fields.push(("data", event.data));
        }
        let payload = Payload::Map(
            (fields.into_iter())
                .map(|(key, value)| (Payload::String(key.to_string()), value))
                .collect(),
        );
        for (pid, topic) in targets {
            match self.send(None, pid.as_str(), &topic, payload.clone()) {
                Err(SendError::NotRunning(_)) => self.unsubscribe(&topic),
                Err(error) => log::debug!("event to {pid} dropped: {error}"),
                Ok(()) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_are_wippys() {
        assert!(matches("*", "registry"));
        assert!(matches("", "registry"));
        assert!(matches("reg*", "registry"));
        assert!(matches("registry", "registry"));
        assert!(!matches("registry", "registry.x"));
        assert!(matches("entry.*", "entry.create"));
        assert!(!matches("entry.*", "entries"));
    }
}
