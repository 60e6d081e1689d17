//! Shared by the integration tests: guest components built from `guests/`, throwaway
//! projects on disk, and the `wippy` binary run against them.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

pub mod nats;
pub mod server;

pub const GUEST_TARGET: &str = "wasm32-wasip2";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds every guest in `guests/` once per test binary (cargo's own lock serialises
/// concurrent builds from several binaries) and returns the folder holding the `.wasm` files.
pub fn guests_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        ensure_guest_target();
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("guests");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "--target",
                GUEST_TARGET,
                "--manifest-path",
            ])
            .arg(repo_root().join("guests/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cannot run cargo to build the guests");
        assert!(
            status.success(),
            "building the guest components in guests/ failed (see the cargo output above)"
        );
        target_dir.join(GUEST_TARGET).join("release")
    })
}

/// Installs the wasm32-wasip2 target when it is missing, or stops with a message that says how.
fn ensure_guest_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == GUEST_TARGET)
        })
        .unwrap_or(false);
    if installed {
        return;
    }
    eprintln!("installing the {GUEST_TARGET} target to build the guest components…");
    let added = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status();
    assert!(
        matches!(added, Ok(s) if s.success()),
        "the {GUEST_TARGET} Rust target is missing and `rustup target add {GUEST_TARGET}` failed; \
         install it by hand (it needs rustup and network access to the Rust distribution server)"
    );
}

/// The built guest `name` (`hello`, `values`, …).
pub fn guest(name: &str) -> PathBuf {
    let path = guests_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "guest {name} was not built at {}",
        path.display()
    );
    path
}

pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A project in a temporary folder: registry files under `src/`, components under `wasm/`,
/// and an artifact cache of its own.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("cannot create a temporary project");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("wasm")).unwrap();
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.root().join(".cache")
    }

    /// Writes `text` to `relative` (under the project root), creating folders.
    pub fn write(&self, relative: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Copies a built guest into `wasm/<name>.wasm` and returns its pinned hash.
    pub fn add_guest(&self, name: &str) -> String {
        let bytes = std::fs::read(guest(name)).unwrap();
        self.write(&format!("wasm/{name}.wasm"), &bytes);
        sha256(&bytes)
    }

    /// Runs `wippy -C <project> <args>` with this project's own artifact cache.
    pub fn wippy(&self, args: &[&str]) -> Run {
        wippy_in(self.root(), &self.cache_dir(), args)
    }
}

/// Runs `wippy -C <project_dir> <args>` with the artifact cache in `cache_dir`.
pub fn wippy_in(project_dir: &Path, cache_dir: &Path, args: &[&str]) -> Run {
    let output = wippy_command(project_dir, cache_dir, args).output();
    Run::of(output.expect("cannot start the wippy binary"))
}

/// `wippy -C <project_dir> <args>` with the artifact cache in `cache_dir`, and no
/// `RUST_BACKTRACE` from the environment (it would change what a failure prints).
pub fn wippy_command(project_dir: &Path, cache_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wippy"));
    command
        .arg("-C")
        .arg(project_dir)
        .args(args)
        .env("WIPPY_CACHE_DIR", cache_dir)
        // A debug build compiles slowly: the tests that compare stderr whole would see the
        // slow-compile line (`engine::progress`); the test of that line sets its own.
        .env("WIPPY_SLOW_COMPILE", "1h")
        .env_remove("RUST_BACKTRACE");
    command
}

/// What a run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success, got {self:#?}");
        &self.stdout
    }

    /// Asserts exit code 1 with wippy's error paragraph closing stderr, and returns it from
    /// `error: ` on. (A guest may have written to stderr before it.)
    pub fn failed(&self) -> &str {
        assert_eq!(self.code, Some(1), "expected exit code 1, got {self:#?}");
        let start = if self.stderr.starts_with("error: ") {
            0
        } else {
            self.stderr
                .rfind("\nerror: ")
                .map(|i| i + 1)
                .unwrap_or_else(|| panic!("no `error: ` paragraph: {self:#?}"))
        };
        let paragraph = &self.stderr[start..];
        assert!(
            !paragraph.contains("panicked"),
            "a panic reached the user: {self:#?}"
        );
        assert!(
            !paragraph.contains("RUST_BACKTRACE"),
            "a Rust backtrace hint reached the user: {self:#?}"
        );
        paragraph
    }
}

