//! A `wasi:http/proxy` component, as `wasmtime serve` and Spin run it. What it does depends on
//! the request path's last segments, so one component serves every test route:
//!
//! - `…/hello`: 200 and a greeting (the benchmark's handler);
//! - `…/echo`: the method, path, `x-*` and `wippy-*` request headers and the body, as text;
//! - `…/status/N`: status N;
//! - `…/sleep/MS`: answers after MS milliseconds;
//! - `…/stream/N`: N chunks of body, 10 ms apart;
//! - `…/trap`: traps before answering; `…/spin`: never returns; `…/silent`: returns without
//!   an answer.

use std::io::{Read as _, Write as _};

use wasip2::clocks::monotonic_clock;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(Proxy);

struct Proxy;

impl wasip2::exports::http::incoming_handler::Guest for Proxy {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let route = path.split('?').next().unwrap_or_default().to_string();
        let segments: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [.., "hello"] => respond(
                response_out,
                200,
                &[],
                b"Hello from a wasi:http component!\n",
            ),
            [.., "echo"] => {
                let text = echo(&request, &path);
                respond(
                    response_out,
                    200,
                    &[("x-handled-by", "http-proxy")],
                    text.as_bytes(),
                )
            }
            [.., "status", code] => {
                let code = code.parse().unwrap_or(500);
                respond(
                    response_out,
                    code,
                    &[],
                    format!("status {code}\n").as_bytes(),
                )
            }
            [.., "sleep", ms] => {
                let ms: u64 = ms.parse().unwrap_or(0);
                monotonic_clock::subscribe_duration(ms * 1_000_000).block();
                respond(
                    response_out,
                    200,
                    &[],
                    format!("slept {ms} ms\n").as_bytes(),
                )
            }
            [.., "stream", chunks] => stream(response_out, chunks.parse().unwrap_or(1)),
            [.., "trap"] => panic!("trapping on purpose"),
            [.., "spin"] => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            [.., "silent"] => {}
            _ => respond(
                response_out,
                404,
                &[],
                format!("no handler for {route}\n").as_bytes(),
            ),
        }
    }
}

fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let fields = Fields::new();
    fields
        .append("content-type", b"text/plain; charset=utf-8")
        .unwrap();
    for (name, value) in headers {
        fields.append(name, value.as_bytes()).unwrap();
    }
    let response = OutgoingResponse::new(fields);
    response.set_status_code(status).unwrap();
    let outgoing = response.body().unwrap();
    ResponseOutparam::set(out, Ok(response));
    let mut stream = outgoing.write().unwrap();
    stream.write_all(body).unwrap();
    stream.flush().unwrap();
    drop(stream);
    OutgoingBody::finish(outgoing, None).unwrap();
}

fn echo(request: &IncomingRequest, path: &str) -> String {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        Method::Patch => "PATCH".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Options => "OPTIONS".to_string(),
        Method::Other(other) => other,
        other => format!("{other:?}"),
    };
    let mut text = format!("{method} {path}\n");
    let mut headers: Vec<(String, String)> = request
        .headers()
        .entries()
        .into_iter()
        .filter(|(name, _)| name.starts_with("x-") || name.starts_with("wippy-"))
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    headers.sort();
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push('\n');
    let body = request.consume().unwrap();
    let mut stream = body.stream().unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    text.push_str(&String::from_utf8_lossy(&bytes));
    text
}

fn stream(out: ResponseOutparam, chunks: u32) {
    let response = OutgoingResponse::new(Fields::new());
    let outgoing = response.body().unwrap();
    ResponseOutparam::set(out, Ok(response));
    let mut stream = outgoing.write().unwrap();
    for chunk in 0..chunks {
        stream
            .write_all(format!("chunk {chunk}\n").as_bytes())
            .unwrap();
        stream.flush().unwrap();
        monotonic_clock::subscribe_duration(10_000_000).block();
    }
    drop(stream);
    OutgoingBody::finish(outgoing, None).unwrap();
}
