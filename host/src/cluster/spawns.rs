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

struct Pending {
    node: String,
    parent: Pid,
    monitor: bool,
    link: bool,
    answer: oneshot::Sender<Result<Pid, String>>,
}

#[derive(Default)]
pub struct Spawns {
    next: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
}

/// A spawn waiting for its answer; dropped (its spawner gave up, or ended), it is forgotten,
/// and an answer that comes after all ends the child it names.
pub struct Waiting<'s> {
    spawns: &'s Spawns,
    id: u64,
    node: String,
    answered: oneshot::Receiver<Result<Pid, String>>,
}

impl Waiting<'_> {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The answer, or why none came.
    pub async fn answer(mut self) -> Result<Pid, String> {
        let node = &self.node;
        match tokio::time::timeout(ANSWER_WITHIN, &mut self.answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(format!("node `{node}`'s answer to a spawn was lost")),
            Err(_) => Err(format!(
                "node `{node}` did not answer a spawn within {ANSWER_WITHIN:?}; it may be overloaded, or its cluster connection broken"
            )),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.spawns.pending.lock().unwrap().remove(&self.id);
    }
}

impl Spawns {
    /// A spawn about to go to `node`.
    pub fn wait(&self, node: &str, parent: &Pid, request: &RemoteSpawn) -> Waiting<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            node: node.to_string(),
            parent: parent.clone(),
            monitor: request.monitor,
            link: request.link,
            answer,
        };
        self.pending.lock().unwrap().insert(id, pending);
        Waiting {
            spawns: self,
            id,
            node: node.to_string(),
            answered,
        }
    }

    /// `node`'s answer to spawn `id`: the parent takes its half of the child's monitor and
    /// link before anything else from the child can arrive. A child no spawner waits for
    /// any more is returned, to be ended.
    pub fn answered(
        &self,
        id: u64,
        node: &str,
        result: Result<String, String>,
        local: &Node,
    ) -> Option<Pid> {
        let child = result.as_ref().ok().and_then(|text| Pid::parse(text));
        let pending = {
            let mut pending = self.pending.lock().unwrap();
            match pending.get(&id) {
                Some(p) if p.node == node => pending.remove(&id),
                // Not the node this spawn went to: not its answer.
                Some(_) => return None,
                None => None,
            }
        };
        let Some(pending) = pending else {
            return child;
        };
        let result = result.and_then(|text| {
            Pid::parse(&text).ok_or_else(|| format!("node `{node}` answered `{text}`"))
        });
        if let Ok(child) = &result {
            local.adopt(&pending.parent, child, pending.monitor, pending.link);
        }
        let _ = pending.answer.send(result);
        None
    }

    /// `node` is gone: its spawns will not be answered.
    pub fn node_gone(&self, node: &str, why: &str) {
        let mut pending = self.pending.lock().unwrap();
        let ids: Vec<u64> = (pending.iter())
            .filter(|(_, p)| p.node == node)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(p) = pending.remove(&id) {
                let _ = (p.answer).send(Err(format!("node `{node}` {why} before it answered")));
            }
        }
    }
}
