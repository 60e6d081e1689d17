//! What a running guest's store holds besides its capabilities: its resource limits and
//! their defaults, where its output goes, and how its failures read. Below the capabilities
//! and the engine, which both use it; it knows nothing of the node.

mod failure;
mod limits;
mod output;
mod stdio;

pub use failure::{describe_failure, describe_wasmtime_error};
pub use limits::{
    DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_OPEN_HANDLES, EPOCH_TICK, MemoryLimiter, limit_handles,
};
pub use output::{LabelledOutput, LineSink, OutputStream, RuntimeOutput};
pub use stdio::Stdio;
