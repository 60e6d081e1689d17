//! Nodes that form a cluster through a real `nats-server`: each `wippy run --cluster URL
//! --node NAME` is an OS process of its own.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::Project;
use support::nats::Nats;
use support::server::Server;

/// A host, and a service that prints the cluster as Lua's `system` module sees it once it
/// has three members.
fn app() -> Project {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - name: watcher
    kind: process.lua
    modules: [system, time]
    source: |
      while system.cluster.size() < 3 do time.sleep("50ms") end
      local ids = {}
      for _, member in ipairs(system.cluster.members()) do
        ids[#ids + 1] = member.id .. (member.is_local and "*" or "")
      end
      print("members of " .. system.node.id() .. ": " .. table.concat(ids, " ") .. " as " .. process.pid())
      process.events():receive()
  - {name: watch, kind: process.service, process: watcher, host: processes, lifecycle: {auto_start: true}}
"#,
    );
    project
}

fn nodes(project: &Project, nats: &Nats) -> Vec<String> {
    let out = project.wippy(&["cluster", "nodes", "--cluster", &nats.url()]);
    out.ok().lines().map(str::to_string).collect()
}

fn node(project: &Project, nats: &Nats, name: &str) -> Server {
    let mut server = Server::spawn(project, &["--cluster", &nats.url(), "--node", name]);
    server.wait_for(&format!("node `{name}` joined the cluster at"));
    server
}

#[test]
fn nodes_see_each_other_and_a_killed_node_is_lost_within_three_seconds() {
    let Some(nats) = Nats::start() else { return };
    let project = app();
    let mut a = node(&project, &nats, "a");
    let mut b = node(&project, &nats, "b");
    let c = node(&project, &nats, "c");
    a.wait_for("node `b` joined the cluster");
    a.wait_for("node `c` joined the cluster");
    assert_eq!(nodes(&project, &nats), ["a", "b", "c"]);
    // Lua sees the cluster through Wippy's `system` module, this node first.
    // Its pids name the node they run on, as Wippy writes them.
    a.wait_for("members of a: a* b c as {a@app:processes|");
    b.wait_for("members of b: b* a c as {b@app:processes|");

    // A node that stops says so: the others drop it at once.
    let (code, log) = c.stop();
    assert_eq!(code, Some(0), "{log}");
    a.wait_for("node `c` left the cluster");

    // A node killed outright is noticed by its silence.
    b.kill();
    let killed = Instant::now();
    a.wait_for("node `b` is lost: nothing heard from it for 2s");
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "took {:?}",
        killed.elapsed()
    );
    assert_eq!(nodes(&project, &nats), ["a"]);
}

#[test]
fn a_name_is_taken_once_and_a_missing_server_is_a_clear_error() {
    let Some(nats) = Nats::start() else { return };
    let project = app();
    let _a = node(&project, &nats, "a");
    let url = nats.url();
    let twice = project.wippy(&["run", "--cluster", &url, "--node", "a"]);
    assert_eq!(
        twice.failed(),
        format!(
            "error: a node named `a` is already in the cluster at {url}; give this one another `--node`\n"
        )
    );
    let nowhere = project.wippy(&["run", "--cluster", "nats://127.0.0.1:1", "--node", "x"]);
    let error = nowhere.failed();
    assert!(
        error.contains("cannot join the cluster at nats://127.0.0.1:1")
            && error.contains("start a NATS server there"),
        "{error}"
    );
    let bad = project.wippy(&["run", "--cluster", &url, "--node", "a.b"]);
    assert!(bad.failed().contains("`a.b` is not a node name"), "{bad:?}");
}

