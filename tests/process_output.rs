//! Guest output under a `process.host`: whole lines, labelled, never interleaved mid-line,
//! through the library with a real engine and a real guest.

mod support;

use std::sync::{Arc, Mutex};

use support::{HEADER, Project, wasm_entry, with_imports};
use wasmtime::component::Val;
use wippy::engine::{ArtifactCache, PreparedEntry, Runtime};
use wippy::guest::{LineSink, OutputStream, Stdio};
use wippy::process::{self, ProcessConfig};
use wippy::registry::{EntryId, Registry};

#[derive(Default)]
struct Collected(Mutex<Vec<(OutputStream, String, String)>>);

impl LineSink for Collected {
    fn write_line(&self, stream: OutputStream, label: &str, line: &[u8]) {
        let line = String::from_utf8(line.to_vec()).unwrap();
        self.0
            .lock()
            .unwrap()
            .push((stream, label.to_string(), line));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_of_concurrent_processes_stay_whole_and_labelled() {
    let project = Project::new();
    let hash = project.add_guest("prober");
    let entry = with_imports(
        wasm_entry("printer", "prober.wasm", &hash, "print-in-pieces", None),
        &["wasi:cli"],
    );
    project.write("src/app.yaml", format!("{HEADER}{entry}"));
    let registry = Registry::load(project.root()).unwrap();
    let runtime = Runtime::new(ArtifactCache::at(project.cache_dir())).unwrap();
    let entry = registry.get(&EntryId::new("app", "printer")).unwrap();
    let prepared = Arc::new(PreparedEntry::prepare(&runtime, &registry, entry).unwrap());
    let sink = Arc::new(Collected::default());

    let mut tasks = Vec::new();
    for process in 0..8 {
        let prepared = prepared.clone();
        let sink: Arc<dyn LineSink> = sink.clone();
        tasks.push(tokio::spawn(async move {
            let label: Arc<str> = format!("app:printer p{process}").into();
            for line in 0..5 {
                let text = format!("process {process} line {line} {}", "x".repeat(40));
                let config = ProcessConfig {
                    cli_args: Vec::new(),
                    actor: None,
                    stdio: Stdio::Labelled {
                        label: label.clone(),
                        sink: sink.clone(),
                    },
                };
                // 20 separate writes per line: without line buffering they would interleave.
                process::run(&prepared, config, &[Val::String(text), Val::U32(20)])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let lines = sink.0.lock().unwrap();
    assert_eq!(lines.len(), 40);
    for (stream, label, line) in lines.iter() {
        assert_eq!(*stream, OutputStream::Stdout);
        let process = label.strip_prefix("app:printer p").unwrap();
        assert!(
            line.starts_with(&format!("process {process} line ")),
            "{label}: {line}"
        );
        assert!(line.ends_with(&"x".repeat(40)), "{label}: {line}");
    }
}

#[tokio::test]
async fn output_written_before_wasi_exit_is_all_delivered() {
    let project = Project::new();
    let hash = project.add_guest("envprint");
    let entry = with_imports(
        wasm_entry("env", "envprint.wasm", &hash, "wasi:cli/run#run", None),
        &["wasi:cli"],
    );
    project.write("src/app.yaml", format!("{HEADER}{entry}"));
    let registry = Registry::load(project.root()).unwrap();
    let runtime = Runtime::new(ArtifactCache::at(project.cache_dir())).unwrap();
    let prepared = PreparedEntry::prepare(
        &runtime,
        &registry,
        registry.get(&EntryId::new("app", "env")).unwrap(),
    )
    .unwrap();
    let sink = Arc::new(Collected::default());
    let config = ProcessConfig {
        cli_args: vec!["--exit=4".into()],
        actor: None,
        stdio: Stdio::Labelled {
            label: "app:env p1".into(),
            sink: sink.clone(),
        },
    };
    let exit = process::run(&prepared, config, &[]).await.unwrap();
    assert!(matches!(exit, process::Exit::Exited(4)), "{exit:?}");
    let lines = sink.0.lock().unwrap();
    let stdout: Vec<&str> = lines
        .iter()
        .filter(|l| l.0 == OutputStream::Stdout)
        .map(|l| l.2.as_str())
        .collect();
    assert_eq!(stdout, ["arg[0]=app:env", "arg[1]=--exit=4", "cwd unset"]);
    let stderr: Vec<&str> = lines
        .iter()
        .filter(|l| l.0 == OutputStream::Stderr)
        .map(|l| l.2.as_str())
        .collect();
    assert_eq!(stderr, ["exiting with 4"]);
}
