//! HTTP as Wippy declares it: `http.service` (an address to listen on), `http.router` (a path
//! prefix on a service, `meta.server`) and `http.endpoint` (a method and path on a router,
//! `meta.router`, answered by a function entry, `func`). The full path of an endpoint is its
//! router's prefix joined with its own path.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::http_limits::{
    EndpointLimits, EndpointLimitsSpec, HttpLimits, HttpLimitsSpec, HttpTimeouts, HttpTimeoutsSpec,
};
use super::inert;
use super::lifecycle::{Lifecycle, LifecycleSpec};
use crate::registry::{EntryId, LoadError, Note};

/// The methods Wippy accepts on an endpoint (Go's `net/http` names).
const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct HttpServiceSpec {
    addr: Option<String>,
    #[serde(default)]
    lifecycle: LifecycleSpec,
    tls: Option<Value>,
    network: Option<Value>,
    #[serde(default)]
    timeouts: HttpTimeoutsSpec,
    host: Option<Value>,
    /// Ours: bounds on each request, and defaults for the service's endpoints.
    #[serde(default)]
    limits: HttpLimitsSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct HttpRouterSpec {
    /// Wippy reads the server from `meta.server`; its config also has this field.
    server: Option<String>,
    prefix: Option<String>,
    #[serde(default)]
    middleware: Vec<String>,
    #[serde(default)]
    options: BTreeMap<String, Value>,
    #[serde(default)]
    post_middleware: Vec<String>,
    #[serde(default)]
    post_options: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct HttpEndpointSpec {
    method: Option<String>,
    path: Option<String>,
    func: Option<String>,
    /// Accepted as Wippy's test app writes them on endpoints; Wippy's endpoint ignores them.
    #[serde(default)]
    middleware: Vec<String>,
    #[serde(default)]
    post_middleware: Vec<String>,
    #[serde(default)]
    options: BTreeMap<String, Value>,
    /// Ours: the service's `limits` for this endpoint alone.
    #[serde(default)]
    limits: EndpointLimitsSpec,
}

/// An `http.service`: where the node listens.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpService {
    /// `host:port` as given; `:port` (Go's "every interface") becomes `0.0.0.0:port`.
    pub addr: String,
    pub lifecycle: Lifecycle,
    pub timeouts: HttpTimeouts,
    pub limits: HttpLimits,
}

/// An `http.router`: endpoints under one prefix of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRouter {
    pub server: EntryId,
    /// Empty, or a path starting with `/` and without a trailing one (`/` is stored empty),
    /// so an endpoint's full path is this followed by the endpoint's path.
    pub prefix: String,
    pub middleware: Vec<String>,
    pub options: BTreeMap<String, String>,
}

/// An `http.endpoint`: one method and path, answered by a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoint {
    pub router: EntryId,
    pub method: String,
    /// Starts with `/`; a `{name}` segment (or Wippy's `:name`, stored as `{name}`) matches
    /// any one segment and names it.
    pub path: String,
    pub func: EntryId,
    pub limits: EndpointLimits,
}

/// The router middleware wippy-rs provides.
pub const MIDDLEWARE: &[&str] = &["cors"];

impl HttpServiceSpec {
    pub(in crate::registry) fn resolve(
        self,
        namespace: &str,
        notes: &mut Vec<Note>,
    ) -> Result<HttpService, LoadError> {
        let addr = self.addr.ok_or_else(|| {
            LoadError::new("an http.service needs the address to listen on")
                .field("addr")
                .fix("write `addr: \":8080\"` (every interface) or `addr: 127.0.0.1:8080`")
        })?;
        let addr = listen_address(&addr).map_err(|problem| {
            LoadError::new(problem)
                .field("addr")
                .fix("write `:PORT` or `HOST:PORT`, such as `:8080` or `127.0.0.1:0`")
        })?;
        inert(
            notes,
            "tls",
            self.tls.is_some(),
            "TLS is not provided; put a TLS proxy in front",
        );
        inert(
            notes,
            "network",
            self.network.is_some(),
            "the service listens on plain TCP",
        );
        inert(
            notes,
            "host",
            self.host.is_some(),
            "each request runs as a task of its own, with no worker pool to size; `limits.max_concurrent_requests` bounds an endpoint",
        );
        Ok(HttpService {
            addr,
            lifecycle: self.lifecycle.resolve(namespace, notes)?,
            timeouts: self.timeouts.resolve()?,
            limits: self.limits.resolve()?,
        })
    }
}

