//! How long and how much an HTTP request may take: Wippy's `timeouts` of an `http.service`,
//! and our own `limits` on a service (defaults for its endpoints) and on an endpoint.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::lifecycle::duration;
use crate::registry::LoadError;

/// A request body larger than this is refused with 413 unless `limits.max_body_bytes` says
/// otherwise.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// hyper's own default: more request headers than this get 431.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Requests one endpoint serves at once; one more gets 503 (`wasmtime serve`'s bound for a
/// whole server is 1000).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1000;
/// hyper makes room for this many headers on every request it reads.
const MAX_HEADERS: usize = 1000;
const MAX_CONCURRENT_REQUESTS: usize = 1_000_000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct HttpTimeoutsSpec {
    read: Option<Value>,
    write: Option<Value>,
    idle: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct HttpLimitsSpec {
    max_body_bytes: Option<u64>,
    max_headers: Option<usize>,
    max_concurrent_requests: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct EndpointLimitsSpec {
    max_body_bytes: Option<u64>,
    max_concurrent_requests: Option<usize>,
    timeout: Option<Value>,
}

/// An `http.service`'s `timeouts`, as Go's `http.Server` reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// Receiving a request: its headers (a connection that sends none within it is closed)
    /// and its body (408 beyond it). Default 30 s.
    pub read: Duration,
    /// Answering a request: a handler still running after it is stopped, and the request
    /// gets 504. Default 60 s; an endpoint's `limits.timeout` overrides it.
    pub write: Duration,
    /// An idle keep-alive connection is closed after this; default `read`.
    pub idle: Duration,
}

/// An `http.service`'s `limits`: bounds for every request, and defaults for its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    pub max_body_bytes: u64,
    pub max_headers: usize,
    pub max_concurrent_requests: usize,
}

/// An `http.endpoint`'s `limits`: each one unset takes its service's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointLimits {
    pub max_body_bytes: Option<u64>,
    pub max_concurrent_requests: Option<usize>,
    pub timeout: Option<Duration>,
}

impl HttpTimeoutsSpec {
    pub(in crate::registry) fn resolve(self) -> Result<HttpTimeouts, LoadError> {
        let read = duration("timeouts.read", &self.read, Duration::from_secs(30))?;
        Ok(HttpTimeouts {
            read: positive("timeouts.read", read)?,
            write: positive(
                "timeouts.write",
                duration("timeouts.write", &self.write, Duration::from_secs(60))?,
            )?,
            idle: positive(
                "timeouts.idle",
                duration("timeouts.idle", &self.idle, read)?,
            )?,
        })
    }
}

impl HttpLimitsSpec {
    pub(in crate::registry) fn resolve(self) -> Result<HttpLimits, LoadError> {
        Ok(HttpLimits {
            max_body_bytes: self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            max_headers: bounded(
                "limits.max_headers",
                self.max_headers.unwrap_or(DEFAULT_MAX_HEADERS),
                MAX_HEADERS,
            )?,
            max_concurrent_requests: bounded(
                "limits.max_concurrent_requests",
                (self.max_concurrent_requests).unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS),
                MAX_CONCURRENT_REQUESTS,
            )?,
        })
    }
}

impl EndpointLimitsSpec {
    pub(in crate::registry) fn resolve(self) -> Result<EndpointLimits, LoadError> {
        let timeout = match self.timeout {
            None => None,
            timeout => Some(positive(
                "limits.timeout",
                duration("limits.timeout", &timeout, Duration::ZERO)?,
            )?),
        };
        let concurrency = self.max_concurrent_requests;
        Ok(EndpointLimits {
            max_body_bytes: self.max_body_bytes,
            max_concurrent_requests: concurrency
                .map(|n| bounded("limits.max_concurrent_requests", n, MAX_CONCURRENT_REQUESTS))
                .transpose()?,
            timeout,
        })
    }
}

impl EndpointLimits {
    /// This endpoint's bounds, its service's where it sets none.
    pub fn or_service(&self, limits: &HttpLimits, timeouts: &HttpTimeouts) -> ResolvedLimits {
        ResolvedLimits {
            max_body_bytes: self.max_body_bytes.unwrap_or(limits.max_body_bytes),
            max_concurrent_requests: (self.max_concurrent_requests)
                .unwrap_or(limits.max_concurrent_requests),
            timeout: self.timeout.unwrap_or(timeouts.write),
            read: timeouts.read,
        }
    }
}

/// What one endpoint's requests are held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedLimits {
    pub max_body_bytes: u64,
    pub max_concurrent_requests: usize,
    /// The handler's time to answer.
    pub timeout: Duration,
    /// The client's time to send the body.
    pub read: Duration,
}

fn positive(field: &str, value: Duration) -> Result<Duration, LoadError> {
    if value.is_zero() {
        return Err(LoadError::new("a timeout of zero would fail every request")
            .field(field)
            .fix("write a duration such as \"30s\", or leave the key out for the default"));
    }
    Ok(value)
}

fn bounded(field: &str, value: usize, max: usize) -> Result<usize, LoadError> {
    if value == 0 {
        return Err(LoadError::new("a bound of 0 would refuse every request")
            .field(field)
            .fix("write 1 or more, or leave the key out for the default"));
    }
    if value > max {
        return Err(
            LoadError::new(format!("{value} is more than the server allows"))
                .field(field)
                .fix(format!("write at most {max}")),
        );
    }
    Ok(value)
}
