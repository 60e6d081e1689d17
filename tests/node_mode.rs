//! `wippy run` with no command: the app runs as a node until SIGINT or SIGTERM, then stops
//! gracefully. Each test runs the built binary and signals it as a person or a service
//! manager would.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{DEADLINE, Project};

/// `polite` returns when it gets CANCEL; `stubborn` never looks at its events.
const APP: &str = r#"namespace: app
entries:
  - {name: processes, kind: process.host}
  - name: polite
    kind: process.lua
    source: |
      local function main()
        print("polite ready")
        local event = process.events():receive()
        if event.kind == process.event.CANCEL then
          print("polite cancelled: " .. event.reason)
        end
        return "done"
      end
      return {main = main}
  - name: stubborn
    kind: process.lua
    modules: [time]
    source: |
      local function main()
        print("stubborn ready")
        while true do time.sleep("20ms") end
      end
      return {main = main}
  - {name: polite_service, kind: process.service, process: polite, host: processes, lifecycle: {auto_start: true}}
"#;

const STUBBORN_SERVICE: &str = "  - {name: stubborn_service, kind: process.service, process: stubborn, host: processes, lifecycle: {auto_start: true, depends_on: [polite_service]}}\n";

/// A running `wippy run`, its stdout read line by line as it comes.
struct App {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
}

impl App {
    fn start(project: &Project, args: &[&str]) -> Self {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        Self::spawn(
            support::wippy_command(project.root(), &project.cache_dir(), &[]),
            &all,
        )
    }

    /// Starts `command` (a `wippy -C <project>` with no arguments yet) with `args`.
    fn spawn(mut command: std::process::Command, args: &[&str]) -> Self {
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the wippy binary");
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Self {
            child,
            lines,
            stdout: Vec::new(),
        }
    }

    /// Waits until a line of stdout contains `text`.
    fn wait_for(&mut self, text: &str) {
        let started = Instant::now();
        while !self.stdout.iter().any(|line| line.contains(text)) {
            let left = DEADLINE.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => panic!(
                    "no line with {text:?} within {DEADLINE:?}; stdout: {:#?}",
                    self.stdout
                ),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: a plain kill(2) of our own child.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill failed: {}", std::io::Error::last_os_error());
    }

    /// Waits for the exit (failing the test past [`DEADLINE`]): the code, all of stdout, and
    /// stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                self.child.kill().ok();
                panic!("`wippy run` did not exit within {DEADLINE:?} of the signal");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.stdout.extend(self.lines.iter());
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.code(), self.stdout.join("\n"), stderr)
    }
}

fn project(yaml: &str) -> Project {
    let project = Project::new();
    project.write("src/app.yaml", yaml);
    project
}

#[test]
fn a_running_app_stops_gracefully_on_sigterm() {
    let project = project(APP);
    let mut app = App::start(&project, &[]);
    app.wait_for("polite ready");
    app.signal(libc::SIGTERM);
    let (code, stdout, stderr) = app.finish();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("polite cancelled: the node is stopping"),
        "stdout: {stdout}"
    );
    for line in [
        "wippy info: node started: 1 service running; stop it with Ctrl-C or SIGTERM",
        "wippy info: SIGTERM: stopping; 1 process cancelled, 10s to finish (Ctrl-C again ends them at once)",
        "wippy info: node stopped",
    ] {
        assert!(
            stderr.contains(line),
            "{line:?} missing from stderr: {stderr}"
        );
    }
    // A service whose process ended because the node stopped is not restarted.
    assert!(!stderr.contains("restart"), "stderr: {stderr}");
}

#[test]
fn a_process_that_ignores_cancel_is_terminated_after_the_grace_period() {
    let project = project(&format!("{APP}{STUBBORN_SERVICE}"));
    let mut app = App::start(&project, &["--grace", "2s"]);
    app.wait_for("polite ready");
    app.wait_for("stubborn ready");
    app.signal(libc::SIGINT);
    let (code, stdout, stderr) = app.finish();
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    // The polite one still stopped by itself.
    assert!(
        stdout.contains("polite cancelled: the node is stopping"),
        "stdout: {stdout}"
    );
    assert!(
        stderr.contains("wippy info: SIGINT: stopping; 2 processes cancelled, 2s to finish"),
        "stderr: {stderr}"
    );
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("error: 1 process did not stop within the grace period and was terminated: {app:processes|0x"),
        "{error}"
    );
    assert!(
        error.ends_with("; a process should return when it receives CANCEL (`process.events()`), or give it longer with `--grace`"),
        "{error}"
    );
}

#[test]
fn a_second_interrupt_ends_the_processes_at_once() {
    let project = project(&format!("{APP}{STUBBORN_SERVICE}"));
    // A grace period longer than the test's deadline: only the second signal can end it.
    let mut app = App::start(&project, &["--grace", "10m"]);
    app.wait_for("stubborn ready");
    app.signal(libc::SIGINT);
    app.wait_for("polite cancelled");
    app.signal(libc::SIGINT);
    let (code, stdout, stderr) = app.finish();
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    // The polite one may still be returning when the second signal lands: one or both.
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with(
            "error: 1 process did not stop within the grace period and was terminated: "
        ) || error.starts_with(
            "error: 2 processes did not stop within the grace period and were terminated: "
        ),
        "stderr: {stderr}"
    );
}

#[test]
fn a_grace_period_that_is_not_a_duration_is_refused() {
    let project = project(APP);
    let run = support::wippy_within(&project, &["run", "--grace", "soon"], &[], &[]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr
            .contains("invalid value 'soon' for '--grace <DURATION>'"),
        "{run:#?}"
    );
}

