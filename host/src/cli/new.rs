//! `wippy new <dir>`: a working app to start from — a registry with a host and a terminal, a
//! Rust guest built against wippy's published world with a script that builds it and pins its
//! hash, and a Lua command that spawns it.

use std::path::Path;
use std::process::ExitCode;

use super::Failure;

/// Each file of a new app, by its path inside the app's folder.
const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("template/README.md")),
    ("src/app.yaml", include_str!("template/app.yaml")),
    ("src/main.lua", include_str!("template/main.lua")),
    (
        "guest/Cargo.toml",
        include_str!("template/guest.Cargo.toml"),
    ),
    ("guest/src/lib.rs", include_str!("template/guest.lib.rs")),
    (
        "guest/wit/process/host.wit",
        include_str!("../../../wit/process/host.wit"),
    ),
    ("build.sh", include_str!("template/build.sh")),
    (".gitignore", "guest/target/\n"),
    ("wasm/.gitkeep", ""),
];

pub fn new(dir: &Path) -> Result<ExitCode, Failure> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(Failure::from(format!(
            "{} is not empty; `wippy new` writes a new app into an empty or missing folder — pick another",
            dir.display()
        )));
    }
    for (relative, text) in FILES {
        let path = dir.join(relative);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        written.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    make_executable(&dir.join("build.sh"))?;
    println!(
        "created a wippy app in {0}\n\n  cd {0}\n  ./build.sh           # builds guest/ into wasm/worker.wasm and pins its hash\n  wippy run main Ada   # spawns the worker: Hello, Ada!",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn make_executable(path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Failure::from(format!("cannot make {} executable: {e}", path.display())))
}
