//! A component exporting `wasi:http/incoming-handler` (the `wasi:http/proxy` world, as
//! `wasmtime serve` and Spin run it): each request in a fresh instance under the entry's
//! grants and limits, with the whole request (headers, a streamed body) and the whole
//! response (status, headers, a body streamed while the handler still runs).
//!
//! The route reaches the handler in request headers, as Spin passes its own: `wippy-route`
//! (the endpoint's full path as declared) and `wippy-param-NAME` per path parameter. Headers
//! of those names sent by the client are dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{AbortRegistration, Abortable};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Request, Response};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use super::handler::{RequestFrame, internal_error, stopped, timed_out};
use super::responses::Body;
use super::routes::Route;
use crate::capabilities::ProcessState;
use crate::engine::PreparedEntry;
use crate::guest::describe_failure;
use crate::process::{ProcessConfig, new_store};

/// A request on its way to a proxy component.
pub struct Call {
    pub frame: RequestFrame,
    pub prepared: Arc<PreparedEntry>,
    pub pre: ProxyPre<ProcessState>,
    pub route: Arc<Route>,
    pub params: Vec<(String, String)>,
    /// Where the service listens: the `Host` of a request that names none (HTTP/1.0).
    pub authority: std::net::SocketAddr,
}

/// How a handler's run ended when it gave no response.
enum Ended {
    Returned,
    TimedOut,
    Failed,
}

pub async fn answer(
    call: Call,
    registration: AbortRegistration,
    mut request: Request<Incoming>,
    permit: OwnedSemaphorePermit,
) -> Response<Body> {
    let Call {
        frame,
        prepared,
        pre,
        route,
        params,
        authority,
    } = call;
    route_headers(&mut request, &route, &params);
    if request.uri().authority().is_none()
        && !request.headers().contains_key(HOST)
        && let Ok(host) = HeaderValue::from_str(&authority.to_string())
    {
        request.headers_mut().insert(HOST, host);
    }
    let limit = route.limits.max_body_bytes;
    let request = request.map(|body| LimitedBody {
        inner: body,
        left: limit,
        limit,
    });
    let context = frame.context();
    let config = ProcessConfig {
        cli_args: Vec::new(),
        stdio: (*context.stdio).clone(),
        actor: Some(context.clone()),
    };
    let (sender, receiver) = oneshot::channel();
    let mut store = match new_store(&prepared, config) {
        Ok(store) => store,
        Err(error) => return failed_to_start(frame, &route, error),
    };
    let resources: wasmtime::Result<_> = (|| {
        let mut http = store.data_mut().http();
        let request = http.new_incoming_request(Scheme::Http, request)?;
        let out = http.new_response_outparam(sender)?;
        Ok((request, out))
    })();
    let (incoming, out) = match resources {
        Ok(resources) => resources,
        Err(error) => return failed_to_start(frame, &route, error.to_string()),
    };
    let timeout = handler_timeout(&route, &prepared);
    let task_route = route.clone();
    let task = tokio::spawn(Abortable::new(
        async move {
            // Held until the handler ends, which may be after its response began.
            let _permit = permit;
            let run = async {
                let proxy = Box::pin(pre.instantiate_async(&mut store)).await?;
                (proxy.wasi_http_incoming_handler())
                    .call_handle(&mut store, incoming, out)
                    .await
            };
            let outcome = tokio::time::timeout(timeout, run).await;
            let (ended, frame_outcome) = match outcome {
                Ok(Ok(())) => (Ended::Returned, Ok(())),
                Ok(Err(error)) => {
                    let memory = &store.data().memory;
                    let error = describe_failure(&prepared.id, memory, &prepared.limits, &error);
                    log::warn!("{} ({}): {error}", task_route.endpoint, frame.context().pid);
                    (Ended::Failed, Err(error))
                }
                Err(_) => {
                    let error = format!(
                        "`{}` did not finish within {timeout:?} and was stopped",
                        prepared.id
                    );
                    log::warn!("{} ({}): {error}", task_route.endpoint, frame.context().pid);
                    (Ended::TimedOut, Err(error))
                }
            };
            // The store holds the response's sender: dropping it tells a handler that never
            // answered apart from one still streaming.
            drop(store);
            frame.end(frame_outcome);
            ended
        },
        registration,
    ));
    match receiver.await {
        Ok(Ok(response)) => response,
        Ok(Err(code)) => {
            log::warn!(
                "{}: `{}` answered with the error {code:?}",
                route.endpoint,
                route.func
            );
            internal_error(&route)
        }
        Err(_) => match task.await {
            Ok(Ok(Ended::Returned)) => {
                log::warn!(
                    "{}: `{}` returned without setting a response (`response-outparam.set`)",
                    route.endpoint,
                    route.func
                );
                internal_error(&route)
            }
            Ok(Ok(Ended::TimedOut)) => timed_out(&route),
            Ok(Ok(Ended::Failed)) => internal_error(&route),
            Ok(Err(_aborted)) => stopped(&route),
            Err(error) => {
                log::error!("{}: the handler's task failed: {error}", route.endpoint);
                internal_error(&route)
            }
        },
    }
}

fn failed_to_start(frame: RequestFrame, route: &Route, error: String) -> Response<Body> {
    log::error!("{} ({}): {error}", route.endpoint, frame.context().pid);
    frame.end(Err(error));
    internal_error(route)
}

/// The endpoint's timeout, or the entry's `limits.max_execution_ms` when that is shorter.
fn handler_timeout(route: &Route, prepared: &PreparedEntry) -> Duration {
    match prepared.limits.max_execution_ms {
        Some(ms) => route.limits.timeout.min(Duration::from_millis(ms)),
        None => route.limits.timeout,
    }
}

/// Replaces any `wippy-route` / `wippy-param-*` the client sent with the route's own.
fn route_headers<B>(request: &mut Request<B>, route: &Route, params: &[(String, String)]) {
    let headers = request.headers_mut();
    let sent: Vec<HeaderName> = (headers.keys())
        .filter(|name| name.as_str() == "wippy-route" || name.as_str().starts_with("wippy-param-"))
        .cloned()
        .collect();
    for name in sent {
        headers.remove(name);
    }
    if let Ok(value) = HeaderValue::from_str(&route.pattern) {
        headers.insert(HeaderName::from_static("wippy-route"), value);
    }
    for (name, value) in params {
        let name =
            HeaderName::from_bytes(format!("wippy-param-{}", name.to_lowercase()).as_bytes());
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_bytes(value.as_bytes())) {
            headers.insert(name, value);
        }
    }
}

/// The request body as the guest reads it, failing past `limits.max_body_bytes`.
struct LimitedBody {
    inner: Incoming,
    left: u64,
    limit: u64,
}

impl hyper::body::Body for LimitedBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let size = frame.data_ref().map_or(0, |data| data.len() as u64);
                if size > self.left {
                    let limit = self.limit;
                    return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpRequestBodySize(
                        Some(limit),
                    ))));
                }
                self.left -= size;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
