//! Letters between nodes: one publisher task per node keeps the order they were posted in,
//! and a window per receiving node keeps a fast sender from burying a slow receiver.
//!
//! NATS itself drops what a subscriber does not take in time (a "slow consumer"), silently
//! to the sender. So a node may have at most [`WINDOW`] messages to one other node that the
//! other has not yet reported taken; the receiver reports every [`CREDIT_EVERY`] letters
//! (and what is left at each heartbeat). Past the window a send is refused as a send to a
//! full mailbox is — the receiver is not keeping up, sending later may work — instead of
//! being lost on the way. Events (EXIT, LINK_DOWN, monitors, spawns) are never refused.
//! What was in flight when the connection broke is lost (at most once), and the window
//! starts afresh on reconnection and whenever the other node joins again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{codec, wire};
use crate::process::SendError;

/// Letters to one node not yet reported taken, past which messages are refused.
pub const WINDOW: u64 = 16_384;
/// How many letters a receiver takes before it reports them.
pub const CREDIT_EVERY: u64 = 1_024;

/// What the publisher task is handed: a letter for a subject, or a request to say when all
/// letters before it are published.
enum Outgoing {
    Letter(String, Bytes),
    Drained(oneshot::Sender<()>),
}

pub struct Mail {
    node: String,
    outbox: mpsc::UnboundedSender<Outgoing>,
    /// Per receiving node: letters sent, not yet reported taken.
    in_flight: Mutex<HashMap<String, u64>>,
    /// Per sending node: letters taken, not yet reported.
    owed: Mutex<HashMap<String, u64>>,
}

impl Mail {
    /// The mail of node `node`, published through `client`.
    pub fn start(client: async_nats::Client, node: &str) -> Mail {
        let (outbox, mut outgoing) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(next) = outgoing.recv().await {
                match next {
                    // At most once: a message the server does not take is lost, as in Erlang.
                    Outgoing::Letter(subject, bytes) => {
                        let _ = client.publish::<String>(subject, bytes).await;
                    }
                    Outgoing::Drained(done) => drop(done.send(())),
                }
            }
        });
        Mail {
            node: node.to_string(),
            outbox,
            in_flight: Mutex::default(),
            owed: Mutex::default(),
        }
    }

    /// Queues `letter` for `to`; a message (`refusable`) is refused past the window.
    pub fn post(&self, to: &str, letter: &wire::Letter, refusable: bool) -> Result<(), SendError> {
        let bytes = codec::encode(&letter.to_payload(), codec::max_payload())
            .map_err(SendError::NotRunning)?;
        {
            let mut in_flight = self.in_flight.lock().unwrap();
            let sent = in_flight.entry(to.to_string()).or_default();
            if refusable && *sent >= WINDOW {
                return Err(SendError::MailboxFull(format!(
                    "node `{to}` has not yet taken the last {WINDOW} messages this node sent it: it is not keeping up (or cannot be reached); send later, or less often"
                )));
            }
            *sent += 1;
        }
        let subject = wire::mail_subject(to, &self.node);
        (self.outbox.send(Outgoing::Letter(subject, bytes.into())))
            .map_err(|_| SendError::NotRunning("the node is leaving its cluster".to_string()))
    }

    /// Waits (up to 2 s) until every letter posted before is published.
    pub async fn drained(&self) {
        let (done, drained) = oneshot::channel();
        if self.outbox.send(Outgoing::Drained(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), drained).await;
        }
    }

    /// `from` reports `letters` taken.
    pub fn credited(&self, from: &str, letters: u64) {
        if let Some(sent) = self.in_flight.lock().unwrap().get_mut(from) {
            *sent = sent.saturating_sub(letters);
        }
    }

    /// Starts afresh with `node` (it joined again, or is gone); `None`: with every node
    /// (the connection was made again, and what was in flight is lost).
    pub fn reset(&self, node: Option<&str>) {
        let mut in_flight = self.in_flight.lock().unwrap();
        match node {
            Some(node) => drop(in_flight.remove(node)),
            None => in_flight.clear(),
        }
    }

    /// A letter from `from` was taken: the count to report now, if it is time.
    pub fn taken(&self, from: &str) -> Option<u64> {
        let mut owed = self.owed.lock().unwrap();
        let count = owed.entry(from.to_string()).or_default();
        *count += 1;
        (*count >= CREDIT_EVERY).then(|| std::mem::take(count))
    }

    /// Everything still to report, by sending node.
    pub fn owed(&self) -> Vec<(String, u64)> {
        let mut owed = self.owed.lock().unwrap();
        owed.drain().filter(|(_, count)| *count > 0).collect()
    }
}
