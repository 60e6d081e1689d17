//! Capacity and containment measurements that criterion's sampling does not fit: many
//! concurrently sleeping processes and their memory, terminate latency of a busy guest
//! (p50/p99), and a spawn/exit soak with memory checked along the way. Prints a table.
//!
//! `cargo bench --bench capacity` (env: SLEEPERS=10000,100000 SOAK_CYCLES=1000000). Runs on
//! Linux's default `vm.max_map_count` (65530): stacks and memories come from shared mappings.

/// As the `wippy` binary allocates (see `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod fixture;

use std::time::{Duration, Instant};

use fixture::{Fixture, rss_bytes};
use wippy::process::{Node, SpawnRequest};
use wippy::registry::EntryId;
use wippy::values::Payload;

fn request(entry: &str, args: Vec<Payload>) -> SpawnRequest {
    SpawnRequest::new(
        EntryId::new("app", entry),
        EntryId::new("app", "processes"),
        args,
    )
}

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

/// Spawns `count` processes that each sleep (3 s + 0.5 ms per process) in `wasi:clocks`,
/// measures memory once they are all asleep, and waits for them all. Returns the time to
/// spawn them, the time until all were asleep, RSS and memory maps per process, and the
/// time until all had exited.
async fn sleepers(node: &Node, count: u64) -> (Duration, Duration, f64, f64, Duration) {
    let baseline = rss_bytes();
    let baseline_maps = memory_maps();
    let started = Instant::now();
    let mut exits = Vec::with_capacity(count as usize);
    for _ in 0..count {
        // Long enough that the first is still asleep when the last has started.
        let sleep_ms = 3000 + count as i64 / 2;
        exits.push(
            node.spawn(request("sleep", vec![Payload::Integer(sleep_ms)]))
                .unwrap()
                .exit,
        );
    }
    let spawned = started.elapsed();
    // Every process instantiates on its first poll: they are all asleep when memory stops
    // growing (less than 0.2 % in 100 ms).
    const STEP: Duration = Duration::from_millis(100);
    let mut last = rss_bytes();
    let asleep = loop {
        tokio::time::sleep(STEP).await;
        let now = rss_bytes();
        if now <= last + last / 500 {
            break started.elapsed() - STEP;
        }
        last = now;
    };
    let per_process = (rss_bytes().saturating_sub(baseline)) as f64 / count as f64;
    let maps = memory_maps();
    for exit in exits {
        let result = exit.await.unwrap();
        assert!(result.error.is_none(), "{:?}", result.error);
    }
    let maps_per_process = maps.saturating_sub(baseline_maps) as f64 / count as f64;
    (
        spawned,
        asleep,
        per_process,
        maps_per_process,
        started.elapsed(),
    )
}

/// Mappings in this process: Linux caps them at `vm.max_map_count` (65530 by default), so
/// they must not grow with the number of processes.
fn memory_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

async fn terminate_latency(node: &Node, samples: usize) -> (Duration, Duration) {
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let spawned = node.spawn(request("spin", vec![])).unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
        let started = Instant::now();
        node.terminate(spawned.pid.as_str()).unwrap();
        spawned.stopped.await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    (latencies[samples / 2], latencies[samples * 99 / 100])
}

async fn soak(node: &Node, cycles: u64) -> (Vec<u64>, Duration) {
    let started = Instant::now();
    let mut samples = Vec::new();
    let batch = 1000;
    let mut done = 0;
    while done < cycles {
        let exits: Vec<_> = (0..batch.min(cycles - done))
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
        let before = done;
        done += batch.min(cycles - done);
        if done / (cycles / 10).max(1) != before / (cycles / 10).max(1) {
            samples.push(rss_bytes());
        }
    }
    (samples, started.elapsed())
}

fn main() {
    // `cargo bench` passes --bench; filters are not supported here.
    let fixture = Fixture::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let node = rt.block_on(async { fixture.node() });
    rt.block_on(node.exec(request("sleep", vec![Payload::Integer(1)])))
        .unwrap();
    rt.block_on(node.exec(request(
        "compute",
        vec![Payload::Integer(1), Payload::Integer(1)],
    )))
    .unwrap();

    println!("| measurement | result |");
    println!("|---|---|");
    for count in env_list("SLEEPERS", "10000,100000") {
        let (spawned, asleep, per_process, maps, total) = rt.block_on(sleepers(&node, count));
        println!(
            "| {count} WASM processes sleeping at once | spawned in {:.0} ms, all asleep by {:.2} s, all done in {:.2} s; {:.1} KiB RSS and {maps:.2} memory maps per process |",
            spawned.as_secs_f64() * 1e3,
            asleep.as_secs_f64(),
            total.as_secs_f64(),
            per_process / 1024.0
        );
    }
    let (p50, p99) = rt.block_on(terminate_latency(&node, 200));
    println!(
        "| terminate a guest in a tight loop (200 samples) | p50 {:.2} ms, p99 {:.2} ms |",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    for cycles in env_list("SOAK_CYCLES", "1000000") {
        let (samples, elapsed) = rt.block_on(soak(&node, cycles));
        let mib: Vec<String> = samples
            .iter()
            .map(|b| format!("{:.0}", *b as f64 / 1048576.0))
            .collect();
        println!(
            "| soak: {cycles} spawn/exit cycles | {:.1} s ({:.0}/s); RSS MiB at each tenth: {} |",
            elapsed.as_secs_f64(),
            cycles as f64 / elapsed.as_secs_f64(),
            mib.join(" ")
        );
    }
}
