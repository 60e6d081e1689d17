//! Names of the whole cluster (Wippy's `EVENTUAL`, `CONSISTENT` and `STRONG` scopes), kept
//! in a JetStream key-value bucket of the NATS server.
//!
//! Why JetStream and not request/reply to the owner: a name must be taken once across every
//! node, and the bucket's `create` decides that in one place, atomically, with nothing of
//! our own to elect or replicate; a node that was not there when the name was taken (it
//! joined later, or restarted) reads the bucket's current state. Every node keeps a replica
//! fed by a watch, so `lookup` and a send to a name ask no one; a name taken on one node is
//! seen on the others once its registration reaches them (a NATS round trip). A name goes
//! with its process (the owning node deletes it) or its node (every node that sees the node
//! lost deletes that node's names, each delete bound to the revision it saw, so a name taken
//! again since is not touched).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::{kv, stream};
use futures_util::StreamExt;

use crate::process::Pid;

/// The bucket on the NATS server.
const BUCKET: &str = "wippy_names";

const NO_JETSTREAM: &str = "cluster-wide names need JetStream on the NATS server: start it with `nats-server -js` (names of scope `process.registry.LOCAL` need nothing)";

pub struct Names {
    node: String,
    /// `None` when the server has no JetStream: cluster-wide registrations fail with the fix.
    store: Option<kv::Store>,
    /// The bucket as last heard: name → (pid, revision).
    replica: Mutex<HashMap<String, (Pid, u64)>>,
    /// The names this node's processes hold or are taking.
    held: Mutex<HashMap<String, Pid>>,
}

