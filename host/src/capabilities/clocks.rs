//! `wasi:clocks`: wall-clock and monotonic-clock.

use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::clocks;

use super::Interface;

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:clocks/wall-clock",
        link: |l| clocks::wall_clock::add_to_linker::<_, WasiClocks>(l, |t| t.clocks()),
    },
    Interface {
        name: "wasi:clocks/monotonic-clock",
        link: |l| clocks::monotonic_clock::add_to_linker::<_, WasiClocks>(l, |t| t.clocks()),
    },
];
