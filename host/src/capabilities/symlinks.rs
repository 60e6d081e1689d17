//! Symlinks a guest creates may only point down: a relative target with no `..` in it.
//!
//! wasmtime-wasi confines every path the guest itself resolves to its mount, but the symlinks
//! it leaves in a writable mount outlive the process: a backup job, a web server or a person
//! reading that folder later follows them on the host, where nothing confines them. wasmtime-wasi
//! already refuses absolute targets; a target with `..` is refused here too. Checking only
//! whether `..` climbs above the mount root would not hold: the guest can rename the link, or
//! a folder above it, after creating it (`a/b/l -> ../../x` becomes `l -> ../../x`), and
//! in-mount symlinks make the link's real depth differ from its path. A target that only
//! descends stays inside the folder holding the link wherever that folder moves, so every
//! chain of guest-made links stays inside the mount.
//!
//! The check replaces `symlink-at` (components) and `path_symlink` (preview 1 core modules)
//! with a function that refuses other targets with `not-permitted` (`EPERM`) and hands the rest
//! to wasmtime-wasi's own.

use std::path::{Component, Path};

use wasmtime::component::{Linker, Resource};
use wasmtime::{AsContextMut, Caller, Extern, StoreContextMut};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self as p1, WasiSnapshotPreview1};
use wasmtime_wasi::p2::bindings::filesystem::types::{Descriptor, ErrorCode, HostDescriptor};

use super::ProcessState;
use super::preview1::CoreState;

/// The instance wasmtime-wasi links `wasi:filesystem/types` under (its WIT's version).
const TYPES: &str = "wasi:filesystem/types@0.2.12";
const SYMLINK_AT: &str = "[method]descriptor.symlink-at";
/// WASI preview 1's `EPERM`.
const P1_NOT_PERMITTED: i32 = 63;

/// Whether a guest may create a symlink to `target`: relative, and only descending.
pub fn target_allowed(target: &str) -> bool {
    (Path::new(target).components()).all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Replaces wasmtime-wasi's `symlink-at` in a linker that already has `wasi:filesystem/types`.
/// Fails, rather than guard nothing, when wasmtime-wasi's function is not where it is expected
/// (a wasmtime-wasi upgrade that moved the interface's version).
pub fn guard_component(linker: &mut Linker<ProcessState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(false);
    if (linker.instance(TYPES)?)
        .func_wrap_async(SYMLINK_AT, symlink_at)
        .is_ok()
    {
        wasmtime::bail!(
            "wasmtime-wasi defines no `{SYMLINK_AT}` in `{TYPES}`, so symlink targets cannot be checked; update TYPES in host/src/capabilities/symlinks.rs to the wasi:filesystem version wasmtime-wasi links"
        );
    }
    linker.allow_shadowing(true);
    let defined = (linker.instance(TYPES)?).func_wrap_async(SYMLINK_AT, symlink_at);
    linker.allow_shadowing(false);
    defined
}

type SymlinkResult = wasmtime::Result<(Result<(), ErrorCode>,)>;

fn symlink_at(
    mut store: StoreContextMut<'_, ProcessState>,
    (dir, target, link): (Resource<Descriptor>, String, String),
) -> Box<dyn Future<Output = SymlinkResult> + Send + '_> {
    Box::new(async move {
        if !target_allowed(&target) {
            return Ok((Err(ErrorCode::NotPermitted),));
        }
        let mut filesystem = store.data_mut().filesystem();
        match HostDescriptor::symlink_at(&mut filesystem, dir, target, link).await {
            Ok(()) => Ok((Ok(()),)),
            Err(error) => Ok((Err(error.downcast()?),)),
        }
    })
}

/// Replaces preview 1's `path_symlink` in a core module's linker that has preview 1.
pub fn guard_preview1(linker: &mut wasmtime::Linker<CoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let defined =
        (linker.func_wrap_async(super::preview1::MODULE, "path_symlink", path_symlink)).map(|_| ());
    linker.allow_shadowing(false);
    defined
}

/// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len) -> errno`.
fn path_symlink(
    mut caller: Caller<'_, CoreState>,
    (target, target_len, dir, link, link_len): (i32, i32, i32, i32, i32),
) -> Box<dyn Future<Output = wasmtime::Result<i32>> + Send + '_> {
    Box::new(async move {
        let fuel = caller.as_context_mut().hostcall_fuel();
        // Only an unshared memory can be checked and then read by preview 1 with nothing
        // changing it in between; anything else fails the call rather than skip the check.
        let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
            wasmtime::bail!(
                "`path_symlink` needs the module to export its memory as `memory`, not shared; symlinks cannot be made from this module"
            );
        };
        let (bytes, state) = memory.data_and_store_mut(&mut caller);
        // A target out of bounds or not UTF-8 is left to preview 1, which reports it.
        let start = target as u32 as usize;
        let text = (bytes.get(start..start.saturating_add(target_len as u32 as usize)))
            .and_then(|b| std::str::from_utf8(b).ok());
        if text.is_some_and(|text| !target_allowed(text)) {
            return Ok(P1_NOT_PERMITTED);
        }
        let wasi = (state.wasi.as_mut())
            .expect("a store's preview 1 context exists whenever preview 1 is linked");
        wasi.set_hostcall_fuel(fuel);
        let mut memory = wiggle::GuestMemory::Unshared(bytes);
        p1::path_symlink(wasi, &mut memory, target, target_len, dir, link, link_len).await
    })
}

#[cfg(test)]
mod tests {
    use super::target_allowed;

    #[test]
    fn only_descending_relative_targets_are_allowed() {
        for allowed in ["file.txt", "sub/file.txt", "./file.txt", "a/./b", ""] {
            assert!(target_allowed(allowed), "{allowed}");
        }
        for refused in [
            "/etc/passwd",
            "..",
            "../x",
            "a/../b",
            "a/..",
            "../../outside",
            "//x",
        ] {
            assert!(!target_allowed(refused), "{refused}");
        }
    }
}
