//! A Lua process cannot harm the others: its memory is capped and it loads text chunks only.
//! Each attempt ends that process with a clear error while a healthy process beside it
//! finishes.

mod support;

use support::{Project, beside_healthy, lua_project};

/// `script` as the `main` command, with a healthy Lua process to spawn beside it.
fn sandbox_project(script: &str) -> Project {
    lua_project(
        r#"  - name: bomb
    kind: process.lua
    source: |
      local s = "0123456789abcdef"
      while true do s = s .. s end
  - name: small_bomb
    kind: process.lua
    limits: {max_memory_bytes: 16777216}
    source: |
      local parts = {}
      while true do parts[#parts + 1] = string.rep("x", 4096) end
"#,
        script,
    )
}

#[test]
fn a_lua_memory_bomb_ends_its_process_and_nothing_else() {
    let project = sandbox_project(&beside_healthy("app:bomb"));
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "nil / `app:bomb` failed: it needed more memory than its limit of 256 MiB (limits.max_memory_bytes; the default is 256 MiB)\nstill here / nil\n"
    );
}

#[test]
fn bytecode_native_code_and_the_host_system_are_out_of_reach() {
    let project = sandbox_project(
        r#"print("dump", string.dump)
print(load("\27Lua\84\0", "crafted", "b"))
print(load("return 1 + 1")())
print(load("return x", "with env", "t", {x = 7})())
print(package.loadlib, debug, io, os.exit, os.getenv, os.execute, dofile, loadfile)
local os2, string2 = require("os"), require("string")
print(os2 == os, package.loaded.os == os, os2.exit, os2.getenv, os2.execute, os2.remove)
print(string2 == string, string2.dump, (pcall(require, "debug")), (pcall(require, "io")))
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "dump\tnil\nnil\tattempt to load a binary chunk (mode is 't')\n2\n7\nnil\tnil\tnil\tnil\tnil\tnil\tnil\tnil\n\
         true\ttrue\tnil\tnil\tnil\tnil\ntrue\tnil\tfalse\tfalse\n"
    );
    // A registry source that is bytecode is refused too.
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: main, kind: process.lua, source: \"\\eLua\\x54\\0\", meta: {command: {name: main}}}\n",
    );
    let err = project.wippy(&["run", "main"]).failed().to_string();
    assert!(
        err.contains("`app:main` failed:") && err.contains("attempt to load a binary chunk"),
        "{err}"
    );
}

#[test]
fn an_entry_sets_its_own_lua_memory_limit_and_no_fuel() {
    let project = sandbox_project(
        r#"process.spawn_monitored("app:small_bomb", "app:processes")
local exit = process.receive("30s")
print(exit.error)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "`app:small_bomb` failed: it needed more memory than its limit of 16 MiB (limits.max_memory_bytes; the default is 256 MiB)\n"
    );
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: main, kind: process.lua, source: 'return 1', limits: {max_fuel: 10}}\n",
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("`limits.max_fuel` is not a field of process.lua")
            && err.contains("bound a Lua entry's time with `limits.max_execution_ms`"),
        "{err}"
    );
}

/// Every message a script receives is userdata with a finalizer; Lua 5.4's default
/// collector fell behind them and a message loop grew by ~40 bytes a message without bound
/// (200,000 messages: 12 MiB of heap). The heap stays near its size at the start.
#[test]
fn a_message_loop_runs_in_constant_memory() {
    let project = sandbox_project(
        r#"local me, peak = process.pid(), 0
for i = 1, 200000 do
  process.send(me, "tick", i)
  local message = process.receive()
  assert(message:payload():data() == i)
  peak = math.max(peak, collectgarbage("count"))
end
print(peak < 2048 and "bounded" or ("grew to " .. peak .. " KiB"))
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "bounded\n");
}
