use std::fmt;
use std::sync::Arc;

use crate::registry::EntryId;

/// A process ID: `{<host>|0x<sequence>}`, unique within a node's lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(Arc<str>);

impl Pid {
    pub fn new(host: &EntryId, sequence: u64) -> Self {
        Self(format!("{{{host}|0x{sequence:05x}}}").into())
    }

    /// A pid as written by a script; whether it is alive is the node's business.
    pub fn parse(text: &str) -> Option<Self> {
        Self::is_pid(text).then(|| Self(text.into()))
    }

    /// Whether `text` is written as a pid is.
    pub fn is_pid(text: &str) -> bool {
        text.starts_with('{') && text.ends_with('}') && text.contains('|')
    }

    /// The host part: `app:processes` of `{app:processes|0x0002a}`.
    pub fn host(&self) -> EntryId {
        let inner = self.0.trim_start_matches('{');
        let host = inner.split('|').next().unwrap_or_default();
        EntryId::resolve(host, "")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pid's map key is its text, so a table of pids is searched by the text a script holds.
impl std::borrow::Borrow<str> for Pid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
