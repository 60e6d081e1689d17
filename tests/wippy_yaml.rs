//! Wippy's YAML conventions, each on our own guests and YAML: the reference page's
//! `process.wasm` example with `/worker.wasm`, `function.wat` with `method`, pools, keys Wippy
//! knows that `check` notes, `imports` spellings, a core module as a process with WASI
//! preview 1, and `result` tables from `funcs.call`.

mod support;

use support::{Project, sha256};

/// The `process.wasm` example of Wippy's reference page, as written there (our hello guest in
/// place of Wippy's component), with the hosts it says a CLI command needs.
fn reference_page_project(main_lua: &str) -> Project {
    let project = Project::new();
    let bytes = std::fs::read(support::guest("hello")).unwrap();
    project.write("wasm/worker.wasm", &bytes);
    project.write("wasm/component.wasm", &bytes);
    let hash = sha256(&bytes);
    project.write("src/main.lua", main_lua);
    project.write(
        "src/app.yaml",
        format!(
            r#"version: "1.0"
namespace: myns

entries:
  - name: wasm_binaries
    kind: fs.directory
    directory: ./wasm

  - name: compute_worker
    kind: process.wasm
    fs: myns:wasm_binaries
    path: /worker.wasm
    hash: {hash}
    method: compute

  - name: greet
    kind: process.wasm
    meta:
      command:
        name: greet
        short: Greet someone via WASM
    fs: myns:wasm_binaries
    path: /component.wasm
    hash: {hash}
    method: greet

  - name: processes
    kind: process.host
    lifecycle:
      auto_start: true

  - name: terminal
    kind: terminal.host
    lifecycle:
      auto_start: true

  - name: main
    kind: process.lua
    meta:
      command:
        name: main
    source: file://main.lua
    modules: [time]
"#
        ),
    );
    project
}

#[test]
fn the_reference_pages_yaml_runs_with_slash_paths() {
    let project = reference_page_project(
        r#"local process = require("process")
local time = require("time")

local pid, err = process.spawn_monitored("myns:compute_worker", "myns:processes", 6, 7)
if err then error("spawn failed: " .. tostring(err)) end

local events = process.events()
local timeout = time.after("5s")
local result = channel.select({ events:case_receive(), timeout:case_receive() })
if result.channel == timeout then error("timeout") end
local event = result.value
if event.kind == process.event.EXIT and event.from == pid then
  print("result:", event.result.value, event.result.error)
end
"#,
    );
    assert_eq!(
        project.wippy(&["run", "greet", "World"]).ok(),
        "Hello, World!\n"
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "result:\t42\tnil\n");
    assert_eq!(
        project
            .wippy(&["run", "-x", "myns:compute_worker", "6", "7"])
            .ok(),
        "42\n",
        "-x is --exec"
    );
}

#[test]
fn paths_that_leave_the_directory_are_refused_and_file_urls_start_at_the_source_folder() {
    let project = reference_page_project("print('unused')");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace("path: /worker.wasm", "path: /../wasm/worker.wasm"),
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("entry `myns:compute_worker`, field `path`: `/../wasm/worker.wasm` leaves the fs directory `myns:wasm_binaries`: `..` climbs above its root"),
        "{err}"
    );

    let project = reference_page_project("print('unused')");
    project.write("src/scripts/hello.lua", "print('from the source root')");
    project.write(
        "src/deep/more.yaml",
        "namespace: more\nentries:\n  - {name: hi, kind: process.lua, source: file:///scripts/hello.lua, meta: {command: {name: hi}}}\n",
    );
    assert_eq!(project.wippy(&["run", "hi"]).ok(), "from the source root\n");
}

const MATH_WAT: &str = r#"(module
  (func (export "answer") (result i32) i32.const 42)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#;

#[test]
fn function_wat_method_names_the_export_in_its_wit() {
    let project = Project::new();
    project.write("src/math.wat", MATH_WAT);
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - name: add
    kind: function.wat
    source: file://math.wat
    wit: |
      answer: func() -> s32;
      add: func(a: s32, b: s32) -> s32;
    method: add
    pool: {type: inline}
  - name: main
    kind: process.lua
    meta: {command: {name: main}}
    source: "print(require('funcs').call('app:add', 2, 3))"
    modules: [funcs]
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "5\tnil\n");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write("src/app.yaml", yaml.replace("method: add", "method: sub"));
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("entry `app:add`, field `method`: `sub` is not declared in `wit`, which declares answer, add"),
        "{err}"
    );
    project.write(
        "src/app.yaml",
        yaml.replace("pool: {type: inline}", "imports: [wasi:cli]"),
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("field `imports`: `wasi:cli/environment` is for components, and a function.wat is a core module. A core module can be granted WASI preview 1 only: `imports: [wasi1]`"),
        "{err}"
    );
}

