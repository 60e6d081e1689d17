//! How the node runs script entries (`process.lua`, `function.lua`): through one small trait,
//! implemented by the Lua layer above, so the node never names a script language.

use std::future::Future;
use std::pin::Pin;

use super::{CallError, ProcessContext};
use crate::values::Payload;

/// A script run to its end: its value, or why it failed.
pub type ScriptRun = Pin<Box<dyn Future<Output = Result<Payload, CallError>> + Send>>;

pub trait Scripts: Send + Sync {
    /// Runs `context.entry` — a script process, or a script function called in the frame
    /// `context` — with `args`.
    fn run(&self, context: ProcessContext, args: Vec<Payload>) -> ScriptRun;
}
