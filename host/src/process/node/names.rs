//! Registered names: a process may be known by a name as well as its pid, until it exits.

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
