//! Processes across nodes, through a real `nats-server` with each node an OS process of its
//! own: spawns on another node, monitors and links that cross nodes, what a killed or
//! restarted node leaves its watchers, names across the cluster, and WASM actors doing the
//! same through `wippy:process`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::Project;
use support::nats::{Nats, leader_among, names_app, node, pid_in};
use support::server::Server;

/// Long-lived processes on every node, a function-like worker, and commands that reach
/// across nodes.
fn remote_app() -> Project {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - name: sleeper
    kind: process.lua
    source: |
      print("sleeping as " .. process.pid())
      process.events():receive()
  - {name: sleep, kind: process.service, process: sleeper, host: processes, lifecycle: {auto_start: true}}
  - name: double
    kind: process.lua
    source: |
      local function main(n)
        if type(n) ~= "number" then error("not a number: " .. tostring(n)) end
        return n * 2
      end
      return {main = main}
    method: main
  - name: remote
    kind: process.lua
    source: |
      local function show(e)
        print(e.kind .. " from " .. e.from .. ": " .. tostring(e.value) .. " / " .. tostring(e.error))
      end
      local function main(target)
        process.set_options({trap_links = true})
        local events = process.events()
        local pid, err = process.spawn_monitored("app:double", "app:processes@b", 21)
        print("spawned " .. tostring(pid) .. " " .. tostring(err))
        show(events:receive())
        process.spawn_monitored("app:double", "app:processes@b", "x")
        show(events:receive())
        local linked = process.with_context({}):spawn_linked("app:double", "app:processes@b", "y")
        print("linked " .. tostring(linked))
        show(events:receive())
        local _, missing = process.spawn("app:nothing", "app:processes@b")
        print("missing: " .. tostring(missing))
        local _, nowhere = process.spawn("app:double", "app:processes@nowhere", 1)
        print("nowhere: " .. tostring(nowhere))
        local value, failed = process.exec("app:double", "app:processes@b", 4)
        local _, why = process.exec("app:double", "app:processes@b", "z")
        print("exec: " .. tostring(value) .. " " .. tostring(failed) .. ", then " .. tostring(why))
        assert(process.monitor(target))
        assert(process.link(target))
        assert(process.terminate(target))
        show(events:receive())
        show(events:receive())
        assert(process.monitor(target))
        show(events:receive())
        assert(process.link(target))
        show(events:receive())
        assert(process.monitor("{nowhere@app:processes|0x00001}"))
        show(events:receive())
        return "done"
      end
      return {main = main}
    method: main
    meta: {command: {name: remote}}
  - name: watch
    kind: process.lua
    source: |
      local function main(target)
        process.set_options({trap_links = true})
        local events = process.events()
        assert(process.monitor(target))
        assert(process.link(target))
        local child = assert(process.spawn_monitored("app:sleeper", "app:processes@b"))
        print("watching " .. target .. " and " .. child)
        for _ = 1, 3 do
          local e = events:receive()
          print(e.kind .. " from " .. e.from .. ": " .. tostring(e.error))
        end
        events:receive()
      end
      return {main = main}
    method: main
    meta: {command: {name: watch}}
"#,
    );
    project
}

#[test]
fn processes_on_another_node_are_spawned_monitored_and_linked() {
    let Some(nats) = Nats::start() else { return };
    let project = remote_app();
    let mut b = node(&project, &nats, "b");
    let target = pid_in(&b.wait_for("sleeping as {b@app:processes|"));
    let out = nats.command(&project, "s", &["remote", &target]);
    let out = out.ok();
    // (The command's node runs the app's services too: their lines are labelled.)
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('[')).collect();
    // A spawn on `host@node` starts the process there, and its EXIT comes back.
    assert!(
        lines[0].starts_with("spawned {b@app:processes|") && lines[0].ends_with(" nil"),
        "{out}"
    );
    let child = &lines[0]["spawned ".len()..lines[0].len() - " nil".len()];
    assert_eq!(lines[1], format!("pid.exit from {child}: 42 / nil"));
    // A failure comes back as the error of the EXIT, a linked one's as LINK_DOWN.
    assert!(
        lines[2].starts_with("pid.exit from {b@app:processes|")
            && lines[2].contains(": nil / ")
            && lines[2].contains("not a number: x"),
        "{out}"
    );
    assert!(lines[3].starts_with("linked {b@app:processes|"), "{out}");
    assert!(
        lines[4].starts_with("pid.link.down from {b@") && lines[4].contains("not a number: y"),
        "{out}"
    );
    // What cannot start says why, as a local spawn does.
    assert_eq!(
        lines[5],
        "missing: no process entry `app:nothing` in the registry"
    );
    assert!(
        lines[6].starts_with("nowhere: no node `nowhere` in the cluster (its nodes: s, b)"),
        "{out}"
    );
    // `exec` on another node: its value, or its error.
    assert!(
        lines[7].starts_with("exec: 8 nil, then `app:double` failed:")
            && lines[7].ends_with("not a number: z"),
        "{out}"
    );
    // A monitor and a link on a process of another node fire as local ones do.
    assert_eq!(
        lines[8],
        format!("pid.exit from {target}: nil / terminated")
    );
    assert_eq!(
        lines[9],
        format!("pid.link.down from {target}: nil / terminated")
    );
    // Watching or linking one that is not running answers at once, as in Erlang.
    let gone = format!("process {target} is not running");
    assert_eq!(lines[10], format!("pid.exit from {target}: nil / {gone}"));
    assert_eq!(
        lines[11],
        format!("pid.link.down from {target}: nil / {gone}")
    );
    // A process of a node not in the cluster: at once, as Erlang's `noconnection`.
    assert_eq!(
        lines[12],
        "pid.exit from {nowhere@app:processes|0x00001}: nil / node `nowhere` is not in the cluster"
    );
    assert_eq!(lines[13], "done");
    b.wait_for("service `app:sleep` failed (terminated)");
}