/// Runs the app with `args` and `env` until a line of stdout contains `ready`, then stops it
/// with SIGTERM: the exit code, stdout and stderr.
fn run_and_stop(
    yaml: &str,
    args: &[&str],
    env: &[(&str, &str)],
    ready: &str,
) -> (Option<i32>, String, String) {
    let project = project(yaml);
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let mut command = support::wippy_command(project.root(), &project.cache_dir(), &[]);
    command.env_remove("RUST_LOG").envs(env.iter().copied());
    let mut app = App::spawn(command, &all);
    app.wait_for(ready);
    app.signal(libc::SIGTERM);
    app.finish()
}

#[test]
fn json_logs_are_one_object_per_line_with_level_target_and_message() {
    let (code, _, stderr) = run_and_stop(APP, &["--log-format", "json"], &[], "polite ready");
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    // The service's own line ("its process finished") may or may not make it before the end.
    assert_eq!(
        messages[..2],
        [
            "node started: 1 service running; stop it with Ctrl-C or SIGTERM",
            "SIGTERM: stopping; 1 process cancelled, 10s to finish (Ctrl-C again ends them at once)",
        ]
    );
    assert_eq!(messages.last(), Some(&"node stopped"), "{stderr}");
    for line in &lines {
        assert_eq!(line["level"], "info", "{line}");
        assert!(
            line["target"].as_str().unwrap().starts_with("wippy::"),
            "{line}"
        );
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
        assert_eq!(
            line.as_object().unwrap().len(),
            4,
            "no other fields: {line}"
        );
    }
}

#[test]
fn the_log_level_comes_from_the_flag_then_rust_log() {
    let info = "wippy info: node started";
    let (_, _, stderr) = run_and_stop(APP, &[], &[], "polite ready");
    assert!(
        stderr.contains(info),
        "a running app logs at info: {stderr}"
    );
    let (_, _, stderr) = run_and_stop(APP, &["--log-level", "warn"], &[], "polite ready");
    assert!(!stderr.contains(info), "{stderr}");
    let (_, _, stderr) = run_and_stop(APP, &[], &[("RUST_LOG", "wippy=warn")], "polite ready");
    assert!(!stderr.contains(info), "{stderr}");
    let (_, _, stderr) = run_and_stop(
        APP,
        &["--log-level", "info"],
        &[("RUST_LOG", "wippy=warn")],
        "polite ready",
    );
    assert!(
        stderr.contains(info),
        "the flag wins over RUST_LOG: {stderr}"
    );
}

#[test]
fn a_failure_nobody_watches_is_logged() {
    let yaml = format!(
        "{APP}  - {{name: doomed, kind: process.lua, source: \"error('doomed on purpose')\"}}\n  - name: launcher\n    kind: process.lua\n    modules: [time]\n    source: |\n      local pid = process.spawn('app:doomed', 'app:processes')\n      while process.send(pid, 'still there?') do time.sleep('5ms') end\n      time.sleep('50ms')\n      print('doomed is gone')\n      return 'launched'\n  - {{name: launcher_service, kind: process.service, process: launcher, host: processes, lifecycle: {{auto_start: true}}}}\n"
    );
    let (code, _, stderr) = run_and_stop(&yaml, &[], &[], "doomed is gone");
    assert_eq!(code, Some(0), "{stderr}");
    let warning = stderr
        .lines()
        .find(|line| line.contains("failed, and no process monitors or links it"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(
        warning.starts_with("wippy warn: process {app:processes|0x"),
        "{warning}"
    );
    assert!(warning.contains("doomed on purpose"), "{warning}");
}

#[test]
fn a_call_whose_caller_was_terminated_does_not_keep_the_node_from_stopping() {
    // `abandoner` starts a process stuck in a slow function call, terminates it, and says so;
    // the call's frame must end with its caller, or the stop would wait out its grace.
    let yaml = format!(
        r#"{APP}  - {{name: slow, kind: function.lua, modules: [time], source: "local function main() time.sleep('30s') return 1 end return {{main = main}}"}}
  - {{name: caller, kind: process.lua, modules: [funcs], source: "return funcs.call('app:slow')"}}
  - name: abandoner
    kind: process.lua
    modules: [time]
    source: |
      local pid = process.spawn('app:caller', 'app:processes')
      time.sleep('100ms')
      process.terminate(pid)
      time.sleep('50ms')
      print('abandoned')
      return 'done'
  - {{name: abandoner_service, kind: process.service, process: abandoner, host: processes, lifecycle: {{auto_start: true}}}}
"#
    );
    let project = project(&yaml);
    let mut app = App::start(&project, &["--grace", "10m"]);
    app.wait_for("abandoned");
    app.signal(libc::SIGTERM);
    let (code, stdout, stderr) = app.finish();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    // A terminated process is not a failure nobody saw: the terminator did it.
    assert!(
        !stderr.contains("no process monitors or links it"),
        "{stderr}"
    );
}

#[test]
fn a_stopping_node_refuses_new_processes() {
    // `latecomer` tries to spawn once it is cancelled, and prints what it got.
    let yaml = format!(
        r#"{APP}  - name: latecomer
    kind: process.lua
    source: |
      local function main()
        print("latecomer ready")
        process.events():receive()
        local pid, err = process.spawn('app:polite', 'app:processes')
        print("late spawn: " .. tostring(pid) .. ", " .. tostring(err))
        return "done"
      end
      return {{main = main}}
  - {{name: latecomer_service, kind: process.service, process: latecomer, host: processes, lifecycle: {{auto_start: true}}}}
"#
    );
    let project = project(&yaml);
    let mut app = App::start(&project, &[]);
    app.wait_for("latecomer ready");
    app.signal(libc::SIGTERM);
    let (code, stdout, stderr) = app.finish();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("late spawn: nil, cannot spawn `app:polite`: the node is stopping and starts no new processes"),
        "stdout: {stdout}"
    );
}
