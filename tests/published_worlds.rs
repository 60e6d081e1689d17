//! Guests built as is against the published worlds in `wit/`: `wippy:process/process`
//! (exports `entry.run`) and `wippy:runtime/function` (exports `entry.call`). Their entry
//! points take the arguments as one JSON array and return JSON, so a Rust, Python or
//! JavaScript author needs no world of their own.

mod support;

use support::{Project, lua_project};

/// The two guests copied in, as `adder` (a process) and `greeter` (a function command).
fn entries(project: &Project) -> String {
    let adder = project.add_guest("json_process");
    let greeter = project.add_guest("json_function");
    format!(
        "  - {{name: wasm, kind: fs.directory, directory: wasm}}\n  - {{name: adder, kind: process.wasm, fs: wasm, path: json_process.wasm, hash: \"{adder}\", method: run, imports: [wippy:process], meta: {{command: {{name: add}}}}}}\n  - {{name: greeter, kind: function.wasm, fs: wasm, path: json_function.wasm, hash: \"{greeter}\", method: call, meta: {{command: {{name: greet}}}}}}\n"
    )
}

fn project(script: &str) -> Project {
    let project = lua_project("", script);
    let yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let extra = entries(&project);
    project.write(
        "src/app.yaml",
        yaml.replace("entries:\n", &format!("entries:\n{extra}")),
    );
    project
}

#[test]
fn a_process_of_the_published_world_gets_json_arguments_and_returns_json() {
    let project = project(
        r#"
local pid = process.spawn_monitored("app:adder", "app:processes", 6, 7.5)
local exit = process.receive()
assert(exit.error == nil, tostring(exit.error))
print(exit.value.sum, exit.value.pid == pid)
process.spawn_monitored("app:adder", "app:processes", 1, "fail")
print(process.receive().error)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "13.5\ttrue\nasked to fail\n"
    );
}

#[test]
fn a_function_of_the_published_world_is_called_with_json() {
    let project = project(
        r#"
print(funcs.call("app:greeter", "World"))
local value, err = funcs.call("app:greeter")
print(value, err)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "Hello, World!\tnil\nnil\ta name is needed\n"
    );
    // As commands: the words are the JSON array, numbers as numbers.
    assert_eq!(
        project.wippy(&["run", "greet", "Ada"]).ok(),
        "Hello, Ada!\n"
    );
    let err = project.wippy(&["run", "greet"]).failed().to_string();
    assert!(err.contains("a name is needed"), "{err}");
    let out = project.wippy(&["run", "add", "2", "3"]).ok().to_string();
    assert!(out.contains("sum: 5"), "{out}");
}
