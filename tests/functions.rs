//! `function.wat` and core modules with a `wit` signature, called with `funcs.call` from Lua;
//! their error paths.

mod support;

use support::{HEADER, Project};

const WAT: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "half") (param f64) (result f64) local.get 0 f64.const 2 f64.div)
  (func (export "boom") (result i32) unreachable)
  (func (export "forever") (result i32) (loop br 0) i32.const 0))"#;

fn functions_project(script: &str) -> Project {
    let project = Project::new();
    let core =
        wat::parse_str(r#"(module (func (export "answer") (result i32) i32.const 42))"#).unwrap();
    project.write("wasm/answer.wasm", &core);
    project.write("src/math.wat", WAT);
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    for (name, wit, extra) in [
        ("add", "add: func(a: s32, b: s32) -> s32;", ""),
        ("half", "half: func(x: f64) -> f64;", ""),
        ("boom", "boom: func() -> s32;", ""),
        (
            "forever",
            "forever: func() -> s32;",
            ", limits: {max_execution_ms: 100}",
        ),
    ] {
        yaml += &format!(
            "  - {{name: {name}, kind: function.wat, source: file://math.wat, wit: \"{wit}\"{extra}}}\n"
        );
    }
    yaml += &format!(
        "  - {{name: answer, kind: function.wasm, fs: wasm, path: answer.wasm, hash: \"{}\", method: answer, wit: \"answer: func() -> s32;\"}}\n",
        support::sha256(&core)
    );
    project.write("src/main.lua", script);
    yaml += "  - {name: main, kind: process.lua, source: file://main.lua, modules: [funcs], meta: {command: {name: main}}}\n";
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn wat_and_core_module_functions_are_called_from_lua_and_wasm() {
    let project = functions_project(
        r#"local funcs = require("funcs")
print(funcs.call("app:add", 2, 3))
print(funcs.call("app:half", 5))
print(funcs.call("app:answer"))
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "5\tnil\n2.5\tnil\n42\tnil\n"
    );
    let check = project.wippy(&["check"]);
    let out = check.ok();
    assert!(
        out.contains("ok  app:add  add(a: s32, b: s32) -> s32 (core module)"),
        "{out}"
    );
    assert!(
        out.contains("ok  app:answer  answer() -> s32 (core module)"),
        "{out}"
    );
}

#[test]
fn function_errors_are_values_not_crashes() {
    let project = functions_project(
        r#"local funcs = require("funcs")
print(funcs.call("app:add", "two", 3))
print(funcs.call("app:add", 2^40, 3))
print(funcs.call("app:add", 1))
print(funcs.call("app:boom"))
print(funcs.call("app:forever"))
print(funcs.call("app:missing"))
print(funcs.call("app:add", 1, 1))
"#,
    );
    let out = project.wippy(&["run", "main"]).ok().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "nil\t`app:add`: param 1 (a): expected s32, got string"
    );
    assert_eq!(
        lines[1],
        "nil\t`app:add`: param 1 (a): 1099511627776 is out of range for s32"
    );
    assert_eq!(
        lines[2],
        "nil\t`app:add`: expected 2 arguments, got 1; the signature is add(a: s32, b: s32) -> s32"
    );
    assert!(
        lines[3].starts_with(
            "nil\t`app:boom` failed: the guest trapped: wasm `unreachable` instruction executed"
        ),
        "{out}"
    );
    assert_eq!(
        lines[4],
        "nil\t`app:forever` failed: it ran longer than its limit of 100 ms (limits.max_execution_ms)"
    );
    assert_eq!(lines[5], "nil\tno function `app:missing` in the registry");
    assert_eq!(lines[6], "2\tnil", "the host kept working");
}

#[test]
fn signatures_are_checked_against_the_module_when_loading() {
    let project = functions_project("");
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let yaml = yaml
        + "  - {name: wrong, kind: function.wat, source: file://math.wat, wit: \"add: func(a: s64) -> s32;\"}\n"
        + "  - {name: text, kind: function.wat, source: file://math.wat, wit: \"add: func(a: string) -> s32;\"}\n"
        + "  - {name: absent, kind: function.wat, source: file://math.wat, wit: \"sub: func() -> s32;\"}\n"
        + "  - {name: broken, kind: function.wat, source: \"(module (func\", wit: \"f: func();\"}\n";
    project.write("src/app.yaml", yaml);
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(err.contains("entry `app:wrong`, field `wit`: the signature does not match the module's `add`, whose core type is"), "{err}");
    assert!(
        err.contains("entry `app:text`, field `wit`: core functions take and return numbers"),
        "{err}"
    );
    assert!(
        err.contains("entry `app:absent`, field `wit`: the module exports no function `sub`"),
        "{err}"
    );
    assert!(
        err.contains("entry `app:broken`, field `source`: the module does not compile"),
        "{err}"
    );
}
