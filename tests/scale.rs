//! Many processes at once, and many one after another, through the library.

mod support;

use std::sync::Arc;

use support::{HEADER, Project, wasm_entry, with_imports};
use wippy::engine::{ArtifactCache, Runtime};
use wippy::guest::RuntimeOutput;
use wippy::lua::LuaScripts;
use wippy::process::{Node, SpawnRequest};
use wippy::registry::{EntryId, Registry};
use wippy::values::Payload;

fn node(project: &Project) -> Node {
    let registry = Arc::new(Registry::load(project.root()).unwrap());
    let runtime = Arc::new(Runtime::new(ArtifactCache::at(project.cache_dir())).unwrap());
    Node::new(
        registry,
        runtime,
        Arc::new(RuntimeOutput),
        Arc::new(LuaScripts),
    )
}

fn project() -> Project {
    let project = Project::new();
    let prober = project.add_guest("prober");
    let hello = project.add_guest("hello");
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    yaml += &with_imports(
        wasm_entry("sleep", "prober.wasm", &prober, "sleep-ms", None),
        &["wasi:clocks"],
    );
    yaml += &wasm_entry("compute", "hello.wasm", &hello, "compute", None);
    project.write("src/app.yaml", yaml);
    project
}

fn request(entry: &str, args: Vec<Payload>) -> SpawnRequest {
    SpawnRequest::new(
        EntryId::new("app", entry),
        EntryId::new("app", "processes"),
        args,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_wasm_processes_sleep_at_once_and_all_complete() {
    const COUNT: usize = 10_000;
    // Each instance takes about 7 memory maps; Linux's default cap of 65530 stops short of
    // 10,000 instances. CI raises it (see .ci/run).
    let max_maps: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if max_maps < COUNT * 8 {
        eprintln!(
            "skipped: vm.max_map_count is {max_maps}; {COUNT} instances need about {}: sysctl -w vm.max_map_count=1048576",
            COUNT * 8
        );
        return;
    }
    let project = project();
    let node = node(&project);
    node.exec(request("sleep", vec![Payload::Integer(1)]))
        .await
        .unwrap();
    let exits: Vec<_> = (0..COUNT)
        .map(|_| {
            node.spawn(request("sleep", vec![Payload::Integer(1500)]))
                .unwrap()
                .exit
        })
        .collect();
    let mut slept = 0;
    for exit in exits {
        let result = exit.await.unwrap();
        assert_eq!(result.error, None);
        assert_eq!(result.value, Payload::Integer(1500));
        slept += 1;
    }
    assert_eq!(slept, COUNT);
    assert_eq!(node.process_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_spawn_exit_cycles_leave_no_process_behind() {
    let project = project();
    let node = node(&project);
    for _ in 0..20 {
        let exits: Vec<_> = (0..1000)
            .map(|_| {
                node.spawn(request(
                    "compute",
                    vec![Payload::Integer(6), Payload::Integer(7)],
                ))
                .unwrap()
                .exit
            })
            .collect();
        for exit in exits {
            assert_eq!(exit.await.unwrap().value, Payload::Integer(42));
        }
    }
    assert_eq!(node.process_count(), 0);
}

/// With the pooling allocator, every pooled instance has a fiber stack of its own: more than
/// wasmtime's default of 1,000 concurrent fibers run at once.
#[test]
fn a_pool_runs_more_than_a_thousand_processes_at_once() {
    let project = project();
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml + "  - {name: main, kind: process.lua, source: file://main.lua, meta: {command: {name: main}}}\n",
    );
    project.write(
        "src/main.lua",
        r#"for i = 1, 1200 do process.spawn_monitored("app:sleep", "app:processes", 300) end
local slept = 0
for i = 1, 1200 do
  local exit = process.receive("60s")
  if exit and not exit.error then slept = slept + 1 elseif exit then print(exit.error) break end
end
print(slept .. " slept at once")
"#,
    );
    let run = support::wippy_in_env(
        &project,
        &["run", "main"],
        &[
            ("WIPPY_POOL_INSTANCES", "1500"),
            ("WIPPY_POOL_MEMORY_BYTES", "16777216"),
        ],
    );
    assert_eq!(run.ok(), "1200 slept at once\n");
}
