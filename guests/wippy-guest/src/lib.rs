//! Write [wippy](https://github.com/wippyai) processes and functions in Rust.
//!
//! ```ignore
//! use wippy_guest::{Process, Received};
//!
//! struct Counter;
//!
//! impl Process for Counter {
//!     type Args = ();
//!     type Output = i64;
//!
//!     fn run((): ()) -> Result<i64, String> {
//!         let mut total = 0;
//!         while let Some(received) = wippy_guest::receive(None) {
//!             match received {
//!                 Received::Message(m) if m.topic == "add" => total += m.payload::<i64>()?,
//!                 Received::Message(m) if m.topic == "stop" => {
//!                     m.reply("total", &total)?;
//!                     return Ok(total);
//!                 }
//!                 Received::Cancel { .. } => return Ok(total),
//!                 _ => {}
//!             }
//!         }
//!         Ok(total)
//!     }
//! }
//!
//! wippy_guest::process!(Counter);
//! ```
//!
//! With the default feature `process` the component is built against wippy's published world
//! `wippy:process/process`; with `default-features = false, features = ["function"]`, against
//! `wippy:runtime/function`. Payloads and arguments are JSON, read and written with `serde`.

pub mod bindings;
mod entry;
mod error;

#[cfg(feature = "process")]
mod actor;

#[cfg(feature = "process")]
pub use actor::{
    Message, Pid, Received, link, monitor, receive, self_pid, send, spawn, spawn_monitored,
    terminate,
};
pub use entry::{Function, Process, dispatch};
pub use error::Error;
pub use serde;
pub use serde_json;
