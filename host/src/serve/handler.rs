//! One request, start to end: routing (404, 405, OPTIONS), CORS, the endpoint's limits (413,
//! 503), a frame on the node for the request, and the function that answers it.

use std::sync::Arc;

use futures_util::future::{AbortRegistration, Abortable};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::responses::{self, Body};
use super::routes::{Lookup, Params, Route, RouteTable};
use super::{proxy, values};
use crate::capabilities::ProcessState;
use crate::engine::PreparedEntry;
use crate::process::{Generation, Node, ProcessContext};
use crate::registry::{EntryId, EntryKind};
use crate::values::Payload;
use tokio::sync::OwnedSemaphorePermit;

/// How an endpoint's function answers a request.
pub enum Handler {
    /// Wippy's `transport: wasi-http`: the body is the argument, the result the response;
    /// the function of the registry generation the route was made in.
    Values(Arc<Generation>),
    /// A component exporting `wasi:http/incoming-handler`: the whole request and response.
    Proxy {
        generation: Arc<Generation>,
        prepared: Arc<PreparedEntry>,
        pre: ProxyPre<ProcessState>,
    },
    /// A `function.lua`: Lua HTTP handlers are not provided yet.
    Lua,
}

impl Handler {
    /// Compiles (or loads) the function and finds how it answers.
    ///
    /// A handler keeps the registry generation served when it was made (the route's, see
    /// `Servers::reload`), so a request never mixes a route of one with a function of another.
    pub async fn of(node: &Node, func: &EntryId) -> Result<Handler, String> {
        let generation = node.generation();
        if let Some(EntryKind::FunctionLua(_)) = generation.registry().get(func).map(|e| &e.kind) {
            return Ok(Handler::Lua);
        }
        if node.core_function_in(&generation, func).await?.is_some() {
            return Ok(Handler::Values(generation));
        }
        let prepared = node.prepared_in(&generation, func).await?;
        // `method: wasi:http/incoming-handler#handle` (any version, or `incoming-handler#handle`).
        if !prepared.export.is("wasi:http/incoming-handler", "handle") {
            return Ok(Handler::Values(generation));
        }
        let pre = ProxyPre::new(prepared.pre.clone()).map_err(|e| {
            format!(
                "`{func}` names `wasi:http/incoming-handler#handle` but does not export the `wasi:http/proxy` world's handler: {}",
                crate::guest::describe_wasmtime_error(&e)
            )
        })?;
        Ok(Handler::Proxy {
            generation,
            prepared,
            pre,
        })
    }
}

/// The route's handler, found once.
pub async fn handler_of(node: &Node, route: &Route) -> Result<Arc<Handler>, String> {
    route
        .handler
        .get_or_init(|| async { Handler::of(node, &route.func).await.map(Arc::new) })
        .await
        .clone()
}

/// Everything a request needs to know of the service it came to.
pub struct Service {
    pub id: EntryId,
    pub node: Node,
    /// Replaced whole when the registry is reloaded; a request keeps the route it found.
    pub routes: std::sync::RwLock<Arc<RouteTable>>,
    /// Where it listens: the authority of a request that names none.
    pub address: std::net::SocketAddr,
}

impl Service {
    pub fn routes(&self) -> Arc<RouteTable> {
        self.routes.read().unwrap().clone()
    }
}

pub async fn serve(service: Arc<Service>, request: Request<Incoming>) -> Response<Body> {
    if let Some(clean) = cleaned(request.uri().path()) {
        return redirect(clean, request.uri().query());
    }
    let routes = service.routes();
    let (route, params) = match routes.lookup(request.method(), request.uri().path()) {
        Lookup::Found(route, params) => (route.clone(), params),
        Lookup::NotFound => return responses::text(StatusCode::NOT_FOUND, "404 page not found"),
        Lookup::OtherMethods { allow, cors } => {
            let headers = request.headers();
            if let Some(preflight) = cors
                .as_ref()
                .and_then(|c| c.preflight(request.method(), headers))
            {
                return preflight;
            }
            // Wippy answers OPTIONS on every route's path with 204.
            let mut response = match request.method() == Method::OPTIONS {
                true => responses::empty(StatusCode::NO_CONTENT),
                false => responses::text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
            };
            let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                response.headers_mut().insert(ALLOW, value);
            }
            if let Some(cors) = &cors {
                cors.decorate(headers, &mut response);
            }
            return response;
        }
    };
    if let Some(cors) = &route.cors
        && let Some(preflight) = cors.preflight(request.method(), request.headers())
    {
        return preflight;
    }
    let request_headers = route.cors.as_ref().map(|_| request.headers().clone());
    let mut response = answer(&service, &route, params, request).await;
    if let (Some(cors), Some(headers)) = (&route.cors, request_headers) {
        cors.decorate(&headers, &mut response);
    }
    response
}

