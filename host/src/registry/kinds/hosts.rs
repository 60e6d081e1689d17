//! Where processes run: `process.host` (spawned processes, labelled output) and
//! `terminal.host` (CLI commands on the terminal's stdio).

use serde::Deserialize;

use super::inert;
use super::lifecycle::LifecycleSpec;
use crate::registry::{LoadError, Note};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct ProcessHostSpec {
    #[serde(default)]
    host: HostSettingsSpec,
    lifecycle: Option<LifecycleSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HostSettingsSpec {
    workers: Option<usize>,
    queue_size: Option<usize>,
    local_queue_size: Option<usize>,
    max_processes: Option<usize>,
    max_mailbox_messages: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct TerminalHostSpec {
    #[serde(default)]
    hide_logs: bool,
    lifecycle: Option<LifecycleSpec>,
}

/// A `process.host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessHost {
    /// At most this many live processes; a spawn beyond it fails with a clear error.
    pub max_processes: Option<usize>,
    /// Messages that may wait unread in one process's mailbox; a send beyond fails.
    pub max_mailbox_messages: usize,
}

/// A mailbox holds this many unread messages unless its host says otherwise: far more than
/// a process that keeps up ever holds, little enough (tens of MiB) that a flood cannot take
/// the node's memory.
pub const DEFAULT_MAX_MAILBOX_MESSAGES: usize = 100_000;

/// A `terminal.host`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalHost {
    /// Keep wippy's own log lines off the terminal while a command runs.
    pub hide_logs: bool,
}

impl ProcessHostSpec {
    pub(in crate::registry) fn resolve(
        self,
        notes: &mut Vec<Note>,
    ) -> Result<ProcessHost, LoadError> {
        let host = self.host;
        let shared = "the processes of every host share one scheduler with a worker thread per core; bound a host with `max_processes`";
        inert(notes, "host.workers", host.workers.is_some(), shared);
        inert(notes, "host.queue_size", host.queue_size.is_some(), shared);
        inert(
            notes,
            "host.local_queue_size",
            host.local_queue_size.is_some(),
            shared,
        );
        if let Some(lifecycle) = &self.lifecycle {
            lifecycle.note_for_host(notes)?;
        }
        if host.max_processes == Some(0) {
            return Err(LoadError::new("`0` would let the host run no process")
                .field("host.max_processes")
                .fix("give a positive number, or leave it out for no bound"));
        }
        if host.max_mailbox_messages == Some(0) {
            return Err(LoadError::new("`0` would let no message reach a process")
                .field("host.max_mailbox_messages")
                .fix(format!(
                    "give a positive number, or leave it out for the default ({DEFAULT_MAX_MAILBOX_MESSAGES})"
                )));
        }
        Ok(ProcessHost {
            max_processes: host.max_processes,
            max_mailbox_messages: (host.max_mailbox_messages)
                .unwrap_or(DEFAULT_MAX_MAILBOX_MESSAGES),
        })
    }
}

impl TerminalHostSpec {
    pub(in crate::registry) fn resolve(
        self,
        notes: &mut Vec<Note>,
    ) -> Result<TerminalHost, LoadError> {
        if let Some(lifecycle) = &self.lifecycle {
            lifecycle.note_for_host(notes)?;
        }
        Ok(TerminalHost {
            hide_logs: self.hide_logs,
        })
    }
}
