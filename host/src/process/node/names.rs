//! Registered names: a process may be known by a name as well as its pid, until it exits.
//! A name is this node's, or the whole cluster's (Wippy's `EVENTUAL`, `CONSISTENT` and
//! `STRONG` scopes; on a node in no cluster, the node is the cluster). Where both exist, the
//! cluster's comes first, as in Wippy.

use std::borrow::Cow;

use super::{Node, Pid, Record};

impl Node {
    /// A pid, or a name registered with [`Node::register`].
    pub fn resolve(&self, dest: &str) -> Result<Pid, String> {
        self.live(dest, |pid, _| pid.clone())
    }

    /// What `read` takes from the record of the live process `dest` names (a pid, or a
    /// registered name), with one look into the process table and, for a pid, no allocation.
    pub(super) fn live<T>(
        &self,
        dest: &str,
        read: impl FnOnce(&Pid, &Record) -> T,
    ) -> Result<T, String> {
        let named;
        let key = if Pid::is_pid(dest) {
            dest
        } else {
            named = self.inner.names.lock().unwrap().get(dest).cloned();
            match &named {
                Some(pid) => pid.as_str(),
                None => {
                    return Err(format!(
                        "process {dest} not found: no such pid or registered name"
                    ));
                }
            }
        };
        match self.inner.processes.lock().unwrap().get_key_value(key) {
            Some((pid, record)) => Ok(read(pid, record)),
            None => Err(format!("process {key} not found: it is not running")),
        }
    }

    /// Names a live process; the name is released when it exits. The process table is held
    /// while the name is taken, so a process that is ending cannot keep one.
    pub fn register(&self, name: &str, pid: &Pid) -> Result<(), String> {
        let mut processes = self.inner.processes.lock().unwrap();
        let Some(record) = processes.get_mut(pid) else {
            return Err(format!("process {pid} not found"));
        };
        let mut names = self.inner.names.lock().unwrap();
        match names.get(name) {
            Some(owner) if owner != pid => {
                Err(format!("name `{name}` is already registered by {owner}"))
            }
            Some(_) => Ok(()),
            None => {
                names.insert(name.to_string(), pid.clone());
                record.names.push(name.to_string());
                Ok(())
            }
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Pid> {
        if let Some(pid) = self.cluster_lookup(name) {
            return Some(pid);
        }
        self.inner.names.lock().unwrap().get(name).cloned()
    }

    fn clustered(&self) -> bool {
        self.inner.cluster_name.get().is_some()
    }

    fn cluster_lookup(&self, name: &str) -> Option<Pid> {
        match self.clustered() {
            true => self.membership().lookup(name),
            false => None,
        }
    }

    /// `dest` with a name of the cluster replaced by its pid.
    pub(super) fn named<'d>(&self, dest: &'d str) -> Cow<'d, str> {
        if Pid::is_pid(dest) {
            return Cow::Borrowed(dest);
        }
        match self.cluster_lookup(dest) {
            Some(pid) => Cow::Owned(pid.as_str().to_string()),
            None => Cow::Borrowed(dest),
        }
    }

    /// Names `pid`, a live process of this node, across the cluster: no other process of any
    /// node can take the name until `pid` ends or gives it up.
    pub async fn register_in_cluster(&self, name: &str, pid: &Pid) -> Result<(), String> {
        if !self.clustered() {
            return self.register(name, pid);
        }
        if let Some(node) = self.elsewhere(pid.as_str()) {
            return Err(format!(
                "process {pid} runs on node `{node}`: a name across the cluster is taken on the node of its process, so register it there"
            ));
        }
        if name.is_empty() {
            return Err("a name cannot be empty".to_string());
        }
        // Recorded first: if the process ends while the server decides, its end gives the
        // name up as it gives up any other.
        match self.inner.processes.lock().unwrap().get_mut(pid) {
            Some(record) => record.cluster_names.push(name.to_string()),
            None => return Err(format!("process {pid} not found")),
        }
        let taken = self.membership().register(name, pid).await;
        if taken.is_err()
            && let Some(record) = self.inner.processes.lock().unwrap().get_mut(pid)
            && let Some(at) = record.cluster_names.iter().position(|n| n == name)
        {
            record.cluster_names.swap_remove(at);
        }
        taken
    }

    /// Gives up `name` across the cluster if `pid` holds it: whether it did.
    pub async fn unregister_in_cluster(&self, name: &str, pid: &Pid) -> bool {
        if !self.clustered() {
            return self.unregister(name, pid);
        }
        let removed = self.membership().unregister(name, pid).await;
        if removed && let Some(record) = self.inner.processes.lock().unwrap().get_mut(pid) {
            record.cluster_names.retain(|n| n != name);
        }
        removed
    }

    pub fn unregister(&self, name: &str, pid: &Pid) -> bool {
        let mut processes = self.inner.processes.lock().unwrap();
        let mut names = self.inner.names.lock().unwrap();
        if names.get(name) != Some(pid) {
            return false;
        }
        names.remove(name);
        if let Some(record) = processes.get_mut(pid) {
            record.names.retain(|n| n != name);
        }
        true
    }
}