/// The endpoint's answer, within its limits.
async fn answer(
    service: &Service,
    route: &Arc<Route>,
    params: Params,
    request: Request<Incoming>,
) -> Response<Body> {
    let declared_length = (request.headers().get(CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > route.limits.max_body_bytes) {
        return too_large(route);
    }
    let handler = match handler_of(&service.node, route).await {
        Ok(handler) => handler,
        Err(error) => {
            log::error!(
                "{}: `{}` cannot answer requests: {error}",
                route.endpoint,
                route.func
            );
            return internal_error(route);
        }
    };
    match &*handler {
        Handler::Lua => responses::text(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "`{}` is a Lua function; Lua HTTP handlers are not provided by wippy-rs yet",
                route.func
            ),
        ),
        Handler::Proxy {
            generation,
            prepared,
            pre,
        } => {
            let Some(permit) = turn(route) else {
                return busy(route);
            };
            let (frame, registration) = match begin(service, route, generation) {
                Ok(frame) => frame,
                Err(error) => return responses::text(StatusCode::SERVICE_UNAVAILABLE, error),
            };
            let call = proxy::Call {
                frame,
                prepared: prepared.clone(),
                pre: pre.clone(),
                route: route.clone(),
                params,
                authority: service.address,
            };
            proxy::answer(call, registration, request, permit).await
        }
        Handler::Values(generation) => {
            // Read before taking a turn: a slow upload holds no slot.
            let body = match values::read_body(route, request).await {
                Ok(body) => body,
                Err(refused) => return refused,
            };
            let Some(_permit) = turn(route) else {
                return busy(route);
            };
            let (frame, registration) = match begin(service, route, generation) {
                Ok(frame) => frame,
                Err(error) => return responses::text(StatusCode::SERVICE_UNAVAILABLE, error),
            };
            match Abortable::new(values::answer(frame.context(), route, body), registration).await {
                Ok((response, outcome)) => {
                    frame.end(outcome);
                    response
                }
                Err(_) => stopped(route),
            }
        }
    }
}

/// A slot of the endpoint's `max_concurrent_requests`, if one is free.
fn turn(route: &Route) -> Option<OwnedSemaphorePermit> {
    route.slots.clone().try_acquire_owned().ok()
}

fn busy(route: &Route) -> Response<Body> {
    let mut response = responses::text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "`{}` is serving {} requests, its limit (limits.max_concurrent_requests); retry shortly",
            route.endpoint, route.limits.max_concurrent_requests
        ),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The request's frame on the node; refused (503) while the node stops or is short of memory.
fn begin(
    service: &Service,
    route: &Route,
    generation: &Arc<Generation>,
) -> Result<(RequestFrame, AbortRegistration), String> {
    let (context, registration) =
        (service.node).begin_request(&service.id, &route.func, generation)?;
    Ok((RequestFrame(Some(context)), registration))
}

/// A request's frame on the node, ended with how the request went — or, when it is dropped
/// unanswered (the client went away, or something panicked), as failed.
pub struct RequestFrame(Option<ProcessContext>);

impl RequestFrame {
    pub fn context(&self) -> &ProcessContext {
        self.0
            .as_ref()
            .expect("a frame has its context until it ends")
    }

    pub fn end(mut self, outcome: Result<(), String>) {
        if let Some(context) = self.0.take() {
            let payload = Payload::Nil;
            let outcome = outcome.as_ref().map(|()| &payload).map_err(String::as_str);
            context.node.end_call(&context, outcome);
        }
    }
}

impl Drop for RequestFrame {
    fn drop(&mut self) {
        if let Some(context) = self.0.take() {
            context
                .node
                .end_call(&context, Err("the request ended before it was answered"));
        }
    }
}

pub fn too_large(route: &Route) -> Response<Body> {
    responses::text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is larger than `{}` takes: {} bytes (limits.max_body_bytes)",
            route.endpoint, route.limits.max_body_bytes
        ),
    )
}

/// A failed handler's answer: its details are in the node's log, not in the response.
pub fn internal_error(route: &Route) -> Response<Body> {
    responses::text(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "`{}` failed to answer; the server's log says why",
            route.endpoint
        ),
    )
}

pub fn timed_out(route: &Route) -> Response<Body> {
    responses::text(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "`{}` did not answer within {:?} and was stopped",
            route.endpoint, route.limits.timeout
        ),
    )
}

/// The node stopped the request before it was answered (its grace period ended).
pub fn stopped(route: &Route) -> Response<Body> {
    responses::text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the server stopped before `{}` answered", route.endpoint),
    )
}

/// The path with empty, `.` and `..` segments resolved (also when percent-escaped), when that
/// differs from it: Go's `ServeMux` redirects such a request to the clean path, so no
/// parameter or rest of the path ever holds `..`.
fn cleaned(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let last = segments.len() - 1;
    let mut kept: Vec<&str> = Vec::new();
    let mut changed = false;
    for (i, segment) in segments.iter().enumerate() {
        let dots = match segment.contains('%') {
            true => std::borrow::Cow::Owned(segment.replace("%2e", ".").replace("%2E", ".")),
            false => std::borrow::Cow::Borrowed(*segment),
        };
        match &*dots {
            "" if i == last => kept.push(""),
            "" => changed = true,
            "." | ".." => {
                changed = true;
                if dots == ".." {
                    kept.pop();
                }
                // `/a/..` is the directory `/`, `/a/.` is `/a/`, as Go cleans them.
                if i == last {
                    kept.push("");
                }
            }
            _ => kept.push(segment),
        }
    }
    changed.then(|| format!("/{}", kept.join("/")))
}

fn redirect(path: String, query: Option<&str>) -> Response<Body> {
    let location = match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut response = responses::empty(StatusCode::MOVED_PERMANENTLY);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response
            .headers_mut()
            .insert(hyper::header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::cleaned;

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        assert_eq!(cleaned("/api/users/1"), None);
        assert_eq!(cleaned("/api/"), None);
        assert_eq!(cleaned("/"), None);
        assert_eq!(cleaned("/api//users"), Some("/api/users".into()));
        assert_eq!(cleaned("/api/../etc/passwd"), Some("/etc/passwd".into()));
        assert_eq!(cleaned("/api/%2e%2e/x"), Some("/x".into()));
        assert_eq!(cleaned("/a/./b"), Some("/a/b".into()));
        assert_eq!(cleaned("/a/.."), Some("/".into()));
        assert_eq!(cleaned("/../.."), Some("/".into()));
    }
}
