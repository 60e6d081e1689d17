//! Reading a component's bytes: confined to its `fs.directory`, checked against the pinned hash.

use std::io::ErrorKind;
use std::path::PathBuf;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::registry::{Entry, LoadError, Registry, Sha256Digest, WasmFile};
use crate::regular_file::{self, ReadError};

pub struct ComponentFile {
    /// The file on the host, for messages.
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// The sha256 of `bytes`, computed here (and equal to the pinned hash).
    pub digest: Sha256Digest,
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Components are held whole in memory to be hashed and compiled; WebAssembly tools
/// (wasmparser) refuse modules over 1 GiB anyway, so a larger file is refused before reading.
const COMPONENT_LIMIT: u64 = 1024 * 1024 * 1024;
/// Bytes 4..8 of a core module (version 1); components use a different layer/version.
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// A component's bytes, read and verified; core modules are refused (see [`read_module`]).
pub fn read_verified(
    registry: &Registry,
    entry: &Entry,
    pinned: &WasmFile,
    has_wit: bool,
) -> Result<ComponentFile, LoadError> {
    let file = read_module(registry, entry, pinned)?;
    if is_core_module(&file.bytes) {
        let problem = format!(
            "{} is a core WebAssembly module, not a component",
            file.path.display()
        );
        let fix = if has_wit {
            "this entry cannot run a core module; build a component (target wasm32-wasip2, or `wasm-tools component new`)"
        } else {
            "give the entry a `wit` signature for the core module's export (e.g. `wit: \"answer: func() -> s32;\"`), or build a component (target wasm32-wasip2)"
        };
        return Err(entry.error(problem).field("wit").fix(fix));
    }
    Ok(file)
}

pub fn is_core_module(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(&CORE_MODULE_VERSION)
}

/// The file's bytes, confined to its fs.directory and checked against the pinned hash and
/// the WebAssembly magic; component or core module.
pub fn read_module(
    registry: &Registry,
    entry: &Entry,
    pinned: &WasmFile,
) -> Result<ComponentFile, LoadError> {
    let relative = &pinned.path;
    let root = &registry.fs_directory(&pinned.fs).directory;
    let host_path = root.join(relative);
    let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|e| {
        entry
            .error(format!(
                "the fs directory `{}` ({}) cannot be opened: {e}",
                pinned.fs,
                root.display()
            ))
            .field("fs")
            .fix("create the directory or fix the `directory` of that fs.directory entry")
    })?;
    // cap-std resolves the path inside `dir` and refuses anything (a symlink included) that
    // would lead outside it; only a regular file is read (a FIFO would block, a device such
    // as /dev/zero never end).
    let bytes = regular_file::read_in(&dir, relative, COMPONENT_LIMIT).map_err(|e| {
        let problem = match e {
            ReadError::NotRegular(kind) => format!(
                "the component file {} is {kind}, not a regular file",
                host_path.display()
            ),
            ReadError::Io(e) if e.kind() == ErrorKind::NotFound => {
                format!("the component file {} does not exist", host_path.display())
            }
            ReadError::Io(e)
                if e.kind() == ErrorKind::PermissionDenied && e.to_string().contains("outside") =>
            {
                format!(
                    "{} leads outside the fs directory `{}` (through a symlink); access is confined to {}",
                    host_path.display(),
                    pinned.fs,
                    root.display()
                )
            }
            ReadError::Io(e) => format!(
                "the component file {} cannot be read: {e}",
                host_path.display()
            ),
            ReadError::TooLarge { size, .. } => format!(
                "the component file {} is {size} bytes, more than the 1 GiB a component may be",
                host_path.display()
            ),
        };
        entry
            .error(problem)
            .field("path")
            .fix("build the component, or correct `path` (it is relative to the fs directory)")
    })?;

    let actual = Sha256Digest::of(&bytes);
    if actual != pinned.hash {
        return Err(entry
            .error(format!(
                "hash mismatch for {}: expected {}, actual {actual}",
                host_path.display(),
                pinned.hash
            ))
            .field("hash")
            .fix(format!(
                "if you rebuilt the component on purpose, pin the new build with `hash: {actual}`; otherwise restore the file that was pinned"
            )));
    }
    if !bytes.starts_with(WASM_MAGIC) {
        return Err(entry
            .error(format!(
                "{} is not WebAssembly: it does not start with the `\\0asm` magic bytes",
                host_path.display()
            ))
            .field("path")
            .fix("point `path` at a .wasm component, e.g. built with `cargo build --target wasm32-wasip2`"));
    }
    Ok(ComponentFile {
        path: host_path,
        bytes,
        digest: actual,
    })
}
