//! Guests in JavaScript, built with componentize-js (npm, pinned in `guests/js/package.json`)
//! against wippy's published worlds as they are: an actor (`wippy:process/process`) and a
//! function (`wippy:runtime/function`). The toolchain is installed by the test; only where npm
//! cannot be reached does the test skip, saying why — never in CI.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::lua_project;

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Builds guests/js in a folder of its own (kept between runs, so npm installs once) and
/// returns the actor's and the function's components. `Err` when npm cannot install.
fn build() -> Result<(PathBuf, PathBuf), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-guest");
    std::fs::create_dir_all(work.join("wit/deps/process")).unwrap();
    std::fs::create_dir_all(work.join("wit/deps/runtime")).unwrap();
    for file in [
        "package.json",
        "actor.js",
        "greeter.js",
        "build.mjs",
        "wit/world.wit",
    ] {
        std::fs::copy(repo.join("guests/js").join(file), work.join(file)).unwrap();
    }
    std::fs::copy(
        repo.join("wit/process/host.wit"),
        work.join("wit/deps/process/host.wit"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("wit/runtime/funcs.wit"),
        work.join("wit/deps/runtime/funcs.wit"),
    )
    .unwrap();
    let installed = work.join("node_modules/@bytecodealliance/componentize-js/package.json");
    let pinned =
        std::fs::read_to_string(installed).is_ok_and(|p| p.contains("\"version\": \"0.23.0\""));
    if !pinned {
        run(
            Command::new("npm")
                .current_dir(&work)
                .args(["install", "--no-audit", "--no-fund"]),
            "npm install (componentize-js)",
        )?;
    }
    for (source, world, out) in [
        ("actor.js", "js-process", "actor.wasm"),
        ("greeter.js", "js-function", "greeter.wasm"),
    ] {
        run(
            Command::new("node")
                .current_dir(&work)
                .args(["build.mjs", source, world, out]),
            &format!("building {source}"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    Ok((work.join("actor.wasm"), work.join("greeter.wasm")))
}

#[test]
fn javascript_guests_built_against_the_published_worlds_run_as_is() {
    let (actor, greeter) = match build() {
        Ok(built) => built,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED javascript_guests…: the JavaScript toolchain could not be installed: {why}"
            );
            return;
        }
        Err(why) => panic!("CI must build the JavaScript guests: {why}"),
    };
    let project = lua_project(
        "",
        r#"
local actor = process.spawn_monitored("app:js_actor", "app:processes", "Hi")
process.send(actor, "greet", "Ada")
local reply = process.inbox():receive()
print(reply:topic(), reply:payload():data())
process.send(actor, "stop")
local exit = process.receive("60s")
if exit.error then error(exit.error) end
print(exit.value.greeted, exit.value.pid == actor)
process.spawn_monitored("app:js_actor", "app:processes", 42)
print(process.receive("60s").error)
print(funcs.call("app:js_greeter", "Ada"))
print(funcs.call("app:js_greeter", ""))
"#,
    );
    let mut yaml = std::fs::read_to_string(project.root().join("src/app.yaml")).unwrap();
    let mut entries = String::from("  - {name: wasm, kind: fs.directory, directory: wasm}\n");
    for (name, path, kind, method, imports) in [
        (
            "js_actor",
            &actor,
            "process.wasm",
            "run",
            ", imports: [wippy:process]",
        ),
        ("js_greeter", &greeter, "function.wasm", "call", ""),
    ] {
        let bytes = std::fs::read(path).unwrap();
        project.write(&format!("wasm/{name}.wasm"), &bytes);
        entries.push_str(&format!(
            "  - {{name: {name}, kind: {kind}, fs: wasm, path: {name}.wasm, hash: \"{}\", method: {method}{imports}}}\n",
            support::sha256(&bytes)
        ));
    }
    yaml = yaml.replace("entries:\n", &format!("entries:\n{entries}"));
    project.write("src/app.yaml", yaml);
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "greeting\tHi, Ada!\n1\ttrue\n42 is not a greeting\nHello, Ada!\tnil\nnil\ta name is needed\n"
    );
}
