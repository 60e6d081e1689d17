//! Nodes that form a cluster through a real `nats-server`: each `wippy run --cluster URL
//! --node NAME` is an OS process of its own.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::Project;
use support::nats::{Nats, leader_among, names_app, node, nodes};
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
    let ping = nats.command(&project, "s", &["ping"]);
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
        r#"local m = system.cluster.members()
print(system.node.id(), system.cluster.size(), #m, m[1].id, m[1].is_local)
-- Names of the cluster's scopes are the node's own here, and act as any other name.
local r = process.registry
print(r.register("x", nil, r.CONSISTENT), r.lookup("x") == process.pid(), r.unregister("x", r.CONSISTENT), r.lookup("x"))
local ok, err = r.register("y", nil, 7)
print(ok, err:kind(), tostring(err))
-- A host of another node, from a node in no cluster, says what is missing.
local pid, why = process.spawn("app:main", "app:processes@b")
print(pid, tostring(why))
"#,
    );
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.replace("modules: [time, funcs]", "modules: [time, funcs, system]"),
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "local\t1\t1\tlocal\ttrue\n\
         true\ttrue\ttrue\tnil\tname not registered\n\
         nil\tInvalid\t7 is not a scope: use process.registry.LOCAL, EVENTUAL, CONSISTENT or STRONG\n\
         nil\t`app:processes@b` is a host on node `b`, and this node is in no cluster; run it with `--cluster` and `--node`\n"
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
    let sent = nats.command(&project, "s", &["send", pid]);
    assert!(sent.ok().contains("sent as {s@wippy:terminal|"), "{sent:?}");
    b.wait_for("got hello 1 from {s@");
    b.wait_for("got hello 2 from {s@");
    // A CANCEL crosses too: the listener sees it, with who sent it and why.
    let cancel = nats.command(&project, "s", &["stop", "cancel", pid]);
    assert!(cancel.ok().contains("cancel sent"));
    b.wait_for("event pid.cancel bye from {s@wippy:terminal|");
    b.wait_for("service `app:listen` failed");
    // And a terminate: the service's next process is ended from the other node.
    let line = b.wait_for_nth("listening as {b@app:processes|", 2);
    let second = &line[line.rfind('{').unwrap()..];
    let terminate = nats.command(&project, "s", &["stop", "terminate", second]);
    assert!(terminate.ok().contains("terminate sent"));
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
        -- Node b is a member here (it answered the roll call); the test stops it meanwhile.
        print("flooding soon")
        time.sleep("700ms")
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
    // Node b takes nothing while it is stopped (well within the 2 s it would take to be
    // found lost): past the window, the sender is told.
    let mut flood = nats.spawn_command(&project, "s", &["flood"]);
    flood.wait_for("flooding soon");
    b.signal(libc::SIGSTOP);
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
