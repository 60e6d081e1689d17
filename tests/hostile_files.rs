//! Hostile files are contained: what the loaders are pointed at (registry YAML, `file://`
//! targets, component files, the compiled-artifact cache) cannot make the host hang, read
//! outside the project, allocate without bound, or run code other than what was pinned.
//! Every run here has a deadline, so a loader that blocks fails its test instead of hanging.

mod support;

use std::path::Path;
use std::process::Command;

use support::{HEADER, Project, Run, wasm_entry};

/// `wippy -C <project> <args>` with a deadline, from the project folder, with `env` and
/// without a registry budget from the caller's environment.
fn wippy(project: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    support::wippy_within(project, args, env, &[BUDGET])
}

const BUDGET: &str = "WIPPY_MAX_REGISTRY_BYTES";

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A registry with one Lua command, `hi`, so a load that works is visible in `run list`.
fn lua_project() -> Project {
    let project = Project::new();
    project.write(
        "src/hi.lua",
        "return { main = function() return 'hi' end }\n",
    );
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: hi, kind: process.lua, source: file://hi.lua, meta: {command: {name: hi}}}\n",
    );
    project
}

#[test]
fn a_fifo_named_like_a_registry_file_is_refused_at_once() {
    let project = lua_project();
    mkfifo(&project.root().join("src/pipe.yaml"));
    let run = wippy(&project, &["run", "list"], &[]);
    let err = run.failed();
    assert!(
        err.contains("pipe.yaml: this is a FIFO (named pipe), not a regular file, so it cannot be a registry file. Remove it, or rename it so that its name does not end in .yaml or .yml"),
        "{err}"
    );
}

#[test]
fn a_file_reference_to_a_fifo_socket_or_device_is_refused_at_once() {
    let project = lua_project();
    mkfifo(&project.root().join("src/pipe.lua"));
    let _socket = std::os::unix::net::UnixListener::bind(project.root().join("src/sock.lua"))
        .expect("cannot create a unix socket");
    std::os::unix::fs::symlink("/dev/zero", project.root().join("src/zero.lua")).unwrap();
    for (file, what) in [
        (
            "pipe.lua",
            "which is a FIFO (named pipe), not a regular file",
        ),
        ("sock.lua", "which is a socket, not a regular file"),
        (
            "zero.lua",
            "resolves to /dev/zero, outside the source folder",
        ),
    ] {
        project.write(
            "src/app.yaml",
            format!("namespace: app\nentries:\n  - {{name: s, kind: library.lua, source: file://{file}}}\n"),
        );
        let run = wippy(&project, &["run", "list"], &[]);
        let err = run.failed();
        assert!(
            err.contains(&format!("app.yaml:3: field `source`: `file://{file}`")),
            "{err}"
        );
        assert!(err.contains(what), "{file}: {err}");
    }
}

