//! Conversions between text, WIT values and payloads: CLI arguments in, printed results out,
//! function signatures for messages, and the values processes exchange.

mod cli_args;
mod duration;
mod output;
mod payload;
pub mod wit_conversion;

pub use cli_args::parse_cli_args;
pub use duration::parse_duration;
pub use output::{render, signature, type_name};
pub use payload::Payload;
