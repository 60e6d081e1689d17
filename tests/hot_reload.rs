//! A running app follows its files (`wippy run --watch`): each test starts the built binary,
//! edits the project on disk as a developer would, and watches the node take the change — or
//! refuse it and go on serving what it had.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::server::{Server, request};
use support::{Project, sha256};

/// A component whose `answer` returns `n`, made from its text (a real component: a core
/// module lifted through the canonical ABI).
fn answer_component(n: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
  (core module $m (func (export "answer") (result i32) i32.const {n}))
  (core instance $i (instantiate $m))
  (func (export "answer") (result u32) (canon lift (core func $i "answer"))))"#
    ))
    .expect("the answer component is valid text")
}

const PROCESSES: &str = r#"version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: worker, kind: process.lua, source: file://worker.lua, method: main}
  - {name: ticker, kind: process.lua, source: file://ticker.lua, method: main}
  - {name: ticking, kind: process.service, process: ticker, host: processes, lifecycle: {auto_start: true}}
  - {name: watcher, kind: process.lua, source: file://watcher.lua, method: main, modules: [events]}
  - {name: watching, kind: process.service, process: watcher, host: processes, lifecycle: {auto_start: true}}
"#;

/// Answers each message with its version, until CANCEL.
fn worker(version: &str) -> String {
    format!(
        "local function main()\n  while true do\n    local got = channel.select{{process.inbox():case_receive(), process.events():case_receive()}}\n    if got.channel ~= process.inbox() then return 0 end\n    print(\"worker {version} pong\")\n  end\nend\nreturn {{main = main}}\n"
    )
}

/// Says it is up, and that it was cancelled when it is.
fn ticker(version: &str) -> String {
    format!(
        "local function main()\n  print(\"ticker {version} up\")\n  local event = process.events():receive()\n  print(\"ticker {version} cancelled: \" .. tostring(event.reason))\n  return 0\nend\nreturn {{main = main}}\n"
    )
}

/// A supervisor in Wippy's manner: it hears the registry's events, and when the worker's
/// entry changes it pings the worker it has and one spawned from the new entry.
const WATCHER: &str = r#"local function main()
  local subscription = events.subscribe("registry")
  local changes = subscription:channel()
  local worker = process.spawn("app:worker", "app:processes")
  print("watcher ready")
  while true do
    local got = channel.select{changes:case_receive(), process.events():case_receive()}
    if got.channel ~= changes then return 0 end
    local event = got.value
    local detail = ""
    if event.kind == "entry.reject" then detail = " (" .. tostring(event.data) .. ")" end
    if event.data and type(event.data) == "table" then detail = " kind " .. tostring(event.data.kind) end
    print("event " .. event.system .. " " .. event.kind .. " " .. event.path .. detail)
    if event.kind == "entry.update" and event.path == "app:worker" then
      process.send(worker, "ping", 1)
      local renewed = process.spawn("app:worker", "app:processes")
      process.send(renewed, "ping", 1)
    end
  end
end
return {main = main}
"#;

fn processes_project() -> Project {
    let project = Project::new();
    project.write("src/app.yaml", PROCESSES);
    project.write("src/worker.lua", worker("v1"));
    project.write("src/ticker.lua", ticker("v1"));
    project.write("src/watcher.lua", WATCHER);
    project
}

#[test]
fn scripts_and_services_follow_their_files_and_a_broken_edit_changes_nothing() {
    let project = processes_project();
    let mut app = Server::spawn(&project, &["--watch"]);
    app.wait_for("files for changes");
    app.wait_for("watcher ready");
    app.wait_for("ticker v1 up");

    // A script changed: the running worker keeps its code; a spawn from now on runs the new.
    project.write("src/worker.lua", worker("v2"));
    app.wait_for("wippy info: entry changed: app:worker (process.lua)");
    app.wait_for("event registry entry.update app:worker kind process.lua");
    app.wait_for("worker v1 pong");
    app.wait_for("worker v2 pong");

    // A service's script changed: the service is restarted, its old process cancelled first.
    project.write("src/ticker.lua", ticker("v2"));
    app.wait_for("ticker v1 cancelled: the service `app:ticking` stops: its entry changed");
    app.wait_for("ticker v2 up");

    // A script that does not compile: refused, reported, announced; the service runs on.
    project.write("src/ticker.lua", "local function main(\n");
    app.wait_for("the registry on disk was not loaded (1 problem)");
    app.wait_for("the script does not compile");
    app.wait_for("event registry entry.reject app:ticker");
    std::thread::sleep(Duration::from_millis(600));
    assert!(!app.log().contains("ticker v2 cancelled"), "{}", app.log());

    // Fixed: taken.
    project.write("src/ticker.lua", ticker("v3"));
    app.wait_for("ticker v2 cancelled");
    app.wait_for("ticker v3 up");

    // A service removed and another added: the first is stopped, the second started.
    let renamed = PROCESSES.replace("name: ticking,", "name: ticking_again,");
    project.write("src/app.yaml", &renamed);
    app.wait_for("wippy info: entry removed: app:ticking (process.service)");
    app.wait_for("wippy info: entry added: app:ticking_again (process.service)");
    app.wait_for("ticker v3 cancelled: the service `app:ticking` stops: its entry was removed");
    app.wait_for_nth("ticker v3 up", 2);
    app.wait_for("event registry entry.delete app:ticking kind process.service");
    app.wait_for("event registry entry.create app:ticking_again kind process.service");

    // An entry naming a script not written yet: refused; writing the script is the fix, and
    // is seen although no registry the node loaded named it.
    let with_extra = format!(
        "{renamed}  - {{name: extra, kind: process.lua, source: file://extra.lua, method: main}}\n"
    );
    project.write("src/app.yaml", &with_extra);
    app.wait_for_nth("the registry on disk was not loaded", 2);
    app.wait_for("extra.lua");
    project.write("src/extra.lua", worker("extra"));
    app.wait_for("wippy info: entry added: app:extra (process.lua)");

    // A YAML file that does not parse: refused, and the node goes on.
    project.write("src/app.yaml", "entries: [");
    app.wait_for_nth("the registry on disk was not loaded", 3);
    let (code, log) = app.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("ticker v3 cancelled: the node is stopping"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

const HTTP_APP: &str = r#"version: "1.0"
namespace: app
entries:
  - {name: assets, kind: fs.directory, directory: ./wasm}
  - {name: gateway, kind: http.service, addr: "127.0.0.1:0", lifecycle: {auto_start: true}}
  - {name: api, kind: http.router, meta: {server: gateway}, prefix: /api}
  - {name: answer, kind: function.wasm, fs: assets, path: /answer.wasm, hash: "HASH", method: answer, transport: wasi-http}
  - {name: answer_endpoint, kind: http.endpoint, meta: {router: api}, method: GET, path: /answer, func: answer}
  - {name: extra_endpoint, kind: http.endpoint, meta: {router: api}, method: GET, path: /extra, func: answer}
"#;

/// Puts build `n` of the answer component in place and returns its hash.
fn install_answer(project: &Project, n: u32) -> String {
    let bytes = answer_component(n);
    project.write("wasm/answer.wasm", &bytes);
    sha256(&bytes)
}

#[test]
fn a_component_swapped_and_re_pinned_serves_the_next_request_and_none_fails() {
    let project = Project::new();
    let first = install_answer(&project, 1);
    project.write("src/app.yaml", HTTP_APP.replace("HASH", &first));
    let mut app = Server::start(&project, &["--watch"]);
    app.wait_for("files for changes");
    assert_eq!(app.get("/api/answer").body, "1");

    // Requests all along, one after another, each on a connection of its own.
    let addr = app.addr;
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let client = std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let reply = request(addr, "GET", "/api/answer", &[], "").expect("the request failed");
            seen.push((reply.status, reply.body));
        }
        seen
    });

    // The new build and its pin: the next requests get it.
    let second = install_answer(&project, 2);
    project.write("src/app.yaml", HTTP_APP.replace("HASH", &second));
    app.wait_for("wippy info: entry changed: app:answer (function.wasm)");
    wait_until(&app, "/api/answer", "2");

    // A build put in place without its pin: refused with the fix; the pinned build serves on.
    let third = install_answer(&project, 3);
    app.wait_for("the registry on disk was not loaded");
    app.wait_for(&format!("pin the new build with `hash: {third}`"));
    assert_eq!(app.get("/api/answer").body, "2");

    // The pinned build back in place: the registry is the same as the one served.
    install_answer(&project, 2);
    app.wait_for("the registry on disk is the same as the one served");

    // A method the component does not export: the file is the pinned one, so the load takes
    // it, and the node's own check refuses it.
    let pinned = HTTP_APP.replace("HASH", &second);
    project.write(
        "src/app.yaml",
        pinned.replace("method: answer,", "method: nope,"),
    );
    let refusal = app.wait_for_nth("the registry on disk was not loaded", 2);
    app.wait_for("`nope`");
    assert!(refusal.contains("1 problem"), "{refusal}");
    assert_eq!(app.get("/api/answer").body, "2");

    // An endpoint removed and another added.
    let changed = pinned.replace("path: /extra", "path: /more");
    project.write("src/app.yaml", &changed);
    app.wait_for("wippy info: entry changed: app:extra_endpoint (http.endpoint)");
    wait_until(&app, "/api/more", "2");
    assert_eq!(app.get("/api/extra").status, 404);

    // The service itself changed: served again on the listener it had, refusing nobody.
    let address = format!("listening on http://{}", app.addr);
    project.write(
        "src/app.yaml",
        changed.replace(
            "lifecycle: {auto_start: true}}",
            "lifecycle: {auto_start: true}, timeouts: {read: 20s}}",
        ),
    );
    app.wait_for("wippy info: entry changed: app:gateway (http.service)");
    app.wait_for_nth(&address, 2);
    assert_eq!(app.get("/api/more").body, "2");

    done.store(true, Ordering::Relaxed);
    let seen = client.join().unwrap();
    assert!(seen.len() > 10, "too few requests to tell: {seen:?}");
    let failed: Vec<_> = seen.iter().filter(|(status, _)| *status != 200).collect();
    assert!(
        failed.is_empty(),
        "requests failed during the swaps: {failed:?}"
    );
    let first_two = seen.iter().position(|(_, body)| body == "2").unwrap();
    assert!(
        seen[..first_two].iter().all(|(_, body)| body == "1")
            && seen[first_two..].iter().all(|(_, body)| body == "2"),
        "answers went back and forth: {seen:?}"
    );
    let (code, log) = app.stop();
    assert_eq!(code, Some(0), "{log}");
}

/// Waits until GET `path` answers `body`.
fn wait_until(app: &Server, path: &str, body: &str) {
    let started = Instant::now();
    loop {
        let reply = app.get(path);
        if reply.status == 200 && reply.body == body {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "GET {path} still answers {} {:?}:\n{}",
            reply.status,
            reply.body,
            app.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watching_is_off_without_a_terminal_and_the_lock_file_or_the_flags_turn_it_on_or_off() {
    let project = processes_project();
    let watches = |args: &[&str]| {
        let mut app = Server::spawn(&project, args);
        app.wait_for("node started");
        let (_, log) = app.stop();
        log.contains("files for changes")
    };
    assert!(
        !watches(&[]),
        "stdin is no terminal here: no watching by default"
    );
    assert!(watches(&["--watch"]));
    project.write("wippy.lock", "watch: true\n");
    assert!(watches(&[]), "wippy.lock's watch: true");
    assert!(!watches(&["--no-watch"]), "the flag over the lock file");
    assert!(watches(&["--no-watch", "--watch"]), "the last flag counts");

    // Not a boolean: the lock file is refused, naming the key's values.
    project.write("wippy.lock", "watch: sometimes\n");
    let error = project.wippy(&["run"]).failed().to_string();
    assert!(
        error.contains("wippy.lock: not a valid lock file: invalid boolean at line 1")
            && error.contains("`watch: true|false`"),
        "{error}"
    );
    project.write("wippy.lock", "watch: true\n");

    // Not watching: an edit is not taken.
    let mut app = Server::spawn(&project, &["--no-watch"]);
    app.wait_for("ticker v1 up");
    project.write("src/ticker.lua", ticker("v2"));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !app.log().contains("ticker v2 up") && !app.log().contains("registry reloaded"),
        "{}",
        app.log()
    );
    let (code, log) = app.stop();
    assert_eq!(code, Some(0), "{log}");
}
