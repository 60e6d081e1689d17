//! `wasi:io` (error, streams) and `wasi:poll` (io/poll): the stream and pollable resources
//! that other groups hand out. On their own they reach nothing outside the process.

use wasmtime::component::{HasData, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi_io::bindings::wasi::io;

use super::Interface;

/// wasi-io's host traits are implemented on the resource table itself.
struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:io/error",
        link: |l| io::error::add_to_linker::<_, IoTable>(l, |t| t.ctx().table),
    },
    Interface {
        name: "wasi:io/streams",
        link: |l| io::streams::add_to_linker::<_, IoTable>(l, |t| t.ctx().table),
    },
];

pub const POLL_INTERFACES: &[Interface] = &[Interface {
    name: "wasi:io/poll",
    link: |l| io::poll::add_to_linker::<_, IoTable>(l, |t| t.ctx().table),
}];
