//! The registry loader through the library API: files, namespaces, references, `file://`.

mod support;

use std::path::Path;

use support::Project;
use wippy::registry::{EntryId, EntryKind, Registry};

fn load(project: &Project) -> Registry {
    Registry::load(project.root()).unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn load_error(project: &Project) -> String {
    Registry::load(project.root())
        .expect_err("the load should fail")
        .to_string()
}

const HASH: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn every_spine_kind_parses_into_typed_entries() {
    let project = Project::new();
    project.write(
        "src/all.yaml",
        format!(
            r#"version: "1.0"
namespace: app
meta: {{team: core}}
entries:
  - {{name: files, kind: fs.directory, directory: data}}
  - {{name: os, kind: env.storage.os}}
  - {{name: fixed, kind: env.storage.static, values: {{GREETING: hi}}}}
  - {{name: home, kind: env.variable, storage: os, variable: HOME}}
  - {{name: greeting, kind: env.variable, storage: fixed, default: hello}}
  - {{name: workers, kind: process.host, host: {{workers: 4, queue_size: 1024, max_processes: 10}}}}
  - {{name: terminal, kind: terminal.host}}
  - name: worker
    kind: process.wasm
    meta: {{team: edge, command: {{name: work}}}}
    fs: files
    path: w.wasm
    hash: {HASH}
    method: "pkg:x/y@1.0.0#run"
    imports: [wasi:cli, wasi:clocks]
    wasi:
      args: [a, b]
      cwd: /data
      env: [{{id: greeting, name: GREETING, required: true}}]
      mounts: [{{fs: files, guest: /data, read_only: true}}]
    limits: {{max_execution_ms: 500, max_memory_bytes: 1048576, max_fuel: 1000}}
"#
        ),
    );
    let registry = load(&project);
    let get = |name: &str| registry.get(&EntryId::new("app", name)).unwrap();

    let EntryKind::FsDirectory(dir) = &get("files").kind else {
        panic!()
    };
    assert_eq!(
        dir.directory,
        project.root().canonicalize().unwrap().join("data")
    );
    assert!(matches!(get("os").kind, EntryKind::EnvStorageOs));
    let EntryKind::EnvStorageStatic(values) = &get("fixed").kind else {
        panic!()
    };
    assert_eq!(values["GREETING"], "hi");
    let EntryKind::EnvVariable(home) = &get("home").kind else {
        panic!()
    };
    assert_eq!(
        (home.storage.to_string(), home.variable.as_str()),
        ("app:os".into(), "HOME")
    );
    let EntryKind::EnvVariable(greeting) = &get("greeting").kind else {
        panic!()
    };
    assert_eq!(
        greeting.variable, "app:greeting",
        "the variable defaults to the entry ID"
    );
    assert_eq!(greeting.default.as_deref(), Some("hello"));
    let EntryKind::ProcessHost(host) = &get("workers").kind else {
        panic!()
    };
    assert_eq!(host.max_processes, Some(10));
    let notes: Vec<&str> = get("workers")
        .notes
        .iter()
        .map(|n| n.field.as_str())
        .collect();
    assert_eq!(
        notes,
        ["host.workers", "host.queue_size"],
        "inert keys are noted"
    );
    assert!(matches!(get("terminal").kind, EntryKind::TerminalHost(_)));

    let worker = get("worker");
    let wasm = worker.kind.wasm().unwrap();
    let file = wasm.file().unwrap();
    assert_eq!(file.fs, EntryId::new("app", "files"));
    assert_eq!(file.hash.to_string(), HASH);
    assert_eq!(wasm.method, "pkg:x/y@1.0.0#run");
    assert_eq!(wasm.imports, ["wasi:cli", "wasi:clocks"]);
    assert_eq!(
        wasm.wasi.args.as_deref(),
        Some(&["a".to_string(), "b".to_string()][..])
    );
    assert_eq!(wasm.wasi.env[0].id, EntryId::new("app", "greeting"));
    assert!(wasm.wasi.env[0].required);
    assert!(wasm.wasi.mounts[0].read_only);
    assert_eq!(wasm.limits.max_fuel, Some(1000));
    // The entry's meta is merged over the file's.
    assert_eq!(worker.meta["team"], "edge");
    assert_eq!(get("files").meta["team"], "core");
    assert_eq!(worker.command().unwrap().name, "work");
}

#[test]
fn references_resolve_across_namespaces_and_files() {
    let project = Project::new();
    project.write(
        "src/shared/fs.yaml",
        "namespace: shared\nentries:\n  - {name: files, kind: fs.directory, directory: data}\n",
    );
    project.write(
        "src/app.yml",
        format!("namespace: app\nentries:\n  - {{name: w, kind: process.wasm, fs: shared:files, path: w.wasm, hash: {HASH}, method: run}}\n"),
    );
    let registry = load(&project);
    let w = registry.get(&EntryId::new("app", "w")).unwrap();
    let file = w.kind.wasm().unwrap().file().unwrap();
    assert_eq!(file.fs, EntryId::new("shared", "files"));
    assert!(w.file.ends_with("src/app.yml"));
}

#[test]
fn lua_service_and_wat_kinds_load_and_unrelated_yaml_is_ignored() {
    let project = Project::new();
    project.write("src/lua/hello.lua", "return function() return 42 end\n");
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: script, kind: process.lua, source: file://lua/hello.lua, method: main}\n  - {name: host, kind: process.host}\n  - {name: svc, kind: process.service, process: app:script, host: app:host}\n  - {name: add, kind: function.wat, source: \"(module)\", wit: \"add: func() -> s32;\"}\n",
    );
    project.write(
        "src/docker-compose.yaml",
        "services:\n  web: {image: nginx}\n",
    );
    let registry = load(&project);
    let script = registry.get(&EntryId::new("app", "script")).unwrap();
    assert_eq!(script.kind.name(), "process.lua");
    assert_eq!(
        script.data()["source"],
        "return function() return 42 end\n",
        "file:// was replaced by the text"
    );
    assert_eq!(registry.entries().count(), 4);
    assert_eq!(
        registry
            .get(&EntryId::new("app", "add"))
            .unwrap()
            .kind
            .name(),
        "function.wat"
    );
}

