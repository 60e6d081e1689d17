//! Lua processes through `wippy run`: spawning WASM and Lua processes, EXIT events, links,
//! monitors, cancel, terminate, messaging, names, exec, and WIT values both ways.

mod support;

use support::{HEADER, Project, wasm_entry, with_imports};

const VALUES_FUNCS: &[&str] = &[
    "echo-ints",
    "echo-user",
    "echo-users",
    "echo-empty-result",
    "echo-variant",
    "echo-flags",
    "echo-enum",
    "echo-char",
    "echo-bytes",
    "echo-floats",
    "echo-option",
    "echo-result",
    "echo-tuple",
    "echo-bool",
    "echo-list",
    "divide",
];

/// A project with `myns:processes`, the compute worker (a * b), the values guest's functions,
/// a crashing guest, helper Lua processes, and `script` as the `main` command.
fn lua_project(script: &str) -> Project {
    let project = Project::new();
    let hello = project.add_guest("hello");
    let values = project.add_guest("values");
    let mut yaml = HEADER.replace("namespace: app", "namespace: myns");
    yaml += "  - {name: processes, kind: process.host, host: {max_processes: 100}}\n";
    yaml += &wasm_entry("compute_worker", "hello.wasm", &hello, "compute", None);
    for func in VALUES_FUNCS {
        yaml += &wasm_entry(func, "values.wasm", &values, &format!("kinds#{func}"), None);
    }
    yaml += &with_imports(
        wasm_entry("crash", "values.wasm", &values, "kinds#crash", None),
        &["wasi:cli"],
    );
    let prober = project.add_guest("prober");
    yaml += &with_imports(
        wasm_entry("wasm_sleeper", "prober.wasm", &prober, "sleep-ms", None),
        &["wasi:clocks"],
    );
    for (name, source) in HELPERS {
        project.write(&format!("src/{name}.lua"), source);
        yaml += &format!(
            "  - {{name: {name}, kind: process.lua, source: file://{name}.lua, modules: [time, channel]}}\n"
        );
    }
    project.write(
        "src/mathlib.lua",
        "return { double = function(x) return x * 2 end }\n",
    );
    yaml += "  - {name: mathlib, kind: library.lua, source: file://mathlib.lua}\n";
    yaml += "  - {name: add, kind: function.lua, source: \"local function main(a, b) return a + b end return { main = main }\"}\n";
    yaml += &wasm_entry("mul", "hello.wasm", &hello, "compute", None)
        .replace("process.wasm", "function.wasm");
    project.write("src/main.lua", script);
    yaml += "  - name: main\n    kind: process.lua\n    meta: {command: {name: main}}\n    source: file://main.lua\n    modules: [time, channel, funcs]\n    imports: {m: mathlib}\n";
    project.write("src/app.yaml", yaml);
    project
}

/// Lua processes the scripts spawn.
const HELPERS: &[(&str, &str)] = &[
    // Execs `late_reporter` for `reporter`, returning what it returned.
    (
        "exec_caller",
        r#"
        local function main(reporter)
          return process.exec("myns:late_reporter", "myns:processes", reporter)
        end
        return { main = main }
    "#,
    ),
    // Takes a name, waits 200 ms, tells `reporter` it finished.
    (
        "late_reporter",
        r#"
        local function main(reporter)
          process.registry.register("late-one")
          require("time").sleep("200ms")
          process.send(reporter, "done", "finished")
          return "reported"
        end
        return { main = main }
    "#,
    ),
    // Execs `named` and returns the error its exec ended with.
    (
        "exec_named",
        r#"
        local value, err = process.exec("myns:named", "myns:processes")
        return tostring(err)
    "#,
    ),
    // Echoes each message back to its sender on topic "echo", until told "stop".
    (
        "echo",
        r#"
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return "stopped" end
          process.send(msg:from(), "echo", msg:payload())
        end
    "#,
    ),
    // Fails after a short wait.
    (
        "failing",
        r#"
        local time = require("time")
        time.sleep("20ms")
        error("deliberate failure")
    "#,
    ),
    // Waits until cancelled, then reports the reason.
    (
        "cancellable",
        r#"
        local events = process.events()
        local event = events:receive()
        if event.kind == process.event.CANCEL then return "cancelled because " .. event.reason end
        return "unexpected " .. tostring(event.kind)
    "#,
    ),
    // Sleeps for a long time.
    (
        "sleeper",
        r#"
        require("time").sleep("30s")
        return "woke"
    "#,
    ),
    // Registers itself under a name, then waits for "stop".
    (
        "named",
        r#"
        process.registry.register("the-named-one")
        local msg = process.inbox():receive()
        return msg:payload():data()
    "#,
    ),
    // Returns its arguments joined.
    (
        "joiner",
        r#"
        local function main(a, b) return a .. "+" .. b end
        return { main = main }
    "#,
    ),
];