impl HttpRouterSpec {
    pub(in crate::registry) fn resolve(
        self,
        namespace: &str,
        meta: &Map<String, Value>,
        notes: &mut Vec<Note>,
    ) -> Result<HttpRouter, LoadError> {
        let server = meta_reference(meta, "server", self.server.as_deref()).ok_or_else(|| {
            LoadError::new("an http.router needs the http.service it serves on")
                .field("meta.server")
                .fix("write `meta: {server: gateway}` with the ID of an http.service entry")
        })?;
        let prefix = braced(self.prefix.as_deref().unwrap_or("/"));
        check_path(&prefix, false).map_err(|problem| LoadError::new(problem).field("prefix"))?;
        let provided = format!(
            "wippy-rs provides the {} middleware only",
            MIDDLEWARE.join(", ")
        );
        for (i, name) in self.middleware.iter().enumerate() {
            if !MIDDLEWARE.contains(&name.as_str()) {
                notes.push(Note::inert(
                    &format!("middleware[{i}]"),
                    &format!("`{name}` is not provided: {provided}"),
                ));
            }
        }
        inert(
            notes,
            "post_middleware",
            !self.post_middleware.is_empty(),
            &provided,
        );
        inert(
            notes,
            "post_options",
            !self.post_options.is_empty(),
            &provided,
        );
        Ok(HttpRouter {
            server: EntryId::resolve(&server, namespace),
            prefix: prefix.trim_end_matches('/').to_string(),
            middleware: self.middleware,
            options: (self.options.into_iter())
                .map(|(key, value)| (key, option_text(value)))
                .collect(),
        })
    }
}

impl HttpEndpointSpec {
    pub(in crate::registry) fn resolve(
        self,
        namespace: &str,
        meta: &Map<String, Value>,
        notes: &mut Vec<Note>,
    ) -> Result<HttpEndpoint, LoadError> {
        let router = meta_reference(meta, "router", None).ok_or_else(|| {
            LoadError::new("an http.endpoint needs the http.router it belongs to")
                .field("meta.router")
                .fix("write `meta: {router: api}` with the ID of an http.router entry")
        })?;
        let method = self.method.ok_or_else(|| {
            LoadError::new("an http.endpoint needs a method")
                .field("method")
                .fix(format!("write one of {}", METHODS.join(", ")))
        })?;
        if !METHODS.contains(&method.as_str()) {
            let fix = match METHODS.iter().find(|m| m.eq_ignore_ascii_case(&method)) {
                Some(upper) => format!("write `{upper}`: methods are upper case, as in Wippy"),
                None => format!("write one of {}", METHODS.join(", ")),
            };
            return Err(LoadError::new(format!("`{method}` is not an HTTP method"))
                .field("method")
                .fix(fix));
        }
        let path = self.path.ok_or_else(|| {
            LoadError::new("an http.endpoint needs a path")
                .field("path")
                .fix("write a path such as `/users/{id}`")
        })?;
        let path = braced(&path);
        check_path(&path, true).map_err(|problem| LoadError::new(problem).field("path"))?;
        let func = self.func.ok_or_else(|| {
            LoadError::new("an http.endpoint needs the function that answers it")
                .field("func")
                .fix("write `func: handler` with the ID of a function.wasm or function.lua entry")
        })?;
        let ignored = "Wippy's endpoints ignore it too; middleware belongs on the router";
        inert(notes, "middleware", !self.middleware.is_empty(), ignored);
        inert(
            notes,
            "post_middleware",
            !self.post_middleware.is_empty(),
            ignored,
        );
        inert(notes, "options", !self.options.is_empty(), ignored);
        Ok(HttpEndpoint {
            router: EntryId::resolve(&router, namespace),
            method,
            path,
            func: EntryId::resolve(&func, namespace),
            limits: self.limits.resolve()?,
        })
    }
}

impl HttpEndpoint {
    /// The path a request must have: the router's prefix joined with this path.
    pub fn full_path(&self, router: &HttpRouter) -> String {
        format!("{}{}", router.prefix, self.path)
    }
}

