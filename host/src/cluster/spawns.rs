//! Spawns on other nodes, each waiting for the answer of the node it went to: the child's
//! pid, or why it did not start.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::process::{Node, Pid, RemoteSpawn};

/// How long a spawn waits for a node that is alive but does not answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

type Answer = oneshot::Receiver<Result<Pid, String>>;

struct Waiting {
    node: String,
    parent: Pid,
    monitor: bool,
    link: bool,
    answer: oneshot::Sender<Result<Pid, String>>,
}

#[derive(Default)]
pub struct Spawns {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, Waiting>>,
}

impl Spawns {
    /// A spawn about to go to `node`: its id, and where its answer comes.
    pub fn wait(&self, node: &str, parent: &Pid, request: &RemoteSpawn) -> (u64, Answer) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting {
            node: node.to_string(),
            parent: parent.clone(),
            monitor: request.monitor,
            link: request.link,
            answer,
        };
        self.waiting.lock().unwrap().insert(id, waiting);
        (id, answered)
    }

    pub fn forget(&self, id: u64) {
        self.waiting.lock().unwrap().remove(&id);
    }

    /// The answer to spawn `id`: the parent takes its half of the child's monitor and link
    /// before anything else from the child can arrive.
    pub fn answered(&self, id: u64, result: Result<String, String>, local: &Node) {
        let Some(waiting) = self.waiting.lock().unwrap().remove(&id) else {
            return;
        };
        let result = result.and_then(|text| {
            Pid::parse(&text).ok_or_else(|| format!("node `{}` answered `{text}`", waiting.node))
        });
        if let Ok(child) = &result {
            local.adopt(&waiting.parent, child, waiting.monitor, waiting.link);
        }
        let _ = waiting.answer.send(result);
    }

    /// The answer to spawn `id` on `node`, or why none came.
    pub async fn answer(&self, id: u64, answer: Answer, node: &str) -> Result<Pid, String> {
        let outcome = tokio::time::timeout(ANSWER_WITHIN, answer).await;
        self.forget(id);
        match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(format!("node `{node}`'s answer to a spawn was lost")),
            Err(_) => Err(format!(
                "node `{node}` did not answer a spawn within {ANSWER_WITHIN:?}; it may be overloaded, or its cluster connection broken"
            )),
        }
    }

    /// `node` is gone: its spawns will not be answered.
    pub fn node_gone(&self, node: &str, why: &str) {
        let mut waiting = self.waiting.lock().unwrap();
        let ids: Vec<u64> = (waiting.iter())
            .filter(|(_, w)| w.node == node)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(w) = waiting.remove(&id) {
                let _ = (w.answer).send(Err(format!("node `{node}` {why} before it answered")));
            }
        }
    }
}
