//! `process.service`: a crashing WASM service is restarted with growing delays and given up
//! after `max_attempts`; through the library, with a real engine and guest.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{HEADER, Project, wasm_entry, with_imports};
use wippy::engine::{ArtifactCache, Runtime};
use wippy::guest::RuntimeOutput;
use wippy::lua::LuaScripts;
use wippy::process::{Node, start_services};
use wippy::registry::Registry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_service_is_restarted_with_backoff_then_given_up() {
    let project = Project::new();
    let values = project.add_guest("values");
    let hello = project.add_guest("hello");
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    yaml += &with_imports(
        wasm_entry("crasher", "values.wasm", &values, "kinds#crash", None),
        &["wasi:cli"],
    );
    yaml += &wasm_entry("steady", "hello.wasm", &hello, "compute", None);
    yaml += "  - name: crashing\n    kind: process.service\n    process: crasher\n    host: processes\n    input: [\"service crash\"]\n";
    yaml += "    lifecycle: {auto_start: true, restart: {initial_delay: 50ms, max_delay: 1s, backoff_factor: 2, jitter: 0, max_attempts: 3}}\n";
    yaml += "  - {name: finishing, kind: process.service, process: steady, host: processes, input: [2, 3], lifecycle: {auto_start: true}}\n";
    yaml += "  - {name: manual, kind: process.service, process: steady, host: processes, input: [1, 1]}\n";
    project.write("src/app.yaml", yaml);

    let registry = Arc::new(Registry::load(project.root()).unwrap());
    let runtime = Arc::new(Runtime::new(ArtifactCache::at(project.cache_dir())).unwrap());
    let node = Node::new(
        registry,
        runtime,
        Arc::new(RuntimeOutput),
        Arc::new(LuaScripts),
    );
    let services = start_services(&node, Duration::from_secs(1)).histories();
    let names: Vec<String> = services.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(
        names,
        ["app:crashing", "app:finishing"],
        "only auto_start services start"
    );
    let crashing = services[0].1.clone();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !crashing.lock().unwrap().gave_up {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the supervisor never gave up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let history = crashing.lock().unwrap();
    assert_eq!(
        history.runs.len(),
        4,
        "one run and max_attempts = 3 restarts: {history:#?}"
    );
    for run in &history.runs {
        let error = run.error.as_deref().unwrap();
        assert!(error.contains("the guest trapped"), "{error}");
    }
    let gaps: Vec<Duration> = history
        .runs
        .windows(2)
        .map(|w| w[1].started - w[0].ended)
        .collect();
    for (gap, expected) in gaps.iter().zip([50, 100, 200]) {
        assert!(*gap >= Duration::from_millis(expected), "gaps {gaps:?}");
        assert!(
            *gap < Duration::from_millis(expected + 500),
            "gaps {gaps:?}"
        );
    }
    assert!(
        gaps[0] < gaps[1] && gaps[1] < gaps[2],
        "delays grow: {gaps:?}"
    );

    let finishing = services[1].1.lock().unwrap();
    assert_eq!(
        finishing.runs.len(),
        1,
        "a service that finishes is not restarted"
    );
    assert!(finishing.runs[0].error.is_none());
    assert_eq!(node.process_count(), 0);
}