#[test]
fn symlink_loops_in_the_source_folder_end_and_each_file_loads_once() {
    let project = lua_project();
    let src = project.root().join("src");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::os::unix::fs::symlink("..", src.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink(".", src.join("here")).unwrap();
    std::os::unix::fs::symlink(&src, src.join("a/root")).unwrap();
    std::os::unix::fs::symlink("self", src.join("self")).unwrap();
    std::os::unix::fs::symlink("ping", src.join("pong")).unwrap();
    std::os::unix::fs::symlink("pong", src.join("ping")).unwrap();
    // The same registry file twice, through a link: loaded once, so no duplicate IDs.
    std::os::unix::fs::symlink("../app.yaml", src.join("a/again.yaml")).unwrap();
    let run = wippy(&project, &["run", "list"], &[]);
    assert!(run.ok().contains("hi"), "{run:#?}");

    // A link into a hidden folder is inside the source folder: followed.
    project.write(
        "src/.vendor/lib/more.yaml",
        "namespace: vendor\nentries:\n  - {name: more, kind: process.lua, source: file://more.lua, meta: {command: {name: more}}}\n",
    );
    project.write("src/.vendor/lib/more.lua", "return 'more'\n");
    std::os::unix::fs::symlink(".vendor/lib", src.join("lib")).unwrap();
    let list = wippy(&project, &["run", "list"], &[]);
    assert!(list.ok().contains("vendor:more"), "{list:#?}");

    // A looping symlink named like a registry file is an error, not a hang.
    std::os::unix::fs::symlink("loop.yaml", src.join("loop.yaml")).unwrap();
    let run = wippy(&project, &["run", "list"], &[]);
    let err = run.failed();
    assert!(
        err.contains("loop.yaml: this symlink cannot be followed"),
        "{err}"
    );
}

#[test]
fn a_symlink_out_of_the_source_folder_loads_nothing_from_outside() {
    let project = lua_project();
    let outside = project.root().join("outside");
    project.write(
        "outside/evil.yaml",
        "namespace: evil\nentries:\n  - {name: evil, kind: process.lua, source: file://evil.lua, meta: {command: {name: evil}}}\n",
    );
    project.write("outside/evil.lua", "return 'pwned'\n");
    project.write("outside/data.txt", "just data\n");
    let src = project.root().join("src");

    std::os::unix::fs::symlink(&outside, src.join("ext")).unwrap();
    let run = wippy(&project, &["run", "list"], &[]);
    let err = run.failed();
    assert!(
        err.contains(&format!(
            "ext: this symlink leads to {}, outside the source folder {}; registry files are loaded only from inside it",
            outside.display(),
            src.display()
        )),
        "{err}"
    );
    assert!(err.contains("rename the link to start with `.`"), "{err}");
    assert!(!run.stdout.contains("evil"), "{run:#?}");
    let evil = wippy(&project, &["run", "evil"], &[]);
    assert!(!evil.stdout.contains("pwned"), "{evil:#?}");

    // Renamed hidden, the walk skips it: the project loads and the outside entry is not there.
    std::fs::rename(src.join("ext"), src.join(".ext")).unwrap();
    let list = wippy(&project, &["run", "list"], &[]);
    assert!(list.ok().contains("app:hi"), "{list:#?}");
    assert!(!list.stdout.contains("evil"), "{list:#?}");

    // A single registry file linked from outside is refused the same way.
    std::os::unix::fs::symlink(outside.join("evil.yaml"), src.join("evil.yaml")).unwrap();
    let err = wippy(&project, &["run", "list"], &[]).failed().to_string();
    assert!(err.contains("evil.yaml: this symlink leads to"), "{err}");
    std::fs::remove_file(src.join("evil.yaml")).unwrap();

    // A link to an outside file that is not YAML is not a registry file: left alone.
    std::os::unix::fs::symlink(outside.join("data.txt"), src.join("data.txt")).unwrap();
    assert!(
        wippy(&project, &["run", "list"], &[])
            .ok()
            .contains("app:hi")
    );
}

/// `count` Lua commands whose `source` is the same file `src/shared.lua` of `size` bytes.
fn shared_source_project(count: usize, size: usize) -> Project {
    let project = Project::new();
    let mut script = String::from("return { main = function() return 'shared' end }\n");
    script += &"-- padding\n".repeat((size - script.len()) / 11);
    project.write("src/shared.lua", &script);
    let mut yaml = String::from("namespace: app\nentries:\n");
    for i in 0..count {
        yaml += &format!(
            "  - {{name: s{i}, kind: process.lua, source: file://shared.lua, meta: {{command: {{name: s{i}}}}}}}\n"
        );
    }
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn a_file_named_by_many_entries_is_loaded_once() {
    // 500 entries naming one 100 KiB script: 50 MB if each held its own copy, 100 KiB shared.
    let project = shared_source_project(500, 100 * 1024);
    let budget = [(BUDGET, "204800")];
    let list = wippy(&project, &["run", "list"], &budget);
    assert!(list.ok().contains("s499"), "{list:#?}");
    let run = wippy(&project, &["run", "s250"], &budget);
    assert_eq!(run.ok(), "shared\n");

    // Through the library: one text, shared, and shown in full as the entry's data.
    let registry = wippy::registry::Registry::load(project.root()).unwrap();
    let source = |name: &str| {
        let id = wippy::registry::EntryId::new("app", name);
        let entry = registry.get(&id).unwrap();
        assert_eq!(entry.fields["source"], "file://shared.lua");
        assert_eq!(entry.data()["source"], *entry.kind.lua().unwrap().source);
        entry.kind.lua().unwrap().source.clone()
    };
    assert!(std::sync::Arc::ptr_eq(&source("s0"), &source("s499")));
}

#[test]
fn the_registry_budget_names_the_file_the_limit_and_the_fix() {
    let project = shared_source_project(3, 100 * 1024);
    project.write("src/other.lua", "x".repeat(120 * 1024));
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    project.write(
        "src/app.yaml",
        yaml.clone() + "  - {name: other, kind: library.lua, source: file://other.lua}\n",
    );
    let run = wippy(&project, &["run", "list"], &[(BUDGET, "204800")]);
    let err = run.failed();
    let other = project.root().join("src/other.lua");
    assert!(
        err.contains(&format!("app.yaml:6: field `source`: `file://other.lua` ({}) would bring the text this registry loads to", other.display())),
        "{err}"
    );
    assert!(
        err.contains("over its budget of 204800 bytes (200 KiB). If the project needs that much, raise the budget with WIPPY_MAX_REGISTRY_BYTES=<bytes> (the default is 268435456, 256 MiB)"),
        "{err}"
    );
    // One error, not one per file that was not loaded.
    assert!(!err.contains("\n\n"), "{err}");
    // Raised, it loads; by default, too.
    assert!(
        wippy(&project, &["run", "list"], &[(BUDGET, "400000")])
            .ok()
            .contains("s2")
    );
    assert!(wippy(&project, &["run", "list"], &[]).ok().contains("s2"));

    // Copies into fields other than `source` count each time.
    project.write(
        "src/app.yaml",
        yaml + "  - {name: doc, kind: library.lua, source: \"return 1\", meta: {a: file://shared.lua, b: file://shared.lua}}\n",
    );
    let err = wippy(&project, &["run", "list"], &[(BUDGET, "300000")])
        .failed()
        .to_string();
    assert!(
        err.contains("field `meta.b`: another copy of `file://shared.lua` would bring"),
        "{err}"
    );

    let bad = wippy(&project, &["run", "list"], &[(BUDGET, "lots")]);
    assert!(
        bad.failed().contains("WIPPY_MAX_REGISTRY_BYTES=`lots` is not a number of bytes above 0. Set it to a whole number of bytes"),
        "{bad:#?}"
    );
}

#[test]
fn one_file_over_64_mib_is_refused_without_reading_it() {
    let project = lua_project();
    // Sparse: the size is what counts, and nothing is read.
    let big = std::fs::File::create(project.root().join("src/big.lua")).unwrap();
    big.set_len(64 * 1024 * 1024 + 1).unwrap();
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: big, kind: library.lua, source: file://big.lua}\n",
    );
    let err = wippy(&project, &["run", "list"], &[(BUDGET, "1000000000")])
        .failed()
        .to_string();
    assert!(
        err.contains("which is 67108865 bytes, more than the 64 MiB one file the registry loads may hold. Keep large data out of the registry"),
        "{err}"
    );
}

#[test]
fn a_component_file_that_is_a_fifo_a_device_or_huge_is_refused_at_once() {
    let project = Project::new();
    mkfifo(&project.root().join("wasm/pipe.wasm"));
    let zero_hash = format!("sha256:{}", "0".repeat(64));
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: dev, kind: fs.directory, directory: /dev}\n";
    yaml += &wasm_entry("pipe", "pipe.wasm", &zero_hash, "run", Some("pipe"));
    yaml += &format!(
        "  - {{name: zero, kind: process.wasm, fs: dev, path: zero, hash: {zero_hash}, method: run, meta: {{command: {{name: zero}}}}}}\n"
    );
    project.write("src/app.yaml", yaml);
    let pipe = project.root().join("wasm/pipe.wasm");
    let err = wippy(&project, &["run", "pipe"], &[]).failed().to_string();
    assert!(
        err.contains(&format!(
            "entry `app:pipe`, field `path`: the component file {} is a FIFO (named pipe), not a regular file",
            pipe.display()
        )),
        "{err}"
    );
    let err = wippy(&project, &["run", "zero"], &[]).failed().to_string();
    assert!(
        err.contains(
            "field `path`: the component file /dev/zero is a character device, not a regular file"
        ),
        "{err}"
    );
    // A file too large to be a component is refused before it is read (this one is sparse).
    let huge = std::fs::File::create(project.root().join("wasm/huge.wasm")).unwrap();
    huge.set_len(1024 * 1024 * 1024 + 1).unwrap();
    project.write(
        "src/huge.yaml",
        format!("namespace: big\nentries:\n  - {{name: huge, kind: process.wasm, fs: app:wasm, path: huge.wasm, hash: {zero_hash}, method: run, meta: {{command: {{name: huge}}}}}}\n"),
    );
    let err = wippy(&project, &["run", "huge"], &[]).failed().to_string();
    assert!(
        err.contains("huge.wasm is 1073741825 bytes, more than the 1 GiB a component may be"),
        "{err}"
    );
    // `check` reads every component, and stops at none of them.
    let check = wippy(&project, &["check"], &[]);
    let err = check.failed();
    assert!(err.contains("is a FIFO (named pipe)"), "{check:#?}");
    assert!(err.contains("is a character device"), "{check:#?}");
}

