//! Hot reload as a developer sees it: `wippy run --watch` runs an app with one Lua service;
//! its script is saved again and again, each time at a random moment (the poll's phase
//! differs), and the time from the write to the new process's first line is taken. Prints
//! one table row: median, fastest and slowest.
//!
//! `cargo bench --bench reload` (env: `RELOAD_SAVES` = saves (20)). The log is read every
//! 10 ms, so each figure is up to 10 ms late.

mod fixture;

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use fixture::support::Project;
use fixture::support::server::Server;

const APP: &str = r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: ticker, kind: process.lua, source: file://ticker.lua, method: main}
  - {name: ticking, kind: process.service, process: ticker, host: processes, lifecycle: {auto_start: true}}
"#;

/// Prints that it is up, then waits for CANCEL.
fn ticker(version: usize) -> String {
    format!(
        "local function main()\n  print(\"ticker v{version} up\")\n  process.events():receive()\n  return 0\nend\nreturn {{main = main}}\n"
    )
}

/// A pause of 300–800 ms, different each time.
fn random_pause() -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(300 + random % 500)
}

fn main() {
    let saves: usize = (std::env::var("RELOAD_SAVES").ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let project = Project::new();
    project.write("src/app.yaml", APP);
    project.write("src/ticker.lua", ticker(0));
    let mut app = Server::spawn(&project, &["--watch"]);
    app.wait_for("ticker v0 up");
    let mut took: Vec<f64> = Vec::with_capacity(saves);
    for version in 1..=saves {
        std::thread::sleep(random_pause());
        let saved = Instant::now();
        project.write("src/ticker.lua", ticker(version));
        app.wait_for(&format!("ticker v{version} up"));
        took.push(saved.elapsed().as_secs_f64() * 1e3);
    }
    app.stop();
    took.sort_by(f64::total_cmp);
    println!(
        "| hot reload: a service's Lua script saved → its new process's first line (`wippy run --watch`, {saves} saves at random moments) | median {:.0} ms, fastest {:.0} ms, slowest {:.0} ms | ≤ 1 s |",
        took[took.len() / 2],
        took[0],
        took[took.len() - 1]
    );
}
