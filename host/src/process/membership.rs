//! What a node knows of the cluster it is in, for the processes that ask (Lua's `system`
//! module); the cluster layer provides it. A node in no cluster is a cluster of one.

/// The node's own name and the names of the nodes alive, itself first.
pub trait Membership: Send + Sync {
    fn node(&self) -> String;
    fn nodes(&self) -> Vec<String>;
}

/// A node that joined no cluster.
pub struct Alone;

/// The name a node in no cluster goes by.
pub const ALONE: &str = "local";

impl Membership for Alone {
    fn node(&self) -> String {
        ALONE.to_string()
    }

    fn nodes(&self) -> Vec<String> {
        vec![ALONE.to_string()]
    }
}