/// A component whose `compute` answers 666, whatever it is asked: what a planted artifact
/// would run.
const IMPOSTOR: &str = r#"(component
  (core module $m (func (export "compute") (param i32 i32) (result i32) i32.const 666))
  (core instance $i (instantiate $m))
  (func (export "compute") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "compute"))))"#;

/// `compute` (the hello guest: 6 7 → 42) and `impostor` (→ 666) as commands, each run once
/// so both are in the cache; returns the project and the two cache files.
fn cached_pair() -> (Project, std::path::PathBuf, std::path::PathBuf) {
    let project = Project::new();
    let hello = project.add_guest("hello");
    let impostor = wat::parse_str(IMPOSTOR).unwrap();
    project.write("wasm/impostor.wasm", &impostor);
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry("compute", "hello.wasm", &hello, "compute", Some("compute"));
    yaml += &wasm_entry(
        "impostor",
        "impostor.wasm",
        &support::sha256(&impostor),
        "compute",
        Some("impostor"),
    );
    project.write("src/app.yaml", yaml);
    assert_eq!(
        wippy(&project, &["run", "compute", "6", "7"], &[]).ok(),
        "42\n"
    );
    assert_eq!(
        wippy(&project, &["run", "impostor", "6", "7"], &[]).ok(),
        "666\n"
    );
    let cached = |hash: &str| {
        let hex = hash.strip_prefix("sha256:").unwrap();
        std::fs::read_dir(project.cache_dir())
            .unwrap()
            .map(|f| f.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(hex))
            .unwrap_or_else(|| panic!("no cache file for {hash}"))
    };
    let (ours, theirs) = (cached(&hello), cached(&support::sha256(&impostor)));
    (project, ours, theirs)
}

