//! Wippy's Lua dialect: optional type annotations load and run, errors in annotated code point
//! at the author's lines, and `coroutine.spawn` runs functions concurrently in a process.

mod support;

use support::{Project, wippy_within};

/// `main` as the `main` command (2 s limit), with an annotated library it may `require`.
fn dialect_project(main: &str) -> Project {
    let project = Project::new();
    project.write("src/main.lua", main);
    project.write(
        "src/shapes.lua",
        r#"type Point = { x: number, y: number }
export type Shape = { origin: Point, name: string }
local M = {}
function M.area<T>(w: number, h: number): number
  return w * h
end
return M
"#,
    );
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: shapes, kind: library.lua, source: file://shapes.lua}
  - name: main
    kind: process.lua
    source: file://main.lua
    modules: [time]
    imports: {shapes: app:shapes}
    limits: {max_execution_ms: 2000}
    meta: {command: {name: main}}
"#,
    );
    project
}

#[test]
fn annotated_lua_of_every_form_loads_and_runs() {
    let project = dialect_project(
        r#"local shapes = require("shapes")
type Pair<K, V> = { key: K, value: V }
local count: number = 0
local function label(name: string, n: number?): string
  local shown = (n or 0) :: number
  return name .. "=" .. tostring(shown)
end
local function first<T>(items: { T }): T?
  return items[1]
end
local function main(who: string, n: number): (string, number)
  count += 0
  return label(who, n) .. " " .. tostring(first({ "a", "b" })) .. " " .. shapes.area(2, 3)
end
return { main = main }
"#,
    );
    // `+=` is Luau, not Wippy's dialect: Lua refuses it with its own message and line.
    let err = wippy_within(&project, &["run", "main", "x", "2"], &[], &[])
        .failed()
        .to_string();
    assert!(err.contains("app:main:12:"), "{err}");

    project.write(
        "src/main.lua",
        std::fs::read_to_string(project.root().join("src/main.lua"))
            .unwrap()
            .replace("  count += 0\n", "  count = count + 0\n"),
    );
    let run = wippy_within(&project, &["run", "main", "x", "2"], &[], &[]);
    assert_eq!(run.ok(), "x=2 a 6\n");

    // Wippy's cast: `string(x)` gives a string or stops at the cast.
    project.write(
        "src/main.lua",
        "print(string(\"pid\"), string(42), pcall(function() local s = string({}) return s end))\nprint(('x'):upper(), string.rep('ab', 2))\n",
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "pid\t42\tfalse\tapp:main:1: cannot cast a table to string\nX\tabab\n"
    );
}

#[test]
fn errors_in_annotated_code_point_at_the_authors_lines() {
    let project = dialect_project(
        r#"local function fail(reason: string): never
  error("failed: " .. reason)
end

local function main(): string
  local value: number = 1
  fail("on line two" :: string)
  return "unreachable"
end
return { main = main }
"#,
    );
    let err = wippy_within(&project, &["run", "main"], &[], &[])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:main` failed: app:main:2: failed: on line two\n"
    );
    // A syntax error in annotated code names the line and the column.
    project.write(
        "src/main.lua",
        "local x: number = 1\nlocal y: = 2\nreturn { main = function() return x end }\n",
    );
    let err = wippy_within(&project, &["run", "main"], &[], &[])
        .failed()
        .to_string();
    assert!(
        err.starts_with("error: `app:main` failed: app:main:2:"),
        "{err}"
    );
}

#[test]
fn spawned_coroutines_run_concurrently_and_talk_over_channels() {
    let project = dialect_project(
        r#"local ch = channel.new(5)
local done = channel.new(1)
coroutine.spawn(function()
  for i = 1, 10 do ch:send(i) end
  ch:close()
end)
local consumer = coroutine.spawn(function()
  local sum = 0
  while true do
    local v, ok = ch:receive()
    if not ok then break end
    sum = sum + v
  end
  done:send(sum)
end)
print(type(consumer), done:receive())
-- A spawned coroutine may sleep and receive; the main flow waits on a channel meanwhile.
local reply = channel.new(1)
coroutine.spawn(function()
  time.sleep("10ms")
  process.send(process.pid(), "note", "hi")
  local message = process.receive("1s")
  reply:send(message:payload():data())
end)
print(reply:receive())
"#,
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(run.ok(), "thread\t55\ttrue\nhi\ttrue\n");
}

#[test]
fn a_spawned_coroutine_that_fails_or_spins_ends_the_process_with_a_clear_error() {
    let project = dialect_project(
        r#"local ch = channel.new(0)
coroutine.spawn(function()
  error("the worker broke")
end)
ch:receive()
"#,
    );
    let err = wippy_within(&project, &["run", "main"], &[], &[])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:main` failed: app:main:3: the worker broke\n"
    );
    // A spinning coroutine is preempted (the main flow still finishes: the process ends, and
    // the spinner with it) …
    project.write(
        "src/main.lua",
        "coroutine.spawn(function() while true do end end)\ntime.sleep('20ms')\nprint('main is done')\n",
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(run.ok(), "main is done\n");
    // … and stopped by the process's limit when the main flow waits for it forever.
    project.write(
        "src/main.lua",
        "coroutine.spawn(function() while true do end end)\nchannel.new(0):receive()\n",
    );
    let err = wippy_within(&project, &["run", "main"], &[], &[])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:main` failed: it ran longer than its limit of 2000 ms (limits.max_execution_ms) and was stopped\n"
    );
}

/// The coroutine functions, `process.receive` and the like are made when a script first
/// reads them (a state that never uses them does not pay for them): reading, replacing and
/// calling them works as for any field.
#[test]
fn functions_made_on_first_use_read_replace_and_call_as_any_other() {
    let project = dialect_project(
        r#"local mine = function() return "mine" end
coroutine.resume = mine
local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
print(coroutine.resume == mine, gen(1), gen(5))
local co = coroutine.create(function() return "done" end)
print(rawequal(coroutine.create, coroutine.create), coroutine.status(co), type(coroutine.spawn))
local receive = process.receive
process.send(process.pid(), "note", "hi")
print(receive == process.receive, receive("1s"):payload():data(), type(time.sleep), type(channel.select))
"#,
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(
        run.ok(),
        "true\t2\t10\ntrue\tsuspended\tfunction\ntrue\thi\tfunction\tfunction\n"
    );
}

/// `process.receive` takes a waiting message at once and waits only on an empty mailbox:
/// order, the timeout's check and the timeout itself are the same either way.
#[test]
fn receive_takes_waiting_messages_in_order_and_still_checks_its_timeout() {
    let project = dialect_project(
        r#"process.send(process.pid(), "a", 1)
process.send(process.pid(), "b", 2)
local ok, err = pcall(process.receive, "soon")
print(ok, tostring(err):match("`soon` is not a duration") ~= nil)
local first, second = process.receive(), process.receive("1s")
print(first:topic(), first:payload():data(), second:topic(), second:payload():data())
print(process.receive("10ms"))
"#,
    );
    let run = wippy_within(&project, &["run", "main"], &[], &[]);
    assert_eq!(run.ok(), "false\ttrue\na\t1\tb\t2\nnil\n");
}
