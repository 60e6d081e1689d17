//! `wippy run` serving HTTP: an app with an `http.service` on `127.0.0.1:0`, endpoints
//! answered by the `http-functions` guest (Wippy's `transport: wasi-http`) and the
//! `http-proxy` guest (`wasi:http/incoming-handler`), called with a real HTTP client.

mod support;

use std::time::Duration;

use support::Project;
use support::server::{Server, request};

/// The app: `/api` (with cors for `https://app.test` and localhost) on a gateway, `EXTRA`
/// appended to the gateway's settings.
fn app(service_extra: &str, entries_extra: &str) -> Project {
    let project = Project::new();
    let proxy = project.add_guest("http_proxy");
    let functions = project.add_guest("http_functions");
    let function = |name: &str, method: &str| {
        format!(
            "  - {{name: {name}, kind: function.wasm, fs: assets, path: /http_functions.wasm, hash: \"{functions}\", method: {method}, transport: wasi-http}}\n"
        )
    };
    let endpoint = |name: &str, method: &str, path: &str, func: &str, extra: &str| {
        format!(
            "  - {{name: {name}, kind: http.endpoint, meta: {{router: api}}, method: {method}, path: \"{path}\", func: {func}{extra}}}\n"
        )
    };
    let mut yaml = format!(
        r#"version: "1.0"
namespace: app
entries:
  - {{name: assets, kind: fs.directory, directory: ./wasm}}
  - name: gateway
    kind: http.service
    addr: 127.0.0.1:0
    lifecycle: {{auto_start: true}}
{service_extra}  - name: api
    kind: http.router
    meta: {{server: gateway}}
    prefix: /api
    middleware: [cors]
    options: {{cors.allow.origins: "https://app.test, localhost", cors.expose.headers: X-Handled-By}}
  - name: proxy
    kind: function.wasm
    fs: assets
    path: /http_proxy.wasm
    hash: "{proxy}"
    method: wasi:http/incoming-handler#handle
    transport: wasi-http
    imports: [wasi:http/types, wasi:clocks]
  - name: lua_handler
    kind: function.lua
    source: "return {{handler = function() return 'hi' end}}"
    method: handler
"#
    );
    for (name, method) in [
        ("greet", "greet"),
        ("nothing", "nothing"),
        ("bytes", "bytes"),
        ("describe", "describe"),
        ("check", "check"),
        ("crash", "crash"),
    ] {
        yaml.push_str(&function(name, method));
        yaml.push_str(&endpoint(
            &format!("{name}_endpoint"),
            "POST",
            &format!("/fn/{name}"),
            name,
            "",
        ));
    }
    yaml.push_str(&function("spin", "spin"));
    yaml.push_str(&endpoint("spin_long", "POST", "/fn/spin_long", "spin", ""));
    yaml.push_str(&endpoint(
        "spin_endpoint",
        "POST",
        "/fn/spin",
        "spin",
        ", limits: {timeout: 300ms}",
    ));
    yaml.push_str(&endpoint("echo", "POST", "/users/{id}/echo", "proxy", ""));
    yaml.push_str(&endpoint("files", "GET", "/files/{path...}", "proxy", ""));
    yaml.push_str(&endpoint("hello", "GET", "/hello", "proxy", ""));
    yaml.push_str(&endpoint(
        "proxy_any",
        "GET",
        "/p/",
        "proxy",
        ", limits: {timeout: 500ms}",
    ));
    yaml.push_str(&endpoint(
        "small",
        "POST",
        "/small/echo",
        "proxy",
        ", limits: {max_body_bytes: 8}",
    ));
    yaml.push_str(&endpoint(
        "single",
        "GET",
        "/single/sleep/{ms}",
        "proxy",
        ", limits: {max_concurrent_requests: 1}",
    ));
    yaml.push_str(&endpoint("lua", "GET", "/lua", "lua_handler", ""));
    yaml.push_str(entries_extra);
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn wippys_transport_turns_the_body_into_the_argument_and_the_result_into_the_response() {
    let project = app("", "");
    let server = Server::start(&project, &[]);

    let reply = server.post("/api/fn/greet", "Wippy");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hello, Wippy!"),
        "{}",
        server.log()
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let reply = server.post("/api/fn/nothing", "");
    assert_eq!((reply.status, reply.body.as_str()), (204, ""));

    let reply = server.post("/api/fn/bytes", "abc");
    assert_eq!((reply.status, reply.body.as_str()), (200, "cba"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );

    let reply = server.post("/api/fn/describe", "Wippy");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"message": "Hello, Wippy!", "length": 5})
    );

    let reply = server.post("/api/fn/check", "fine");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "accepted fine"),
        "{}",
        server.log()
    );
    // A `result`'s error is the function's own answer: its text is the body.
    let reply = server.post("/api/fn/check", "bad");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (500, "`bad` is not acceptable\n")
    );

    // No body for a function that takes one: the client's mistake, said with the signature.
    let reply = server.post("/api/fn/greet", "");
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        "`app:greet` needs a request body: expected 1 argument, got 0; its signature is greet(name: string) -> string\n"
    );
}

