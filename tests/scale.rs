//! Many processes at once, and many one after another, through the library.

mod support;

use std::sync::Arc;

use support::{HEADER, Project, wasm_entry, with_imports};
use wippy::engine::{ArtifactCache, Runtime};
use wippy::guest::RuntimeOutput;
use wippy::lua::LuaScripts;
use wippy::process::{Node, SpawnRequest};
use wippy::registry::{EntryId, Registry};
use wippy::values::Payload;

fn node(project: &Project) -> Node {
    let registry = Arc::new(Registry::load(project.root()).unwrap());
    let runtime = Arc::new(Runtime::new(ArtifactCache::at(project.cache_dir())).unwrap());
    Node::new(
        registry,
        runtime,
        Arc::new(RuntimeOutput),
        Arc::new(LuaScripts),
    )
}

fn project() -> Project {
    let project = Project::new();
    let sleeper = project.add_guest("sleeper");
    let hello = project.add_guest("hello");
    let mut yaml = HEADER.to_string();
    yaml += "  - {name: processes, kind: process.host}\n";
    yaml += &with_imports(
        wasm_entry("sleep", "sleeper.wasm", &sleeper, "sleep-ms", None),
        &["wasi:clocks"],
    );
    yaml += &wasm_entry("compute", "hello.wasm", &hello, "compute", None);
    project.write("src/app.yaml", yaml);
    project
}

fn request(entry: &str, args: Vec<Payload>) -> SpawnRequest {
    SpawnRequest::new(
        EntryId::new("app", entry),
        EntryId::new("app", "processes"),
        args,
    )
}