/// A function that sleeps (the prober's `sleep-ms`) with `pool`, and callers to crowd it.
fn pool_project(pool: &str, script: &str) -> Project {
    let project = Project::new();
    let prober = project.add_guest("prober");
    project.write("src/main.lua", script);
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: wasm, kind: fs.directory, directory: wasm}}
  - {{name: processes, kind: process.host}}
  - name: nap
    kind: function.wasm
    fs: wasm
    path: /prober.wasm
    hash: {prober}
    method: sleep-ms
    imports: [wasi:clocks]
    pool: {pool}
  - {{name: caller, kind: process.lua, source: "return require('funcs').call('app:nap', 300)", modules: [funcs]}}
  - {{name: main, kind: process.lua, source: file://main.lua, meta: {{command: {{name: main}}}}}}
"#
        ),
    );
    project
}

#[test]
fn a_static_pool_runs_its_workers_queues_its_buffer_and_refuses_the_rest() {
    let project = pool_project(
        "{type: static, size: 1, workers: 1, buffer: 1}",
        r#"for i = 1, 3 do process.spawn_monitored("app:caller", "app:processes") end
local ok, busy = 0, nil
for i = 1, 3 do
  local exit = process.receive("10s")
  if exit.error then busy = exit.error else ok = ok + 1 end
end
print(ok)
print(busy)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "2\n`app:nap` is busy: 1 calls are running and 1 are waiting, the most its pool allows. Retry later, or raise the bound (`pool.buffer` of a static pool, `pool.max_size` of an adaptive one)\n"
    );
    // The function is compiled when the node starts, before anything calls it (what Wippy's
    // warm_start asks for; every entry gets it here).
    let project = pool_project(
        "{type: lazy, warm_start: true}",
        "require('time').sleep('2s')",
    );
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace(
            "source: file://main.lua,",
            "source: file://main.lua, modules: [time],",
        ),
    );
    let run = project.wippy(&["-v", "run", "main"]);
    run.ok();
    assert!(run.stderr.contains("app:nap: compiled"), "{run:?}");
    let project = pool_project("{type: lazzy}", "");
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains(
            "entry `app:nap`, field `pool.type`: `lazzy` is not a pool type. Did you mean `lazy`?"
        ),
        "{err}"
    );
}

#[test]
fn keys_wippy_knows_are_accepted_and_check_notes_those_without_effect() {
    let project = Project::new();
    let hello = project.add_guest("hello");
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: wasm, kind: fs.directory, directory: wasm, type: local, base: project}}
  - name: made
    kind: fs.directory
    directory: made/here
    auto_init: true
    mode: "0700"
  - name: processes
    kind: process.host
    host: {{workers: 32, queue_size: 1024, local_queue_size: 256, max_processes: 10000}}
    lifecycle: {{auto_start: true}}
  - {{name: terminal, kind: terminal.host, hide_logs: true}}
  - name: worker
    kind: process.wasm
    fs: wasm
    path: hello.wasm
    hash: {hello}
    method: compute
    transport: payload
    pool: {{type: lazy, max_size: 2}}
    meta: {{comment: any shape, tags: [a, b], nested: {{deep: 1}}}}
  - name: keeper
    kind: process.service
    process: worker
    host: processes
    input: [6, 7]
    lifecycle:
      depends_on: [app:processes]
      start_timeout: 5s
      stable_threshold: 10s
      restart: {{initial_delay: 1s, max_delay: 90s, backoff_factor: 2, jitter: 0.1, max_attempts: 0}}
  - {{name: gateway, kind: http.service, addr: ":8085", lifecycle: {{auto_start: true}}, host: {{worker_count: 4}}}}
  - {{name: script, kind: function.lua, source: "return {{main = function() return 1 end}}", modules: [uuid], pool: {{type: inline}}}}
  - name: long_form
    kind: env.storage.static
    data: {{values: {{A: b}}}}
