//! An HTTP client on `wasi:http/outgoing-handler`.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

wit_bindgen::generate!({ world: "http-client", path: "wit" });

struct HttpClient;

impl Guest for HttpClient {
    fn get(url: String) -> Result<String, String> {
        let (scheme, rest) = match url.split_once("://") {
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            _ => return Err(format!("`{url}` is not an http:// or https:// URL")),
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/"),
        };
        let request = OutgoingRequest::new(Fields::new());
        request
            .set_method(&Method::Get)
            .map_err(|()| "bad method")?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| "bad scheme")?;
        request
            .set_authority(Some(authority))
            .map_err(|()| "bad authority")?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| "bad path")?;

        let pending = outgoing_handler::handle(request, None)
            .map_err(|e| format!("request failed: {e:?}"))?;
        pending.subscribe().block();
        let response = pending
            .get()
            .ok_or("no response after it was ready")?
            .map_err(|()| "the response was already taken")?
            .map_err(|e| format!("request failed: {e:?}"))?;
        let status = response.status();
        let body = response.consume().map_err(|()| "no body")?;
        let stream = body.stream().map_err(|()| "no body stream")?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(format!("reading the body failed: {}", e.to_debug_string()));
                }
            }
        }
        Ok(format!("{status} {}", String::from_utf8_lossy(&bytes)))
    }
}

export!(HttpClient);
