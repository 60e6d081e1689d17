//! `http.service`, `http.router` and `http.endpoint` as Wippy writes them: they load, are
//! checked (addresses, methods, paths, references, routes answered twice) with errors that
//! say where and how to fix them, and `wippy check` says they are not served yet.

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
fn wippy_http_entries_load_and_check_says_they_are_not_served_yet() {
    let run = check(APP);
    let stdout = run.ok();
    let not_served = "note: field `kind`: accepted, has no effect here: HTTP entries are loaded and checked, but not served yet (wippy-rs issue #13)";
    assert_eq!(stdout.matches(not_served).count(), 3, "{stdout}");
    assert!(
        stdout.contains("4 entries, 0 components verified, 3 notes, 0 errors"),
        "{stdout}"
    );
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
        error.ends_with("field `path`: `{id` in `/users/{id` is not a parameter: a parameter is a whole segment `{name}` of letters, digits and `_`"),
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
        "src/app.yaml:27: entry `app:twin`, field `path`: `GET /api/users/{name}` on `app:gateway` is already answered by `app:user_endpoint`. Change the method or path of one of the two endpoints"
    );
    // Wippy's `:name` form is the same route too.
    let colon = twin.replace("\"/users/{name}\"", "/users/:name");
    let error = error_of(&format!("{APP}{colon}"));
    assert!(
        error.contains(
            "`GET /api/users/{name}` on `app:gateway` is already answered by `app:user_endpoint`"
        ),
        "{error}"
    );
    // Another method on the same path is another route.
    let post = twin.replace("method: GET", "method: POST");
    check(&format!("{APP}{post}")).ok();
}

#[test]
fn a_misspelt_key_gets_a_suggestion() {
    assert_eq!(
        error_of(&APP.replace("prefix: /api", "prefx: /api")),
        "src/app.yaml:9: entry `app:api.public`, field `prefx`: `prefx` is not a field of http.router. Did you mean `prefix`?"
    );
}
