//! One request, start to end: routing (404, 405, OPTIONS), CORS, the endpoint's limits (413,
//! 503), a frame on the node for the request, and the function that answers it.

use std::sync::Arc;

use futures_util::future::Abortable;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::responses::{self, Body};
use super::routes::{Lookup, Route, RouteTable};
use super::{proxy, values};
use crate::capabilities::ProcessState;
use crate::engine::{ExportedFunc, PreparedEntry};
use crate::process::{Node, ProcessContext};
use crate::registry::{EntryId, EntryKind};

/// How an endpoint's function answers a request.
pub enum Handler {
    /// Wippy's `transport: wasi-http`: the body is the argument, the result the response.
    Values,
    /// A component exporting `wasi:http/incoming-handler`: the whole request and response.
    Proxy {
        prepared: Arc<PreparedEntry>,
        pre: ProxyPre<ProcessState>,
    },
    /// A `function.lua`: Lua HTTP handlers are not provided yet.
    Lua,
}

impl Handler {
    /// Compiles (or loads) the function and finds how it answers.
    pub async fn of(node: &Node, func: &EntryId) -> Result<Handler, String> {
        if let Some(EntryKind::FunctionLua(_)) = node.registry().get(func).map(|e| &e.kind) {
            return Ok(Handler::Lua);
        }
        if node.core_function(func).await?.is_some() {
            return Ok(Handler::Values);
        }
        let prepared = node.prepared(func).await?;
        if !is_incoming_handler(&prepared.export) {
            return Ok(Handler::Values);
        }
        let pre = ProxyPre::new(prepared.pre.clone()).map_err(|e| {
            format!(
                "`{func}` names `wasi:http/incoming-handler#handle` but does not export the `wasi:http/proxy` world's handler: {}",
                crate::guest::describe_wasmtime_error(&e)
            )
        })?;
        Ok(Handler::Proxy { prepared, pre })
    }
}

/// `method: wasi:http/incoming-handler#handle` (any version, or `incoming-handler#handle`).
fn is_incoming_handler(export: &ExportedFunc) -> bool {
    let interface = export.qualified_name.split('#').next().unwrap_or_default();
    let unversioned = interface.split('@').next().unwrap_or_default();
    export.name == "handle" && unversioned == "wasi:http/incoming-handler"
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
    pub routes: RouteTable,
}

pub async fn serve(service: Arc<Service>, request: Request<Incoming>) -> Response<Body> {
    let (route, params) = match service
        .routes
        .lookup(request.method(), request.uri().path())
    {
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
    params: Vec<(String, String)>,
    request: Request<Incoming>,
) -> Response<Body> {
    let declared_length = (request.headers().get(CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > route.limits.max_body_bytes) {
        return too_large(route);
    }
    let Ok(permit) = route.slots.clone().try_acquire_owned() else {
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
        return response;
    };
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
    if let Handler::Lua = *handler {
        return responses::text(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "`{}` is a Lua function; Lua HTTP handlers are not provided by wippy-rs yet",
                route.func
            ),
        );
    }
    let (frame, registration) = match service.node.begin_request(&service.id, &route.func) {
        Ok(frame) => frame,
        Err(error) => return responses::text(StatusCode::SERVICE_UNAVAILABLE, error),
    };
    match &*handler {
        Handler::Proxy { prepared, pre } => {
            let call = proxy::Call {
                frame,
                prepared: prepared.clone(),
                pre: pre.clone(),
                route: route.clone(),
                params,
            };
            proxy::answer(call, registration, request, permit).await
        }
        _ => {
            let run = values::answer(&frame, route, request);
            let outcome = Abortable::new(run, registration).await;
            let _permit = permit;
            match outcome {
                Ok((response, outcome)) => {
                    end_frame(&frame, outcome);
                    response
                }
                Err(_) => stopped(route),
            }
        }
    }
}

/// Ends the frame of a request with how it went.
pub fn end_frame(frame: &ProcessContext, outcome: Result<(), String>) {
    let payload = crate::values::Payload::Nil;
    frame.node.end_call(
        frame,
        outcome.as_ref().map(|()| &payload).map_err(String::as_str),
    );
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
