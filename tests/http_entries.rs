//! `http.service`, `http.router` and `http.endpoint` as Wippy writes them: they load, are
//! checked (addresses, methods, paths, references, routes answered twice) with errors that
//! say where and how to fix them, and `wippy check` notes what has no effect. Serving them is
//! `http_serving.rs`.

mod support;

use support::Project;

/// A gateway, a router under `/api` with Wippy's cors options, and a Lua function answering
/// `GET /api/users/{id}`; `EXTRA` lines are appended.
const APP: &str = r#"version: "1.0"
namespace: app
entries:
  - name: gateway
    kind: http.service
    meta: {comment: Main gateway}
    addr: :8085
    lifecycle: {auto_start: true}
  - name: api.public
    kind: http.router
    meta: {server: gateway}
    prefix: /api
    middleware: [cors]
    options: {cors.allow.origins: "localhost"}
  - name: user
    kind: function.lua
    source: |
      local function handler() return "user" end
      return {handler = handler}
    method: handler
  - name: user_endpoint
    kind: http.endpoint
    meta: {router: app:api.public}
    method: GET
    path: /users/{id}
    func: user
"#;

fn check(yaml: &str) -> support::Run {
    let project = Project::new();
    project.write("src/app.yaml", yaml);
    project.wippy(&["check"])
}

/// The first error of a failed check, without the file's folder. (An entry that does not
/// load also leaves the references to it dangling: those errors follow.)
fn error_of(yaml: &str) -> String {
    let run = check(yaml);
    let error = run.failed().to_string();
    let at = error
        .find("src/app.yaml")
        .unwrap_or_else(|| panic!("no place: {error}"));
    let first = error[at..].split("\n\n").next().unwrap_or_default();
    first.trim_end().to_string()
}

#[test]
fn wippy_http_entries_load_and_check_notes_what_is_not_provided() {
    let run = check(APP);
    let stdout = run.ok();
    let lua = "note: field `func`: `app:user` is a function.lua: Lua HTTP handlers (Wippy's `http` module) are not provided yet, so its requests get 501 Not Implemented";
    assert!(stdout.contains(lua), "{stdout}");
    assert!(
        stdout.contains("4 entries, 0 components verified, 1 notes, 0 errors"),
        "{stdout}"
    );
    // Middleware other than cors is accepted and said to do nothing.
    let run = check(&APP.replace("middleware: [cors]", "middleware: [cors, ratelimit]"));
    assert!(
        run.ok().contains("note: field `middleware[1]`: accepted, has no effect here: `ratelimit` is not provided: wippy-rs provides the cors middleware only"),
        "{}",
        run.ok()
    );
}

#[test]
fn an_endpoint_needs_a_function_that_takes_requests() {
    let payload = APP.replace(
        "  - name: user\n    kind: function.lua\n    source: |\n      local function handler() return \"user\" end\n      return {handler = handler}\n    method: handler\n",
        "  - {name: user, kind: function.wat, method: run, wit: \"run: func();\", source: \"(module (func (export \\\"run\\\")))\"}\n",
    );
    assert_ne!(payload, APP);
    assert_eq!(
        error_of(&payload),
        "src/app.yaml:16: entry `app:user_endpoint`, field `func`: `app:user` passes payloads (`transport: payload`, the default), so it cannot take an HTTP request. Write `transport: wasi-http` on `app:user`: the request body becomes its argument and its result the response (or export `wasi:http/incoming-handler` and name it in `method`)"
    );
}

#[test]
fn a_wasi_http_handler_needs_the_http_types_granted() {
    let handler = APP.replace(
        "  - name: user\n    kind: function.lua\n    source: |\n      local function handler() return \"user\" end\n      return {handler = handler}\n    method: handler\n",
        "  - {name: assets, kind: fs.directory, directory: ./wasm}\n  - {name: user, kind: function.wasm, fs: assets, path: /site.wasm, hash: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\", method: \"wasi:http/incoming-handler@0.2.6#handle\", transport: wasi-http}\n",
    );
    assert_ne!(handler, APP);
    assert_eq!(
        error_of(&handler),
        "src/app.yaml:17: entry `app:user_endpoint`, field `func`: `app:user` answers through `wasi:http/incoming-handler`, which hands it the request as `wasi:http/types` resources, but its entry does not grant `wasi:http/types`. Add `wasi:http/types` to the `imports` of `app:user`"
    );
}

#[test]
fn timeouts_and_limits_are_checked() {
    let service = "lifecycle: {auto_start: true}";
    assert_eq!(
        error_of(&APP.replace(
            service,
            "lifecycle: {auto_start: true}\n    timeouts: {write: 0s}"
        )),
        "src/app.yaml:4: entry `app:gateway`, field `timeouts.write`: a timeout of zero would fail every request. Write a duration such as \"30s\", or leave the key out for the default"
    );
    assert_eq!(
        error_of(&APP.replace(
            service,
            "lifecycle: {auto_start: true}\n    limits: {max_concurent_requests: 5}"
        )),
        "src/app.yaml:4: entry `app:gateway`, field `limits.max_concurent_requests`: `max_concurent_requests` is not a field of http.service. Did you mean `max_concurrent_requests`?"
    );
    assert_eq!(
        error_of(&APP.replace(
            "func: user\n",
            "func: user\n    limits: {max_concurrent_requests: 0}\n"
        )),
        "src/app.yaml:21: entry `app:user_endpoint`, field `limits.max_concurrent_requests`: a bound of 0 would refuse every request. Write 1 or more, or leave the key out for the default"
    );
    assert_eq!(
        error_of(&APP.replace(
            service,
            "lifecycle: {auto_start: true}\n    limits: {max_headers: 5000}"
        )),
        "src/app.yaml:4: entry `app:gateway`, field `limits.max_headers`: 5000 is more than the server allows. Write at most 1000"
    );
    assert_eq!(
        error_of(&APP.replace("prefix: /api", "prefix: /api/{rest...}")),
        "src/app.yaml:9: entry `app:api.public`, field `prefix`: `{rest...}` in `/api/{rest...}` is not a parameter: a parameter is a whole segment `{name}` of letters, digits and `_`"
    );
    check(&APP.replace(
        "func: user\n",
        "func: user\n    limits: {max_concurrent_requests: 2, max_body_bytes: 10, timeout: 2s}\n",
    ))
    .ok();
}

