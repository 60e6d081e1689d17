//! `lifecycle`, shared by services and hosts as in Wippy: when an entry starts, what it waits
//! for, and how it is restarted. Defaults are Wippy's (restart after 1 s, doubling up to 90 s,
//! ±10 % jitter, forever; a run of 5 s counts as stable and resets the count).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::inert;
use crate::registry::{EntryId, LoadError, Note};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct LifecycleSpec {
    #[serde(default)]
    auto_start: bool,
    #[serde(default)]
    restart: RestartSpec,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    stable_threshold: Option<Value>,
    start_timeout: Option<Value>,
    stop_timeout: Option<Value>,
    startup: Option<String>,
    security: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestartSpec {
    initial_delay: Option<Value>,
    max_delay: Option<Value>,
    backoff_factor: Option<f64>,
    jitter: Option<f64>,
    max_attempts: Option<u32>,
}

/// A service's lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    pub auto_start: bool,
    /// Entries started before this one (`depends_on` and `requires`, merged).
    pub depends_on: Vec<EntryId>,
    pub restart: RestartPolicy,
    /// A run at least this long resets the count of restarts in a row.
    pub stable_threshold: Duration,
}

/// Exponential backoff: the n-th restart in a row waits `initial_delay * backoff_factor^(n-1)`,
/// at most `max_delay`, varied by ±`jitter` of itself; after `max_attempts` restarts in a row
/// (0: never) the service stays down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartPolicy {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub backoff_factor: f64,
    pub jitter: f64,
    pub max_attempts: u32,
}

impl LifecycleSpec {
    /// The lifecycle of a `process.service`, with references resolved in `namespace`.
    pub(in crate::registry) fn resolve(
        self,
        namespace: &str,
        notes: &mut Vec<Note>,
    ) -> Result<Lifecycle, LoadError> {
        self.check_startup()?;
        let why = "wippy-rs starts a service by spawning its process, which cannot time out or be optional";
        inert(
            notes,
            "lifecycle.start_timeout",
            self.start_timeout.is_some(),
            why,
        );
        inert(notes, "lifecycle.startup", self.startup.is_some(), why);
        inert(
            notes,
            "lifecycle.stop_timeout",
            self.stop_timeout.is_some(),
            "a stopped service's process is terminated at once",
        );
        inert(
            notes,
            "lifecycle.security",
            self.security.is_some(),
            "wippy-rs has no security policies; capabilities are granted per entry with `imports`",
        );
        let restart = &self.restart;
        let depends_on = (self.depends_on.iter().chain(&self.requires))
            .map(|reference| EntryId::resolve(reference, namespace))
            .collect();
        Ok(Lifecycle {
            auto_start: self.auto_start,
            depends_on,
            restart: RestartPolicy {
                initial_delay: duration(
                    "lifecycle.restart.initial_delay",
                    &restart.initial_delay,
                    Duration::from_secs(1),
                )?,
                max_delay: duration(
                    "lifecycle.restart.max_delay",
                    &restart.max_delay,
                    Duration::from_secs(90),
                )?,
                backoff_factor: restart.backoff_factor.unwrap_or(2.0),
                jitter: restart.jitter.unwrap_or(0.1).clamp(0.0, 1.0),
                max_attempts: restart.max_attempts.unwrap_or(0),
            },
            stable_threshold: duration(
                "lifecycle.stable_threshold",
                &self.stable_threshold,
                Duration::from_secs(5),
            )?,
        })
    }

    /// A host's lifecycle is checked and noted: hosts are always available here.
    pub(in crate::registry) fn note_for_host(
        &self,
        notes: &mut Vec<Note>,
    ) -> Result<(), LoadError> {
        self.check_startup()?;
        notes.push(Note::inert(
            "lifecycle",
            "hosts are always available in wippy-rs; they need no starting",
        ));
        Ok(())
    }

    fn check_startup(&self) -> Result<(), LoadError> {
        match self.startup.as_deref() {
            None | Some("required" | "optional") => Ok(()),
            Some(other) => Err(LoadError::new(format!("`{other}` is not a startup mode"))
                .field("lifecycle.startup")
                .fix("write `required` or `optional`")),
        }
    }
}

/// A duration written as text (`"500ms"`, `"2s"`, Wippy's form) or as nanoseconds.
pub(super) fn duration(
    field: &str,
    value: &Option<Value>,
    default: Duration,
) -> Result<Duration, LoadError> {
    match value {
        None => Ok(default),
        Some(Value::Number(n)) if n.as_u64().is_some() => {
            Ok(Duration::from_nanos(n.as_u64().unwrap_or_default()))
        }
        Some(Value::String(text)) => crate::values::parse_duration(text)
            .map_err(|problem| LoadError::new(problem).field(field)),
        Some(other) => Err(LoadError::new(format!("`{other}` is not a duration"))
            .field(field)
            .fix("write a duration like \"500ms\" or \"2s\"")),
    }
}
