//! The responses the server makes itself (routing, limits, failed handlers): short text a
//! person can read, as Go's `net/http` writes them.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// Every response's body: a guest's streamed body, or one of ours.
pub type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

pub const TEXT: &str = "text/plain; charset=utf-8";

/// `status` with `text` (and a line end) as its body.
pub fn text(status: StatusCode, text: impl Into<String>) -> Response<Body> {
    let mut text = text.into();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    with_body(status, TEXT, Bytes::from(text))
}

/// `status` with `body` of type `content_type`.
pub fn with_body(status: StatusCode, content_type: &str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).map_err(|e| match e {}).boxed_unsync());
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

/// `status` without a body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Empty::new().map_err(|e| match e {}).boxed_unsync());
    *response.status_mut() = status;
    response
}
