//! `wasi:random`: random, insecure, insecure-seed.

use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::bindings::random;
use wasmtime_wasi::random::WasiRandom;

use super::Interface;

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:random/random",
        link: |l| random::random::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random()),
    },
    Interface {
        name: "wasi:random/insecure",
        link: |l| random::insecure::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random()),
    },
    Interface {
        name: "wasi:random/insecure-seed",
        link: |l| {
            random::insecure_seed::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random())
        },
    },
];