/// `meta.<key>`, else the entry's own field of that name.
fn meta_reference(meta: &Map<String, Value>, key: &str, field: Option<&str>) -> Option<String> {
    match meta.get(key) {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        _ => field.filter(|id| !id.is_empty()).map(str::to_string),
    }
}

/// Options are text in Wippy; numbers and booleans written bare count as their text.
fn option_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// `:port` listens on every interface, as Go's `net.Listen` does; `host:port` on that host.
fn listen_address(addr: &str) -> Result<String, String> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(format!("`{addr}` has no port"));
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
        return Err(format!("`{port}` in `{addr}` is not a port (0 to 65535)"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "`{addr}` reads as an IPv6 address without brackets: write the address in brackets and a port after it, such as `[::1]:8080`"
        ));
    }
    Ok(match host {
        "" => format!("0.0.0.0:{port}"),
        _ => addr.to_string(),
    })
}

/// `:name` segments written as `{name}`, as Wippy's router reads them.
fn braced(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => segment.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A path starts with `/`, and a segment with a brace is one whole `{name}`, or, last and
/// when `rest` allows, `{name...}` (the rest of the path, as in Go's `ServeMux`); no name
/// twice.
fn check_path(path: &str, rest: bool) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` does not start with `/`"));
    }
    let segments: Vec<&str> = path.split('/').collect();
    let mut names = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if !segment.contains(['{', '}']) {
            continue;
        }
        let name = segment
            .strip_prefix('{')
            .and_then(|inner| inner.strip_suffix('}'))
            .map(|name| match name.strip_suffix("...") {
                Some(stem) if rest && i + 1 == segments.len() => stem,
                _ => name,
            })
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        let Some(name) = name else {
            let last = match rest {
                true => " (or, last, `{name...}` for the rest of the path)",
                false => "",
            };
            return Err(format!(
                "`{segment}` in `{path}` is not a parameter: a parameter is a whole segment `{{name}}` of letters, digits and `_`{last}"
            ));
        };
        if names.contains(&name) {
            return Err(format!(
                "`{{{name}}}` appears twice in `{path}`: each parameter needs a name of its own"
            ));
        }
        names.push(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_go_forms() {
        assert_eq!(listen_address(":8085").unwrap(), "0.0.0.0:8085");
        assert_eq!(listen_address("127.0.0.1:0").unwrap(), "127.0.0.1:0");
        assert_eq!(listen_address("[::1]:80").unwrap(), "[::1]:80");
        assert_eq!(listen_address("8080").unwrap_err(), "`8080` has no port");
        assert_eq!(
            listen_address(":http").unwrap_err(),
            "`http` in `:http` is not a port (0 to 65535)"
        );
        assert!(listen_address(":+80").is_err());
        assert_eq!(
            listen_address("::1").unwrap_err(),
            "`::1` reads as an IPv6 address without brackets: write the address in brackets and a port after it, such as `[::1]:8080`"
        );
        assert_eq!(listen_address("localhost:8080").unwrap(), "localhost:8080");
    }

    #[test]
    fn colon_parameters_read_as_braced_ones() {
        assert_eq!(braced("/users/:id/posts/:post"), "/users/{id}/posts/{post}");
        assert_eq!(braced("/time/12:30"), "/time/12:30");
    }

    #[test]
    fn paths_start_with_a_slash_and_name_whole_segments() {
        assert!(check_path("/", true).is_ok());
        assert!(check_path("/users/{id}/posts/{post_id}", true).is_ok());
        assert!(check_path("/files/{rest...}", true).is_ok());
        assert!(check_path("/files/{rest...}", false).is_err());
        assert!(check_path("/files/{rest...}/more", true).is_err());
        assert_eq!(
            check_path("/{id}/x/{id}", true).unwrap_err(),
            "`{id}` appears twice in `/{id}/x/{id}`: each parameter needs a name of its own"
        );
        assert_eq!(
            check_path("users", true).unwrap_err(),
            "`users` does not start with `/`"
        );
        for bad in ["/users/{id", "/users/x{id}", "/users/{}", "/users/{a-b}"] {
            assert!(check_path(bad, true).is_err(), "{bad}");
        }
    }
}
