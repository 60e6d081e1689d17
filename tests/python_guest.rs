//! A guest built with another toolchain (componentize-py, from PyPI) against `wit/process`
//! alone: proof that the published WIT is all a guest author needs. The toolchain is
//! installed when it is missing; where it cannot be, the test says why and skips.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{HEADER, Project, wasm_entry, with_imports};

/// The componentize-py command, installed with pip when missing. Looked up in Python's own
/// scripts folder, so a fresh install works before any shell (or pyenv shim) knows of it.
fn componentize_py() -> Result<PathBuf, String> {
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .map_err(|e| format!("python3 is not available: {e}"))?;
    let command =
        PathBuf::from(String::from_utf8_lossy(&scripts.stdout).trim()).join("componentize-py");
    let works = || {
        Command::new(&command)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return Ok(command);
    }
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "componentize-py==0.25.1"])
        .status()
        .map_err(|e| format!("python3 -m pip cannot run: {e}"))?;
    if installed.success() && works() {
        Ok(command)
    } else {
        Err(
            "`python3 -m pip install componentize-py` did not give a working componentize-py"
                .into(),
        )
    }
}

/// Builds guests/python into a fresh folder: its world, with `wit/process` as a dependency.
fn build_python_guest() -> Result<PathBuf, String> {
    let componentize_py = componentize_py()?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-guest");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("wit/deps/process")).unwrap();
    std::fs::copy(
        repo.join("guests/python/wit/world.wit"),
        work.join("wit/world.wit"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("wit/process/host.wit"),
        work.join("wit/deps/process/host.wit"),
    )
    .unwrap();
    std::fs::copy(repo.join("guests/python/app.py"), work.join("app.py")).unwrap();
    let output = Command::new(&componentize_py)
        .current_dir(&work)
        .args([
            "-d",
            "wit",
            "-w",
            "python-actor",
            "componentize",
            "app",
            "-o",
            "python.wasm",
        ])
        .output()
        .map_err(|e| format!("cannot run componentize-py: {e}"))?;
    if !output.status.success() {
        panic!(
            "componentize-py failed to build guests/python:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(work.join("python.wasm"))
}

#[test]
fn a_python_actor_built_against_wit_process_runs_and_messages() {
    let wasm = match build_python_guest() {
        Ok(wasm) => wasm,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let project = Project::new();
    let bytes = std::fs::read(&wasm).unwrap();
    project.write("wasm/python.wasm", &bytes);
    let hash = support::sha256(&bytes);
    // CPython reads its environment, seeds its hashes and reads clocks at start.
    let grants = ["wippy:process", "wasi:cli", "wasi:random", "wasi:clocks"];
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    yaml += &with_imports(
        wasm_entry("greet", "python.wasm", &hash, "greet", Some("greet")),
        &grants,
    );
    yaml += &with_imports(
        wasm_entry("echo", "python.wasm", &hash, "echo", None),
        &grants,
    );
    project.write(
        "src/ping.lua",
        r#"local time = require("time")
local channel = require("channel")
local echo = process.spawn_monitored("app:echo", "app:processes")
local replies = process.listen("echo")
for i = 1, 20 do
  process.send(echo, "ping", {n = i})
  local got = channel.select({ replies:case_receive(), time.after("20s"):case_receive() })
  if got.channel ~= replies or got.value.n ~= i then error("no reply " .. i) end
end
process.send(echo, "stop")
return process.receive("20s").value
"#,
    );
    yaml += "  - {name: ping, kind: process.lua, source: file://ping.lua, modules: [time, channel], meta: {command: {name: ping}}}\n";
    project.write("src/app.yaml", yaml);

    let greeting = project.wippy(&["run", "greet", "World"]);
    let out = greeting.ok();
    assert!(
        out.starts_with("Hello, World, from {wippy:terminal|0x"),
        "{greeting:#?}"
    );
    assert_eq!(project.wippy(&["run", "ping"]).ok(), "20\n");
}
