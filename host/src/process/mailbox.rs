//! What reaches a process: messages from others and events about them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use std::pin::pin;

use super::Pid;
use super::channel::{Attempt, Channel};
use crate::values::Payload;

#[derive(Debug, Clone)]
pub struct Message {
    pub from: Option<Pid>,
    pub topic: String,
    pub payload: Payload,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// A monitored process ended; `error` is set when it failed.
    Exit {
        from: Pid,
        at: i64,
        value: Payload,
        error: Option<String>,
    },
    /// A linked process failed.
    LinkDown { from: Pid, at: i64, error: String },
    /// Someone asked this process to stop.
    Cancel {
        from: Option<Pid>,
        at: i64,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub enum Envelope {
    Message(Message),
    Event(Event),
}

/// A process's incoming queues: events, messages, and per-topic message channels.
pub struct Mailbox {
    pub events: Channel<Envelope>,
    pub inbox: Channel<Envelope>,
    topics: Mutex<HashMap<String, Channel<Envelope>>>,
    trap_links: AtomicBool,
    /// Unread messages it may hold, inbox and topics together.
    max_messages: usize,
}

/// A message was refused: this many were waiting unread already.
#[derive(Debug)]
pub struct MailboxFull(pub usize);

impl Mailbox {
    pub fn new(max_messages: usize) -> Self {
        Self {
            events: Channel::unbounded(),
            inbox: Channel::unbounded(),
            topics: Mutex::new(HashMap::new()),
            trap_links: AtomicBool::new(false),
            max_messages,
        }
    }

    /// Queues a message (unless `max_messages` wait unread) or an event (always: there is
    /// one per monitor, link or cancel, each bounded by the processes that exist).
    pub fn deliver(&self, envelope: Envelope) -> Result<(), MailboxFull> {
        let target = match &envelope {
            Envelope::Event(_) => self.events.clone(),
            Envelope::Message(message) => {
                // Held while counting and queueing, so concurrent senders cannot overshoot.
                let topics = self.topics.lock().unwrap();
                let waiting =
                    self.inbox.waiting() + topics.values().map(Channel::waiting).sum::<usize>();
                if waiting >= self.max_messages {
                    return Err(MailboxFull(waiting));
                }
                let target =
                    (topics.get(&message.topic).cloned()).unwrap_or_else(|| self.inbox.clone());
                // A closed mailbox belongs to a process that has ended.
                let _ = target.try_send(envelope);
                return Ok(());
            }
        };
        let _ = target.try_send(envelope);
        Ok(())
    }

    /// Messages with `topic` go to the returned channel from now on, not to the inbox; those
    /// already waiting unread in the inbox move to it, so a message sent before its receiver
    /// listened is not lost (as in Wippy, where a message waits for its subscription).
    pub fn listen(&self, topic: &str) -> Channel<Envelope> {
        let mut topics = self.topics.lock().unwrap();
        if let Some(channel) = topics.get(topic) {
            return channel.clone();
        }
        let channel = Channel::unbounded();
        let waiting = self
            .inbox
            .take_where(|envelope| matches!(envelope, Envelope::Message(m) if m.topic == topic));
        for envelope in waiting {
            let _ = channel.try_send(envelope);
        }
        topics.insert(topic.to_string(), channel.clone());
        channel
    }

    /// Stops listening: the topic's messages go to the inbox again, and the channel closes.
    /// `false` when the channel is not one of this mailbox's topics.
    pub fn unlisten(&self, channel: &Channel<Envelope>) -> bool {
        let mut topics = self.topics.lock().unwrap();
        let Some(topic) = (topics.iter())
            .find(|(_, c)| c.same(channel))
            .map(|(topic, _)| topic.clone())
        else {
            return false;
        };
        topics.remove(&topic);
        channel.close();
        true
    }

    pub fn trap_links(&self) -> bool {
        self.trap_links.load(Ordering::Relaxed)
    }

    pub fn set_trap_links(&self, trap: bool) {
        self.trap_links.store(trap, Ordering::Relaxed);
    }
}

impl Mailbox {
    /// The next event (first) or message if one is waiting, without waiting: what
    /// [`Mailbox::next`] would return at once.
    pub fn try_next(&self) -> Option<Envelope> {
        match self.events.try_recv() {
            Attempt::Done(envelope) => Some(envelope),
            _ => match self.inbox.try_recv() {
                Attempt::Done(envelope) => Some(envelope),
                _ => None,
            },
        }
    }

    /// Whether nothing will arrive any more (the process has ended): what makes
    /// [`Mailbox::next`] return `None` once both queues are drained.
    pub fn is_closed(&self) -> bool {
        self.events.is_closed() && self.inbox.is_closed()
    }

    /// Wakes `waker` at the next event or message (once): with [`Mailbox::try_next`], a wait
    /// that holds no future.
    pub fn register(&self, waker: &std::task::Waker) {
        self.events.register(waker);
        self.inbox.register(waker);
    }

    /// The next event (first) or message; `None` once the mailbox is closed. Waiting holds
    /// no thread.
    pub async fn next(&self) -> Option<Envelope> {
        let (events, inbox) = (&self.events, &self.inbox);
        loop {
            let mut events_changed = pin!(events.changed());
            events_changed.as_mut().enable();
            let mut inbox_changed = pin!(inbox.changed());
            inbox_changed.as_mut().enable();
            let from_events = events.try_recv();
            if let Attempt::Done(envelope) = from_events {
                return Some(envelope);
            }
            match inbox.try_recv() {
                Attempt::Done(envelope) => return Some(envelope),
                Attempt::Closed if matches!(from_events, Attempt::Closed) => return None,
                _ => {}
            }
            tokio::select! {
                _ = events_changed => {}
                _ = inbox_changed => {}
            }
        }
    }
}
