//! `wasi:sockets`: TCP, UDP and name lookup. Granting the group opens the network to the
//! process; without it the context has no network at all.

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::bindings::sockets;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};

use super::Interface;

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:sockets/network",
        link: |l| {
            let options = sockets::network::LinkOptions::default();
            sockets::network::add_to_linker::<_, WasiSockets>(l, &options, |t| t.sockets())
        },
    },
    Interface {
        name: "wasi:sockets/instance-network",
        link: |l| sockets::instance_network::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()),
    },
    Interface {
        name: "wasi:sockets/tcp",
        link: |l| sockets::tcp::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()),
    },
    Interface {
        name: "wasi:sockets/tcp-create-socket",
        link: |l| sockets::tcp_create_socket::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()),
    },
    Interface {
        name: "wasi:sockets/udp",
        link: |l| sockets::udp::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()),
    },
    Interface {
        name: "wasi:sockets/udp-create-socket",
        link: |l| sockets::udp_create_socket::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()),
    },
    Interface {
        name: "wasi:sockets/ip-name-lookup",
        link: |l| sockets::ip_name_lookup::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()),
    },
];

/// Opens the network to a process whose entry grants any socket interface.
pub fn configure(builder: &mut WasiCtxBuilder) {
    builder
        .inherit_network()
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(true);
}
