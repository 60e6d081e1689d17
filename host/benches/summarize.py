#!/usr/bin/env python3
"""Prints criterion's results for the `runtime` benchmark as markdown table rows.

Usage: summarize.py <criterion dir>   (the `criterion` folder in cargo's target directory)
"""
import json
import sys
from pathlib import Path


def mean_ns(root: Path, group: str, bench: str):
    path = root / group / bench / "new" / "estimates.json"
    if not path.exists():
        return None
    estimates = json.loads(path.read_text())
    # The figure criterion prints: the slope over its linearly growing samples when it has
    # one, else the mean.
    return (estimates.get("slope") or estimates["mean"])["point_estimate"]


def fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def rate(ns: float) -> str:
    return f"{1e9 / ns:,.0f}/s"


def main() -> None:
    root = Path(sys.argv[1])

    def get(group: str, bench: str = ""):
        return mean_ns(root, group, bench)

    bare = get("instantiate_and_call_greet", "bare_wasmtime")
    ours = get("instantiate_and_call_greet", "wippy")
    rust = get("spawn_exit_round_trip", "from_rust")
    wasmtime_cli = get("cli_run_greet", "wasmtime_cli_run_invoke")
    warm = get("cli_run_greet", "artifact_cache_warm")
    # (measurement, how to show it from the mean, issue #12's target or "")
    each = lambda ns: f"{fmt(ns)} each ({rate(ns)})"
    per_trip = lambda ns: f"{fmt(ns)} per round trip ({rate(ns)})"
    rows = [
        ("instantiate + call `greet`, bare wasmtime (the baseline, same run)", bare, fmt, ""),
        ("instantiate + call `greet`, wippy (limits, epoch, fuel, capabilities)", ours,
         lambda ns: f"{fmt(ns)} ({ns / bare:.2f}x bare)", ""),
        ("spawn→EXIT round trip from Rust (`Node::exec`)", rust,
         lambda ns: f"{fmt(ns)} ({rate(ns)}; {ns / bare:.2f}x bare instantiate + call)", "≤ 2x bare"),
        ("spawn→EXIT round trip from Lua (`process.exec` in a loop)", get("spawn_exit_round_trip", "from_lua"),
         lambda ns: f"{fmt(ns)} ({rate(ns)})", "≥ 50,000/s"),
        ("a Lua process (`return 1`) spawned and exited, from Rust", get("spawn_exit_round_trip", "lua_process_from_rust"),
         lambda ns: f"{fmt(ns)} ({rate(ns)})", ""),
        ("a Lua process of a 1,000-line script spawned and exited, from Rust",
         get("spawn_exit_round_trip", "lua_1000_line_process_from_rust"), lambda ns: f"{fmt(ns)} ({rate(ns)})", ""),
        ("Lua→WASM call (`funcs.call` of a `function.wasm`)", get("lua_to_wasm_call"), fmt, ""),
        ("from one Lua process: spawn N monitored `compute` workers, then collect N EXITs (criterion's slope over N up to ~10^5; 100,000 in one go: capacity rows)",
         get("actors", "spawn_monitored_and_collect_exit"), each, ""),
        ("Lua → Lua messages, one way", get("actors", "message_one_way"),
         each, "≥ 1,000,000/s"),
        ("Lua ↔ Lua ping-pong", get("actors", "ping_pong_round_trip"),
         per_trip, "≥ 250,000/s"),
        ("WASM → WASM messages, one way (`guests/actor` flood into a counter)", get("actors", "wasm_to_wasm_one_way"),
         each, "reported"),
        ("WASM ↔ WASM ping-pong", get("actors", "wasm_wasm_ping_pong_round_trip"),
         per_trip, "reported"),
        ("Lua → WASM messages, one way", get("actors", "lua_to_wasm_one_way"),
         each, "reported"),
        ("Lua ↔ WASM ping-pong", get("actors", "lua_wasm_ping_pong_round_trip"),
         per_trip, "reported"),
        ("blanking type annotations out of a 1,000-line Lua file (once per source per node)",
         get("lua_annotations_strip_1000_lines"), fmt, ""),
        ("Lua loop of 10M iterations, bare mlua (same run)", get("lua_compute_10m_iterations", "bare_mlua"), fmt, ""),
        ("Lua loop of 10M iterations in a process (preempted every 2–4 ms)",
         get("lua_compute_10m_iterations", "wippy_process"),
         lambda ns: f"{fmt(ns)} ({ns / get('lua_compute_10m_iterations', 'bare_mlua'):.2f}x bare)", ""),
        ("`wasmtime run --invoke 'greet(\"World\")'` (wasmtime CLI 48, its cache warm; the baseline)", wasmtime_cli, fmt, ""),
        ("`wippy run greet World`, artifact cache warm", warm,
         lambda ns: fmt(ns) + (f" ({ns / wasmtime_cli:.2f}x wasmtime CLI)" if wasmtime_cli else ""), "≤ 0.5x wasmtime CLI"),
        ("`wippy run greet World`, artifact cache cold", get("cli_run_greet", "artifact_cache_cold"), fmt, ""),
        ("hot reload, nothing changed: the benchmark app's registry loaded again, verified beside the served one (each component's hash and link) and swapped in",
         get("reload_registry"), fmt, ""),
    ]
    for name, ns, show, target in rows:
        value = show(ns) if ns is not None else "not measured in this run"
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