"#
        ),
    );
    let out = project.wippy(&["check"]);
    let stdout = out.ok();
    for note in [
        "note: field `type`: accepted, has no effect here: Wippy reads no `type` either",
        "note: field `host.workers`: accepted, has no effect here: the processes of every host share one scheduler",
        "note: field `host.queue_size`: accepted, has no effect here",
        "note: field `lifecycle`: accepted, has no effect here: hosts are always available in wippy-rs",
        "note: field `pool`: accepted, has no effect here: every spawn of a process.wasm is a process of its own",
        "note: field `lifecycle.start_timeout`: accepted, has no effect here",
        "note: field `host`: accepted, has no effect here: each request runs as a task of its own, with no worker pool to size",
        "note: field `modules[0]`: module `uuid` is a Wippy module that wippy-rs does not provide yet",
    ] {
        assert!(stdout.contains(note), "missing `{note}` in:\n{stdout}");
    }
    assert!(
        project.root().join("made/here").is_dir(),
        "auto_init creates the folder"
    );

    // A key nobody knows is still an error, with the nearest word.
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace("max_processes: 10000", "max_proceses: 10000"),
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("entry `app:processes`, field `host.max_proceses`: `max_proceses` is not a field of process.host. Did you mean `max_processes`?"),
        "{err}"
    );
}

#[test]
fn imports_are_spelled_as_wippy_allows() {
    let project = Project::new();
    let prober = project.add_guest("prober");
    let values = project.add_guest("values");
    let actor = project.add_guest("actor");
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: wasm, kind: fs.directory, directory: wasm}}
  - {{name: processes, kind: process.host}}
  - {{name: random, kind: process.wasm, fs: wasm, path: prober.wasm, hash: {prober}, method: random-u64, imports: ["WASI:Random@0.2.0", "wasi:io@0.2.8"], meta: {{command: {{name: random}}}}}}
  - {{name: count, kind: function.wasm, fs: wasm, path: values.wasm, hash: {values}, method: "kinds#count-chars"}}
  - {{name: caller, kind: process.wasm, fs: wasm, path: actor.wasm, hash: {actor}, method: call-function, imports: [funcs]}}
  - {{name: main, kind: process.lua, source: "print(process.exec('app:caller', 'app:processes', 'app:count', 'four'))", meta: {{command: {{name: main}}}}}}
"#
        ),
    );
    let random = project.wippy(&["run", "random"]);
    assert!(random.ok().trim().parse::<u64>().is_ok(), "{random:?}");
    assert_eq!(project.wippy(&["run", "main"]).ok(), "4\tnil\n");
}

/// A core module that writes a line through WASI preview 1's `fd_write` and returns 7.
const CORE_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi from core\n")
  (func (export "run") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    i32.const 7)
  (func (export "spin") (result i32) (loop br 0) i32.const 0))"#;

#[test]
fn a_core_module_runs_as_a_process_with_wasi_preview1() {
    let project = Project::new();
    let core = wat::parse_str(CORE_WAT).unwrap();
    project.write("wasm/core.wasm", &core);
    let hash = sha256(&core);
    project.write(
        "src/main.lua",
        r#"for _, id in ipairs({"app:core", "app:ungranted", "app:spinner"}) do
  process.spawn_monitored(id, "app:processes")
  local exit = process.receive("10s")
  print(id, exit.result.value, exit.result.error)
end
"#,
    );
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: wasm, kind: fs.directory, directory: wasm}}
  - {{name: processes, kind: process.host}}
  - {{name: core, kind: process.wasm, fs: wasm, path: /core.wasm, hash: {hash}, method: run, wit: "run: func() -> s32;", imports: [wasi1]}}
  - {{name: ungranted, kind: process.wasm, fs: wasm, path: /core.wasm, hash: {hash}, method: run, wit: "run: func() -> s32;"}}
  - {{name: spinner, kind: process.wasm, fs: wasm, path: /core.wasm, hash: {hash}, method: spin, wit: "spin: func() -> s32;", imports: [wasi_snapshot_preview1], limits: {{max_execution_ms: 100}}}}
  - {{name: main, kind: process.lua, source: file://main.lua, meta: {{command: {{name: main}}}}}}
"#
        ),
    );
    let out = project.wippy(&["run", "main"]);
    let stdout = out.ok();
    assert!(
        stdout.contains("app:core {app:processes|0x") && stdout.contains("hi from core\n"),
        "the guest's line, labelled with its process: {stdout}"
    );
    assert!(stdout.contains("app:core\t7\tnil\n"), "{stdout}");
    assert!(
        stdout.contains("app:ungranted\tnil\t`app:ungranted` failed: it called `wasi_snapshot_preview1::fd_write`, but entry `app:ungranted` does not grant WASI preview 1. Grant it with `imports: [wasi1]`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("app:spinner\tnil\t`app:spinner` failed: it ran longer than its limit of 100 ms (limits.max_execution_ms)\n"),
        "{stdout}"
    );
    assert_eq!(
        project.wippy(&["run", "-x", "app:core"]).ok(),
        "hi from core\n7\n"
    );
    let check = project.wippy(&["check"]);
    assert!(
        check
            .ok()
            .contains("ok  app:core  run() -> s32 (core module)"),
        "{check:?}"
    );
}