fn run_main(project: &Project) -> String {
    project.wippy(&["run", "main"]).ok().to_string()
}

#[test]
fn spawn_monitored_receive_prints_the_exit_value() {
    let project = lua_project(
        r#"local process = require("process")
local time = require("time")
local pid, err = process.spawn_monitored("myns:compute_worker", "myns:processes", 6, 7)
if err then error("spawn failed: " .. tostring(err)) end
local event = process.receive(time.seconds(10))
if event and event.type == "EXIT" then print(event.value) end
"#,
    );
    assert_eq!(run_main(&project), "42\n");
}

#[test]
fn the_events_channel_form_selects_the_exit() {
    let project = lua_project(
        r#"local process = require("process")
local time = require("time")
local channel = require("channel")
local pid, err = process.spawn_monitored("myns:compute_worker", "myns:processes", 6, 7)
if err then error("spawn failed: " .. tostring(err)) end
local events = process.events()
local result = channel.select({ events:case_receive(), time.after("3s"):case_receive() })
if result.channel ~= events then error("timed out") end
local event = result.value
if event.kind == process.event.EXIT and event.from == pid and event.result.value == 42 then
  print(event.result.value)
end
"#,
    );
    assert_eq!(run_main(&project), "42\n");
}

#[test]
fn a_trapping_guest_exits_with_the_error_and_nothing_else_is_harmed() {
    let project = lua_project(
        r#"local crash = process.spawn_monitored("myns:crash", "myns:processes", "boom")
local ok = process.spawn_monitored("myns:compute_worker", "myns:processes", 3, 5)
local seen = {}
for _ = 1, 2 do
  local event = process.receive("10s")
  seen[event.from] = event
end
print(seen[crash].type, seen[crash].value, seen[crash].result.error)
print(seen[ok].type, seen[ok].value, seen[ok].error)
local again = process.exec("myns:compute_worker", "myns:processes", 4, 4)
print("after the trap:", again)
"#,
    );
    let out = run_main(&project);
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('[')).collect();
    assert!(lines[0].starts_with("EXIT\tnil\t`myns:crash` failed: the guest trapped: wasm `unreachable` instruction executed"), "{out}");
    assert_eq!(lines[1], "EXIT\t15\tnil", "{out}");
    assert_eq!(lines[2], "after the trap:\t16", "{out}");
    // The crashing guest's panic message went to the runtime's stderr, labelled.
}

#[test]
fn a_lua_command_error_exits_1_with_the_message() {
    let project = lua_project("error('no luck here')\n");
    let err = project.wippy(&["run", "main"]).failed().to_string();
    assert_eq!(
        err,
        "error: `myns:main` failed: myns:main:1: no luck here\n"
    );
    let project = lua_project("return nil, 'soft failure'\n");
    assert_eq!(
        project.wippy(&["run", "main"]).failed(),
        "error: soft failure\n"
    );
    let project = lua_project("local time = require('time')\nlocal funcs = require('nope')\n");
    assert!(
        project
            .wippy(&["run", "main"])
            .failed()
            .contains("module 'nope' not found")
    );
}

#[test]
fn modules_must_be_enabled() {
    let project = lua_project("print('x')");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace("modules: [time, channel, funcs]", "modules: []"),
    );
    project.write("src/main.lua", "local time = require('time')");
    let err = project.wippy(&["run", "main"]).failed().to_string();
    assert!(
        err.contains(
            "module `time` is not enabled for `myns:main`; add it to the entry's `modules: [time]`"
        ),
        "{err}"
    );
}