impl Names {
    /// Opens (or creates) the bucket; without JetStream, says so once in the log.
    pub async fn open(client: &async_nats::Client, node: &str) -> Names {
        let jetstream = async_nats::jetstream::new(client.clone());
        // The bucket's stream is made as `create_key_value` would make it, without the
        // account query that call makes first (whose answer nats-server 2.9 writes in a form
        // async-nats no longer reads).
        let stream = stream::Config {
            name: format!("KV_{BUCKET}"),
            description: Some("wippy: names registered across the cluster".to_string()),
            subjects: vec![format!("$KV.{BUCKET}.>")],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: 1,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        let store = match jetstream.get_or_create_stream(stream).await {
            Ok(_) => (jetstream.get_key_value(BUCKET).await).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        let store = match store {
            Ok(store) => Some(store),
            Err(error) => {
                log::warn!("node `{node}`: {NO_JETSTREAM} ({error})");
                None
            }
        };
        Names {
            node: node.to_string(),
            store,
            replica: Mutex::default(),
            held: Mutex::default(),
        }
    }

    /// Keeps the replica: the bucket's current names, then every change, for as long as the
    /// node runs (a watch cut by a server restart is opened again, and the replica read
    /// anew).
    pub async fn keep(&self, mut changes: Option<kv::Watch>) {
        if self.store.is_none() {
            return;
        }
        loop {
            if let Some(changes) = &mut changes {
                while let Some(Ok(entry)) = changes.next().await {
                    self.changed(entry).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            changes = self.read().await;
        }
    }

    /// Reads the bucket's current names into the replica, and returns the watch that brings
    /// the changes after them (`None` when the server cannot be asked now).
    pub async fn read(&self) -> Option<kv::Watch> {
        let store = self.store.as_ref()?;
        let present = store.status().await.ok()?.values();
        // The last entry of every key, then every change (`watch_all` brings only changes).
        let mut changes = store.watch_with_history(">").await.ok()?;
        let mut current = HashMap::new();
        // Each entry says how many follow it; the last of the current ones says none.
        let mut pending = present;
        while pending > 0 {
            let next = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
            let Ok(Some(Ok(entry))) = next else {
                return None;
            };
            pending = entry.delta;
            if let Some((name, pid)) = self.current(&entry).await {
                current.insert(name, (pid, entry.revision));
            }
        }
        *self.replica.lock().unwrap() = current;
        Some(changes)
    }

    async fn changed(&self, entry: kv::Entry) {
        let current = self.current(&entry).await;
        let name = key_name(&entry.key);
        // A name of ours deleted or taken by another (the others found this node lost):
        // no longer held here, so its process's end deletes nothing.
        {
            let mut held = self.held.lock().unwrap();
            if held
                .get(&name)
                .is_some_and(|p| current.as_ref().map(|(_, c)| c) != Some(p))
            {
                held.remove(&name);
            }
        }
        let mut replica = self.replica.lock().unwrap();
        match current {
            Some((name, pid)) => drop(replica.insert(name, (pid, entry.revision))),
            None => drop(replica.remove(&name)),
        }
    }

    /// The name and holder an entry gives, if it gives one that stands: an entry of this
    /// node that none of its processes holds was left by an earlier run, and is deleted.
    async fn current(&self, entry: &kv::Entry) -> Option<(String, Pid)> {
        if entry.operation != kv::Operation::Put {
            return None;
        }
        let name = key_name(&entry.key);
        let pid = std::str::from_utf8(&entry.value)
            .ok()
            .and_then(Pid::parse)?;
        let stale = pid.node() == Some(self.node.as_str())
            && self.held.lock().unwrap().get(&name) != Some(&pid);
        if stale {
            self.delete(&name, entry.revision).await;
            return None;
        }
        Some((name, pid))
    }

    /// Takes `name` for `pid`, a process of this node, unless another process has it.
    pub async fn register(&self, name: &str, pid: &Pid) -> Result<(), String> {
        let store = self.store.as_ref().ok_or(NO_JETSTREAM)?;
        {
            let mut held = self.held.lock().unwrap();
            match held.get(name) {
                Some(owner) if owner == pid => return Ok(()),
                Some(owner) => return Err(taken(name, owner)),
                None => drop(held.insert(name.to_string(), pid.clone())),
            }
        }
        let outcome = store
            .create(name_key(name), pid.as_str().to_string().into())
            .await;
        match outcome {
            Ok(revision) => {
                (self.replica.lock().unwrap()).insert(name.to_string(), (pid.clone(), revision));
                Ok(())
            }
            Err(error) => {
                self.held.lock().unwrap().remove(name);
                if error.kind() != kv::CreateErrorKind::AlreadyExists {
                    return Err(format!("cannot register `{name}` in the cluster: {error}"));
                }
                let owner = store.get(name_key(name)).await.ok().flatten();
                let owner = owner.map(|v| String::from_utf8_lossy(&v).into_owned());
                Err(format!(
                    "name `{name}` is already registered by {} (in the cluster)",
                    owner.as_deref().unwrap_or("another process")
                ))
            }
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Pid> {
        let replica = self.replica.lock().unwrap();
        replica.get(name).map(|(pid, _)| pid.clone())
    }

    /// Gives up `name` if `pid` holds it: whether it did.
    pub async fn unregister(&self, name: &str, pid: &Pid) -> bool {
        {
            let mut held = self.held.lock().unwrap();
            if held.get(name) != Some(pid) {
                return false;
            }
            held.remove(name);
        }
        // Deleted only at the revision that names `pid`: never another holder's.
        let seen = self.replica.lock().unwrap().get(name).cloned();
        let revision = match (seen, &self.store) {
            (Some((holder, revision)), _) if holder == *pid => revision,
            (Some(_), _) | (None, None) => return false,
            (None, Some(store)) => match store.entry(name_key(name)).await {
                Ok(Some(entry)) if *entry.value == *pid.as_str().as_bytes() => entry.revision,
                _ => return false,
            },
        };
        self.delete(name, revision).await
    }

    /// The names of `node`'s processes, which is gone.
    pub async fn node_gone(&self, node: &str) {
        self.delete_where(|pid| pid.node() == Some(node)).await;
    }

    /// Names held by processes of nodes not in `alive` (this one first): left when a whole
    /// cluster stopped at once, say.
    pub async fn sweep(&self, alive: &[String]) {
        (self.delete_where(|pid| pid.node().is_some_and(|n| !alive.iter().any(|a| a == n)))).await;
    }

    /// Names of this node that none of its processes holds (a delete that failed while the
    /// server was away), after a reconnection.
    pub async fn tidy(&self) {
        let node = Some(self.node.as_str());
        let held = self.held.lock().unwrap().clone();
        (self.delete_where(|pid| pid.node() == node && !held.values().any(|h| h == pid))).await;
    }

    /// Deletes the names whose holder `gone` picks, each at the revision seen.
    async fn delete_where(&self, gone: impl Fn(&Pid) -> bool) {
        let doomed: Vec<(String, u64)> = (self.replica.lock().unwrap().iter())
            .filter(|(_, (pid, _))| gone(pid))
            .map(|(name, (_, revision))| (name.clone(), *revision))
            .collect();
        for (name, revision) in doomed {
            self.delete(&name, revision).await;
        }
    }

    async fn delete(&self, name: &str, revision: u64) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let deleted = (store
            .delete_expect_revision(name_key(name), Some(revision))
            .await)
            .is_ok();
        if deleted {
            let mut replica = self.replica.lock().unwrap();
            if replica.get(name).is_some_and(|(_, r)| *r == revision) {
                replica.remove(name);
            }
        }
        deleted
    }
}

fn taken(name: &str, owner: &Pid) -> String {
    format!("name `{name}` is already registered by {owner} (in the cluster)")
}

/// A name as a bucket key, which allows `[-_=A-Za-z0-9]` (and `.` between tokens): others,
/// and `=` itself, are written `=XX` per byte.
fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for byte in name.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => key.push(byte as char),
            other => key.push_str(&format!("={other:02X}")),
        }
    }
    key
}

fn key_name(key: &str) -> String {
    let mut bytes = Vec::with_capacity(key.len());
    let mut rest = key.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        let hex = (tail.get(..2)).and_then(|h| std::str::from_utf8(h).ok());
        match (byte, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(decoded)) => {
                bytes.push(decoded);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_is_a_key_and_back() {
        for name in ["svc", "app:svc", "a.b c=d", "ünï", "x-y_z"] {
            let key = name_key(name);
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b))
            );
            assert_eq!(key_name(&key), name);
        }
        assert_eq!(name_key("app:svc"), "app=3Asvc");
    }
}