#[test]
fn a_method_is_one_of_wippys_and_upper_case() {
    assert_eq!(
        error_of(&APP.replace("method: GET", "method: get")),
        "src/app.yaml:21: entry `app:user_endpoint`, field `method`: `get` is not an HTTP method. Write `GET`: methods are upper case, as in Wippy"
    );
    assert_eq!(
        error_of(&APP.replace("method: GET", "method: FETCH")),
        "src/app.yaml:21: entry `app:user_endpoint`, field `method`: `FETCH` is not an HTTP method. Write one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, TRACE"
    );
}

#[test]
fn paths_and_addresses_are_checked() {
    let error = error_of(&APP.replace("path: /users/{id}", "path: users/{id}"));
    assert_eq!(
        error,
        "src/app.yaml:21: entry `app:user_endpoint`, field `path`: `users/{id}` does not start with `/`"
    );
    let error = error_of(&APP.replace("path: /users/{id}", "path: /users/{id"));
    assert!(
        error.ends_with("field `path`: `{id` in `/users/{id` is not a parameter: a parameter is a whole segment `{name}` of letters, digits and `_` (or, last, `{name...}` for the rest of the path)"),
        "{error}"
    );
    assert_eq!(
        error_of(&APP.replace("addr: :8085", "addr: :http")),
        "src/app.yaml:4: entry `app:gateway`, field `addr`: `http` in `:http` is not a port (0 to 65535). Write `:PORT` or `HOST:PORT`, such as `:8080` or `127.0.0.1:0`"
    );
}

#[test]
fn references_name_the_right_kinds() {
    assert_eq!(
        error_of(&APP.replace("meta: {server: gateway}", "meta: {comment: no server}")),
        "src/app.yaml:9: entry `app:api.public`, field `meta.server`: an http.router needs the http.service it serves on. Write `meta: {server: gateway}` with the ID of an http.service entry"
    );
    assert_eq!(
        error_of(&APP.replace(
            "meta: {router: app:api.public}",
            "meta: {router: app:api.private}"
        )),
        "src/app.yaml:21: entry `app:user_endpoint`, field `meta.router`: refers to `app:api.private`, which no registry file declares. Declare `app:api.private` or use one of the http.router entries: app:api.public"
    );
    assert_eq!(
        error_of(
            &APP.replace("kind: function.lua", "kind: process.lua")
                .replace("    method: handler\n", "")
        ),
        "src/app.yaml:20: entry `app:user_endpoint`, field `func`: `app:user` is a process.lua, but this field needs a function.wasm or function.lua or function.wat. Point it at a function.wasm or function.lua or function.wat entry"
    );
}

#[test]
fn two_endpoints_cannot_answer_the_same_request() {
    let twin = "  - {name: twin, kind: http.endpoint, meta: {router: api.public}, method: GET, path: \"/users/{name}\", func: user}\n";
    assert_eq!(
        error_of(&format!("{APP}{twin}")),
        "src/app.yaml:27: entry `app:twin`, field `path`: `GET /api/users/{name}` on `app:gateway` conflicts with `GET /api/users/{id}` of `app:user_endpoint`: some requests match both, and neither is more specific. Change the method or path of one of the two endpoints"
    );
    // Wippy's `:name` form is the same route too.
    let colon = twin.replace("\"/users/{name}\"", "/users/:name");
    let error = error_of(&format!("{APP}{colon}"));
    assert!(
        error.contains(
            "`GET /api/users/{name}` on `app:gateway` conflicts with `GET /api/users/{id}`"
        ),
        "{error}"
    );
    // Another method on the same path is another route, and a more specific path another.
    let post = twin.replace("method: GET", "method: POST");
    check(&format!("{APP}{post}")).ok();
    let me = twin.replace("\"/users/{name}\"", "/users/me");
    check(&format!("{APP}{me}")).ok();
    // Each of these is more specific than the other somewhere: Wippy refuses them too.
    let crossed = format!(
        "{APP}{}{}",
        twin.replace("\"/users/{name}\"", "\"/a/{x}/c\""),
        twin.replace("twin", "twin2")
            .replace("\"/users/{name}\"", "\"/a/b/{y}\"")
    );
    let error = error_of(&crossed);
    assert!(
        error.contains(
            "`GET /api/a/b/{y}` on `app:gateway` conflicts with `GET /api/a/{x}/c` of `app:twin`"
        ),
        "{error}"
    );
}

#[test]
fn a_misspelt_key_gets_a_suggestion() {
    assert_eq!(
        error_of(&APP.replace("prefix: /api", "prefx: /api")),
        "src/app.yaml:9: entry `app:api.public`, field `prefx`: `prefx` is not a field of http.router. Did you mean `prefix`?"
    );
}