#[test]
fn links_propagate_failures_unless_trapped() {
    let project = lua_project(
        r#"-- A linked child that fails takes an untrapping parent down; so we test from a middle
-- process: spawn it monitored, and have it link to the failing one.
local middle_src = nil
process.set_options({ trap_links = true })
local child = process.spawn_linked("myns:failing", "myns:processes")
local event = process.receive("5s")
print(event.type, event.from == child, event.error)
print(process.get_options().trap_links)
"#,
    );
    let out = run_main(&project);
    assert_eq!(
        out,
        "LINK_DOWN\ttrue\t`myns:failing` failed: myns:failing:4: deliberate failure\ntrue\n"
    );

    let project = lua_project(
        r#"process.spawn_linked("myns:failing", "myns:processes")
require("time").sleep("5s")
print("not reached")
"#,
    );
    let err = project.wippy(&["run", "main"]).failed().to_string();
    assert!(
        err.starts_with("error: linked process {myns:processes|0x"),
        "{err}"
    );
    assert!(
        err.ends_with("failed: `myns:failing` failed: myns:failing:4: deliberate failure\n"),
        "{err}"
    );
}

#[test]
fn monitor_and_unmonitor() {
    let project = lua_project(
        r#"local a = process.spawn("myns:sleeper", "myns:processes")
local b = process.spawn("myns:sleeper", "myns:processes")
process.monitor(a)
process.monitor(b)
process.unmonitor(b)
process.terminate(b)
process.terminate(a)
local event = process.receive("2s")
print(event.type, event.from == a, event.error)
print(process.receive("100ms"))
"#,
    );
    assert_eq!(run_main(&project), "EXIT\ttrue\tterminated\nnil\n");
}

#[test]
fn cancel_reaches_lua_as_an_event_and_stops_wasm() {
    let project = lua_project(
        r#"local lua = process.spawn_monitored("myns:cancellable", "myns:processes")
process.cancel(lua, "shutdown")
local event = process.receive("5s")
print(event.type, event.value)
"#,
    );
    assert_eq!(run_main(&project), "EXIT\tcancelled because shutdown\n");

    let project = lua_project(
        r#"local wasm = process.spawn_monitored("myns:wasm_sleeper", "myns:processes", 30000)
process.cancel(wasm, "enough")
local event = process.receive("5s")
print(event.type, event.error)
"#,
    );
    assert_eq!(run_main(&project), "EXIT\tcancelled: enough\n");
}

#[test]
fn terminate_stops_a_wasm_process_blocked_in_host_io() {
    let project = lua_project(
        r#"local short = process.exec("myns:wasm_sleeper", "myns:processes", 10)
local wasm, err = process.spawn_monitored("myns:wasm_sleeper", "myns:processes", 30000)
if not wasm then error(err) end
require("time").sleep("50ms")
print(short, process.terminate(wasm))
local event = process.receive("5s")
print(event.type, event.from == wasm, event.error)
"#,
    );
    assert_eq!(
        run_main(&project),
        "10\ttrue\tnil\nEXIT\ttrue\tterminated\n"
    );
}

#[test]
fn send_to_a_dead_pid_fails_with_not_found() {
    let project = lua_project(
        r#"local pid = process.spawn_monitored("myns:compute_worker", "myns:processes", 1, 1)
process.receive("5s")
local ok, err = process.send(pid, "hello", 1)
print(ok, err)
print(process.send("nobody-by-that-name", "hello", 1))
"#,
    );
    let out = run_main(&project);
    assert!(out.starts_with("nil\tprocess {myns:processes|0x"), "{out}");
    assert!(out.contains("} not found: it is not running\n"), "{out}");
    assert!(
        out.ends_with(
            "nil\tprocess nobody-by-that-name not found: no such pid or registered name\n"
        ),
        "{out}"
    );
}

