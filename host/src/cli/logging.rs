//! What the command line logs, and how: `wippy <level>: <message>` lines on stderr for
//! people, or one JSON object per line for machines (`--log-format json`).
//!
//! The library logs through the `log` facade; a `tracing` subscriber takes both, so code
//! that uses either shows up the same way.

use std::fmt;

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// `wippy info: node started …`
    Text,
    /// `{"timestamp":…,"level":"info","target":"wippy::…","message":…}`
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Installs the subscriber. The level of wippy's own lines is `level` when given, else what
/// `RUST_LOG` says (its full syntax, other crates too), else `-v` (info) or `-vv` (debug)
/// over the default, warnings; other crates log warnings.
pub fn init(verbose: u8, level: Option<LogLevel>, format: LogFormat) {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|text| !text.trim().is_empty());
    let filter = match (level, rust_log) {
        (None, Some(directives)) => EnvFilter::try_new(&directives).unwrap_or_else(|problem| {
            eprintln!(
                "wippy warn: RUST_LOG={directives} is not a filter ({problem}); using the default"
            );
            default_filter(verbose, None)
        }),
        _ => default_filter(verbose, level),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second subscriber (a test that already installed one) is no reason to fail.
    let _ = match format {
        LogFormat::Text => builder.event_format(Plain).try_init(),
        LogFormat::Json => builder.event_format(Json).try_init(),
    };
}

fn default_filter(verbose: u8, level: Option<LogLevel>) -> EnvFilter {
    let ours = match (level, verbose) {
        (Some(LogLevel::Error), _) => "error",
        (Some(LogLevel::Warn), _) | (None, 0) => "warn",
        (Some(LogLevel::Info), _) | (None, 1) => "info",
        (Some(LogLevel::Debug), _) | (None, 2) => "debug",
        (Some(LogLevel::Trace), _) | (None, _) => "trace",
    };
    // A slow compile says how long it took whatever the level (see `engine::progress`).
    let progress = match (level, verbose) {
        (None, 0) => ",wippy::engine::progress=info",
        _ => "",
    };
    EnvFilter::new(format!("warn,wippy={ours}{progress}"))
}

/// `wippy <level>: <message>`, one line per event.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "wippy {}: ", level_name(event.metadata().level()))?;
        context.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// One JSON object per event: `timestamp` (RFC 3339, UTC), `level`, `target` (the module
/// that logged), `message`, and any other fields by name.
struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Lines from the `log` facade arrive with their origin in fields; this puts it back.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut object = serde_json::Map::new();
        object.insert("timestamp".into(), timestamp.into());
        object.insert("level".into(), level_name(metadata.level()).into());
        object.insert("target".into(), metadata.target().into());
        event.record(&mut JsonFields(&mut object));
        writeln!(writer, "{}", serde_json::Value::Object(object))
    }
}

/// Collects an event's fields, leaving out the `log.*` ones the `log` bridge adds.
struct JsonFields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl JsonFields<'_> {
    fn insert(&mut self, field: &Field, value: serde_json::Value) {
        if !field.name().starts_with("log.") {
            self.0.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, format!("{value:?}").into());
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}
