use std::fmt;
use std::sync::Arc;

use crate::registry::EntryId;

/// A process ID: `{<host>|0x<sequence>}`, unique within a node's lifetime; on a node of a
/// cluster `{<node>@<host>|0x<sequence>}`, as Wippy writes it, so that a pid says where its
/// process runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(Arc<str>);

impl Pid {
    pub fn new(host: &EntryId, sequence: u64) -> Self {
        Self(format!("{{{host}|0x{sequence:05x}}}").into())
    }

    /// A pid of a node of a cluster (`node` none: a node alone, as [`Pid::new`]).
    pub fn on_node(node: Option<&str>, host: &EntryId, sequence: u64) -> Self {
        match node {
            Some(node) => Self(format!("{{{node}@{host}|0x{sequence:05x}}}").into()),
            None => Self::new(host, sequence),
        }
    }

    /// The node part: `a` of `{a@app:processes|0x0002a}`; none for a node alone.
    pub fn node(&self) -> Option<&str> {
        let inner = self.0.trim_start_matches('{');
        let host_part = inner.split('|').next().unwrap_or_default();
        host_part.split_once('@').map(|(node, _)| node)
    }

    /// A pid as written by a script; whether it is alive is the node's business.
    pub fn parse(text: &str) -> Option<Self> {
        Self::is_pid(text).then(|| Self(text.into()))
    }

    /// Whether `text` is written as a pid is.
    pub fn is_pid(text: &str) -> bool {
        text.starts_with('{') && text.ends_with('}') && text.contains('|')
    }

    /// The host part: `app:processes` of `{app:processes|0x0002a}` (and of
    /// `{a@app:processes|0x0002a}`).
    pub fn host(&self) -> EntryId {
        let inner = self.0.trim_start_matches('{');
        let host = inner.split('|').next().unwrap_or_default();
        let host = host.split_once('@').map_or(host, |(_, host)| host);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_names_its_node_in_a_cluster_as_wippy_writes_it() {
        let host = EntryId::new("app", "processes");
        let alone = Pid::new(&host, 42);
        assert_eq!(alone.as_str(), "{app:processes|0x0002a}");
        assert_eq!((alone.node(), alone.host()), (None, host.clone()));
        let clustered = Pid::on_node(Some("a"), &host, 42);
        assert_eq!(clustered.as_str(), "{a@app:processes|0x0002a}");
        assert_eq!((clustered.node(), clustered.host()), (Some("a"), host));
    }
}
