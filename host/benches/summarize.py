#!/usr/bin/env python3
"""Prints criterion's results for the `runtime` benchmark as markdown table rows.

Usage: summarize.py <criterion dir>   (the `criterion` folder in cargo's target directory)
"""
import json
import sys
from pathlib import Path


def mean_ns(root: Path, group: str, bench: str) -> float:
    path = root / group / bench / "new" / "estimates.json"
    return json.loads(path.read_text())["mean"]["point_estimate"]


def fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def main() -> None:
    root = Path(sys.argv[1])
    bare = mean_ns(root, "instantiate_and_call_greet", "bare_wasmtime")
    ours = mean_ns(root, "instantiate_and_call_greet", "wippy")
    rust = mean_ns(root, "spawn_exit_round_trip", "from_rust")
    lua = mean_ns(root, "spawn_exit_round_trip", "from_lua")
    lua_process = mean_ns(root, "spawn_exit_round_trip", "lua_process_from_rust")
    call = mean_ns(root, "lua_to_wasm_call", "")
    spawn_collect = mean_ns(root, "lua_actors", "spawn_monitored_and_collect_exit")
    one_way = mean_ns(root, "lua_actors", "message_one_way")
    ping_pong = mean_ns(root, "lua_actors", "ping_pong_round_trip")
    strip = mean_ns(root, "lua_annotations_strip_1000_lines", "")
    bare_lua = mean_ns(root, "lua_compute_10m_iterations", "bare_mlua")
    lua_loop = mean_ns(root, "lua_compute_10m_iterations", "wippy_process")
    warm = mean_ns(root, "cli_run_greet", "artifact_cache_warm")
    cold = mean_ns(root, "cli_run_greet", "artifact_cache_cold")
    rows = [
        ("instantiate + call `greet`, bare wasmtime (same run)", fmt(bare)),
        ("instantiate + call `greet`, wippy (limits, epoch, capabilities)", f"{fmt(ours)} ({ours / bare:.2f}x bare)"),
        ("spawn→EXIT round trip from Rust (`Node::exec`)", f"{fmt(rust)} ({1e9 / rust:,.0f}/s)"),
        ("spawn→EXIT round trip from Lua (`process.exec`)", f"{fmt(lua)} ({1e9 / lua:,.0f}/s)"),
        ("a Lua process (`return 1`) spawned and exited, from Rust", f"{fmt(lua_process)} ({1e9 / lua_process:,.0f}/s)"),
        ("Lua→WASM call (`funcs.call` of a function.wasm)", fmt(call)),
        ("spawn N monitored workers, then collect N EXITs, from Lua", f"{fmt(spawn_collect)} each ({1e9 / spawn_collect:,.0f}/s)"),
        ("Lua → Lua messages, one way", f"{fmt(one_way)} each ({1e9 / one_way:,.0f}/s)"),
        ("Lua ↔ Lua ping-pong", f"{fmt(ping_pong)} per round trip ({1e9 / ping_pong:,.0f}/s)"),
        ("blanking type annotations out of a 1,000-line Lua file", fmt(strip)),
        ("Lua loop of 10M iterations, bare mlua (same run)", fmt(bare_lua)),
        ("Lua loop of 10M iterations in a process (preempted every 2–4 ms)", f"{fmt(lua_loop)} ({lua_loop / bare_lua:.2f}x bare)"),
        ("`wippy run greet World`, artifact cache warm", fmt(warm)),
        ("`wippy run greet World`, artifact cache cold", fmt(cold)),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
