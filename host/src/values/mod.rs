//! Conversions between text and WIT values: CLI arguments in, printed results out, and
//! function signatures for messages. Compound values use WAVE, the WebAssembly Value Encoding.

mod cli_args;
mod output;

pub use cli_args::parse_cli_args;
pub use output::{render, signature};
