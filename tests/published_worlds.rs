//! Guests built as is against the published worlds in `wit/`: `wippy:process/process`
//! (exports `entry.run`) and `wippy:runtime/function` (exports `entry.call`). Their entry
//! points take the arguments as one JSON array and return JSON, so a Rust, Python or
//! JavaScript author needs no world of their own. `guests/lib-counter` and `guests/lib-greeter`
//! are written with the `wippy-guest` library (`guests/wippy-guest`) over the same worlds.

mod support;

use support::{Project, lua_project};

/// The two guests copied in, as `adder` (a process) and `greeter` (a function command).
fn entries(project: &Project) -> String {
    let adder = project.add_guest("json_process");
    let greeter = project.add_guest("json_function");
    let counter = project.add_guest("lib_counter");
    let lib_greeter = project.add_guest("lib_greeter");
    format!(
        "  - {{name: wasm, kind: fs.directory, directory: wasm}}\n  - {{name: adder, kind: process.wasm, fs: wasm, path: json_process.wasm, hash: \"{adder}\", method: run, imports: [wippy:process], meta: {{command: {{name: add}}}}}}\n  - {{name: greeter, kind: function.wasm, fs: wasm, path: json_function.wasm, hash: \"{greeter}\", method: call, meta: {{command: {{name: greet}}}}}}\n  - {{name: counter, kind: process.wasm, fs: wasm, path: lib_counter.wasm, hash: \"{counter}\", method: run, imports: [wippy:process]}}\n  - {{name: lib_greeter, kind: function.wasm, fs: wasm, path: lib_greeter.wasm, hash: \"{lib_greeter}\", method: call}}\n"
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

#[test]
fn the_guest_library_types_payloads_and_replies() {
    let project = project(
        r#"
local counter = process.spawn_monitored("app:counter", "app:processes")
for i = 1, 10 do process.send(counter, "add", i) end
process.send(counter, "stop")
local reply = process.inbox():receive()
print(reply:topic(), reply:payload():data())
local exit = process.receive("5s")
print(exit.value, exit.error)
-- A payload that is not the type the process reads fails it, with why.
local counter = process.spawn_monitored("app:counter", "app:processes")
process.send(counter, "add", 1.5)
print(process.receive("5s").error)
print(funcs.call("app:lib_greeter", "Ada"))
print(funcs.call("app:lib_greeter", ""))
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "total\t55\n55\tnil\npayload: invalid type: floating point `1.5`, expected i64 at line 1 column 3\nHello, Ada!\tnil\nnil\ta name is needed\n"
    );
}
