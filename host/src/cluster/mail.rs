//! Letters between nodes: one publisher task per node keeps the order they were posted in,
//! and a window per receiving node keeps a fast sender from burying a slow receiver.
//!
//! NATS itself drops what a subscriber does not take in time (a "slow consumer"), silently
//! to the sender. So the letters from one node to another are numbered, the receiver reports
//! the highest number it took every [`CREDIT_EVERY`] letters (and at each heartbeat), and a
//! sender may be at most [`WINDOW`] letters ahead of the last report; past that a message is
//! refused as a send to a full mailbox is — the receiver is not keeping up, sending later
//! may work — instead of being lost on the way. Events (EXIT, LINK_DOWN, monitors, spawns)
//! are never refused. A letter lost on the way (at most once) is passed over by the next
//! report, so nothing drifts; the numbering starts afresh when either node starts again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::Subject;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::letter::Letter;
use super::{codec, wire};
use crate::process::SendError;

/// How far a node may be ahead of what another has reported taken.
pub const WINDOW: u64 = 16_384;
/// How many letters a receiver takes between two reports.
pub const CREDIT_EVERY: u64 = 1_024;

/// What the publisher task is handed: a letter for a subject, or a request to say when all
/// letters before it are published.
enum Outgoing {
    Letter(Subject, Bytes),
    Drained(oneshot::Sender<()>),
}

/// Letters to one node: the last numbered, the last it reported taken, and their subject.
struct Sent {
    last: u64,
    taken: u64,
    subject: Subject,
}

/// Letters from one node: the highest number taken, and the last reported.
#[derive(Default)]
struct Taken {
    highest: u64,
    reported: u64,
}

pub struct Mail {
    node: String,
    incarnation: String,
    outbox: mpsc::UnboundedSender<Outgoing>,
    sent: Mutex<HashMap<String, Sent>>,
    taken: Mutex<HashMap<String, Taken>>,
}

impl Mail {
    /// The mail of node `node` in its run `incarnation`, published through `client`.
    pub fn start(client: async_nats::Client, node: &str, incarnation: u64) -> Mail {
        let (outbox, mut outgoing) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(next) = outgoing.recv().await {
                match next {
                    // At most once: a message the server does not take is lost, as in Erlang.
                    Outgoing::Letter(subject, bytes) => {
                        let _ = client.publish(subject, bytes).await;
                    }
                    Outgoing::Drained(done) => drop(done.send(())),
                }
            }
        });
        Mail {
            node: node.to_string(),
            incarnation: incarnation.to_string(),
            outbox,
            sent: Mutex::default(),
            taken: Mutex::default(),
        }
    }

    /// Queues `letter` for `to`. Letters to a member are numbered, and a message
    /// (`refusable`) is refused past the window; to a node not (yet) heard from, a letter goes
    /// unnumbered.
    pub fn post(
        &self,
        to: &str,
        mut letter: Letter,
        refusable: bool,
        member: bool,
    ) -> Result<(), SendError> {
        let subject = match member {
            true => {
                let mut sent = self.sent.lock().unwrap();
                if !sent.contains_key(to) {
                    let subject = self.subject(to);
                    sent.insert(
                        to.to_string(),
                        Sent {
                            last: 0,
                            taken: 0,
                            subject,
                        },
                    );
                }
                let flow = sent.get_mut(to).expect("just put there");
                if refusable && flow.last - flow.taken >= WINDOW {
                    return Err(SendError::MailboxFull(format!(
                        "node `{to}` has not yet taken the last {WINDOW} messages this node sent it: it is not keeping up (or cannot be reached); send later, or less often"
                    )));
                }
                flow.last += 1;
                letter.seq = flow.last;
                flow.subject.clone()
            }
            false => self.subject(to),
        };
        let bytes = (letter.encode(codec::max_payload())).map_err(SendError::NotRunning)?;
        (self.outbox.send(Outgoing::Letter(subject, bytes.into())))
            .map_err(|_| SendError::NotRunning("the node is leaving its cluster".to_string()))
    }

    fn subject(&self, to: &str) -> Subject {
        wire::mail_subject(to, &self.node, &self.incarnation).into()
    }

    /// Waits (up to 2 s) until every letter posted before is published.
    pub async fn drained(&self) {
        let (done, drained) = oneshot::channel();
        if self.outbox.send(Outgoing::Drained(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), drained).await;
        }
    }

    /// `from` reports it took our letters up to `highest`.
    pub fn reported(&self, from: &str, highest: u64) {
        if let Some(flow) = self.sent.lock().unwrap().get_mut(from) {
            flow.taken = flow.taken.max(highest.min(flow.last));
        }
    }

    /// Letter `seq` from `from` was taken: the highest number to report now, if it is time.
    pub fn took(&self, from: &str, seq: u64) -> Option<u64> {
        if seq == 0 {
            return None;
        }
        let mut taken = self.taken.lock().unwrap();
        if !taken.contains_key(from) {
            taken.insert(from.to_string(), Taken::default());
        }
        let flow = taken.get_mut(from).expect("just put there");
        flow.highest = flow.highest.max(seq);
        (flow.highest - flow.reported >= CREDIT_EVERY).then(|| {
            flow.reported = flow.highest;
            flow.highest
        })
    }

    /// Everything still to report, by sending node.
    pub fn unreported(&self) -> Vec<(String, u64)> {
        let mut taken = self.taken.lock().unwrap();
        (taken.iter_mut())
            .filter(|(_, flow)| flow.highest > flow.reported)
            .map(|(node, flow)| {
                flow.reported = flow.highest;
                (node.clone(), flow.highest)
            })
            .collect()
    }

    /// `node` started again, or is gone: the letters both ways are numbered afresh.
    pub fn forget(&self, node: &str) {
        self.sent.lock().unwrap().remove(node);
        self.taken.lock().unwrap().remove(node);
    }

    /// The connection was made again: what was in flight is lost, and no longer counted.
    pub fn reconnected(&self) {
        for flow in self.sent.lock().unwrap().values_mut() {
            flow.taken = flow.last;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            from: None,
            to: "{b@app:p|0x00001}".into(),
            errand: super::super::letter::Errand::Process(crate::process::Errand::Terminate),
            seq: 0,
        }
    }

    #[tokio::test]
    async fn a_sender_waits_for_reports_and_a_lost_letter_is_passed_over() {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect("nats://127.0.0.1:1")
            .await
            .unwrap();
        let mail = Mail::start(client, "a", 1);
        for _ in 0..WINDOW {
            mail.post("b", letter(), true, true).unwrap();
        }
        let refused = mail.post("b", letter(), true, true);
        assert!(matches!(refused, Err(SendError::MailboxFull(_))));
        // Events pass the window all the same.
        mail.post("b", letter(), false, true).unwrap();
        // b took up to letter 11 (any it never got before are passed over): 10 more fit.
        mail.reported("b", 11);
        for _ in 0..10 {
            mail.post("b", letter(), true, true).unwrap();
        }
        assert!(mail.post("b", letter(), true, true).is_err());
        // A report beyond what was sent (from an earlier run of this node) counts as all.
        mail.reported("b", u64::MAX);
        mail.post("b", letter(), true, true).unwrap();
        // The receiving side reports every CREDIT_EVERY letters, and what is left.
        let reports: Vec<u64> = (1..=CREDIT_EVERY + 5)
            .filter_map(|seq| mail.took("c", seq))
            .collect();
        assert_eq!(reports, [CREDIT_EVERY]);
        assert_eq!(mail.unreported(), [("c".to_string(), CREDIT_EVERY + 5)]);
        assert!(mail.unreported().is_empty());
    }
}