#[test]
fn messages_from_one_sender_arrive_in_order() {
    let project = lua_project(
        r#"local echo = process.spawn("myns:echo", "myns:processes")
local replies = process.listen("echo")
for i = 1, 200 do process.send(echo, "ping", i) end
local got = {}
for i = 1, 200 do got[i] = replies:receive() end
for i = 1, 200 do if got[i] ~= i then error("out of order at " .. i .. ": " .. tostring(got[i])) end end
process.send(echo, "stop")
print("in order", #got)
"#,
    );
    assert_eq!(run_main(&project), "in order\t200\n");
}

#[test]
fn names_are_registered_looked_up_and_released_on_exit() {
    let project = lua_project(
        r#"local time = require("time")
local pid = process.spawn_monitored("myns:named", "myns:processes")
local found
for _ = 1, 100 do
  found = process.registry.lookup("the-named-one")
  if found then break end
  time.sleep("5ms")
end
print(found == pid)
process.send("the-named-one", "bye", "sent by name")
local event = process.receive("5s")
print(event.value)
print(process.registry.lookup("the-named-one"))
print(process.registry.register("mine"), process.registry.lookup("mine") == process.pid())
-- The name its owner held is free again, and its new owner may give it up and take it back.
local reg = process.registry
print((reg.register("the-named-one")), (reg.unregister("the-named-one")), (reg.register("the-named-one")))
"#,
    );
    assert_eq!(
        run_main(&project),
        "true\nsent by name\nnil\tname not registered\ntrue\ttrue\ntrue\ttrue\ttrue\n"
    );
}

#[test]
fn exec_returns_the_value_or_nil_and_the_error() {
    let project = lua_project(
        r#"print(process.exec("myns:joiner", "myns:processes", "a", "b"))
print(process.exec("myns:compute_worker", "myns:processes", 6, 7))
print(process.exec("myns:divide", "myns:processes", 1, 0))
print(process.exec("myns:nope", "myns:processes"))
print(process.spawn("myns:compute_worker", "myns:nowhere", 1, 2))
"#,
    );
    assert_eq!(
        run_main(&project),
        "a+b\tnil\n42\tnil\nnil\tdivision by zero\nnil\tno process entry `myns:nope` in the registry\nnil\tno host `myns:nowhere` in the registry\n"
    );
}

#[test]
fn wit_values_cross_both_ways() {
    let project = lua_project(
        r#"local function show(v, indent)
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. show(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
local function echo(name, ...)
  local value, err = process.exec("myns:" .. name, "myns:processes", ...)
  print(name, show(value), err)
end
echo("echo-ints", {a = -128, b = 255, c = -32768, d = 65535, e = -2147483648, f = 4294967295, g = math.mininteger, h = math.maxinteger})
echo("echo-user", {name = "Ada", age = 36, tags = {"x", "y"}, favourite = "blue", perms = {"read", "exec"}})
echo("echo-users", {{name = "B", age = 1, tags = {}, perms = {}}})
echo("echo-empty-result", {ok = true})
echo("echo-empty-result", "err")
echo("echo-variant", "point")
echo("echo-variant", {rect = {2, 3}})
echo("echo-flags", {})
echo("echo-enum", "green")
echo("echo-char", "é")
echo("echo-bytes", "AB")
echo("echo-floats", 1.5, 2)
echo("echo-option", nil)
echo("echo-option", "some")
echo("echo-result", {err = "bad"})
echo("echo-tuple", {"t", -1, false})
echo("echo-bool", true)
"#,
    );
    let out = run_main(&project);
    let expected = [
        "echo-ints\t{a=-128,b=255,c=-32768,d=65535,e=-2147483648,f=4294967295,g=-9223372036854775808,h=9223372036854775807}\tnil",
        "echo-user\t{age=36,favourite=blue,name=Ada,perms={1=read,2=exec},tags={1=x,2=y}}\tnil",
        "echo-users\t{1={age=1,name=B,perms={},tags={}}}\tnil",
        // A top-level `result` is the process's outcome: ok → value, err → error.
        "echo-empty-result\tnil\tnil",
        "echo-empty-result\tnil\t`myns:echo-empty-result` returned an error",
        "echo-variant\t{point=true}\tnil",
        "echo-variant\t{rect={1=2.0,2=3.0}}\tnil",
        "echo-flags\t{}\tnil",
        "echo-enum\tgreen\tnil",
        "echo-char\té\tnil",
        "echo-bytes\t{1=65,2=66}\tnil",
        "echo-floats\t{1=1.5,2=2.0}\tnil",
        "echo-option\tnil\tnil",
        "echo-option\tsome\tnil",
        "echo-result\tnil\tbad",
        "echo-tuple\t{1=t,2=-1,3=false}\tnil",
        "echo-bool\ttrue\tnil",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn wit_value_errors_name_the_parameter_and_path() {
    let project = lua_project(
        r#"local function try(name, ...)
  local value, err = process.exec("myns:" .. name, "myns:processes", ...)
  print(err)
end
local ints = {a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0}
ints.a = 128
try("echo-ints", ints)
ints.a = 0; ints.c = -40000
try("echo-ints", ints)
ints.c = 0; ints.h = 2^64 - 1
try("echo-ints", ints)
ints.h = -1
try("echo-ints", ints)
try("echo-users", {{name = "B", age = 1, tags = {"ok", 7}, perms = {}}})
try("echo-user", {name = "B", age = 1, tags = {}, perms = {"fly"}})
try("echo-user", {name = "B", age = 1, tags = {}, perms = {}, favourite = "purple"})
try("echo-enum", "purple")
try("echo-variant", {circle = "wide"})
try("echo-variant", "circle")
try("echo-user", {age = 1, tags = {}, perms = {}})
try("echo-char", "too long")
try("echo-bool")
"#,
    );
    let out = run_main(&project);
    let lines: Vec<&str> = out.lines().collect();
    let ints = "; the signature is echo-ints(v: record { a: s8, b: u8, c: s16, d: u16, e: s32, f: u32, g: s64, h: u64 }) -> record { a: s8, b: u8, c: s16, d: u16, e: s32, f: u32, g: s64, h: u64 }";
    assert_eq!(
        lines[0],
        format!("`myns:echo-ints`: param 1 (v) a: 128 is out of range for s8{ints}")
    );
    assert_eq!(
        lines[1],
        format!("`myns:echo-ints`: param 1 (v) c: -40000 is out of range for s16{ints}")
    );
    assert_eq!(
        lines[2],
        format!(
            "`myns:echo-ints`: param 1 (v) h: expected u64, got number 18446744073709552000, which is not a whole number in range{ints}"
        )
    );
    assert_eq!(
        lines[3],
        format!("`myns:echo-ints`: param 1 (v) h: -1 is out of range for u64{ints}")
    );
    assert!(
        lines[4].starts_with(
            "`myns:echo-users`: param 1 (v) [1].tags[2]: expected string, got number 7;"
        ),
        "{}",
        lines[4]
    );
    assert!(lines[5].starts_with("`myns:echo-user`: param 1 (v) perms: expected flags from read, write, exec, got string \"fly\";"), "{}", lines[5]);
    assert!(lines[6].starts_with("`myns:echo-user`: param 1 (v) favourite: expected one of red, green, blue, got string \"purple\";"), "{}", lines[6]);
    assert!(lines[7].starts_with("`myns:echo-enum`: param 1 (v): expected one of red, green, blue, got string \"purple\";"), "{}", lines[7]);
    assert!(
        lines[8].starts_with(
            "`myns:echo-variant`: param 1 (v) circle: expected f64, got string \"wide\";"
        ),
        "{}",
        lines[8]
    );
    assert!(
        lines[9].starts_with(
            "`myns:echo-variant`: param 1 (v): case `circle` needs a payload of type f64;"
        ),
        "{}",
        lines[9]
    );
    assert!(
        lines[10].starts_with("`myns:echo-user`: param 1 (v): missing field `name` (string);"),
        "{}",
        lines[10]
    );
    assert!(lines[11].starts_with("`myns:echo-char`: param 1 (c): expected char (a 1-character string), got string \"too long\";"), "{}", lines[11]);
    assert!(
        lines[12].starts_with("`myns:echo-bool`: expected 1 argument, got 0;"),
        "{}",
        lines[12]
    );
}

#[test]
fn u64_above_the_lua_range_is_an_error_not_a_wrapped_number() {
    // The guest returns what it is given; u64::MAX can only come from WIT (WAVE via a
    // Lua-free path is covered in values.rs), so check the conversion itself here.
    use wasmtime::component::Val;
    let err = wippy::values::wit_conversion::from_val(&Val::U64(u64::MAX)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "u64 18446744073709551615 does not fit a Lua integer (at most 9223372036854775807)"
    );
    let max = wippy::values::wit_conversion::from_val(&Val::U64(i64::MAX as u64)).unwrap();
    assert_eq!(max, wippy::values::Payload::Integer(i64::MAX));
}

#[test]
fn funcs_call_lua_and_wasm_functions_and_libraries_are_required_by_alias() {
    let project = lua_project(
        r#"local funcs = require("funcs")
local m = require("m")
print(funcs.call("myns:add", 2, 3))
print(funcs.call("myns:mul", 6, 7))
print(funcs.call("myns:mul", 6))
print(funcs.call("myns:nope"))
print(funcs.call("myns:compute_worker", 1, 2))
print(m.double(21))
"#,
    );
    assert_eq!(
        run_main(&project),
        "5\tnil\n42\tnil\nnil\t`myns:mul`: expected 2 arguments, got 1; the signature is compute(a: u32, b: u32) -> u32\nnil\tno function `myns:nope` in the registry\nnil\t`myns:compute_worker` is a process.wasm; only function.lua, function.wasm and function.wat entries can be called\n42\n"
    );
}

#[test]
fn blocked_lua_processes_hold_no_thread() {
    // 400 processes sleeping 300 ms each on a 2-thread runtime: if a sleeping process held a
    // thread, this would take a minute; it takes about 300 ms.
    let project = lua_project(
        r#"local started = {}
for i = 1, 400 do
  local pid, err = process.spawn_monitored("myns:sleepy", "myns:processes")
  if not pid then error(err) end
  started[pid] = true
end
local done = 0
while done < 400 do
  local event = process.receive("20s")
  if not event then error("only " .. done .. " finished") end
  if started[event.from] and event.value == "rested" then done = done + 1 end
end
print(done)
"#,
    );
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let yaml = yaml.replace("max_processes: 100", "max_processes: 1000");
    project.write(
        "src/sleepy.lua",
        "require('time').sleep('300ms')\nreturn 'rested'\n",
    );
    project.write("src/app.yaml", yaml + "  - {name: sleepy, kind: process.lua, source: file://sleepy.lua, modules: [time]}\n");
    assert_eq!(run_main(&project), "400\n");
}

/// `process.exec` runs its process in the caller's task, but it is a process all the same:
/// `terminate` reaches it, and it outlives a caller that stops waiting for it.
#[test]
fn an_execd_process_can_be_terminated_and_outlives_its_caller() {
    let project = lua_project(
        r#"local time = require("time")
local caller = process.spawn_monitored("myns:exec_caller", "myns:processes", process.pid())
for _ = 1, 400 do
  if process.registry.lookup("late-one") then break end
  time.sleep("5ms")
end
process.terminate(caller)
local exit = process.receive("5s")
print(exit.from == caller, exit.error)
local done = process.receive("5s")
print(done:topic(), done:payload():data())

local held = process.spawn_monitored("myns:exec_named", "myns:processes")
for _ = 1, 400 do
  if process.registry.lookup("the-named-one") then break end
  time.sleep("5ms")
end
print(process.terminate("the-named-one"))
exit = process.receive("5s")
print(exit.from == held, exit.value)
"#,
    );
    assert_eq!(
        run_main(&project),
        "true\tterminated\ndone\tfinished\ntrue\tnil\ntrue\tterminated\n"
    );
}

#[test]
fn receive_waits_in_main_and_in_a_coroutine_and_each_wakes_with_one_message() {
    // An empty mailbox is waited on by yielding with the task's waker registered on it (no
    // future per wait): a `coroutine.spawn`ed waiter, one inside `coroutine.wrap`, then the
    // main flow must each wake when a message arrives and take one; a wait with a timeout
    // still times out.
    let project = lua_project(
        r#"local time = require("time")
local me = process.pid()
local spawned
coroutine.spawn(function() spawned = process.receive():payload():data() end)
local wrapped = coroutine.wrap(function() return process.receive():payload():data() end)
for _ = 1, 3 do process.spawn("myns:late_reporter", "myns:processes", me) end
local from_wrap = wrapped()
local from_main = process.receive():payload():data()
while spawned == nil do time.sleep("10ms") end
print(spawned, from_wrap, from_main, process.receive("50ms"))
"#,
    );
    assert_eq!(run_main(&project), "finished\tfinished\tfinished\tnil\n");
}
