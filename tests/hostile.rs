//! Hostile guests are contained: each ends its own process with a clear error, and the host
//! and every other process keep running.

mod support;

use support::{HEADER, Project, wasm_entry, with_imports};

/// The hostile guest under `entries` (name, method, extra YAML), plus a process host, the
/// compute worker, a clock-sleeping guest, and `script` as the Lua `main` command.
fn hostile_project(entries: &[(&str, &str, &str)], script: &str) -> Project {
    let project = Project::new();
    let hostile = project.add_guest("hostile");
    let hello = project.add_guest("hello");
    let prober = project.add_guest("prober");
    let values = project.add_guest("values");
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host, host: {max_processes: 100000}}\n";
    yaml += &wasm_entry("compute", "hello.wasm", &hello, "compute", None);
    yaml += &with_imports(
        wasm_entry("sleep", "prober.wasm", &prober, "sleep-ms", None),
        &["wasi:clocks"],
    );
    yaml += &wasm_entry("crash", "values.wasm", &values, "kinds#crash", None);
    for (name, method, extra) in entries {
        yaml += &wasm_entry(name, "hostile.wasm", &hostile, method, Some(name));
        yaml += extra;
    }
    project.write("src/main.lua", script);
    yaml += "  - name: main\n    kind: process.lua\n    meta: {command: {name: main}}\n    source: file://main.lua\n    modules: [time, channel, funcs]\n";
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn an_infinite_loop_is_stopped_by_max_execution_ms() {
    let project = hostile_project(
        &[("spin", "spin", "    limits: {max_execution_ms: 200}\n")],
        "",
    );
    let err = project.wippy(&["run", "spin"]).failed().to_string();
    assert_eq!(
        err,
        "error: `app:spin` failed: it ran longer than its limit of 200 ms (limits.max_execution_ms) and was stopped\n"
    );
}

#[test]
fn max_execution_ms_also_stops_a_guest_blocked_in_host_io() {
    let project = hostile_project(&[], "");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml + "    limits: {max_execution_ms: 100}\n",
    );
    // The limit is on the last entry (main, a Lua process: not a WASM limit); add one to sleep.
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let yaml = yaml.replace("    limits: {max_execution_ms: 100}\n", "");
    let yaml = yaml.replace("    method: \"sleep-ms\"\n", "    method: \"sleep-ms\"\n    limits: {max_execution_ms: 100}\n    meta: {command: {name: sleep}}\n");
    project.write("src/app.yaml", yaml);
    let err = project
        .wippy(&["run", "sleep", "30000"])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:sleep` failed: it ran longer than its limit of 100 ms (limits.max_execution_ms) and was stopped\n"
    );
}

#[test]
fn terminate_ends_a_tight_loop_and_a_sleeper_next_to_spinners_wakes_on_time() {
    let project = hostile_project(
        &[("spin", "spin", "")],
        r#"local time = require("time")
-- More spinning guests than the runtime has threads.
local spinners = {}
for i = 1, 4 do spinners[i] = process.spawn_monitored("app:spin", "app:processes") end
time.sleep("50ms")
local before = time.now()
time.sleep("100ms")
local slept_ms = (time.now() - before) / 1e6
print("sleeper woke", slept_ms < 1000)
print("compute still runs", process.exec("app:compute", "app:processes", 6, 7))
for i = 1, 4 do process.terminate(spinners[i]) end
local ended = 0
for _ = 1, 4 do
  local event = process.receive("5s")
  if event and event.error == "terminated" then ended = ended + 1 end
end
print("terminated", ended)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "sleeper woke\ttrue\ncompute still runs\t42\tnil\nterminated\t4\n"
    );
}

#[test]
fn a_memory_bomb_hits_max_memory_bytes() {
    let project = hostile_project(
        &[(
            "bomb",
            "allocate",
            "    limits: {max_memory_bytes: 67108864}\n",
        )],
        "",
    );
    let err = project.wippy(&["run", "bomb", "4096"]).failed().to_string();
    assert!(
        err.starts_with("error: `app:bomb` failed: it needed "),
        "{err}"
    );
    assert!(
        err.contains("bytes of memory (all its memories and tables together), over its limit of 67108864 bytes (limits.max_memory_bytes)"),
        "{err}"
    );
    // Within the limit, the same export works.
    assert_eq!(project.wippy(&["run", "bomb", "16"]).ok(), "16\n");
}

#[test]
fn fuel_runs_out() {
    let project = hostile_project(&[("work", "work", "    limits: {max_fuel: 1000000}\n")], "");
    let err = project
        .wippy(&["run", "work", "1000000000"])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:work` failed: it ran out of fuel after 1000000 units (limits.max_fuel)\n"
    );
    assert_eq!(project.wippy(&["run", "work", "1000"]).code, Some(0));
}

