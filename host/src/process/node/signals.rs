//! What one process does to another through the node: send a message (bounded by the
//! receiver's mailbox), terminate, cancel (with a deadline), monitor and link, and what a
//! linked process's failure does.

use super::{Envelope, Event, MailboxFull, Message, Node, Pid, mailbox_full, now_nanos};
use crate::process::Errand;
use crate::values::Payload;

impl Node {
    pub fn send(
        &self,
        from: Option<&Pid>,
        dest: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<(), SendError> {
        let dest = &*self.named(dest);
        if let Some(node) = self.elsewhere(dest) {
            let errand = Errand::Message {
                topic: topic.to_string(),
                payload,
            };
            return self.post(node, from, dest, errand);
        }
        let (pid, mailbox) = self
            .live(dest, |pid, record| (pid.clone(), record.mailbox.clone()))
            .map_err(SendError::NotRunning)?;
        let message = Envelope::Message(Message {
            from: from.cloned(),
            topic: topic.to_string(),
            payload,
        });
        mailbox
            .deliver(message)
            .map_err(|MailboxFull(waiting)| SendError::MailboxFull(mailbox_full(&pid, waiting)))
    }

    pub fn terminate(&self, dest: &str) -> Result<(), String> {
        let dest = &*self.named(dest);
        if let Some(node) = self.elsewhere(dest) {
            return (self.post(node, None, dest, Errand::Terminate)).map_err(|e| e.to_string());
        }
        let pid = self.resolve(dest)?;
        self.kill(&pid, "terminated".to_string());
        Ok(())
    }

    /// Asks a process to stop: a Lua process gets a CANCEL event it may handle; a process
    /// that cannot receive is terminated with the reason. With a `deadline`, one still running
    /// when it passes is terminated (a process that never looks at its events, or spins,
    /// cannot ignore it).
    pub fn cancel(
        &self,
        from: Option<&Pid>,
        dest: &str,
        reason: &str,
        deadline: Option<std::time::Duration>,
    ) -> Result<(), String> {
        let dest = &*self.named(dest);
        if let Some(node) = self.elsewhere(dest) {
            let errand = Errand::Cancel {
                reason: reason.to_string(),
                deadline,
            };
            return self
                .post(node, from, dest, errand)
                .map_err(|e| e.to_string());
        }
        let pid = self.resolve(dest)?;
        let receives = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get(&pid)
            .is_some_and(|r| r.receives);
        if !receives {
            self.kill(&pid, format!("cancelled: {reason}"));
            return Ok(());
        }
        // Events are never refused.
        let _ = self.deliver(
            &pid,
            Envelope::Event(Event::Cancel {
                from: from.cloned(),
                at: now_nanos(),
                reason: reason.to_string(),
            }),
        );
        if let Some(deadline) = deadline {
            let node = self.clone();
            let reason = reason.to_string();
            tokio::spawn(async move {
                tokio::time::sleep(deadline).await;
                // A process that has ended is gone from the table: nothing happens.
                let why = match reason.as_str() {
                    "cancelled" => String::new(),
                    reason => format!(" ({reason})"),
                };
                node.kill(
                    &pid,
                    format!(
                        "cancelled{why}: still running at its deadline, {} ms later, so it was terminated",
                        deadline.as_millis()
                    ),
                );
            });
        }
        Ok(())
    }

    /// Starts (`on`) or stops watching `dest`. A process of another node is watched through
    /// its node: when it is not running there, the EXIT comes at once (as in Erlang).
    pub fn monitor(&self, watcher: &Pid, dest: &str, on: bool) -> Result<(), String> {
        let dest = &*self.named(dest);
        if let Some(node) = self.elsewhere(dest) {
            let target = Pid::parse(dest).ok_or_else(|| format!("`{dest}` is not a pid"))?;
            if let Some(record) = self.inner.processes.lock().unwrap().get_mut(watcher) {
                record.watching.retain(|p| *p != target);
                if on {
                    record.watching.push(target.clone());
                }
            }
            let posted = self.post(node, Some(watcher), dest, Errand::Monitor(on));
            if on && posted.is_ok() && !self.membership().is_member(node) {
                self.unreachable(watcher, &target, node, false);
            }
            return posted.map_err(|e| e.to_string());
        }
        let pid = self.resolve(dest)?;
        let mut processes = self.inner.processes.lock().unwrap();
        let record = processes
            .get_mut(&pid)
            .ok_or_else(|| format!("process {pid} not found"))?;
        if on {
            record.monitors.insert(watcher.clone());
        } else {
            record.monitors.remove(watcher);
        }
        Ok(())
    }

    /// Links (`on`) or unlinks `from` and `dest`. A process of another node is linked through
    /// its node: when it is not running there, the LINK_DOWN comes at once (as in Erlang).
    pub fn link(&self, from: &Pid, dest: &str, on: bool) -> Result<(), String> {
        let dest = &*self.named(dest);
        if let Some(node) = self.elsewhere(dest) {
            let target = Pid::parse(dest).ok_or_else(|| format!("`{dest}` is not a pid"))?;
            if let Some(record) = self.inner.processes.lock().unwrap().get_mut(from) {
                match on {
                    true => drop(record.links.insert(target.clone())),
                    false => drop(record.links.remove(&target)),
                }
            }
            let posted = self.post(node, Some(from), dest, Errand::Link(on));
            if on && posted.is_ok() && !self.membership().is_member(node) {
                self.unreachable(from, &target, node, true);
            }
            return posted.map_err(|e| e.to_string());
        }
        let pid = self.resolve(dest)?;
        let mut processes = self.inner.processes.lock().unwrap();
        for (a, b) in [(&pid, from), (from, &pid)] {
            if let Some(record) = processes.get_mut(a) {
                if on {
                    record.links.insert(b.clone());
                } else {
                    record.links.remove(b);
                }
            }
        }
        Ok(())
    }

    /// A linked process failed: a process trapping links hears of it; any other fails too.
    pub(super) fn link_down(&self, target: &Pid, from: &Pid, error: &str) {
        let traps = self
            .inner
            .processes
            .lock()
            .unwrap()
            .get(target)
            .map(|r| r.receives && r.mailbox.trap_links());
        match traps {
            Some(true) => {
                // Events are never refused.
                let _ = self.deliver(
                    target,
                    Envelope::Event(Event::LinkDown {
                        from: from.clone(),
                        at: now_nanos(),
                        error: error.to_string(),
                    }),
                );
            }
            Some(false) => self.kill(target, format!("linked process {from} failed: {error}")),
            None => {}
        }
    }
}

#[derive(Debug)]
pub enum SendError {
    NotRunning(String),
    /// The receiver is not keeping up; sending later may work.
    MailboxFull(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::NotRunning(why) | SendError::MailboxFull(why) => f.write_str(why),
        }
    }
}
