//! Serving HTTP: the `http-proxy` guest's `/hello` through an `http.endpoint` of `wippy run`,
//! and the same component under `wasmtime serve` (wasmtime-cli of the same version), each
//! loaded by `wrk` on loopback in turn, in one run. Prints table rows: requests/s (the median
//! of the rounds), p50 and p99 latency, and the ratio.
//!
//! `cargo bench --bench http` (env: `WASMTIME` = the wasmtime CLI, else `wasmtime` on the PATH;
//! `WRK` = wrk, else `wrk` on the PATH; `HTTP_ROUNDS` = rounds per server (3);
//! `HTTP_SECONDS` = seconds per round (5); `HTTP_CONNECTIONS` = wrk's connections (32)).

mod fixture;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fixture::support::Project;
use fixture::support::server::Server;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A program: `$VARIABLE`, else `name` on the PATH.
fn program(variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(path.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// One wrk round's figures.
struct Round {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

fn wrk(wrk: &Path, url: &str, seconds: u64, connections: u64) -> Round {
    let output = Command::new(wrk)
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .expect("cannot run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| {
        (text.lines())
            .map(str::trim)
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_else(|| panic!("no `{prefix}` in wrk's output:\n{text}"))
    };
    let errors = (text.lines())
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .flat_map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
        })
        .sum();
    Round {
        requests_per_second: field("Requests/sec:").parse().unwrap(),
        p50: duration(&field("50%")),
        p99: duration(&field("99%")),
        errors,
    }
}

/// wrk's `1.23ms`, `456.78us`, `1.01s`.
fn duration(text: &str) -> Duration {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let number: f64 = number.parse().unwrap();
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        other => panic!("unknown unit {other}"),
    };
    Duration::from_secs_f64(seconds)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `wasmtime serve` on `port`, once it answers.
fn wasmtime_serve(wasmtime: &Path, component: &Path, port: u16) -> Child {
    let child = Command::new(wasmtime)
        // `-S cli`: the guest's Rust std imports wasi:cli, which the proxy world lacks.
        .args([
            "serve",
            "-S",
            "cli=y",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .arg(component)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start wasmtime serve");
    let started = Instant::now();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    while TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "wasmtime serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes `--bench`; a `cargo test --benches` run passes nothing to do here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(wrk_path) = program("WRK", "wrk") else {
        println!("| HTTP hello | skipped: no wrk (`apt-get install wrk`, or set WRK) | |");
        return;
    };
    let rounds = env_number("HTTP_ROUNDS", 3);
    let seconds = env_number("HTTP_SECONDS", 5);
    let connections = env_number("HTTP_CONNECTIONS", 32);

    let project = Project::new();
    let hash = project.add_guest("http_proxy");
    project.write(
        "src/app.yaml",
        format!(
            r#"namespace: app
entries:
  - {{name: assets, kind: fs.directory, directory: ./wasm}}
  - {{name: gateway, kind: http.service, addr: "127.0.0.1:0", lifecycle: {{auto_start: true}}}}
  - {{name: api, kind: http.router, meta: {{server: gateway}}}}
  - {{name: hello, kind: function.wasm, fs: assets, path: /http_proxy.wasm, hash: "{hash}", method: "wasi:http/incoming-handler#handle", transport: wasi-http, imports: [wasi:http/types, wasi:cli]}}
  - {{name: hello_endpoint, kind: http.endpoint, meta: {{router: api}}, method: GET, path: /hello, func: hello}}
"#
        ),
    );
    let wippy = Server::start(&project, &[]);
    let wippy_url = format!("http://{}/hello", wippy.addr);
    let component = project.root().join("wasm/http_proxy.wasm");
    let wasmtime = program("WASMTIME", "wasmtime").map(|path| {
        let port = free_port();
        (
            wasmtime_serve(&path, &component, port),
            format!("http://127.0.0.1:{port}/hello"),
        )
    });

    // Warm both (the first requests compile nothing, but fill caches and pools).
    wrk(&wrk_path, &wippy_url, 1, connections);
    if let Some((_, url)) = &wasmtime {
        wrk(&wrk_path, url, 1, connections);
    }
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        ours.push(wrk(&wrk_path, &wippy_url, seconds, connections));
        if let Some((_, url)) = &wasmtime {
            theirs.push(wrk(&wrk_path, url, seconds, connections));
        }
    }
    let summary = |rounds: &[Round]| {
        let rps = median(rounds.iter().map(|r| r.requests_per_second).collect());
        let p50 = median(rounds.iter().map(|r| r.p50.as_secs_f64()).collect());
        let p99 = median(rounds.iter().map(|r| r.p99.as_secs_f64()).collect());
        let errors: u64 = rounds.iter().map(|r| r.errors).sum();
        (
            rps,
            Duration::from_secs_f64(p50),
            Duration::from_secs_f64(p99),
            errors,
        )
    };
    let load = format!("wrk -t2 -c{connections}, {rounds}×{seconds} s, median");
    let (rps, p50, p99, errors) = summary(&ours);
    println!(
        "| HTTP hello through an http.endpoint ({load}) | {rps:.0} req/s, p50 {}, p99 {}{} | ≥ 1.0x wasmtime serve |",
        ms(p50),
        ms(p99),
        if errors > 0 {
            format!(", {errors} errors")
        } else {
            String::new()
        }
    );
    match wasmtime {
        Some((mut child, _)) => {
            let (their_rps, their_p50, their_p99, their_errors) = summary(&theirs);
            println!(
                "| HTTP hello, `wasmtime serve` 48 ({load}) | {their_rps:.0} req/s, p50 {}, p99 {}{} | baseline |",
                ms(their_p50),
                ms(their_p99),
                if their_errors > 0 {
                    format!(", {their_errors} errors")
                } else {
                    String::new()
                }
            );
            println!(
                "| HTTP hello: wippy / wasmtime serve | {:.2}x req/s | ≥ 1.0x |",
                rps / their_rps
            );
            let _ = child.kill();
            let _ = child.wait();
        }
        None => println!(
            "| HTTP hello, `wasmtime serve` | skipped: no wasmtime CLI (set WASMTIME, or `cargo install wasmtime-cli --version 48.0.8 --locked`) | baseline |"
        ),
    }
    let (code, log) = wippy.stop();
    assert_eq!(code, Some(0), "wippy run did not stop cleanly:\n{log}");
}