/// Memory mappings in this process. Linux allows 65,530 by default (`vm.max_map_count`),
/// which capped a node near 9,000 live instances when each took six.
fn memory_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_wasm_processes_sleep_at_once_in_a_few_memory_maps() {
    const COUNT: usize = 10_000;
    let project = project();
    let node = node(&project);
    node.exec(request("sleep", vec![Payload::Integer(1)]))
        .await
        .unwrap();
    let before = memory_maps();
    let exits: Vec<_> = (0..COUNT)
        .map(|_| {
            node.spawn(request("sleep", vec![Payload::Integer(3000)]))
                .unwrap()
                .exit
        })
        .collect();
    let sampler = tokio::spawn(async {
        let mut most = 0;
        for _ in 0..30 {
            most = most.max(memory_maps());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        most
    });
    let mut slept = 0;
    for exit in exits {
        let result = exit.await.unwrap();
        assert_eq!(result.error, None);
        assert_eq!(result.value, Payload::Integer(3000));
        slept += 1;
    }
    assert_eq!(slept, COUNT);
    assert_eq!(node.process_count(), 0);
    let grown = sampler.await.unwrap().saturating_sub(before);
    // Guard pages below stacks take up to an eighth of the limit; nothing else grows with the
    // number of processes.
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(65_530);
    assert!(
        grown < limit / 8 + 1_000,
        "{COUNT} live processes took {grown} more memory maps (the limit is {limit}); stacks and memories should come from shared mappings"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_spawn_exit_cycles_leave_no_process_behind() {
    let project = project();
    let node = node(&project);
    for _ in 0..20 {
        let exits: Vec<_> = (0..1000)
            .map(|_| {
                node.spawn(request(
                    "compute",
                    vec![Payload::Integer(6), Payload::Integer(7)],
                ))
                .unwrap()
                .exit
            })
            .collect();
        for exit in exits {
            assert_eq!(exit.await.unwrap().value, Payload::Integer(42));
        }
    }
    assert_eq!(node.process_count(), 0);
}

/// Processes terminated while their entry compiles for the first time leave that one compile
/// running for the next spawn: it is neither abandoned nor started again per spawn (200
/// abandoned compiles once ran on for minutes after their processes were gone).
#[test]
fn processes_terminated_during_the_first_compile_share_one_compile() {
    let probe = Project::new();
    let hash = probe.add_guest("hostile");
    let project = support::lua_project(
        &format!(
            "  - {{name: wasm, kind: fs.directory, directory: wasm}}\n{}",
            wasm_entry("work", "hostile.wasm", &hash, "work", None)
        ),
        r#"for i = 1, 10 do
  local pid = process.spawn("app:work", "app:processes", 10)
  time.sleep("5ms")
  process.terminate(pid)
end
process.spawn_monitored("app:work", "app:processes", 10)
local exit = process.receive("60s")
-- Time for any other compile to finish and say so.
time.sleep("1s")
print(exit.error == nil and "worked" or exit.error)
"#,
    );
    project.add_guest("hostile");
    let run = support::wippy_within(&project, &["-v", "run", "main"], &[], &[]);
    assert_eq!(run.stdout, "worked\n", "{run:#?}");
    let builds = run
        .stderr
        .lines()
        .filter(|l| l.contains("app:work: compiled") || l.contains("app:work: loaded"))
        .count();
    assert_eq!(builds, 1, "one compile for eleven spawns: {}", run.stderr);
}

#[test]
fn a_spawn_past_the_memory_reserve_fails_with_an_error_and_the_node_carries_on() {
    // Overcommit would let the spawn that exhausts memory succeed and the OOM killer end the
    // whole node later; a reserve the machine cannot have makes every spawn that point.
    let project = support::lua_project(
        "",
        "local pid, err = process.spawn('app:healthy', 'app:processes')\nprint(pid, err)\n",
    );
    let with_reserve = |reserve| {
        support::wippy_within(
            &project,
            &["run", "main"],
            &[("WIPPY_MEMORY_RESERVE", reserve)],
            &[],
        )
    };
    let refused = with_reserve("1000000G");
    let err = refused.failed().to_string();
    assert!(
        err.starts_with("error: cannot spawn `app:main`: the machine is out of memory: "),
        "{err}"
    );
    assert!(
        err.ends_with(" MiB available, and 1024000000 MiB are kept free (WIPPY_MEMORY_RESERVE); let processes end, or lower `host.max_processes`\n"),
        "{err}"
    );
    // With a reserve the machine has, the same run spawns as usual.
    let run = with_reserve("1M");
    assert!(run.ok().starts_with("{app:processes|0x"), "{}", run.ok());
    // A reserve that is not a size is reported, and the default kept.
    let run = with_reserve("lots");
    assert!(run.ok().starts_with("{app:processes|0x"), "{}", run.ok());
    assert!(
        run.stderr.contains(
            "WIPPY_MEMORY_RESERVE=lots is not a size (bytes, or a number with K, M or G): keeping 256 MiB free"
        ),
        "{run:#?}"
    );
}

/// A `wippy run` of `main` with `WIPPY_SCHEDULER_BUSY_WAIT` set to `wait`: its output and the
/// CPU time it used (user + system), read from the kernel when it is reaped.
fn run_with_busy_wait(project: &Project, wait: &str) -> (support::Run, std::time::Duration) {
    use std::os::unix::process::ExitStatusExt;
    let child = support::wippy_command(project.root(), &project.cache_dir(), &["run", "main"])
        .env("WIPPY_SCHEDULER_BUSY_WAIT", wait)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start the wippy binary");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for the kernel to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child; `status` and `usage` are valid for writes. The
    // pipes are read after it ends: the script prints a few lines only.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(
        reaped,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let read = |pipe: &mut dyn std::io::Read| {
        let mut text = String::new();
        pipe.read_to_string(&mut text).unwrap();
        text
    };
    let mut child = child;
    let stdout = read(child.stdout.as_mut().unwrap());
    let stderr = read(child.stderr.as_mut().unwrap());
    // The child is reaped: its handle must not wait for it again.
    std::mem::forget(child);
    let time =
        |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let run = support::Run {
        code: std::process::ExitStatus::from_raw(status).code(),
        stdout,
        stderr,
    };
    (run, time(usage.ru_utime) + time(usage.ru_stime))
}

/// Idle workers stay awake only briefly (`WIPPY_SCHEDULER_BUSY_WAIT`): a node whose one
/// process wakes from a timer a hundred times does not keep a core busy between the wake-ups,
/// whatever the wait is set to; a wait that is not a duration is reported and the default kept.
#[test]
fn idle_workers_wait_only_briefly_before_they_sleep() {
    let project = support::lua_project(
        "",
        "local function main()\n  for i = 1, 100 do time.sleep('5ms') end\n  return 'rested'\nend\nreturn {main = main}\n",
    );
    for wait in ["off", "200us", "1ms"] {
        let started = std::time::Instant::now();
        let (run, cpu) = run_with_busy_wait(&project, wait);
        let wall = started.elapsed();
        assert_eq!(run.ok(), "rested\n", "{wait}: {run:#?}");
        // 100 sleeps of 5 ms take over 0.5 s; a worker waiting 1 ms after each wake-up
        // spends about 0.1 s of it awake. Loading the registry adds a few milliseconds.
        assert!(
            cpu < wall / 2,
            "WIPPY_SCHEDULER_BUSY_WAIT={wait}: {cpu:?} of CPU in {wall:?}"
        );
    }
    let (run, _) = run_with_busy_wait(&project, "forever");
    assert_eq!(run.ok(), "rested\n");
    assert!(
        run.stderr.contains("WIPPY_SCHEDULER_BUSY_WAIT=forever is not `off` or a duration up to 10ms (such as `200us` or `1ms`): keeping 200 µs"),
        "{run:#?}"
    );
}
