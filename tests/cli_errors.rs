//! Every bad input gives its own clear error (file, entry, field, fix) and exit code 1, and
//! harms nothing else.

mod support;

use support::{HEADER, Project, wasm_entry};

/// The hello guest as `greet` plus whatever `extra` YAML entries a test adds.
fn project_with(extra: impl Fn(&str) -> String) -> (Project, String) {
    let project = Project::new();
    let hash = project.add_guest("hello");
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry("greet", "hello.wasm", &hash, "greet", Some("greet"));
    yaml += &extra(&hash);
    project.write("src/app.yaml", &yaml);
    (project, hash)
}

const ZERO_HASH: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn hash_mismatch_names_expected_actual_and_file_and_harms_no_other_entry() {
    let (project, actual) =
        project_with(|_| wasm_entry("stale", "hello.wasm", ZERO_HASH, "greet", Some("stale")));
    let err = project.wippy(&["run", "stale", "x"]).failed().to_string();
    let file = project.root().join("wasm/hello.wasm");
    assert!(err.contains("src/app.yaml:"), "{err}");
    assert!(err.contains("entry `app:stale`, field `hash`"), "{err}");
    assert!(
        err.contains(&format!(
            "hash mismatch for {}: expected {ZERO_HASH}, actual {actual}",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("pin the new build with `hash: {actual}`")),
        "{err}"
    );
    // The entry with the right hash still runs; `check` reports the bad one.
    assert_eq!(project.wippy(&["run", "greet", "ok"]).ok(), "Hello, ok!\n");
    let check = project.wippy(&["check"]);
    assert!(
        check.failed().contains("entry `app:stale`, field `hash`"),
        "{check:#?}"
    );
    assert!(check.stdout.contains("ok  app:greet"), "{check:#?}");
}

#[test]
fn a_run_on_a_node_verifies_every_component_before_its_first_process() {
    // The guest guide's old trap: a script that prints `exit.value` and never checks
    // `exit.error` printed `nil` and exited 0 when the entry it spawned had a wrong hash.
    let (project, actual) = project_with(|_| {
        format!(
            "{}{}  - {{name: processes, kind: process.host}}\n  - {{name: main, kind: process.lua, source: \"print('main ran') process.spawn_monitored('app:stale', 'app:processes') print(process.receive().value)\", meta: {{command: {{name: main}}}}}}\n",
            wasm_entry("stale", "hello.wasm", ZERO_HASH, "greet", None),
            wasm_entry("gone", "missing.wasm", ZERO_HASH, "greet", None),
        )
    });
    let run = project.wippy(&["run", "main"]);
    let err = run.failed().to_string();
    assert!(!run.stdout.contains("main ran"), "{run:#?}");
    assert!(
        err.contains("entry `app:stale`, field `hash`") && err.contains(&actual),
        "{err}"
    );
    assert!(err.contains("entry `app:gone`, field `path`"), "{err}");
}

#[test]
fn malformed_hash_says_what_form_it_needs() {
    let (project, _) =
        project_with(|_| wasm_entry("bad", "hello.wasm", "sha256:ABC", "greet", None));
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(err.contains("entry `app:bad`, field `hash`: malformed hash: `sha256:ABC` has 3 hex digits after `sha256:`, not 64"), "{err}");
    assert!(err.contains("64 lowercase hex digits"), "{err}");
}

#[test]
fn missing_wasm_file() {
    let (project, hash) =
        project_with(|hash| wasm_entry("gone", "missing.wasm", hash, "greet", Some("gone")));
    let _ = hash;
    let err = project.wippy(&["run", "gone"]).failed().to_string();
    let file = project.root().join("wasm/missing.wasm");
    assert!(err.contains("entry `app:gone`, field `path`"), "{err}");
    assert!(
        err.contains(&format!(
            "the component file {} does not exist",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn path_with_dotdot_is_refused() {
    let (project, _) = project_with(|hash| {
        wasm_entry(
            "escape",
            "../wasm/hello.wasm",
            hash,
            "greet",
            Some("escape"),
        )
    });
    let err = project.wippy(&["run", "escape", "x"]).failed().to_string();
    assert!(err.contains("entry `app:escape`, field `path`: `../wasm/hello.wasm` leaves the fs directory `app:wasm`: `..` climbs above its root. Give a path inside the fs directory"), "{err}");
}

#[test]
fn symlink_out_of_the_fs_directory_is_refused() {
    let (project, hash) =
        project_with(|hash| wasm_entry("link", "outside.wasm", hash, "greet", Some("link")));
    let _ = hash;
    let outside = project.root().join("elsewhere.wasm");
    std::fs::copy(project.root().join("wasm/hello.wasm"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, project.root().join("wasm/outside.wasm")).unwrap();
    let err = project.wippy(&["run", "link", "x"]).failed().to_string();
    assert!(err.contains("entry `app:link`, field `path`"), "{err}");
    assert!(
        err.contains("leads outside the fs directory `app:wasm` (through a symlink)"),
        "{err}"
    );
}

#[test]
fn unknown_method_lists_the_exports() {
    let (project, _) =
        project_with(|hash| wasm_entry("typo", "hello.wasm", hash, "gret", Some("typo")));
    let err = project.wippy(&["run", "typo"]).failed().to_string();
    assert!(
        err.contains(
            "entry `app:typo`, field `method`: method `gret` is not exported by the component"
        ),
        "{err}"
    );
    assert!(
        err.contains("the component exports: greet, compute, wippy-guests:hello/text@0.1.0#shout, wippy-guests:hello/text@0.1.0#repeat"),
        "{err}"
    );
    let (project, _) =
        project_with(|hash| wasm_entry("iface", "hello.wasm", hash, "nope#shout", Some("iface")));
    let err = project.wippy(&["run", "iface", "x"]).failed().to_string();
    assert!(err.contains("method `nope#shout` is not exported"), "{err}");
}

#[test]
fn wrong_arity_shows_the_signature() {
    let (project, _) = project_with(|_| String::new());
    let err = project.wippy(&["run", "greet"]).failed().to_string();
    assert_eq!(
        err,
        "error: `app:greet`: `greet` takes 1 argument but 0 were given. Usage: greet(name: string) -> string\n"
    );
    let err = project
        .wippy(&["run", "greet", "a", "b"])
        .failed()
        .to_string();
    assert!(err.contains("takes 1 argument but 2 were given"), "{err}");
}

#[test]
fn unparsable_argument_names_the_parameter_and_expected_form() {
    let (project, _) =
        project_with(|hash| wasm_entry("compute", "hello.wasm", hash, "compute", Some("compute")));
    let err = project
        .wippy(&["run", "compute", "6", "seven"])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: `app:compute`: argument 2 (`b: u32`): `seven` is not a valid u32: expected a whole number from 0 to 4294967295. Usage: compute(a: u32, b: u32) -> u32\n"
    );
    let err = project
        .wippy(&["run", "compute", "-1", "2"])
        .failed()
        .to_string();
    assert!(
        err.contains("argument 1 (`a: u32`): `-1` is not a valid u32"),
        "{err}"
    );
}

#[test]
fn yaml_syntax_error_names_file_and_line() {
    let (project, _) = project_with(|_| String::new());
    project.write(
        "src/broken.yaml",
        "namespace: other\nentries:\n  - name: x\n    kind: [unclosed\n  - name: y\n",
    );
    let err = project.wippy(&["run", "greet", "x"]).failed().to_string();
    assert!(
        err.starts_with("error: src/broken.yaml:") || err.contains("/src/broken.yaml:"),
        "{err}"
    );
    assert!(err.contains("broken.yaml:5: invalid YAML"), "{err}");
    assert!(err.contains("Fix the YAML at that line"), "{err}");
    // All-or-nothing: a broken file stops the load; fixing it brings the rest back.
    project.write("src/broken.yaml", "namespace: other\nentries: []\n");
    assert_eq!(project.wippy(&["run", "greet", "x"]).ok(), "Hello, x!\n");
}

#[test]
fn duplicate_entry_id_names_both_places() {
    let (project, _) = project_with(|_| String::new());
    project.write(
        "src/more.yaml",
        "namespace: app\nentries:\n  - name: greet\n    kind: terminal.host\n",
    );
    let err = project.wippy(&["run", "list"]).failed().to_string();
    assert!(err.contains("more.yaml:3: entry `app:greet`, field `name`: duplicate entry ID `app:greet`; it is already declared at"), "{err}");
    assert!(err.contains("app.yaml:7"), "{err}");
}

#[test]
fn missing_required_field() {
    let (project, _) = project_with(|_| {
        "  - name: nohash\n    kind: process.wasm\n    fs: wasm\n    path: hello.wasm\n    method: greet\n".into()
    });
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(err.contains("entry `app:nohash`, field `hash`: required field `hash` is missing. Add `hash:` to this process.wasm entry"), "{err}");
}

#[test]
fn unknown_field_and_unknown_kind_suggest_the_right_word() {
    let (project, hash) = project_with(|_| String::new());
    project.write(
        "src/typos.yaml",
        format!("namespace: t\nentries:\n  - name: a\n    kind: proces.wasm\n  - name: b\n    kind: process.wasm\n    fs: app:wasm\n    path: hello.wasm\n    hash: {hash}\n    method: greet\n    limit: {{}}\n"),
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains(
            "entry `t:a`, field `kind`: unknown kind `proces.wasm`. Did you mean `process.wasm`?"
        ),
        "{err}"
    );
    assert!(
        err.contains("entry `t:b`, field `limit`: `limit` is not a field of process.wasm"),
        "{err}"
    );
}

#[test]
fn dangling_fs_reference_lists_what_exists() {
    let (project, _) = project_with(|hash| {
        wasm_entry("lost", "hello.wasm", hash, "greet", None).replace("fs: wasm", "fs: wsam")
    });
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains(
            "entry `app:lost`, field `fs`: refers to `app:wsam`, which no registry file declares"
        ),
        "{err}"
    );
    assert!(
        err.contains("use one of the fs.directory entries: app:wasm"),
        "{err}"
    );
}

#[test]
fn reference_to_an_entry_of_the_wrong_kind() {
    let (project, _) = project_with(|hash| {
        wasm_entry("wrong", "hello.wasm", hash, "greet", None).replace("fs: wasm", "fs: greet")
    });
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains(
            "field `fs`: `app:greet` is a process.wasm, but this field needs a fs.directory"
        ),
        "{err}"
    );
}

#[test]
fn unknown_command_suggests_and_lists() {
    let (project, _) = project_with(|_| String::new());
    let err = project.wippy(&["run", "gret", "x"]).failed().to_string();
    assert_eq!(
        err,
        "error: unknown command `gret`; did you mean `greet`? the commands are: greet (`wippy run list` shows them with their entries)\n"
    );
    let err = project
        .wippy(&["run", "--exec", "app:nothing"])
        .failed()
        .to_string();
    assert!(
        err.contains(
            "no entry `app:nothing` in the registry; the WebAssembly entries are: app:greet"
        ),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_webassembly() {
    let project = Project::new();
    let text = b"this is not a component\n";
    project.write("wasm/notes.wasm", text);
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry(
        "notes",
        "notes.wasm",
        &support::sha256(text),
        "greet",
        Some("notes"),
    );
    project.write("src/app.yaml", yaml);
    let err = project.wippy(&["run", "notes"]).failed().to_string();
    assert!(err.contains("entry `app:notes`, field `path`:"), "{err}");
    assert!(
        err.contains(
            "notes.wasm is not WebAssembly: it does not start with the `\\0asm` magic bytes"
        ),
        "{err}"
    );
}

#[test]
fn a_core_module_is_not_a_component() {
    let project = Project::new();
    let module = b"\0asm\x01\0\0\0";
    project.write("wasm/core.wasm", module);
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry(
        "core",
        "core.wasm",
        &support::sha256(module),
        "run",
        Some("core"),
    );
    project.write("src/app.yaml", yaml);
    let err = project.wippy(&["run", "core"]).failed().to_string();
    assert!(
        err.contains("core.wasm is a core WebAssembly module, not a component"),
        "{err}"
    );
}

#[test]
fn a_corrupt_component_is_a_load_error() {
    let project = Project::new();
    let mut bytes = std::fs::read(support::guest("hello")).unwrap();
    bytes.truncate(bytes.len() / 2);
    project.write("wasm/half.wasm", &bytes);
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry(
        "half",
        "half.wasm",
        &support::sha256(&bytes),
        "greet",
        Some("half"),
    );
    project.write("src/app.yaml", yaml);
    let err = project.wippy(&["run", "half", "x"]).failed().to_string();
    assert!(
        err.contains("half.wasm is not a valid WebAssembly component"),
        "{err}"
    );
}

#[test]
fn missing_project_folder() {
    let project = Project::new();
    let out = support::wippy_in(
        &project.root().join("nope"),
        &project.cache_dir(),
        &["run", "list"],
    );
    assert!(
        out.failed().contains("cannot open the project folder"),
        "{out:#?}"
    );
}

#[test]
fn check_json_reports_every_entry_for_tools_with_the_same_exit_code() {
    let (project, _) =
        project_with(|_| wasm_entry("stale", "hello.wasm", ZERO_HASH, "greet", Some("stale")));
    let run = project.wippy(&["check", "--json"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let entries = report["entries"].as_array().unwrap();
    let entry = |id: &str| entries.iter().find(|e| e["id"] == id).unwrap().clone();
    let greet = entry("app:greet");
    assert_eq!(greet["kind"], "process.wasm");
    assert!(
        greet["file"].as_str().unwrap().ends_with("src/app.yaml"),
        "{greet:#}"
    );
    assert_eq!(greet["signature"], "greet(name: string) -> string");
    let not_granted = greet["imports"]["not_granted"].as_array().unwrap();
    assert!(
        not_granted
            .iter()
            .any(|i| i["interface"] == "wasi:cli/exit@0.2.6" && i["group"] == "wasi:cli"),
        "{greet:#}"
    );
    let stale = entry("app:stale");
    assert!(stale.get("signature").is_none(), "{stale:#}");
    let error = stale["error"].as_str().unwrap();
    assert!(error.contains("entry `app:stale`, field `hash`"), "{error}");
    assert_eq!(report["summary"]["verified"], 1);
    assert_eq!(report["summary"]["errors"], 1);
    // A registry that does not load is still one JSON document, with its error.
    project.write(
        "src/app.yaml",
        "namespace: app\nentries: [{name: x, kind: nope}]\n",
    );
    let broken = project.wippy(&["check", "--json"]);
    assert_eq!(broken.code, Some(1), "{broken:#?}");
    let report: serde_json::Value = serde_json::from_str(&broken.stdout).unwrap();
    assert!(
        report["error"].as_str().unwrap().contains("nope"),
        "{report:#}"
    );
}