#[test]
fn nodes_carry_on_when_the_nats_server_restarts() {
    let Some(mut nats) = Nats::start() else {
        return;
    };
    let project = names_app();
    let mut a = node(&project, &nats, "a");
    let mut servers = BTreeMap::from([("b", node(&project, &nats, "b"))]);
    a.wait_for("node `b` joined the cluster");
    servers.insert("a", a);
    let (_, leader) = leader_among(&servers, 1);
    nats.restart();
    servers
        .get_mut("a")
        .unwrap()
        .wait_for("node `a` lost its NATS server; reconnecting");
    // Reconnected by themselves, both answer the roll call again.
    let started = Instant::now();
    while nodes(&project, &nats) != ["a", "b"] {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the nodes did not come back:\n{}",
            servers["a"].log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Traffic resumes: the cluster-wide name (kept by the server) still leads to its holder,
    // and a message reaches it from a node that joined after the restart.
    let url = nats.url();
    let ping = project.wippy(&["run", "--cluster", &url, "--node", "s", "ping"]);
    assert!(ping.ok().contains(&format!("leader {leader}")), "{ping:?}");
    let holder = servers
        .values_mut()
        .find(|n| n.log().contains("leader is "));
    holder.unwrap().wait_for("pinged by {s@wippy:terminal|");
}

#[test]
fn the_cluster_can_come_from_the_project_lock_file() {
    let Some(nats) = Nats::start() else { return };
    let project = app();
    project.write(
        "wippy.lock",
        format!(
            "directories: {{src: src}}\ncluster: {{url: \"{}\", node: from-lock}}\n",
            nats.url()
        ),
    );
    let mut node = Server::spawn(&project, &[]);
    node.wait_for("node `from-lock` joined the cluster at");
    assert_eq!(nodes(&project, &nats), ["from-lock"]);
    // The command line wins; half a configuration is an error that says what is missing.
    let half = project.wippy(&["run", "--cluster", "nats://127.0.0.1:1", "--node", "x"]);
    assert!(
        half.failed()
            .contains("cannot join the cluster at nats://127.0.0.1:1"),
        "{half:?}"
    );
    project.write("wippy.lock", "cluster: {url: \"nats://127.0.0.1:4222\"}\n");
    let error = project.wippy(&["run"]).failed().to_string();
    assert!(
        error.contains("needs this node's name: `--node NAME`"),
        "{error}"
    );
}

#[test]
fn a_node_in_no_cluster_is_a_cluster_of_one() {
    let project = support::lua_project(
        "",
        "local m = system.cluster.members()\nprint(system.node.id(), system.cluster.size(), #m, m[1].id, m[1].is_local)\n",
    );
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace("modules: [time, funcs]", "modules: [time, funcs, system]"),
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "local\t1\t1\tlocal\ttrue\n"
    );
}

#[test]
fn a_message_reaches_a_process_on_another_node() {
    let Some(nats) = Nats::start() else { return };
    let project = Project::new();
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - name: listener
    kind: process.lua
    source: |
      print("listening as " .. process.pid())
      for _ = 1, 2 do
        local m = process.inbox():receive()
        print("got " .. m:topic() .. " " .. m:payload():data().n .. " from " .. tostring(m:from()))
      end
      local e = process.events():receive()
      print("event " .. e.kind .. " " .. tostring(e.reason) .. " from " .. tostring(e.from))
      -- Fail, so the service starts a new process (a finished one is not restarted).
      error("cancelled")
  - {name: listen, kind: process.service, process: listener, host: processes, lifecycle: {auto_start: true}}
  - name: sender
    kind: process.lua
    source: |
      local function main(to)
        for i = 1, 2 do
          local ok, err = process.send(to, "hello", {n = i})
          if not ok then return nil, err end
        end
        return "sent as " .. process.pid()
      end
      return {main = main}
    method: main
    meta: {command: {name: send}}
  - name: stopper
    kind: process.lua
    source: |
      local function main(how, to)
        local ok, err
        if how == "cancel" then ok, err = process.cancel(to, "bye") else ok, err = process.terminate(to) end
        if not ok then return nil, err end
        return how .. " sent"
      end
      return {main = main}
    method: main
    meta: {command: {name: stop}}
"#,
    );
    let mut b = node(&project, &nats, "b");
    let line = b.wait_for("listening as {b@app:processes|");
    let pid = &line[line.rfind('{').unwrap()..];
    // A command joins the cluster as a node of its own for as long as it runs.
    let sent = project.wippy(&["run", "--cluster", &nats.url(), "--node", "s", "send", pid]);
    assert!(sent.ok().contains("sent as {s@wippy:terminal|"), "{sent:?}");
    b.wait_for("got hello 1 from {s@");
    b.wait_for("got hello 2 from {s@");
    // A CANCEL crosses too: the listener sees it, with who sent it and why.
    let url = nats.url();
    let cancel = [
        "run",
        "--cluster",
        url.as_str(),
        "--node",
        "s",
        "stop",
        "cancel",
        pid,
    ];
    assert!(project.wippy(&cancel).ok().contains("cancel sent"));
    b.wait_for("event pid.cancel bye from {s@wippy:terminal|");
    b.wait_for("service `app:listen` failed");
    // And a terminate: the service's next process is ended from the other node.
    let line = b.wait_for_nth("listening as {b@app:processes|", 2);
    let second = &line[line.rfind('{').unwrap()..];
    let terminate = [
        "run",
        "--cluster",
        url.as_str(),
        "--node",
        "s",
        "stop",
        "terminate",
        second,
    ];
    assert!(project.wippy(&terminate).ok().contains("terminate sent"));
    b.wait_for("service `app:listen` failed (terminated)");
    // Sending to a node that is not there is no error (at most once), as in Erlang; a pid of
    // another node from a node in no cluster is.
    let alone = project.wippy(&["run", "send", pid]);
    assert!(
        alone
            .failed()
            .contains("runs on node `b`, and this node is in no cluster"),
        "{alone:?}"
    );
}

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
        local _, exec = process.exec("app:double", "app:processes@b", 1)
        print("exec: " .. tostring(exec))
        assert(process.monitor(target))
        assert(process.link(target))
        assert(process.terminate(target))
        show(events:receive())
        show(events:receive())
        assert(process.monitor(target))
        show(events:receive())
        assert(process.link(target))
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

