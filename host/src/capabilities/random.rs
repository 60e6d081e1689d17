//! `wasi:random`: random, insecure, insecure-seed.

use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::bindings::random;
use wasmtime_wasi::random::WasiRandom;

use super::Interface;

pub const GROUP: &str = "wasi:random";

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:random/random",
        requires: &[],
        link: |l| random::random::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random()),
    },
    Interface {
        name: "wasi:random/insecure",
        requires: &[],
        link: |l| random::insecure::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random()),
    },
    Interface {
        name: "wasi:random/insecure-seed",
        requires: &[],
        link: |l| {
            random::insecure_seed::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random())
        },
    },
];