#[test]
fn a_proxy_component_gets_the_whole_request_and_streams_its_response() {
    let project = app("", "");
    let server = Server::start(&project, &[]);

    let reply = server.request(
        "POST",
        "/api/users/4%202/echo?q=1",
        &[
            ("x-trace", "abc"),
            ("wippy-route", "forged"),
            ("wippy-param-id", "forged"),
        ],
        "the body",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("x-handled-by"), Some("http-proxy"));
    assert_eq!(
        reply.body,
        "POST /api/users/4%202/echo?q=1\nwippy-param-id: 4 2\nwippy-route: /api/users/{id}/echo\nx-trace: abc\n\nthe body"
    );

    // A rest parameter takes the rest of the path; the component answers by its last part.
    let reply = server.get("/api/files/a/b/hello");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hello from a wasi:http component!\n")
    );

    let reply = server.get("/api/p/x/status/418");
    assert_eq!((reply.status, reply.body.as_str()), (418, "status 418\n"));

    let reply = server.get("/api/p/stream/3");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "chunk 0\nchunk 1\nchunk 2\n")
    );

    // A GET route answers HEAD, without a body.
    let reply = server.request("HEAD", "/api/hello", &[], "");
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
}

#[test]
fn routing_answers_not_found_method_not_allowed_options_and_cors() {
    let project = app("", "");
    let server = Server::start(&project, &[]);

    let reply = server.get("/nowhere");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (404, "404 page not found\n")
    );
    // `/api/p/` needs its slash.
    assert_eq!(server.get("/api/p").status, 404);

    let reply = server.request("DELETE", "/api/fn/greet", &[], "");
    assert_eq!((reply.status, reply.header("allow")), (405, Some("POST")));
    let reply = server.request("OPTIONS", "/api/hello", &[], "");
    assert_eq!(
        (reply.status, reply.header("allow")),
        (204, Some("GET, HEAD"))
    );

    // A preflight from an allowed origin, and the headers of the request that follows.
    let preflight = [
        ("origin", "https://app.test"),
        ("access-control-request-method", "POST"),
    ];
    let reply = server.request("OPTIONS", "/api/fn/greet", &preflight, "");
    assert_eq!(reply.status, 204);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("GET,POST,PUT,DELETE,OPTIONS,PATCH")
    );
    assert_eq!(reply.header("access-control-max-age"), Some("86400"));
    let reply = server.request(
        "POST",
        "/api/fn/greet",
        &[("origin", "http://localhost:5173")],
        "CORS",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        reply.header("access-control-expose-headers"),
        Some("X-Handled-By")
    );
    // Any other origin gets no CORS headers (the browser then refuses the response).
    let reply = server.request(
        "POST",
        "/api/fn/greet",
        &[("origin", "https://evil.test")],
        "x",
    );
    assert_eq!(
        (reply.status, reply.header("access-control-allow-origin")),
        (200, None)
    );

    let reply = server.get("/api/lua");
    assert_eq!(reply.status, 501);
    assert!(
        reply.body.contains("Lua HTTP handlers are not provided"),
        "{}",
        reply.body
    );
}

