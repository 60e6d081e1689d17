//! How the node runs script entries (`process.lua`, `function.lua`): through one small trait,
//! implemented by the Lua layer above, so the node never names a script language.

use std::future::Future;
use std::pin::Pin;

use super::{CallError, ProcessContext};
use crate::registry::Entry;
use crate::values::Payload;

/// A script run to its end: its value, or why it failed.
pub type ScriptRun = Pin<Box<dyn Future<Output = Result<Payload, CallError>> + Send>>;

pub trait Scripts: Send + Sync {
    /// Runs `context.entry` — a script process, or a script function called in the frame
    /// `context` — with `args`.
    fn run(&self, context: ProcessContext, args: Vec<Payload>) -> ScriptRun;

    /// Whether the script entry compiles: a reload refuses a registry whose new or changed
    /// script does not (a syntax error found at a spawn would come too late).
    fn verify(&self, entry: &Entry) -> Result<(), String>;

    /// The registry was replaced: what was kept for scripts nobody runs any more can go.
    fn forget_replaced(&self);
}
