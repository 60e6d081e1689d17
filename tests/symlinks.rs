//! A guest with a writable mount cannot leave a symlink there that points out of it (host
//! tools reading the folder later would follow it): absolute targets and targets with `..`
//! are refused with `not-permitted`, for components and for preview 1 core modules alike;
//! targets that only descend still work.

mod support;

use std::path::Path;

use support::{HEADER, Project, wasm_entry, with_imports};

/// `data/out`, to be mounted writable at /out, with files in it and one beside it.
fn mount_project() -> Project {
    let project = Project::new();
    project.write("data/out/inside.txt", "inside");
    project.write("data/out/sub/deeper.txt", "deeper");
    project.write("outside", "outside the mount");
    project.write("src/main.lua", "");
    project
}

/// The registry: the `out` directory, a process host, `entries`, and a Lua `main`.
fn write_registry(project: &Project, entries: &str) {
    project.write(
        "src/app.yaml",
        format!(
            "{HEADER}  - {{name: out, kind: fs.directory, directory: data/out}}\n  - {{name: processes, kind: process.host}}\n{entries}  - {{name: main, kind: process.lua, source: file://main.lua, modules: [funcs], meta: {{command: {{name: main}}}}}}\n"
        ),
    );
}

/// Whether anything (a symlink included, dangling or not) exists at `relative`.
fn exists(project: &Project, relative: &str) -> bool {
    project.root().join(relative).symlink_metadata().is_ok()
}

#[test]
fn a_component_cannot_make_a_symlink_out_of_its_mount() {
    let project = mount_project();
    let hash = project.add_guest("hostile");
    let entry = with_imports(
        wasm_entry("link", "hostile.wasm", &hash, "make-symlink", Some("link")),
        &["wasi:filesystem"],
    ) + "    wasi: {mounts: [{fs: out, guest: /out}]}\n";
    write_registry(&project, &entry);
    for (target, link) in [
        ("/etc/passwd", "absolute"),
        ("../../outside", "climbs"),
        ("../outside", "one-up"),
        ("sub/../../outside", "down-then-up"),
        // Would stay inside today, but renaming the link or its folder later could change
        // that, so any `..` is refused.
        ("../inside.txt", "sub/sibling"),
    ] {
        let err = project
            .wippy(&["run", "link", "/out", target, link])
            .failed()
            .to_string();
        assert_eq!(
            err, "error: `app:link` returned an error: not-permitted\n",
            "{target}"
        );
        assert!(!exists(&project, &format!("data/out/{link}")), "{target}");
    }
    // Targets that only descend work.
    for (target, link) in [("inside.txt", "good"), ("sub/deeper.txt", "deep")] {
        project.wippy(&["run", "link", "/out", target, link]).ok();
        assert_eq!(
            std::fs::read_link(project.root().join("data/out").join(link)).unwrap(),
            Path::new(target)
        );
    }
    assert_eq!(
        std::fs::read_to_string(project.root().join("data/out/deep")).unwrap(),
        "deeper"
    );
}

/// A preview 1 core module: each export calls `path_symlink` on the first mount (fd 3) and
/// returns the errno.
const SYMLINKS_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "../outside")
  (data (i32.const 16) "/etc/passwd")
  (data (i32.const 32) "inside.txt")
  (data (i32.const 48) "up")
  (data (i32.const 64) "absolute")
  (data (i32.const 80) "good")
  (func (export "up") (result i32)
    (call $symlink (i32.const 0) (i32.const 10) (i32.const 3) (i32.const 48) (i32.const 2)))
  (func (export "absolute") (result i32)
    (call $symlink (i32.const 16) (i32.const 11) (i32.const 3) (i32.const 64) (i32.const 8)))
  (func (export "good") (result i32)
    (call $symlink (i32.const 32) (i32.const 10) (i32.const 3) (i32.const 80) (i32.const 4))))"#;

#[test]
fn a_preview1_core_module_cannot_make_a_symlink_out_of_its_mount() {
    let mut entries = String::new();
    for name in ["up", "absolute", "good"] {
        entries += &format!(
            "  - {{name: {name}, kind: function.wat, source: file://links.wat, wit: \"{name}: func() -> s32;\", imports: [wasi1], wasi: {{mounts: [{{fs: out, guest: /out}}]}}}}\n"
        );
    }
    let project = mount_project();
    write_registry(&project, &entries);
    project.write(
        "src/main.lua",
        r#"local funcs = require("funcs")
for _, name in ipairs({"up", "absolute", "good"}) do print(name, funcs.call("app:" .. name)) end
"#,
    );
    project.write("src/links.wat", SYMLINKS_WAT);
    // 63 is preview 1's EPERM.
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "up\t63\tnil\nabsolute\t63\tnil\ngood\t0\tnil\n"
    );
    assert!(!exists(&project, "data/out/up"));
    assert!(!exists(&project, "data/out/absolute"));
    assert_eq!(
        std::fs::read_to_string(project.root().join("data/out/good")).unwrap(),
        "inside"
    );
}
