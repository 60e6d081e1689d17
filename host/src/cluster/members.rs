//! The other nodes of the cluster, as last heard from.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Members {
    by_name: Mutex<BTreeMap<String, Instant>>,
}

impl Members {
    /// Records a heartbeat; `true` when the node is new (or back).
    pub fn heard(&self, node: &str) -> bool {
        (self.by_name.lock().unwrap())
            .insert(node.to_string(), Instant::now())
            .is_none()
    }

    /// Forgets a node that left; `true` when it was known.
    pub fn remove(&self, node: &str) -> bool {
        self.by_name.lock().unwrap().remove(node).is_some()
    }

    /// Forgets and returns the nodes not heard from for `after`.
    pub fn lost(&self, after: Duration) -> Vec<String> {
        let mut by_name = self.by_name.lock().unwrap();
        let lost: Vec<String> = (by_name.iter())
            .filter(|(_, heard)| heard.elapsed() > after)
            .map(|(node, _)| node.clone())
            .collect();
        for node in &lost {
            by_name.remove(node);
        }
        lost
    }

    /// The nodes heard from, by name.
    pub fn alive(&self) -> Vec<String> {
        self.by_name.lock().unwrap().keys().cloned().collect()
    }
}