#[test]
fn file_references_may_not_leave_the_source_folder() {
    let project = Project::new();
    project.write("secret.txt", "top secret");
    project.write("src/app.yaml", "namespace: app\nentries:\n  - {name: s, kind: library.lua, source: file://../secret.txt}\n");
    let err = load_error(&project);
    assert!(
        err.contains("app.yaml:3: field `source`: `file://../secret.txt` resolves to"),
        "{err}"
    );
    assert!(err.contains("outside the source folder"), "{err}");

    let outside = project.root().join("secret.txt");
    std::os::unix::fs::symlink(&outside, project.root().join("src/link.txt")).unwrap();
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: s, kind: library.lua, source: file://link.txt}\n",
    );
    assert!(load_error(&project).contains("outside the source folder"));

    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: s, kind: library.lua, source: file://missing.lua}\n",
    );
    let err = load_error(&project);
    assert!(
        err.contains("`file://missing.lua` names") && err.contains("cannot be opened"),
        "{err}"
    );
}

#[test]
fn all_errors_are_reported_together() {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: a, kind: nope}\n  - {kind: fs.directory, directory: x}\n  - {name: v, kind: env.variable, storage: missing}\n",
    );
    let err = load_error(&project);
    let paragraphs: Vec<&str> = err.split("\n\n").collect();
    assert_eq!(paragraphs.len(), 3, "{err}");
    assert!(
        paragraphs[0].contains("entry `app:a`, field `kind`: unknown kind `nope`"),
        "{err}"
    );
    assert!(
        paragraphs[1].contains("app.yaml:4: field `name`: the entry has no `name`"),
        "{err}"
    );
    assert!(
        paragraphs[2].contains("entry `app:v`, field `storage`: refers to `app:missing`"),
        "{err}"
    );
}

