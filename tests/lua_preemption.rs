//! A Lua process that never waits is preempted like a WASM guest: it cannot starve the
//! others, `terminate` and `limits.max_execution_ms` stop it, and coroutines keep Lua's
//! semantics while they wait and are preempted. Each run has a deadline, so a regression that
//! hangs fails the test instead of stalling the suite.

mod support;

use std::time::Duration;

use support::{Project, lua_project, wippy_within};

/// Spinners of every shape, healthy processes, and `script` as the `main` command.
fn spin_project(script: &str) -> Project {
    lua_project(
        r#"  - {name: spin, kind: process.lua, source: "local n = 0 while true do n = n + 1 end"}
  - name: spin_in_coroutine
    kind: process.lua
    source: "coroutine.wrap(function() while true do end end)()"
  - name: spin_catching
    kind: process.lua
    source: "while true do pcall(function() for i = 1, 1e9 do end end) end"
  - name: spin_in_sort
    kind: process.lua
    source: "table.sort({3, 2, 1}, function(a, b) while true do end end)"
  - name: spin_in_sort_limited
    kind: process.lua
    limits: {max_execution_ms: 200}
    meta: {command: {name: spin_in_sort_limited}}
    source: "table.sort({3, 2, 1}, function(a, b) while true do end end)"
  - name: spin_limited
    kind: process.lua
    limits: {max_execution_ms: 200}
    meta: {command: {name: spin_limited}}
    source: "while true do end"
  - name: spin_function
    kind: function.lua
    limits: {max_execution_ms: 100}
    source: "local function handler() while true do end end return {handler = handler}"
    method: handler
"#,
        script,
    )
}

#[test]
fn spinning_lua_processes_neither_starve_the_others_nor_outlive_terminate() {
    // Six spinners on two cores: without preemption the healthy process never runs. One spins
    // in a `table.sort` comparator, where Lua cannot yield: it is not preempted, but it ends
    // when terminated.
    let project = spin_project(
        r#"local spinners = {}
for _, name in ipairs({"spin", "spin_in_sort", "spin_in_coroutine", "spin_in_coroutine", "spin_catching", "spin_catching"}) do
  spinners[#spinners + 1] = process.spawn_monitored("app:" .. name, "app:processes")
end
time.sleep("20ms")
process.spawn_monitored("app:healthy", "app:processes")
local exit = process.receive("10s")
print(exit.value)
-- Five are terminated; one is cancelled with a deadline it cannot notice.
for i = 1, 5 do process.terminate(spinners[i]) end
process.cancel(spinners[6], 50)
local ended = {}
for _ = 1, #spinners do
  local exit = process.receive("10s")
  ended[#ended + 1] = exit and exit.error
end
table.sort(ended)
print(table.concat(ended, "\n"))
"#,
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "still here\n\
         cancelled: still running at its deadline, 50 ms later, so it was terminated\n\
         terminated\nterminated\nterminated\nterminated\nterminated\n"
    );
}

#[test]
fn a_process_queued_behind_a_run_that_cannot_yield_still_runs() {
    // On two workers: `main` spawns a spinner (the other worker takes it) and a comparator
    // that never returns, then stays busy until it is preempted and queued behind the
    // comparator on its own worker. The other worker always has its preempted spinner to
    // run, so it never takes queued work: unless the stuck worker hands its queue on,
    // `main` never runs again to terminate the two.
    let project = spin_project(
        r#"local spinner = process.spawn_monitored("app:spin", "app:processes")
local stuck = process.spawn_monitored("app:spin_in_sort", "app:processes")
local t = os.clock()
while os.clock() - t < 0.02 do end
process.terminate(stuck)
process.terminate(spinner)
for _ = 1, 2 do print(process.receive().error) end
"#,
    );
    let run = wippy_within(
        &project,
        &["run", "main"],
        &[("TOKIO_WORKER_THREADS", "2")],
        &[],
    );
    assert_eq!(run.ok(), "terminated\nterminated\n");
}

#[test]
fn max_execution_ms_stops_a_spinning_lua_command_and_function() {
    let project = spin_project(
        r#"local value, err = funcs.call("app:spin_function")
print(value, err)
return "the caller carried on"
"#,
    );
    let err = wippy_within(&project, &["run", "spin_limited"], &[], &[])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:spin_limited` failed: it ran longer than its limit of 200 ms (limits.max_execution_ms) and was stopped\n"
    );
    // Where Lua cannot yield, the limit still ends the run.
    let err = wippy_within(&project, &["run", "spin_in_sort_limited"], &[], &[])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:spin_in_sort_limited` failed: it ran longer than its limit of 200 ms (limits.max_execution_ms) and was stopped\n"
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "nil\t`app:spin_function` failed: it ran longer than its limit of 100 ms (limits.max_execution_ms) and was stopped\nthe caller carried on\n"
    );
}

#[test]
fn a_spinning_lua_command_stops_on_ctrl_c() {
    let project = spin_project("while true do end");
    let mut child = support::wippy_command(project.root(), &project.cache_dir(), &["run", "main"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("wippy ignored Ctrl-C while a Lua command spun");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn coroutines_wait_and_keep_lua_semantics() {
    let project = spin_project(
        r##"-- A coroutine may wait: the whole process waits with it.
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  time.sleep("5ms")
  process.send(process.pid(), "note", c * 2)
  local message = process.receive("1s")
  return message:payload():data(), coroutine.isyieldable()
end)
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 21))
print(coroutine.status(co), coroutine.resume(co))
-- Errors reach resume as the value raised; wrap raises them.
local failing = coroutine.create(function() error({code = 7}) end)
local ok, e = coroutine.resume(failing)
print(ok, type(e), e.code, coroutine.status(failing))
print(pcall(coroutine.wrap(function() error("boom") end)))
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
print(gen(), gen(), gen())
-- Where Lua cannot yield, a wait is a clear error, never a host value.
print(pcall(table.sort, {3, 2, 1}, function(a, b) time.sleep("1ms") return a < b end))
print(select("#", coroutine.running()), coroutine.resume(coroutine.running()))
"##,
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "true\t3\n\
         suspended\n\
         true\t42\ttrue\n\
         dead\tfalse\tcannot resume dead coroutine\n\
         false\ttable\t7\tdead\n\
         false\tapp:main:17: boom\n\
         1\t2\t3\n\
         false\tattempt to yield across a C-call boundary\n\
         2\tfalse\tcannot resume non-suspended coroutine\n"
    );
}

/// A Lua process calling busy WebAssembly functions is preempted mid-call many times: the
/// call's future yields at each epoch having woken itself, and the preemption's resume must
/// not use up that wake-up (the process would then wait forever, as it once did).
#[test]
fn a_lua_loop_of_busy_wasm_calls_is_preempted_and_always_resumes() {
    let probe = Project::new();
    let hash = probe.add_guest("hostile");
    let entries = support::wasm_entry("work", "hostile.wasm", &hash, "work", None)
        .replace("process.wasm", "function.wasm");
    let project = lua_project(
        &format!("  - {{name: wasm, kind: fs.directory, directory: wasm}}\n{entries}"),
        r#"local done = 0
for i = 1, 500 do
  local value, err = funcs.call("app:work", 3000000)
  if err then error(err) end
  done = done + 1
end
print(done .. " calls")
"#,
    );
    project.add_guest("hostile");
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(run.ok(), "500 calls\n");
}
