//! Latency benchmarks (criterion): instantiation against bare wasmtime, spawn→EXIT round
//! trips from Rust and Lua, Lua→WASM calls, and whole `wippy run greet` commands.

/// As the `wippy` binary allocates (see `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod fixture;

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fixture::Fixture;
use wasmtime::component::{Component, Linker, ResourceTable, Val};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wippy::guest::Stdio;
use wippy::process::{ProcessConfig, SpawnRequest, run};
use wippy::registry::{EntryId, Registry};
use wippy::values::Payload;

/// What a plain wasmtime embedding keeps per store.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn tokio() -> tokio::runtime::Runtime {
    wippy::process::node_runtime().unwrap()
}

fn instantiate(c: &mut Criterion) {
    let fixture = Fixture::new();
    let rt = tokio();
    let bytes = std::fs::read(fixture.project.root().join("wasm/hello.wasm")).unwrap();

    // Bare wasmtime: default engine, all of WASI p2, InstancePre, one store per call.
    let engine = wasmtime::Engine::default();
    let component = Component::new(&engine, &bytes).unwrap();
    let mut linker = Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let greet = component.get_export_index(None, "greet").unwrap();
    let args = [Val::String("bench".into())];

    let mut group = c.benchmark_group("instantiate_and_call_greet");
    group.bench_function("bare_wasmtime", |b| {
        b.iter(|| {
            rt.block_on(async {
                let state = Bare {
                    wasi: WasiCtx::builder().build(),
                    table: ResourceTable::new(),
                };
                let mut store = wasmtime::Store::new(&engine, state);
                let instance = pre.instantiate_async(&mut store).await.unwrap();
                let func = instance.get_func(&mut store, greet).unwrap();
                let mut results = [Val::Bool(false)];
                func.call_async(&mut store, &args, &mut results)
                    .await
                    .unwrap();
                results
            })
        })
    });
    let prepared = fixture.prepared("greet");
    group.bench_function("wippy", |b| {
        b.iter(|| {
            rt.block_on(async {
                let config = ProcessConfig {
                    cli_args: Vec::new(),
                    actor: None,
                    stdio: Stdio::Terminal,
                };
                run(&prepared, config, &args).await.unwrap()
            })
        })
    });
    group.finish();
}

fn round_trips(c: &mut Criterion) {
    let fixture = Fixture::new();
    let rt = tokio();
    let node = rt.block_on(async { fixture.node() });
    let request = |entry: &str, args: Vec<Payload>| {
        SpawnRequest::new(
            EntryId::new("app", entry),
            EntryId::new("app", "processes"),
            args,
        )
    };
    // Warm the prepared-entry cache.
    rt.block_on(node.exec(request(
        "compute",
        vec![Payload::Integer(6), Payload::Integer(7)],
    )))
    .unwrap();

    let mut group = c.benchmark_group("spawn_exit_round_trip");
    group.bench_function("from_rust", |b| {
        b.iter(|| {
            rt.block_on(node.exec(request(
                "compute",
                vec![Payload::Integer(6), Payload::Integer(7)],
            )))
            .unwrap()
        })
    });
    group.bench_function("lua_process_from_rust", |b| {
        b.iter(|| rt.block_on(node.exec(request("noop", Vec::new()))).unwrap())
    });
    group.bench_function("lua_1000_line_process_from_rust", |b| {
        b.iter(|| {
            rt.block_on(node.exec(request("long_script", Vec::new())))
                .unwrap()
        })
    });
    group.bench_function("from_lua", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            rt.block_on(node.exec(request("exec_loop", vec![Payload::Integer(iters as i64)])))
                .unwrap();
            started.elapsed()
        })
    });
    group.finish();

    c.bench_function("lua_to_wasm_call", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            rt.block_on(node.exec(request("call_loop", vec![Payload::Integer(iters as i64)])))
                .unwrap();
            started.elapsed()
        })
    });
}

/// What an actor runtime is judged by: spawning monitored workers and collecting their EXITs
/// from one Lua process, and messages one way and ping-pong round trips between Lua and WASM
/// actors in each pairing (each figure per item).
fn actors(c: &mut Criterion) {
    let fixture = Fixture::new();
    let rt = tokio();
    let node = rt.block_on(async { fixture.node() });
    // Warm the prepared-entry cache for the workers.
    rt.block_on(node.exec(SpawnRequest::new(
        EntryId::new("app", "compute"),
        EntryId::new("app", "processes"),
        vec![Payload::Integer(6), Payload::Integer(7)],
    )))
    .unwrap();
    let mut group = c.benchmark_group("actors");
    for (name, entry, host) in [
        (
            "spawn_monitored_and_collect_exit",
            "spawn_collect",
            "processes",
        ),
        ("message_one_way", "flood", "messaging"),
        ("ping_pong_round_trip", "pinger", "messaging"),
        ("wasm_to_wasm_one_way", "wasm_floods_wasm", "messaging"),
        (
            "wasm_wasm_ping_pong_round_trip",
            "wasm_pings_wasm",
            "messaging",
        ),
        ("lua_to_wasm_one_way", "lua_floods_wasm", "messaging"),
        (
            "lua_wasm_ping_pong_round_trip",
            "lua_pings_wasm",
            "messaging",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                rt.block_on(node.exec(SpawnRequest::new(
                    EntryId::new("app", entry),
                    EntryId::new("app", host),
                    vec![Payload::Integer(iters as i64)],
                )))
                .unwrap();
                started.elapsed()
            })
        });
    }
    group.finish();
}