/// Node `b`, and a command node `w` that monitors and links b's sleeper (`target`) and a
/// child it spawned there: b, the target, the watcher, the child.
fn watching_b(project: &Project, nats: &Nats) -> (Server, String, Server, String) {
    let mut b = node(project, nats, "b");
    let target = pid_in(&b.wait_for("sleeping as {b@app:processes|"));
    let mut watcher = nats.spawn_command(project, "w", &["watch", &target]);
    let line = watcher.wait_for(&format!("watching {target} and {{b@app:processes|"));
    (b, target, watcher, pid_in(&line))
}

#[test]
fn a_killed_node_fires_the_monitors_and_links_of_its_processes_within_three_seconds() {
    let Some(nats) = Nats::start() else { return };
    let project = remote_app();
    let (mut b, target, mut watcher, child) = watching_b(&project, &nats);
    b.kill();
    let killed = Instant::now();
    let lost = "node `b` is lost: nothing heard from it for 2s";
    watcher.wait_for(&format!("pid.exit from {target}: {lost}"));
    watcher.wait_for(&format!("pid.exit from {child}: {lost}"));
    watcher.wait_for(&format!("pid.link.down from {target}: {lost}"));
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "took {:?}",
        killed.elapsed()
    );
    watcher.kill();
}

#[test]
fn a_cluster_wide_name_is_taken_once_and_released_with_its_process_or_node() {
    let Some(nats) = Nats::start() else { return };
    let project = names_app();
    let mut nodes = BTreeMap::new();
    for name in ["a", "b", "c"] {
        nodes.insert(name, node(&project, &nats, name));
    }
    let (first, pid) = leader_among(&nodes, 2);
    // The followers were told who holds it; `LOCAL` names (`svc` on every node) do not clash.
    for (name, server) in nodes.iter_mut() {
        if *name != first {
            server.wait_for(&format!("is already registered by {pid} (in the cluster)"));
        }
    }
    // Any node looks the name up and sends to it.
    let ping = nats.command(&project, "s", &["ping"]);
    let out = ping.ok();
    assert!(
        out.contains(&format!("leader {pid}, svc here {{s@app:processes|")),
        "{out}"
    );
    let mut leader = nodes.remove(first.as_str()).unwrap();
    leader.wait_for("pinged by {s@wippy:terminal|");

    // Its node killed, the name is released: another contender takes it.
    leader.kill();
    let killed = Instant::now();
    let (second, _) = leader_among(&nodes, 1);
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "took {:?}",
        killed.elapsed()
    );
    // Its process ended (its node stopped), the name goes at once to the last one.
    let (code, log) = nodes.remove(second.as_str()).unwrap().stop();
    assert_eq!(code, Some(0), "{log}");
    let (third, _) = leader_among(&nodes, 0);
    assert!(![first, second].contains(&third), "{third}");
}

#[test]
fn wasm_actors_reach_across_nodes_through_the_same_wit() {
    let Some(nats) = Nats::start() else { return };
    let project = Project::new();
    let actor = project.add_guest("actor");
    let values = project.add_guest("values");
    let mut yaml = support::HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    yaml += &support::actor_entries(
        &actor,
        &[
            ("echo", "echo"),
            ("supervisor", "supervise"),
            ("pinger", "ping"),
        ],
    );
    yaml += &support::with_imports(
        support::wasm_entry("crash", "values.wasm", &values, "kinds#crash", None),
        &["wasi:cli"],
    );
    yaml += "  - name: main\n    kind: process.lua\n    meta: {command: {name: main}}\n    source: file://main.lua\n";
    project.write("src/app.yaml", yaml);
    project.write(
        "src/main.lua",
        r#"-- A WASM supervisor here restarts a crashing WASM worker on node b: its EXITs come back.
print(process.exec("app:supervisor", "app:processes", "app:crash", "app:processes@b", '["again"]', 2))
-- A WASM echo on node b, pinged by a WASM actor here: its replies find their way back.
local echo = assert(process.spawn_monitored("app:echo", "app:processes@b"))
print(process.exec("app:pinger", "app:processes", echo, 100))
process.send(echo, "stop")
local exit = process.receive("5s")
print(exit.type, exit.from == echo, exit.value)
"#,
    );
    let _b = node(&project, &nats, "b");
    let out = nats.command(&project, "s", &["main"]);
    assert_eq!(out.ok(), "3\tnil\n100\tnil\nEXIT\ttrue\t100\n", "{out:#?}");
}

#[test]
fn a_node_started_again_at_once_is_not_taken_for_its_earlier_run() {
    let Some(nats) = Nats::start() else { return };
    let project = remote_app();
    let (mut b, target, mut watcher, _) = watching_b(&project, &nats);
    // Killed and back under the same name before it could be found lost: its new run has
    // pids like the old ones, but what watched the old ones hears that they are gone.
    b.kill();
    let mut again = node(&project, &nats, "b");
    again.wait_for("sleeping as {b@app:processes|");
    let gone = "node `b` started again";
    watcher.wait_for(&format!("pid.exit from {target}: {gone}"));
    watcher.wait_for(&format!("pid.link.down from {target}: {gone}"));
    watcher.kill();
}
