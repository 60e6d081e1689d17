//! The other nodes of the cluster, as last heard from.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a heartbeat says of its node.
#[derive(Debug, PartialEq)]
pub enum Heard {
    /// Known, and alive.
    Again,
    /// New to this node (or back after it was lost or left).
    Joined,
    /// Known, but started again since: its earlier run is gone.
    Restarted,
}

#[derive(Default)]
pub struct Members {
    /// Node → when last heard, and its incarnation.
    by_name: Mutex<BTreeMap<String, (Instant, u64)>>,
}

impl Members {
    /// Records a heartbeat of `node` in its `incarnation`.
    pub fn heard(&self, node: &str, incarnation: u64) -> Heard {
        let now = Instant::now();
        let mut by_name = self.by_name.lock().unwrap();
        let Some((heard, before)) = by_name.get_mut(node) else {
            by_name.insert(node.to_string(), (now, incarnation));
            return Heard::Joined;
        };
        *heard = now;
        match std::mem::replace(before, incarnation) == incarnation {
            true => Heard::Again,
            false => Heard::Restarted,
        }
    }

    /// Forgets a node that left; `true` when it was known.
    pub fn remove(&self, node: &str) -> bool {
        self.by_name.lock().unwrap().remove(node).is_some()
    }

    /// Forgets and returns the nodes not heard from for `after`.
    pub fn lost(&self, after: Duration) -> Vec<String> {
        let mut by_name = self.by_name.lock().unwrap();
        let lost: Vec<String> = (by_name.iter())
            .filter(|(_, (heard, _))| heard.elapsed() > after)
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

    /// The run of `node` last heard.
    pub fn incarnation(&self, node: &str) -> Option<u64> {
        self.by_name.lock().unwrap().get(node).map(|(_, i)| *i)
    }

    pub fn is_alive(&self, node: &str) -> bool {
        self.by_name.lock().unwrap().contains_key(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_new_then_known_then_restarted() {
        let members = Members::default();
        assert_eq!(members.heard("b", 1), Heard::Joined);
        assert_eq!(members.heard("b", 1), Heard::Again);
        assert_eq!(members.heard("b", 2), Heard::Restarted);
        assert!(members.is_alive("b"));
        assert!(members.remove("b") && !members.is_alive("b"));
        assert_eq!(members.heard("b", 2), Heard::Joined);
    }
}
