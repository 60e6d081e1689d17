//! WebAssembly processes as actors through the `wippy:process` WIT: messaging with Lua,
//! state across messages, cancel, termination while blocked in receive, supervision.

mod support;

use support::{HEADER, Project, actor_entries, wasm_entry, with_imports};

fn actor_project(script: &str) -> Project {
    let project = Project::new();
    let actor = project.add_guest("actor");
    let values = project.add_guest("values");
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    yaml += &actor_entries(
        &actor,
        &[
            ("echo", "echo"),
            ("counter", "counter"),
            ("supervisor", "supervise"),
            ("pinger", "ping"),
            ("flooder", "flood"),
        ],
    );
    yaml += &with_imports(
        wasm_entry("crash", "values.wasm", &values, "kinds#crash", None),
        &["wasi:cli"],
    );
    yaml += &wasm_entry("no_grant", "actor.wasm", &actor, "echo", None);
    for (name, method) in [("caller", "call-function"), ("bytes_caller", "call-bytes")] {
        yaml += &with_imports(
            wasm_entry(name, "actor.wasm", &actor, method, None),
            &["wippy:runtime"],
        );
    }
    let hello = project.add_guest("hello");
    yaml += &wasm_entry("mul", "hello.wasm", &hello, "compute", None)
        .replace("process.wasm", "function.wasm");
    yaml += &wasm_entry("shout", "hello.wasm", &hello, "text#shout", None)
        .replace("process.wasm", "function.wasm");
    yaml += "  - {name: greet, kind: function.lua, source: \"return {main = function(name) return 'hello ' .. name end}\"}\n";
    yaml += "  - {name: describe, kind: function.lua, source: \"return {main = function(name) return {name = name, n = #name} end}\"}\n";
    project.write("src/main.lua", script);
    yaml += "  - name: main\n    kind: process.lua\n    meta: {command: {name: main}}\n    source: file://main.lua\n    modules: [time, channel]\n";
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn lua_and_wasm_ping_pong_a_thousand_messages_in_order() {
    let project = actor_project(
        r#"local echo = process.spawn_monitored("app:echo", "app:processes")
local replies = process.listen("echo")
for i = 1, 1000 do
  assert(process.send(echo, "ping", {n = i, text = "ping " .. i}))
  local reply = replies:receive()
  if reply.n ~= i or reply.text ~= "ping " .. i then error("reply " .. i .. " was wrong") end
end
process.send(echo, "stop")
local exit = process.receive("5s")
print(exit.type, exit.value)
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "EXIT\t1000\n");
}

#[test]
fn a_counter_keeps_state_across_messages_and_handles_cancel() {
    let project = actor_project(
        r#"local counter = process.spawn_monitored("app:counter", "app:processes")
local counts = process.listen("count")
for i = 1, 10 do process.send(counter, "add", i) end
process.send(counter, "get")
print("count", (counts:receive()))
process.cancel(counter, "shutting down")
local exit = process.receive("5s")
print(exit.type, exit.value, exit.error)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "count\t55\nEXIT\t55\tnil\n"
    );
}

#[test]
fn a_guest_blocked_in_receive_can_be_terminated() {
    let project = actor_project(
        r#"local echo = process.spawn_monitored("app:echo", "app:processes")
require("time").sleep("50ms")
process.terminate(echo)
local exit = process.receive("5s")
print(exit.type, exit.error)
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "EXIT\tterminated\n");
}

#[test]
fn a_wasm_supervisor_restarts_a_crashing_wasm_worker() {
    let project = actor_project(
        r#"print(process.exec("app:supervisor", "app:processes", "app:crash", "app:processes", '["again"]', 2))
"#,
    );
    let out = project.wippy(&["run", "main"]);
    assert_eq!(out.ok(), "3\tnil\n", "{out:#?}");
}

#[test]
fn the_actor_interface_needs_its_grant() {
    let project = actor_project(
        r#"local pid = process.spawn_monitored("app:no_grant", "app:processes")
local exit = process.receive("5s")
print(exit.error)
"#,
    );
    let out = project.wippy(&["run", "main"]);
    assert!(
        out.ok().starts_with("`app:no_grant` failed: it called `wippy:process/host@0.1.0#receive`, but entry `app:no_grant` does not grant `wippy:process`"),
        "{out:#?}"
    );
}

#[test]
fn wasm_calls_lua_and_wasm_functions_through_wippy_runtime_funcs() {
    let project = actor_project(
        r#"print(process.exec("app:caller", "app:processes", "app:greet", "box"))
print(process.exec("app:caller", "app:processes", "app:shout", "quiet"))
print(process.exec("app:caller", "app:processes", "app:describe", "box"))
print(process.exec("app:caller", "app:processes", "app:nope", ""))
print(process.exec("app:caller", "app:processes", "app:mul", "6"))
local bytes = process.exec("app:bytes_caller", "app:processes", "app:shout", "quiet")
print(string.char(table.unpack(bytes)))
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "hello box\tnil\nQUIET\tnil\n{\"n\":3,\"name\":\"box\"}\tnil\nnil\tno function `app:nope` in the registry\nnil\t`app:mul`: expected 2 arguments, got 1; the signature is compute(a: u32, b: u32) -> u32\nQUIET\n"
    );
}

#[test]
fn pool_max_size_bounds_concurrent_calls_of_a_function() {
    let project = actor_project(
        r#"local time = require("time")
local started = time.now()
for i = 1, 4 do process.spawn_monitored("app:nap_caller", "app:processes") end
for i = 1, 4 do
  local exit = process.receive("60s")
  if exit.error then error(exit.error) end
end
-- Four 150 ms calls, two at a time: at least 300 ms.
print((time.now() - started) / 1e6 >= 300)
"#,
    );
    let prober = project.add_guest("prober");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let nap = with_imports(
        wasm_entry("nap", "prober.wasm", &prober, "sleep-ms", None),
        &["wasi:clocks"],
    )
    .replace("process.wasm", "function.wasm")
        + "    pool: {type: lazy, max_size: 2}\n";
    project.write(
        "src/nap_caller.lua",
        "return require('funcs').call('app:nap', 150)\n",
    );
    let caller = "  - {name: nap_caller, kind: process.lua, source: file://nap_caller.lua, modules: [funcs]}\n";
    project.write("src/app.yaml", yaml + &nap + caller);
    assert_eq!(project.wippy(&["run", "main"]).ok(), "true\n");
}

#[test]
fn wasm_and_wasm_ping_pong() {
    let project = actor_project(
        r#"local echo = process.spawn_monitored("app:echo", "app:processes")
print(process.exec("app:pinger", "app:processes", echo, 500))
process.send(echo, "stop")
print(process.receive("5s").value)
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "500\tnil\n500\n");
}

#[test]
fn a_wasm_actor_floods_another_and_every_message_arrives() {
    let project = actor_project(
        r#"local counter = process.spawn_monitored("app:counter", "app:processes")
print(process.exec("app:flooder", "app:processes", counter, 2000))
process.send(counter, "stop")
print(process.receive("5s").value)
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "2000\tnil\n2000\n");
}