/// Lua in a tight loop: in a bare mlua state and in a wippy process, where the watchdog
/// preempts it every few milliseconds (the cost of Lua preemption).
fn lua_compute(c: &mut Criterion) {
    const ITERATIONS: i64 = 10_000_000;
    let fixture = Fixture::new();
    let rt = tokio();
    let node = rt.block_on(async { fixture.node() });
    let mut group = c.benchmark_group("lua_compute_10m_iterations");
    group.sample_size(10);
    group.bench_function("bare_mlua", |b| {
        let lua = mlua::Lua::new();
        let main: mlua::Function = lua
            .load(format!("{} return main", fixture::LUA_LOOP))
            .eval()
            .unwrap();
        b.iter(|| main.call::<i64>(ITERATIONS).unwrap())
    });
    group.bench_function("wippy_process", |b| {
        b.iter(|| {
            rt.block_on(node.exec(SpawnRequest::new(
                EntryId::new("app", "compute_loop"),
                EntryId::new("app", "processes"),
                vec![Payload::Integer(ITERATIONS)],
            )))
            .unwrap()
        })
    });
    group.finish();
}

/// Blanking Wippy's type annotations out of a 1,000-line Lua file (once per source per node).
fn lua_annotations(c: &mut Criterion) {
    let unit = "local function area_NN(w: number, h: number): number\n  local a: number = w * h\n  return a :: number\nend\n\n";
    let source: String = (0..200)
        .map(|n| unit.replace("NN", &n.to_string()))
        .collect();
    assert_eq!(source.lines().count(), 1000);
    c.bench_function("lua_annotations_strip_1000_lines", |b| {
        b.iter(|| wippy::lua::strip_annotations(&source, "bench").unwrap())
    });
}

fn cli_greet(c: &mut Criterion) {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello");
    let cache = tempfile::tempdir().unwrap();
    // Both programs are copied to one folder first: how a binary's file sits in the page cache
    // (written by the linker, by `cp`, or read back from disk) changed a run by 10–25 % in
    // one-off timings, for wippy and wasmtime alike; copies made together start even.
    let binaries = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, name: &str| {
        let to = binaries.path().join(name);
        std::fs::copy(from, &to).unwrap();
        to
    };
    let wippy = copy(std::path::Path::new(env!("CARGO_BIN_EXE_wippy")), "wippy");
    let greet = |cache: &std::path::Path| {
        let status = std::process::Command::new(&wippy)
            .arg("-C")
            .arg(&example)
            .args(["run", "greet", "World"])
            .env("WIPPY_CACHE_DIR", cache)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    let mut group = c.benchmark_group("cli_run_greet");
    group.sample_size(30);
    // The same component through wasmtime's own CLI, its compilation cache warm. The two are
    // run in turn and each figure times only its own runs, so a slow stretch of this noisy
    // machine falls on both alike (measured one after the other, their ratio swung between
    // 0.8x and 1.1x from one run of this benchmark to the next).
    let wasmtime = wasmtime_cli().map(|path| copy(&path, "wasmtime"));
    let invoke = |wasmtime: &std::path::Path| {
        let status = std::process::Command::new(wasmtime)
            .args(["run", "-C", "cache=y", "--invoke", "greet(\"World\")"])
            .arg(example.join("wasm/hello.wasm"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{} failed", wasmtime.display());
    };
    let in_turn = |iters: u64, time_wippy: bool| {
        let mut timed = Duration::ZERO;
        for _ in 0..iters {
            let started = Instant::now();
            greet(cache.path());
            if time_wippy {
                timed += started.elapsed();
            }
            if let Some(wasmtime) = &wasmtime {
                let started = Instant::now();
                invoke(wasmtime);
                if !time_wippy {
                    timed += started.elapsed();
                }
            }
        }
        timed
    };
    group.bench_function("artifact_cache_warm", |b| {
        b.iter_custom(|iters| in_turn(iters, true))
    });
    if wasmtime.is_some() {
        group.bench_function("wasmtime_cli_run_invoke", |b| {
            b.iter_custom(|iters| in_turn(iters, false))
        });
    } else {
        eprintln!(
            "cli_run_greet/wasmtime_cli_run_invoke skipped: no wasmtime CLI (set WASMTIME, or \
             `cargo install wasmtime-cli --version 48.0.8 --locked`)"
        );
    }
    group.bench_function("artifact_cache_cold", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(cache.path().join("cold"));
            },
            |()| greet(&cache.path().join("cold")),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// wasmtime's CLI for the baseline: `$WASMTIME`, else `wasmtime` on the PATH.
fn wasmtime_cli() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("WASMTIME") {
        return Some(path.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("wasmtime"))
        .find(|path| path.is_file())
}

/// A hot reload with nothing changed: the fixture's registry loaded again from disk,
/// verified beside the served one (every component's hash, compile from the in-memory cache
/// and link) and swapped in — the work a save costs beyond noticing it.
fn reload(c: &mut Criterion) {
    let fixture = Fixture::new();
    let rt = tokio();
    let node = fixture.node();
    rt.block_on(node.prepare_all()).unwrap();
    let root = fixture.project.root();
    c.bench_function("reload_registry", |b| {
        b.iter(|| {
            let registry = Registry::load(root).unwrap();
            rt.block_on(node.reload(registry)).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = instantiate, round_trips, actors, lua_compute, lua_annotations, cli_greet, reload
}
criterion_main!(benches);