pub const HEADER: &str = "version: \"1.0\"\nnamespace: app\nentries:\n  - name: wasm\n    kind: fs.directory\n    directory: wasm\n";

/// A `process.wasm` entry in YAML (indented for `entries:`), with optional extra lines.
pub fn wasm_entry(
    name: &str,
    file: &str,
    hash: &str,
    method: &str,
    command: Option<&str>,
) -> String {
    let mut yaml = format!(
        "  - name: {name}\n    kind: process.wasm\n    fs: wasm\n    path: {file}\n    hash: {hash}\n    method: \"{method}\"\n"
    );
    if let Some(command) = command {
        yaml.push_str(&format!(
            "    meta:\n      command:\n        name: {command}\n        short: Runs {name}\n"
        ));
    }
    yaml
}

/// Adds `imports: [...]` to an entry made by [`wasm_entry`].
pub fn with_imports(entry: String, imports: &[&str]) -> String {
    format!("{entry}    imports: [{}]\n", imports.join(", "))
}

/// `process.wasm` entries of `guests/actor` (pinned by `hash`), one per `(name, export)`,
/// each granted `wippy:process`.
pub fn actor_entries(hash: &str, exports: &[(&str, &str)]) -> String {
    exports
        .iter()
        .map(|(name, method)| {
            with_imports(
                wasm_entry(name, "actor.wasm", hash, method, None),
                &["wippy:process"],
            )
        })
        .collect()
}

/// Like [`Project::wippy`], with extra environment variables for the runtime.
pub fn wippy_in_env(project: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = wippy_command(project.root(), &project.cache_dir(), args);
    command.envs(env.iter().copied());
    Run::of(command.output().expect("cannot start the wippy binary"))
}

/// Like [`Project::wippy`], with `input` on the runtime's stdin.
pub fn wippy_with_stdin(project: &Project, args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = wippy_command(project.root(), &project.cache_dir(), args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start the wippy binary");
    child.stdin.take().unwrap().write_all(input).unwrap();
    Run::of(child.wait_with_output().unwrap())
}

/// Longer than any run in the tests takes, even on a busy machine.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `wippy -C <project> <args>` from the project folder, with its artifact cache, `env`
/// set and `unset` removed, and fails the test if the run has not ended within [`DEADLINE`]:
/// a run that blocks (a loader stuck on a FIFO, say) fails instead of hanging the suite.
pub fn wippy_within(project: &Project, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Run {
    use std::io::Read;
    use std::process::Stdio;
    let mut command = wippy_command(project.root(), &project.cache_dir(), args);
    command.current_dir(project.root());
    for name in unset {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("cannot start the wippy binary");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            pipe.read_to_end(&mut text).ok();
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "`wippy {}` did not finish within {DEADLINE:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A Lua `main` that spawns `offender` and `app:healthy` on `app:processes` side by side and
/// prints each one's EXIT as `value / error`, sorted: a misbehaving process beside one that
/// must still finish.
pub fn beside_healthy(offender: &str) -> String {
    format!(
        r#"process.spawn_monitored("{offender}", "app:processes")
process.spawn_monitored("app:healthy", "app:processes")
local results = {{}}
for _ = 1, 2 do
  local exit = process.receive("60s")
  results[#results + 1] = tostring(exit.value) .. " / " .. tostring(exit.error)
end
table.sort(results)
for _, line in ipairs(results) do print(line) end
"#
    )
}

/// A Lua project: a `processes` host, a `healthy` process (sleeps 50 ms, returns
/// "still here"), the YAML `entries` given, and `main` (with `time` and `funcs`) as the `main`
/// command running `script`.
pub fn lua_project(entries: &str, script: &str) -> Project {
    let project = Project::new();
    project.write("src/main.lua", script);
    project.write(
        "src/app.yaml",
        format!(
            "namespace: app\nentries:\n  - {{name: processes, kind: process.host}}\n  - {{name: healthy, kind: process.lua, modules: [time], source: \"time.sleep('50ms') return 'still here'\"}}\n{entries}  - {{name: main, kind: process.lua, modules: [time, funcs], source: file://main.lua, meta: {{command: {{name: main}}}}}}\n"
        ),
    );
    project
}
