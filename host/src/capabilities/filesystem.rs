//! `wasi:filesystem`: types and preopens. Owns `wasi.mounts`: each mount preopens an
//! `fs.directory` at an absolute guest path; `read_only` mounts get read-only directory and
//! file permissions. wasmtime-wasi confines every path to its preopen (`..` and symlinks
//! that leave it are refused); the symlinks a guest creates may only point down into the
//! mount ([`super::symlinks`]).

use std::path::PathBuf;

use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::Interface;
use crate::registry::{EntryId, Registry, WasmEntry};

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:filesystem/types",
        link: |l| {
            filesystem::types::add_to_linker::<_, WasiFilesystem>(l, |t| t.filesystem())?;
            super::symlinks::guard_component(l)
        },
    },
    Interface {
        name: "wasi:filesystem/preopens",
        link: |l| filesystem::preopens::add_to_linker::<_, WasiFilesystem>(l, |t| t.filesystem()),
    },
];

#[derive(Debug, Clone)]
pub struct Mount {
    fs: EntryId,
    host: PathBuf,
    guest: String,
    read_only: bool,
}

pub fn resolve_mounts(registry: &Registry, wasm: &WasmEntry) -> Vec<Mount> {
    (wasm.wasi.mounts.iter())
        .map(|mount| Mount {
            fs: mount.fs.clone(),
            host: registry.fs_directory(&mount.fs).directory.clone(),
            guest: mount.guest.clone(),
            read_only: mount.read_only,
        })
        .collect()
}

/// Preopens each mount; fails when a mount's directory cannot be opened.
pub fn configure(builder: &mut WasiCtxBuilder, mounts: &[Mount]) -> Result<(), String> {
    for mount in mounts {
        let perms = if mount.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        builder
            .preopened_dir(&mount.host, &mount.guest, perms)
            .map_err(|e| {
                format!(
                    "cannot mount `{}` ({}) at {}: {e}. Fix: create the directory or correct the fs.directory entry",
                    mount.fs,
                    mount.host.display(),
                    mount.guest
                )
            })?;
    }
    Ok(())
}