#[test]
fn a_stack_overflow_is_a_clean_error() {
    let project = hostile_project(&[("deep", "recurse", "")], "");
    let err = project
        .wippy(&["run", "deep", "100000000"])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:deep` failed: the guest overflowed its stack (too deep a recursion)\n"
    );
    assert_eq!(project.wippy(&["run", "deep", "100"]).ok(), "100\n");
}

#[test]
fn a_trap_storm_leaves_the_host_running() {
    let project = hostile_project(
        &[],
        r#"for i = 1, 1000 do
  local pid, err = process.spawn_monitored("app:crash", "app:processes", "storm")
  if not pid then error(err) end
end
local failed = 0
for _ = 1, 1000 do
  local event = process.receive("60s")
  if event and event.error then failed = failed + 1 end
end
print(failed, process.exec("app:compute", "app:processes", 6, 7))
"#,
    );
    assert_eq!(project.wippy(&["run", "main"]).ok(), "1000\t42\tnil\n");
}

#[test]
fn a_spawn_storm_is_bounded_by_max_processes() {
    let project = hostile_project(
        &[],
        r#"local ok, refused, last_err = 0, 0, nil
for i = 1, 300 do
  local pid, err = process.spawn_monitored("app:sleep", "app:limited", 200)
  if pid then ok = ok + 1 else refused = refused + 1; last_err = err end
end
print(ok, refused, last_err)
for _ = 1, ok do process.receive("10s") end
print("after the storm", process.exec("app:sleep", "app:limited", 1))
"#,
    );
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml + "  - {name: limited, kind: process.host, host: {max_processes: 100}}\n",
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "100\t200\thost `app:limited` is full: it runs 100 processes, its `max_processes`; wait for one to end, or raise the bound\nafter the storm\t1\tnil\n"
    );
}

#[test]
fn a_hundred_megabytes_of_stdout_are_delivered_whole() {
    let project = hostile_project(&[], "");
    let hostile =
        support::sha256(&std::fs::read(project.root().join("wasm/hostile.wasm")).unwrap());
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let flood = with_imports(
        wasm_entry("flood", "hostile.wasm", &hostile, "flood", Some("flood")),
        &["wasi:cli"],
    );
    project.write("src/app.yaml", yaml + &flood);
    let run = project.wippy(&["run", "flood", "100"]);
    let out = run.ok();
    assert_eq!(out.len(), 100 * 1024 * 1024 + "102400\n".len());
    assert!(out.ends_with("xxx\n102400\n"));
}

/// A component of four core instances, each with its own memory and table: `grow-each`
/// grows every memory by `pages` (trapping when a growth is refused) and returns the pages
/// they hold together; `grow-table` grows one table by `elements`.
const FOUR_MEMORIES: &str = r#"(component
  (core module $grower
    (memory 1)
    (table 1 funcref)
    (func (export "grow") (param i32) (result i32)
      (if (i32.eq (memory.grow (local.get 0)) (i32.const -1)) (then unreachable))
      (memory.size))
    (func (export "grow-table") (param i32) (result i32)
      (if (i32.eq (table.grow (ref.null func) (local.get 0)) (i32.const -1)) (then unreachable))
      (table.size)))
  (core instance $a (instantiate $grower))
  (core instance $b (instantiate $grower))
  (core instance $c (instantiate $grower))
  (core instance $d (instantiate $grower))
  (core module $main
    (import "a" "grow" (func $a (param i32) (result i32)))
    (import "b" "grow" (func $b (param i32) (result i32)))
    (import "c" "grow" (func $c (param i32) (result i32)))
    (import "d" "grow" (func $d (param i32) (result i32)))
    (import "a" "grow-table" (func $table (param i32) (result i32)))
    (func (export "grow-each") (param i32) (result i32)
      (i32.add
        (i32.add (call $a (local.get 0)) (call $b (local.get 0)))
        (i32.add (call $c (local.get 0)) (call $d (local.get 0)))))
    (func (export "grow-table") (param i32) (result i32) (call $table (local.get 0))))
  (core instance $main (instantiate $main
    (with "a" (instance $a)) (with "b" (instance $b))
    (with "c" (instance $c)) (with "d" (instance $d))))
  (func (export "grow-each") (param "pages" u32) (result u32)
    (canon lift (core func $main "grow-each")))
  (func (export "grow-table") (param "elements" u32) (result u32)
    (canon lift (core func $main "grow-table"))))"#;

#[test]
fn max_memory_bytes_counts_every_memory_and_table_of_a_process_together() {
    let project = hostile_project(
        &[],
        r#"process.spawn_monitored("app:grow", "app:processes", 40)
print("compute still runs", process.exec("app:compute", "app:processes", 6, 7))
print(process.receive("10s").error)
print("within the limit", process.exec("app:grow", "app:processes", 16))
"#,
    );
    let component = wat::parse_str(FOUR_MEMORIES).unwrap();
    project.write("wasm/grow.wasm", &component);
    let hash = support::sha256(&component);
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    // 8 MiB for the process: 41 pages (2.6 MiB) per memory is far below it, four of them
    // together are not.
    let grow = wasm_entry("grow", "grow.wasm", &hash, "grow-each", Some("grow"))
        + "    limits: {max_memory_bytes: 8388608}\n";
    let table = wasm_entry("table", "grow.wasm", &hash, "grow-table", Some("table"))
        + "    limits: {max_memory_bytes: 4194304}\n";
    project.write("src/app.yaml", yaml + &grow + &table);
    // Four memories of one page and four one-element tables (8 bytes an element) to start;
    // the fourth memory's growth would bring the process to 4 × 41 pages + 32 bytes.
    let needed = 4 * 41 * 65536 + 32;
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        format!(
            "compute still runs\t42\tnil\n`app:grow` failed: it needed {needed} bytes of memory (all its memories and tables together), over its limit of 8388608 bytes (limits.max_memory_bytes); the guest trapped: wasm `unreachable` instruction executed\nwithin the limit\t68\tnil\n"
        )
    );
    // A table counts too: 600,000 elements take 4.8 MB, over a 4 MiB limit.
    let err = project
        .wippy(&["run", "table", "600000"])
        .failed()
        .to_string();
    assert!(
        err.starts_with("error: `app:table` failed: it needed 5062176 bytes of memory (all its memories and tables together), over its limit of 4194304 bytes (limits.max_memory_bytes)"),
        "{err}"
    );
    assert_eq!(project.wippy(&["run", "table", "100000"]).ok(), "100001\n");
}

/// `hoard-files` entries of the hostile guest with a folder mounted at /data: `hoard` and
/// `open` with the default cap on open handles, `small` with a cap of 64.
fn hoarding_project(script: &str) -> Project {
    let project = hostile_project(&[], script);
    let hostile =
        support::sha256(&std::fs::read(project.root().join("wasm/hostile.wasm")).unwrap());
    project.write("data/file.txt", "x");
    let mut yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    yaml += "  - {name: data, kind: fs.directory, directory: data}\n";
    for (name, extra) in [
        ("hoard", ""),
        ("open", ""),
        ("small", "    limits: {max_open_handles: 64}\n"),
    ] {
        let entry = wasm_entry(name, "hostile.wasm", &hostile, "hoard-files", Some(name));
        yaml += &with_imports(entry, &["wasi:filesystem"]);
        yaml += "    wasi: {mounts: [{fs: data, guest: /data, read_only: true}]}\n";
        yaml += extra;
    }
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn a_guest_hoarding_file_handles_is_stopped_at_max_open_handles_and_others_still_open_files() {
    let project = hoarding_project(
        r#"for i = 1, 4 do process.spawn_monitored("app:hoard", "app:processes", "/data/file.txt", 100000) end
print("another process opens files", process.exec("app:open", "app:processes", "/data/file.txt", 500))
local errors = {}
for _ = 1, 4 do
  local event = process.receive("60s")
  errors[#errors + 1] = event.error
end
for i = 2, 4 do assert(errors[i] == errors[1], errors[i]) end
print(errors[1])
print("processes still start", process.exec("app:compute", "app:processes", 6, 7))
"#,
    );
    let out = project.wippy(&["run", "main"]);
    let stdout = out.ok();
    assert!(
        stdout.starts_with("another process opens files\t500\tnil\n`app:hoard` failed: it already held 1024 open handles (files, directories, sockets, streams and the like), its limit (limits.max_open_handles), and asked for another"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("; close handles it no longer needs, or raise the limit\nprocesses still start\t42\tnil\n"),
        "{stdout}"
    );
    // The cap is the entry's own.
    let err = project
        .wippy(&["run", "small", "/data/file.txt", "100"])
        .failed()
        .to_string();
    assert!(
        err.starts_with("error: `app:small` failed: it already held 64 open handles"),
        "{err}"
    );
    assert_eq!(
        project
            .wippy(&["run", "small", "/data/file.txt", "50"])
            .ok(),
        "50\n"
    );
}

#[test]
fn the_node_raises_a_low_soft_limit_on_open_files() {
    let project = hoarding_project("");
    // Started with a soft limit of 256 open files (the hard limit stays), the node raises it,
    // so one process can hold 600 files under its own cap of 1,024.
    let run = std::process::Command::new("sh")
        .args(["-c", "ulimit -Sn 256 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_wippy"))
        .arg("-C")
        .arg(project.root())
        .args(["run", "open", "/data/file.txt", "600"])
        .env("WIPPY_CACHE_DIR", project.cache_dir())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "600\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A preview 1 core module: `hoard(n)` opens `file.txt` in the first mount (fd 3) `n` times
/// without closing, and returns how many opens succeeded.
const HOARD_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "file.txt")
  (func (export "hoard") (param $n i32) (result i32)
    (local $opened i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $opened) (local.get $n)))
        (br_if $done (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 8)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
        (local.set $opened (i32.add (local.get $opened) (i32.const 1)))
        (br $next)))
    (local.get $opened)))"#;

#[test]
fn max_open_handles_also_bounds_a_preview1_core_module() {
    let project = hoarding_project(
        r#"local funcs = require("funcs")
print(funcs.call("app:core_hoard", 100000))
print(funcs.call("app:core_hoard", 100))
"#,
    );
    project.write("src/hoard.wat", HOARD_WAT);
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml + "  - {name: core_hoard, kind: function.wat, source: file://hoard.wat, wit: \"hoard: func(n: s32) -> s32;\", imports: [wasi1], wasi: {mounts: [{fs: data, guest: /data, read_only: true}]}, limits: {max_open_handles: 256}}\n",
    );
    let out = project.wippy(&["run", "main"]);
    assert!(
        out.ok().starts_with("nil\t`app:core_hoard` failed: it already held 256 open handles (files, directories, sockets, streams and the like), its limit (limits.max_open_handles), and asked for another"),
        "{out:#?}"
    );
    assert!(out.ok().ends_with("\n100\tnil\n"), "{out:#?}");
}
