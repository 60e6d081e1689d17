//! Registered names: a process may be known by a name as well as its pid, until it exits.

use super::{Node, Pid};

impl Node {
    /// A pid, or a name registered with [`Node::register`].
    pub fn resolve(&self, dest: &str) -> Result<Pid, String> {
        let pid = match Pid::parse(dest) {
            Some(pid) => pid,
            None => self
                .inner
                .names
                .lock()
                .unwrap()
                .get(dest)
                .cloned()
                .ok_or_else(|| {
                    format!("process {dest} not found: no such pid or registered name")
                })?,
        };
        if self.inner.processes.lock().unwrap().contains_key(&pid) {
            Ok(pid)
        } else {
            Err(format!("process {pid} not found: it is not running"))
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
        self.inner.names.lock().unwrap().get(name).cloned()
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
