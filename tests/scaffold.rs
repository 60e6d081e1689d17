//! `wippy new <dir>`: the app it writes builds with its own script and runs as its README says.

mod support;

use std::process::Command;

use support::wippy_in;

#[test]
fn a_new_app_builds_and_runs_as_its_readme_says() {
    // Installs the wasm32-wasip2 target when missing, as building any guest does.
    support::guests_dir();
    let parent = tempfile::tempdir().unwrap();
    let app = parent.path().join("hello-app");
    let cache = parent.path().join("cache");
    let created = wippy_in(parent.path(), &cache, &["new", app.to_str().unwrap()]);
    assert!(created.ok().contains("./build.sh"), "{created:?}");
    for file in [
        "src/app.yaml",
        "src/main.lua",
        "guest/Cargo.toml",
        "guest/src/lib.rs",
        "guest/wit/process/host.wit",
        "build.sh",
        "README.md",
    ] {
        assert!(app.join(file).is_file(), "{file} is missing");
    }
    // Before the build the pinned hash is a placeholder: the run says what to do.
    let before = wippy_in(&app, &cache, &["run", "main"]);
    assert!(before.failed().contains("app:worker"), "{before:?}");

    // A target folder of its own, kept between runs, so the guest's dependencies build once.
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffolded-guest");
    let built = Command::new("bash")
        .arg(app.join("build.sh"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&built.stdout);
    assert!(
        built.status.success() && stdout.contains("pinned sha256:"),
        "build.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(
        wippy_in(&app, &cache, &["check"])
            .ok()
            .contains("ok  app:worker")
    );
    let run = wippy_in(&app, &cache, &["run", "main", "Ada"]);
    assert!(
        run.ok().starts_with("Hello, Ada! (from {app:processes|"),
        "{run:?}"
    );

    // A folder that holds anything is left alone.
    let again = wippy_in(parent.path(), &cache, &["new", app.to_str().unwrap()]);
    assert!(
        again
            .failed()
            .contains("is not empty; `wippy new` writes a new app into an empty or missing folder"),
        "{again:?}"
    );
}
