//! Nodes that form a cluster through a real `nats-server`: each `wippy run --cluster URL
//! --node NAME` is an OS process of its own.

mod support;

use std::time::{Duration, Instant};

use support::Project;
use support::nats::Nats;
use support::server::Server;

fn app() -> Project {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: processes, kind: process.host}\n",
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
    let project = app();
    let mut a = node(&project, &nats, "a");
    let _b = node(&project, &nats, "b");
    a.wait_for("node `b` joined the cluster");
    nats.restart();
    a.wait_for("node `a` lost its NATS server; reconnecting");
    // Reconnected by themselves, both answer the roll call again.
    let started = Instant::now();
    while nodes(&project, &nats) != ["a", "b"] {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the nodes did not come back:\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