#[test]
fn funcs_call_gives_result_tables_and_processes_keep_failing_on_err() {
    let project = Project::new();
    let values = project.add_guest("values");
    project.write(
        "src/main.lua",
        r#"local funcs = require("funcs")
local ok, err = funcs.call("app:try_divide", 10, 2)
assert(ok, err)
print("ok", ok.ok, ok.err, err)
local failed, call_err = funcs.call("app:try_divide", 10, 0)
print("err", failed.ok, failed.err.code, failed.err.message, call_err)
local text = funcs.call("app:divide", 1, 0)
print("string err", text.err)
process.spawn_monitored("app:divide_process", "app:processes", 1, 0)
local exit = process.receive("5s")
print("process", exit.result.value, exit.result.error)
"#,
    );
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: wasm, kind: fs.directory, directory: wasm}}
  - {{name: processes, kind: process.host}}
  - {{name: try_divide, kind: function.wasm, fs: wasm, path: values.wasm, hash: {values}, method: "kinds#try-divide"}}
  - {{name: divide, kind: function.wasm, fs: wasm, path: values.wasm, hash: {values}, method: "kinds#divide"}}
  - {{name: divide_process, kind: process.wasm, fs: wasm, path: values.wasm, hash: {values}, method: "kinds#divide"}}
  - {{name: main, kind: process.lua, source: file://main.lua, modules: [funcs], meta: {{command: {{name: main}}}}}}
"#
        ),
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "ok\t5\tnil\tnil\nerr\tnil\t1\tdivision by zero\tnil\nstring err\tdivision by zero\nprocess\tnil\tdivision by zero\n"
    );
}

#[test]
fn a_terminal_host_with_hide_logs_keeps_wippys_log_lines_off_the_terminal() {
    let project = reference_page_project("print('unused')");
    let shown = project.wippy(&["-v", "run", "greet", "World"]);
    assert!(shown.stderr.contains("wippy info:"), "{shown:?}");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace(
            "kind: terminal.host\n",
            "kind: terminal.host\n    hide_logs: true\n",
        ),
    );
    let hidden = project.wippy(&["-v", "run", "greet", "World"]);
    assert_eq!(hidden.ok(), "Hello, World!\n");
    assert_eq!(hidden.stderr, "", "{hidden:?}");
}

/// Counts the arguments and environment variables WASI preview 1 gives a core module.
const COUNTS_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "argc") (result i32) (drop (call $args (i32.const 0) (i32.const 4))) (i32.load (i32.const 0)))
  (func (export "envc") (result i32) (drop (call $env (i32.const 0) (i32.const 4))) (i32.load (i32.const 0))))"#;

#[test]
fn wasi_preview1_gets_the_entrys_own_args_and_env() {
    let project = Project::new();
    project.write("src/counts.wat", COUNTS_WAT);
    let wit = "argc: func() -> s32;\n      envc: func() -> s32;";
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: fixed, kind: env.storage.static, values: {{A: "1", B: "2"}}}}
  - {{name: a, kind: env.variable, storage: fixed, variable: A}}
  - {{name: b, kind: env.variable, storage: fixed, variable: B}}
  - name: argc
    kind: function.wat
    source: file://counts.wat
    wit: |
      {wit}
    method: argc
    imports: [wasi1]
    wasi: {{args: [one, two]}}
  - name: envc
    kind: function.wat
    source: file://counts.wat
    wit: |
      {wit}
    method: envc
    imports: [preview1]
    wasi: {{env: [{{id: a}}, {{id: b, name: BEE}}]}}
  - name: ungranted
    kind: function.wat
    source: file://counts.wat
    wit: |
      {wit}
    method: envc
  - name: main
    kind: process.lua
    meta: {{command: {{name: main}}}}
    modules: [funcs]
    source: |
      print(funcs.call("app:argc"))
      print(funcs.call("app:envc"))
      print(funcs.call("app:ungranted"))
"#
        ),
    );
    let out = project.wippy(&["run", "main"]);
    let stdout = out.ok();
    assert!(stdout.starts_with("3\tnil\n2\tnil\nnil\t`app:ungranted` failed: it called `wasi_snapshot_preview1::environ_sizes_get`, but entry `app:ungranted` does not grant WASI preview 1"), "{stdout}");
}