#[test]
fn source_folder_is_src_when_present_else_the_root() {
    let project = Project::new();
    std::fs::remove_dir(project.root().join("src")).unwrap();
    project.write(
        "app.yaml",
        "namespace: root\nentries:\n  - {name: t, kind: terminal.host}\n",
    );
    let registry = load(&project);
    assert!(registry.get(&EntryId::new("root", "t")).is_some());
    assert_eq!(
        registry.project.source,
        project.root().canonicalize().unwrap()
    );
    assert!(Path::new(&registry.project.source).is_dir());
}

/// Services `b`, `a` (depends on `b`) and `c` (requires `a`), as Wippy's `lifecycle` writes it.
const SERVICES: &str = r#"namespace: app
entries:
  - {name: hosts, kind: process.host}
  - {name: work, kind: process.lua, source: "return 1"}
  - {name: c, kind: process.service, process: work, host: hosts, lifecycle: {requires: [a]}}
  - {name: a, kind: process.service, process: work, host: hosts, lifecycle: {depends_on: [app:b], stable_threshold: 2s}}
  - {name: b, kind: process.service, process: work, host: hosts, lifecycle: {restart: {jitter: 0}}}
"#;

#[test]
fn services_start_after_what_they_depend_on_with_wippys_restart_defaults() {
    let project = Project::new();
    project.write("src/app.yaml", SERVICES);
    let registry = load(&project);
    let order: Vec<String> = (registry.services_in_order().unwrap().iter())
        .map(|(entry, _)| entry.id.to_string())
        .collect();
    assert_eq!(order, ["app:b", "app:a", "app:c"]);
    let EntryKind::ProcessService(c) = &registry.get(&EntryId::new("app", "c")).unwrap().kind
    else {
        panic!()
    };
    let restart = c.lifecycle.restart;
    assert_eq!(
        (
            restart.initial_delay.as_secs(),
            restart.max_delay.as_secs(),
            restart.backoff_factor,
            restart.jitter,
            restart.max_attempts,
            c.lifecycle.stable_threshold.as_secs()
        ),
        (1, 90, 2.0, 0.1, 0, 5),
        "Wippy's defaults"
    );

    project.write(
        "src/app.yaml",
        SERVICES.replace("restart: {jitter: 0}", "depends_on: [c]"),
    );
    let err = load_error(&project);
    assert!(
        err.contains("field `lifecycle.depends_on`: services depend on each other in a circle: `app:a` → `app:b` → `app:c` → `app:a`. Remove one of these dependencies"),
        "{err}"
    );
    project.write("src/app.yaml", SERVICES.replace("[app:b]", "[app:bb]"));
    let err = load_error(&project);
    assert!(
        err.contains("entry `app:a`, field `lifecycle.depends_on[0]`: refers to `app:bb`, which no registry file declares. Did you mean `app:b`?"),
        "{err}"
    );
}

/// A YAML file without a top-level `namespace` (a list, a config map) is not a registry file
/// and is left alone; a registry file whose shape is wrong reports that, with its line.
#[test]
fn yaml_that_is_not_a_registry_file_is_skipped_and_a_misshapen_one_is_reported() {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        "version: \"1.0\"\nnamespace: app\nentries:\n  - {name: terminal, kind: terminal.host}\n",
    );
    project.write("src/list.yaml", "- one\n- two\n");
    project.write(
        "src/config.yaml",
        "settings: {entries: 3}\nnamespaces: [a]\n",
    );
    project.write("src/empty.yaml", "");
    let registry = load(&project);
    assert_eq!(registry.entries().count(), 1);
    project.write("src/broken.yaml", "namespace: other\nentries: 7\n");
    let err = load_error(&project);
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}
