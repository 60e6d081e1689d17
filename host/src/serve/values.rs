//! Wippy's `transport: wasi-http`: the request body, read whole, is the function's one string
//! argument (no argument when it is empty); its result is the response — nothing: 204, a
//! string: text, bytes (`list<u8>`): octet-stream, anything else: JSON; a `result`'s error or
//! a failure: 500.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use wasmtime::component::Val;

use super::handler::{internal_error, timed_out, too_large};
use super::responses::{self, Body, TEXT};
use super::routes::Route;
use crate::process::{Exit, ProcessConfig, ProcessContext, new_store, run_in};
use crate::values::{Payload, signature, wit_conversion};

/// How the call went, for the request's frame; the response says it to the client.
pub type Outcome = Result<(), String>;

/// The whole request body, within `max_body_bytes` (413) and `timeouts.read` (408).
pub async fn read_body(route: &Route, request: Request<Incoming>) -> Result<Bytes, Response<Body>> {
    let limits = route.limits;
    let body = Limited::new(request.into_body(), limits.max_body_bytes as usize);
    match tokio::time::timeout(limits.read, body.collect()).await {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(too_large(route)),
        Ok(Err(error)) => Err(responses::text(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read: {error}"),
        )),
        Err(_) => Err(responses::text(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {:?} (timeouts.read)",
                limits.read
            ),
        )),
    }
}

/// Calls the function with `body` in the request's `frame`.
pub async fn answer(
    frame: &ProcessContext,
    route: &Route,
    body: Bytes,
) -> (Response<Body>, Outcome) {
    let limits = route.limits;
    let args = match body.is_empty() {
        true => Vec::new(),
        false => vec![match String::from_utf8(body.to_vec()) {
            Ok(text) => Payload::String(text),
            Err(bytes) => Payload::Bytes(bytes.into_bytes()),
        }],
    };
    match tokio::time::timeout(limits.timeout, call(frame, args)).await {
        Ok(Ok(reply)) => (reply, Ok(())),
        Ok(Err(Failure::BadRequest(problem))) => (
            responses::text(StatusCode::BAD_REQUEST, &problem),
            Err(problem),
        ),
        Ok(Err(Failure::Refused(error))) => (
            responses::text(StatusCode::INTERNAL_SERVER_ERROR, &error),
            Err(error),
        ),
        Ok(Err(Failure::Failed(error))) => {
            log::warn!("{} ({}): {error}", route.endpoint, frame.pid);
            (internal_error(route), Err(error))
        }
        Err(_) => {
            let error = format!(
                "`{}` did not answer within {:?} and was stopped",
                route.func, limits.timeout
            );
            log::warn!("{} ({}): {error}", route.endpoint, frame.pid);
            (timed_out(route), Err(error))
        }
    }
}

enum Failure {
    /// The body does not fit the function's parameters: the client's to fix.
    BadRequest(String),
    /// The function returned a `result`'s error: its text is the response.
    Refused(String),
    /// A trap, a limit, a compile error: logged, not shown.
    Failed(String),
}

async fn call(frame: &ProcessContext, args: Vec<Payload>) -> Result<Response<Body>, Failure> {
    let func = &frame.entry;
    if let Some(core) = frame.core_function().await.map_err(Failure::Failed)? {
        let value = (core.call(&args, &frame.stdio).await).map_err(Failure::Failed)?;
        return Ok(from_payload(&value));
    }
    let prepared = frame.prepared().await.map_err(Failure::Failed)?;
    let vals = wit_conversion::payloads_to_args(&prepared.export.ty, &args).map_err(|problem| {
        let what = match args.is_empty() {
            true => "needs a request body",
            false => "cannot take the request body",
        };
        Failure::BadRequest(format!(
            "`{func}` {what}: {problem}; its signature is {}",
            signature(&prepared.export.name, &prepared.export.ty)
        ))
    })?;
    let store = new_store(
        &prepared,
        ProcessConfig {
            cli_args: Vec::new(),
            stdio: (*frame.stdio).clone(),
            actor: Some(frame.clone()),
        },
    )
    .map_err(Failure::Failed)?;
    match run_in(&prepared, store, &vals)
        .await
        .map_err(Failure::Failed)?
    {
        Exit::Returned(results) => from_results(results),
        Exit::Exited(0) => Ok(responses::empty(StatusCode::NO_CONTENT)),
        Exit::Exited(code) => Err(Failure::Failed(format!("`{func}` exited with code {code}"))),
    }
}

fn from_results(results: Vec<Val>) -> Result<Response<Body>, Failure> {
    match results.into_iter().next() {
        None | Some(Val::Option(None)) | Some(Val::Result(Ok(None))) => {
            Ok(responses::empty(StatusCode::NO_CONTENT))
        }
        Some(Val::Result(Ok(Some(value)))) => from_val(*value),
        Some(Val::Result(Err(error))) => Err(Failure::Refused(match error.as_deref() {
            Some(Val::String(text)) => text.clone(),
            Some(other) => crate::values::render(other),
            None => "the function returned an error".to_string(),
        })),
        Some(value) => from_val(value),
    }
}

fn from_val(value: Val) -> Result<Response<Body>, Failure> {
    match value {
        Val::Option(Some(value)) => from_val(*value),
        Val::Option(None) => Ok(responses::empty(StatusCode::NO_CONTENT)),
        Val::String(text) => Ok(responses::with_body(StatusCode::OK, TEXT, text.into())),
        Val::List(items) if items.iter().all(|v| matches!(v, Val::U8(_))) && !items.is_empty() => {
            let bytes: Vec<u8> = (items.iter())
                .filter_map(|v| match v {
                    Val::U8(b) => Some(*b),
                    _ => None,
                })
                .collect();
            Ok(octets(bytes))
        }
        other => {
            let payload = wit_conversion::from_val(&other)
                .map_err(|e| Failure::Failed(format!("the result cannot be sent: {e}")))?;
            Ok(from_payload(&payload))
        }
    }
}

/// A core function's result, or a component's that is not text or bytes.
fn from_payload(value: &Payload) -> Response<Body> {
    match value {
        Payload::Nil => responses::empty(StatusCode::NO_CONTENT),
        Payload::String(text) => responses::with_body(StatusCode::OK, TEXT, text.clone().into()),
        Payload::Bytes(bytes) => octets(bytes.clone()),
        other => match other.to_json() {
            Ok(json) => responses::with_body(
                StatusCode::OK,
                "application/json",
                Bytes::from(json.to_string()),
            ),
            Err(problem) => responses::text(StatusCode::INTERNAL_SERVER_ERROR, problem),
        },
    }
}

fn octets(bytes: Vec<u8>) -> Response<Body> {
    responses::with_body(StatusCode::OK, "application/octet-stream", bytes.into())
}