#[test]
fn an_artifact_planted_under_another_components_name_is_not_run() {
    let (project, ours, theirs) = cached_pair();
    std::fs::copy(&theirs, &ours).unwrap();
    let run = wippy(&project, &["run", "compute", "6", "7"], &[]);
    assert_eq!(
        run.ok(),
        "42\n",
        "the pinned component ran, not the planted one"
    );
    assert!(
        run.stderr.contains(&format!(
            "wippy warn: ignoring the artifact cache file {}: it was compiled from sha256:",
            ours.display()
        )),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains(", not from this component (sha256:"),
        "{run:#?}"
    );
    // Recompiled and stored again: the next run loads its own artifact.
    let again = wippy(&project, &["-v", "run", "compute", "6", "7"], &[]);
    assert_eq!(again.ok(), "42\n");
    assert!(
        again.stderr.contains("loaded from the artifact cache"),
        "{again:#?}"
    );
}

#[test]
fn a_tampered_or_truncated_artifact_is_recompiled_not_loaded() {
    let (project, ours, _) = cached_pair();
    let intact = std::fs::read(&ours).unwrap();
    let mut flipped = intact.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    for (what, bytes) in [
        ("one bit of code flipped", flipped),
        ("cut in half", intact[..intact.len() / 2].to_vec()),
        ("only the header", intact[..88].to_vec()),
    ] {
        std::fs::write(&ours, &bytes).unwrap();
        let run = wippy(&project, &["-v", "run", "compute", "6", "7"], &[]);
        assert_eq!(run.ok(), "42\n", "{what}");
        assert!(
            run.stderr
                .contains("ignoring the corrupt artifact cache file"),
            "{what}: {run:#?}"
        );
        assert!(run.stderr.contains("compiled in"), "{what}: {run:#?}");
        assert_eq!(std::fs::read(&ours).unwrap(), intact, "{what}: rewritten");
    }

    // A FIFO where the artifact should be: no hang, compiled, and replaced by a file.
    std::fs::remove_file(&ours).unwrap();
    mkfifo(&ours);
    assert_eq!(
        wippy(&project, &["run", "compute", "6", "7"], &[]).ok(),
        "42\n"
    );
    assert!(std::fs::metadata(&ours).unwrap().is_file());
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_cache_is_private_and_a_writable_one_is_not_used() {
    let (project, ours, _) = cached_pair();
    let cache = project.cache_dir();
    assert_eq!(mode(&cache), 0o700, "created private");
    assert_eq!(mode(&ours), 0o600);

    // A file others may write is not trusted; it is replaced by a private one.
    set_mode(&ours, 0o666);
    let run = wippy(&project, &["run", "compute", "6", "7"], &[]);
    assert_eq!(run.ok(), "42\n");
    assert!(
        run.stderr.contains(&format!(
            "wippy warn: ignoring the artifact cache file {}: it is writable by its group or by others (mode 666)",
            ours.display()
        )),
        "{run:#?}"
    );
    assert_eq!(mode(&ours), 0o600);

    // A folder its group may write is not used at all: one warning, compiled in memory.
    set_mode(&cache, 0o770);
    std::fs::remove_file(&ours).unwrap();
    let run = wippy(&project, &["-v", "run", "compute", "6", "7"], &[]);
    assert_eq!(run.ok(), "42\n");
    let warning = format!(
        "wippy warn: not using the artifact cache {}: it is writable by its group or by others (mode 770), so they could plant compiled code that wippy would run; compiling without it. Make it private with `chmod 700 {}`, or set WIPPY_CACHE_DIR=off\n",
        cache.display(),
        cache.display()
    );
    assert!(run.stderr.contains(&warning), "{run:#?}");
    assert_eq!(
        run.stderr.matches("not using the artifact cache").count(),
        1
    );
    assert!(
        run.stderr.contains("compiled in") && run.stderr.contains("(artifact cache unavailable)"),
        "{run:#?}"
    );
    assert!(!ours.exists(), "nothing was stored in the untrusted folder");

    // Missing folders are created private, parents included.
    let nested = project.root().join("fresh/artifacts");
    let run = wippy(
        &project,
        &["run", "compute", "6", "7"],
        &[("WIPPY_CACHE_DIR", nested.to_str().unwrap())],
    );
    assert_eq!(run.ok(), "42\n");
    assert_eq!(mode(&nested), 0o700);
    assert_eq!(mode(&project.root().join("fresh")), 0o700);
    assert_eq!(std::fs::read_dir(&nested).unwrap().count(), 1);
}

#[test]
fn wippy_cache_dir_off_compiles_every_time_and_stores_nothing() {
    let project = Project::new();
    let hello = project.add_guest("hello");
    let mut yaml = HEADER.to_string();
    yaml += &wasm_entry("compute", "hello.wasm", &hello, "compute", Some("compute"));
    project.write("src/app.yaml", yaml);
    let xdg = project.root().join("xdg");
    let env = [
        ("WIPPY_CACHE_DIR", "off"),
        ("XDG_CACHE_HOME", xdg.to_str().unwrap()),
    ];
    for _ in 0..2 {
        let run = wippy(&project, &["-v", "run", "compute", "6", "7"], &env);
        assert_eq!(run.ok(), "42\n");
        assert!(
            run.stderr.contains("compiled in")
                && run.stderr.contains("(artifact cache unavailable)"),
            "{run:#?}"
        );
        assert!(!run.stderr.contains("warn"), "{run:#?}");
    }
    assert!(
        !project.root().join("off").exists(),
        "no folder named `off`"
    );
    assert!(!xdg.exists(), "the default cache was not used either");
    assert!(!project.cache_dir().exists());
}