#[test]
fn a_failing_handler_fails_its_request_only() {
    let project = app("", "");
    let mut server = Server::start(&project, &[]);

    let reply = server.post("/api/fn/crash", "boom");
    assert_eq!(reply.status, 500);
    // The client learns which endpoint failed; the log says why.
    assert_eq!(
        reply.body,
        "`app:crash_endpoint` failed to answer; the server's log says why\n"
    );
    server.wait_for("app:crash_endpoint ({app:gateway|");

    let reply = server.get("/api/p/trap");
    assert_eq!(reply.status, 500);
    let reply = server.get("/api/p/silent");
    assert_eq!(reply.status, 500);
    server.wait_for("returned without setting a response (`response-outparam.set`)");

    // Loops end at the endpoint's timeout with 504.
    let reply = server.post("/api/fn/spin", "");
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert!(
        reply.body.contains("did not answer within 300ms"),
        "{}",
        reply.body
    );
    let reply = server.get("/api/p/spin");
    assert_eq!(reply.status, 504, "{}", reply.body);

    // Everything else is as it was.
    assert_eq!(server.post("/api/fn/greet", "again").body, "Hello, again!");
    assert_eq!(server.get("/api/hello").status, 200);
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn bodies_headers_and_concurrency_are_bounded() {
    let project = app("    limits: {max_headers: 20, max_body_bytes: 64}\n", "");
    let server = Server::start(&project, &[]);

    // Declared too large: refused before the handler runs.
    let reply = server.post("/api/small/echo", "123456789");
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(
        reply.body.contains("8 bytes (limits.max_body_bytes)"),
        "{}",
        reply.body
    );
    assert_eq!(server.post("/api/small/echo", "12345678").status, 200);
    // The service's bound holds for the other endpoints.
    assert_eq!(server.post("/api/fn/greet", &"x".repeat(65)).status, 413);
    assert_eq!(server.post("/api/fn/greet", &"x".repeat(64)).status, 200);

    let many: Vec<(String, String)> = (0..30).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(server.request("GET", "/api/hello", &many, "").status, 431);

    // One request at a time on `single`: a second meanwhile gets 503, and one after it 200.
    let addr = server.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/api/single/sleep/1500", &[], ""));
    std::thread::sleep(Duration::from_millis(500));
    let reply = server.get("/api/single/sleep/1");
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        reply.body.contains("limits.max_concurrent_requests"),
        "{}",
        reply.body
    );
    assert_eq!(slow.join().unwrap().unwrap().status, 200);
    assert_eq!(server.get("/api/single/sleep/1").status, 200);
}

#[test]
fn a_stopping_app_finishes_the_requests_in_flight() {
    let project = app("", "");
    let mut server = Server::start(&project, &[]);
    let addr = server.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/api/files/sleep/1000", &[], ""));
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGTERM);
    server.wait_for("SIGTERM: stopping");
    let reply = slow
        .join()
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "slept 1000 ms\n")
    );
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("node stopped"), "{log}");
    // Nothing listens any more.
    assert!(request(addr, "GET", "/api/hello", &[], "").is_err());
}

#[test]
fn a_request_still_running_after_the_grace_period_gets_a_clean_503() {
    let project = app("", "");
    let mut server = Server::start(&project, &["--grace", "300ms"]);
    let addr = server.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/api/files/sleep/20000", &[], ""));
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGTERM);
    server.wait_for("SIGTERM: stopping");
    let reply = slow
        .join()
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.body,
        "the server stopped before `app:files` answered\n"
    );
    let (code, log) = server.stop();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(
            "1 process did not stop within the grace period and was terminated: {app:gateway|"
        ),
        "{log}"
    );
}

#[test]
fn a_client_that_goes_away_ends_its_request() {
    let project = app("", "");
    let mut server = Server::start(&project, &[]);
    // The client gives up on a handler that would spin for the whole minute of its timeout.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    use std::io::Write as _;
    stream
        .write_all(b"POST /api/fn/spin_long HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGTERM);
    server.wait_for("SIGTERM: stopping; 0 processes cancelled");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn odd_requests_are_answered_as_go_answers_them() {
    let project = app("", "");
    let server = Server::start(&project, &[]);
    // An HTTP/1.0 request without `Host`: the component sees the service's own address.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    use std::io::{Read as _, Write as _};
    stream
        .write_all(b"GET /api/hello HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.0 200 OK"), "{reply}");
    assert!(
        reply.ends_with("Hello from a wasi:http component!\n"),
        "{reply}"
    );
    // Paths with `..`, `.` or `//` are redirected to their clean form, escaped or not.
    for path in ["/api/files/../hello", "/api/x/%2e%2e/hello", "/api//hello"] {
        let reply = server.get(path);
        assert_eq!(
            (reply.status, reply.header("location")),
            (301, Some("/api/hello")),
            "{path}"
        );
    }
    let reply = server.get("/api/files/./a/?q=1");
    assert_eq!(reply.header("location"), Some("/api/files/a/?q=1"));
}

#[test]
fn a_port_in_use_fails_the_start_with_the_entry_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let project = app("", "");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace("addr: 127.0.0.1:0", &format!("addr: 127.0.0.1:{port}")),
    );
    let error = project.wippy(&["run"]).failed().to_string();
    assert!(
        error.contains(&format!(
            "app:gateway: cannot listen on `127.0.0.1:{port}` (addr): Address already in use"
        )),
        "{error}"
    );
    assert!(error.contains("src/app.yaml:5"), "{error}");
}

#[test]
fn a_wasi_http_function_is_not_called_with_values() {
    let project = app("", "");
    let error = project
        .wippy(&["run", "--exec", "app:greet", "World"])
        .failed()
        .to_string();
    assert!(
        error.contains("entry `app:greet`, field `transport`: has `transport: wasi-http`: it answers HTTP requests through an http.endpoint, and cannot be called with values"),
        "{error}"
    );
}