/// The pid at the end of a `sleeping as {…}` line.
fn pid_in(line: &str) -> String {
    line[line.rfind('{').unwrap()..].to_string()
}

#[test]
fn processes_on_another_node_are_spawned_monitored_and_linked() {
    let Some(nats) = Nats::start() else { return };
    let project = remote_app();
    let mut b = node(&project, &nats, "b");
    let target = pid_in(&b.wait_for("sleeping as {b@app:processes|"));
    let url = nats.url();
    let run = ["run", "--cluster", &url, "--node", "s", "remote", &target];
    let out = project.wippy(&run);
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
    assert!(
        lines[7].starts_with("exec: `app:processes@b` is a host of node `b`: only"),
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
    assert_eq!(lines[12], "done");
    b.wait_for("service `app:sleep` failed (terminated)");
}

#[test]
fn a_killed_node_fires_the_monitors_and_links_of_its_processes_within_three_seconds() {
    let Some(nats) = Nats::start() else { return };
    let project = remote_app();
    let mut b = node(&project, &nats, "b");
    let target = pid_in(&b.wait_for("sleeping as {b@app:processes|"));
    let url = nats.url();
    let mut watcher = Server::spawn(
        &project,
        &["--cluster", &url, "--node", "w", "watch", &target],
    );
    let line = watcher.wait_for(&format!("watching {target} and {{b@app:processes|"));
    let child = pid_in(&line);
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

/// On every node, a contender for the cluster-wide name `leader` (it retries until it has
/// it, then answers pings) beside a node-local name every node takes.
fn names_app() -> Project {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - name: contender
    kind: process.lua
    modules: [system, time]
    source: |
      local me = system.node.id()
      assert(process.registry.register("svc"))
      local said
      while true do
        local ok, err = process.registry.register("leader", nil, process.registry.CONSISTENT)
        if ok then break end
        if not said then print("follower " .. me .. ": " .. tostring(err)); said = true end
        time.sleep("50ms")
      end
      print("leader is " .. me .. " as " .. process.pid())
      while true do
        local m = process.receive()
        if type(m) == "table" then return end
        print("pinged by " .. tostring(m:from()))
      end
  - {name: contend, kind: process.service, process: contender, host: processes, lifecycle: {auto_start: true}}
  - name: ping
    kind: process.lua
    modules: [time]
    source: |
      local function main()
        local leader, err = process.registry.lookup("leader")
        if not leader then return nil, err end
        assert(process.send("leader", "ping", 1))
        -- This node's own contender (a service, started beside the command) names itself.
        while not process.registry.lookup("svc") do time.sleep("10ms") end
        local mine = process.registry.lookup("svc")
        return "leader " .. leader .. ", svc here " .. mine
      end
      return {main = main}
    method: main
    meta: {command: {name: ping}}
"#,
    );
    project
}

/// The node (of `nodes`) whose log says it took the name, once `followers` others say they
/// follow, and the pid that holds it.
fn leader_among(nodes: &BTreeMap<&str, Server>, followers: usize) -> (String, String) {
    let started = Instant::now();
    loop {
        let logs: Vec<String> = nodes.values().map(Server::log).collect();
        let following = logs.iter().filter(|l| l.contains("follower ")).count();
        let leaders: Vec<&str> = (logs.iter())
            .flat_map(|l| l.lines())
            .filter(|l| l.contains("leader is "))
            .collect();
        if following >= followers && !leaders.is_empty() {
            assert_eq!(leaders.len(), 1, "two leaders:\n{}", logs.join("\n---\n"));
            let line = leaders[0];
            let node = line.split("leader is ").nth(1).unwrap();
            let node = node.split(' ').next().unwrap().to_string();
            return (node, pid_in(line));
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no leader:\n{}",
            logs.join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let url = nats.url();
    let ping = project.wippy(&["run", "--cluster", &url, "--node", "s", "ping"]);
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
fn a_flood_to_a_node_that_does_not_keep_up_is_refused_not_lost() {
    let Some(nats) = Nats::start() else { return };
    let project = Project::new();
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host, host: {max_mailbox_messages: 1000000}}
  - name: counter
    kind: process.lua
    source: |
      assert(process.registry.register("counter", nil, process.registry.CONSISTENT))
      print("counter is ready")
      local inbox, n = process.inbox(), 0
      while true do
        local m = inbox:receive()
        if m:topic() == "count" then process.send(m:from(), "count", n) else n = n + 1 end
      end
  - {name: counters, kind: process.service, process: counter, host: processes, lifecycle: {auto_start: true}}
  - name: flood
    kind: process.lua
    modules: [time]
    method: main
    meta: {command: {name: flood}}
    source: |
      local function main()
        local sent, refused, why = 0, 0, nil
        for i = 1, 40000 do
          local ok, err = process.send("counter", "m", i)
          if ok then sent = sent + 1 else refused = refused + 1; why = why or err end
        end
        print("refused " .. refused .. " (" .. tostring(why) .. ", retryable: " .. tostring(why and why:retryable()) .. ")")
        -- Once the receiver catches up, sends go through again.
        while not process.send("counter", "count") do time.sleep("20ms") end
        print("sent " .. sent .. ", received " .. process.inbox():receive():payload():data())
      end
      return {main = main}
"#,
    );
    let mut b = node(&project, &nats, "b");
    b.wait_for("counter is ready");
    // Node b takes nothing while it is stopped: past the window, the sender is told.
    b.signal(libc::SIGSTOP);
    let url = nats.url();
    let mut flood = Server::spawn(&project, &["--cluster", &url, "--node", "s", "flood"]);
    let refused = flood.wait_for("refused ");
    b.signal(libc::SIGCONT);
    assert!(
        refused.starts_with("refused 23616 (node `b` has not yet taken the last 16384 messages this node sent it: it is not keeping up")
            && refused.ends_with("retryable: true)"),
        "{refused}"
    );
    // Nothing sent was lost on the way.
    let last = flood.wait_for(", received ");
    assert_eq!(last, "sent 16384, received 16384");
    assert!(
        !b.log().contains("not keeping up with the letters"),
        "{}",
        b.log()
    );
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
    let url = nats.url();
    let out = project.wippy(&["run", "--cluster", &url, "--node", "s", "main"]);
    assert_eq!(out.ok(), "3\tnil\n100\tnil\nEXIT\ttrue\t100\n", "{out:#?}");
}
