//! `wippy run`, `run list`, `--exec`, `check`, `version` and the artifact cache, through the
//! built binary against components built from guests/.

mod support;

use support::{HEADER, Project, wasm_entry};

/// A project with the hello guest registered as `greet`, `compute`, and its interface export.
fn hello_project() -> Project {
    let project = Project::new();
    let hash = project.add_guest("hello");
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry("greet", "hello.wasm", &hash, "greet", Some("greet"));
    yaml += &wasm_entry("compute", "hello.wasm", &hash, "compute", Some("compute"));
    yaml += &wasm_entry("shout", "hello.wasm", &hash, "text#shout", Some("shout"));
    yaml += &wasm_entry(
        "repeat",
        "hello.wasm",
        &hash,
        "wippy-guests:hello/text@0.1.0#repeat",
        None,
    );
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn greet_prints_the_string_as_is() {
    let project = hello_project();
    assert_eq!(
        project.wippy(&["run", "greet", "World"]).ok(),
        "Hello, World!\n"
    );
}

#[test]
fn compute_types_its_arguments_as_u32() {
    let project = hello_project();
    assert_eq!(project.wippy(&["run", "compute", "6", "7"]).ok(), "42\n");
}

#[test]
fn interface_exports_run_by_short_and_full_name() {
    let project = hello_project();
    assert_eq!(
        project.wippy(&["run", "shout", "quiet please"]).ok(),
        "QUIET PLEASE\n"
    );
    let out = project.wippy(&["run", "--exec", "app:repeat", "ab", "3"]);
    assert_eq!(out.ok(), "[\"ab\", \"ab\", \"ab\"]\n");
}

#[test]
fn run_list_shows_commands_sorted_with_description_and_entry() {
    let project = hello_project();
    let out = project.wippy(&["run", "list"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let columns: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(columns[0], ["compute", "Runs compute", "app:compute"]);
    assert_eq!(columns[1], ["greet", "Runs greet", "app:greet"]);
    assert_eq!(columns[2], ["shout", "Runs shout", "app:shout"]);
}

#[test]
fn exec_runs_any_entry_with_arguments() {
    let project = hello_project();
    assert_eq!(
        project
            .wippy(&["run", "--exec", "app:compute", "11", "3"])
            .ok(),
        "33\n"
    );
    assert_eq!(
        project.wippy(&["run", "--exec", "app:greet", "exec"]).ok(),
        "Hello, exec!\n"
    );
}

#[test]
fn a_second_run_loads_the_compiled_artifact_from_the_cache() {
    let project = hello_project();
    let first = project.wippy(&["-v", "run", "greet", "cache"]);
    assert_eq!(first.ok(), "Hello, cache!\n");
    assert!(
        first.stderr.contains("app:greet: compiled in"),
        "{first:#?}"
    );
    let second = project.wippy(&["-v", "run", "greet", "cache"]);
    assert_eq!(second.ok(), "Hello, cache!\n");
    assert!(
        second
            .stderr
            .contains("app:greet: loaded from the artifact cache"),
        "{second:#?}"
    );
    assert!(!second.stderr.contains("compiled in"), "{second:#?}");
}

/// A component file whose hash was verified on an earlier run, unchanged since, is not read
/// and hashed again; a changed one is, and a wrong hash is still caught.
#[test]
fn an_unchanged_component_is_not_hashed_again_and_a_changed_one_still_is() {
    let project = hello_project();
    // A record is made only for a file whose times are settled (two seconds old).
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let first = project.wippy(&["-vv", "run", "greet", "one"]);
    assert_eq!(first.ok(), "Hello, one!\n");
    assert!(!first.stderr.contains("not read again"), "{first:#?}");
    let second = project.wippy(&["-vv", "run", "greet", "two"]);
    assert_eq!(second.ok(), "Hello, two!\n");
    assert!(
        second.stderr.contains(&format!(
            "app:greet: {} is unchanged since its hash was verified; not read again",
            project.root().join("wasm/hello.wasm").display()
        )),
        "{second:#?}"
    );
    // The same size, one byte different: the record no longer applies.
    let file = project.root().join("wasm/hello.wasm");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let changed = project
        .wippy(&["run", "greet", "three"])
        .failed()
        .to_string();
    assert!(changed.contains("field `hash`"), "{changed}");
    assert!(changed.contains("hash mismatch for"), "{changed}");
}

#[test]
fn a_corrupt_cache_file_is_ignored_and_rewritten() {
    let project = hello_project();
    project.wippy(&["run", "greet", "x"]).ok();
    let files: Vec<_> = std::fs::read_dir(project.cache_dir())
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|f| f.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let artifact = &files[0];
    let mut bytes = std::fs::read(artifact).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(artifact, &bytes).unwrap();

    let run = project.wippy(&["-v", "run", "greet", "again"]);
    assert_eq!(run.ok(), "Hello, again!\n");
    assert!(
        run.stderr
            .contains("ignoring the corrupt artifact cache file"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("compiled in"), "{run:#?}");

    // Truncated to nothing, too.
    std::fs::write(artifact, b"").unwrap();
    assert_eq!(
        project.wippy(&["run", "greet", "third"]).ok(),
        "Hello, third!\n"
    );
    let healed = project.wippy(&["-v", "run", "greet", "fourth"]);
    assert!(
        healed.stderr.contains("loaded from the artifact cache"),
        "{healed:#?}"
    );
}

#[test]
fn check_verifies_every_component_and_shows_signatures() {
    let project = hello_project();
    let out = project.wippy(&["check"]);
    let stdout = out.ok();
    assert!(
        stdout.contains("ok  app:compute  compute(a: u32, b: u32) -> u32"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok  app:repeat  repeat(s: string, times: u8) -> list<string>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("4 components verified, 0 notes, 0 errors"),
        "{stdout}"
    );
}

#[test]
fn version_names_wippy_and_wasmtime() {
    let project = Project::new();
    let out = project.wippy(&["version"]);
    assert!(
        out.ok().starts_with("wippy 0.1.0 (wasmtime 48."),
        "{out:#?}"
    );
}

#[test]
fn project_source_folder_comes_from_wippy_lock() {
    let project = Project::new();
    let hash = project.add_guest("hello");
    project.write(
        "wippy.lock",
        "directories:\n  modules: .wippy\n  src: ./app\n",
    );
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry("greet", "hello.wasm", &hash, "greet", Some("greet"));
    project.write("app/main.yaml", &yaml);
    // A registry file outside the source folder is not loaded: this one would be a duplicate.
    project.write("src/ignored.yaml", &yaml);
    assert_eq!(
        project.wippy(&["run", "greet", "lock"]).ok(),
        "Hello, lock!\n"
    );
}

#[test]
fn the_readme_demo_runs_on_the_committed_example() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello");
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| support::wippy_in(&example, cache.path(), args);
    assert_eq!(run(&["run", "greet", "World"]).ok(), "Hello, World!\n");
    assert_eq!(run(&["run", "compute", "6", "7"]).ok(), "42\n");
    let check = run(&["check"]);
    assert!(check.ok().contains("0 errors"), "{check:#?}");
}

#[test]
fn a_slow_compile_says_what_it_compiled_and_how_long_it_took() {
    let project = Project::new();
    let hash = project.add_guest("hello");
    project.write(
        "src/app.yaml",
        HEADER.to_string() + &wasm_entry("greet", "hello.wasm", &hash, "greet", Some("greet")),
    );
    // Every compile counts as slow here (the default is half a second).
    let slow = [("WIPPY_SLOW_COMPILE", "0ms")];
    let run = support::wippy_in_env(&project, &["run", "greet", "x"], &slow);
    assert_eq!(run.ok(), "Hello, x!\n");
    let line = run.stderr.trim_end();
    assert!(
        line.starts_with("wippy info: compiled app:greet (0.")
            && line.contains(" MB) in ")
            && line.ends_with(" s"),
        "{run:#?}"
    );
    // Loaded from the artifact cache, nothing is compiled and nothing is said; `check`
    // says it the same way.
    let again = support::wippy_in_env(&project, &["run", "greet", "x"], &slow);
    assert_eq!((again.ok(), again.stderr.as_str()), ("Hello, x!\n", ""));
    std::fs::remove_dir_all(project.cache_dir()).unwrap();
    let check = support::wippy_in_env(&project, &["check"], &slow);
    assert!(
        check.stderr.starts_with("wippy info: compiled app:greet ("),
        "{check:#?}"
    );
}
