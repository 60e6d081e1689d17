//! Reading a component's bytes: confined to its `fs.directory`, checked against the pinned hash.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::verified_files::VerifiedFiles;
use crate::registry::{Entry, LoadError, Registry, Sha256Digest, WasmFile};
use crate::regular_file::{self, ReadError};

pub struct ComponentFile {
    /// The file on the host, for messages.
    pub path: PathBuf,
    /// The pinned sha256, which the file has: hashed now, or known from a record of an
    /// earlier run (see `verified_files`).
    pub digest: Sha256Digest,
    file: File,
    size: u64,
    /// The bytes, when they were read to be hashed.
    bytes: Option<Vec<u8>>,
}

impl ComponentFile {
    /// The bytes: those read to hash them, or read now and hashed again (the record said the
    /// file was the pinned one when it was opened; what is compiled must be).
    pub fn into_bytes(self, entry: &Entry, pinned: &WasmFile) -> Result<Vec<u8>, LoadError> {
        if let Some(bytes) = self.bytes {
            return Ok(bytes);
        }
        let bytes = regular_file::read_to_limit(self.file, self.size, COMPONENT_LIMIT)
            .map_err(|e| read_error(e, &self.path, &self.path, pinned, entry))?;
        check_hash(&bytes, &self.path, pinned, entry)?;
        Ok(bytes)
    }
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
    verified: Option<&VerifiedFiles>,
) -> Result<ComponentFile, LoadError> {
    let (file, head) = open_module(registry, entry, pinned, verified)?;
    if is_core_module(&head) {
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

/// Whether the file is still the one pinned (a reload asks this of every unchanged entry:
/// a file rebuilt without its pin re-pinned is refused).
pub fn verify_pin(
    registry: &Registry,
    entry: &Entry,
    pinned: &WasmFile,
    verified: Option<&VerifiedFiles>,
) -> Result<(), LoadError> {
    open_module(registry, entry, pinned, verified).map(drop)
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
) -> Result<Vec<u8>, LoadError> {
    let (file, _) = open_module(registry, entry, pinned, None)?;
    file.into_bytes(entry, pinned)
}

/// The file, confined to its fs.directory and checked against the pinned hash (read and
/// hashed, unless `verified` records it unchanged since it had that hash) and the
/// WebAssembly magic; with its first bytes, which tell a component from a core module.
fn open_module(
    registry: &Registry,
    entry: &Entry,
    pinned: &WasmFile,
    verified: Option<&VerifiedFiles>,
) -> Result<(ComponentFile, Vec<u8>), LoadError> {
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
    let (file, metadata) = regular_file::open_in(&dir, relative)
        .map_err(|e| read_error(e, &host_path, root, pinned, entry))?;
    let unchanged = verified
        .and_then(|v| v.digest(&metadata))
        .is_some_and(|digest| digest == pinned.hash.0);
    let (bytes, head) = if unchanged {
        log::debug!(
            "{}: {} is unchanged since its hash was verified; not read again",
            entry.id,
            host_path.display()
        );
        let mut head = vec![0u8; 8];
        let read = file.read_at(&mut head, 0).unwrap_or(0);
        head.truncate(read);
        (None, head)
    } else {
        let bytes = regular_file::read_to_limit(&file, metadata.len(), COMPONENT_LIMIT)
            .map_err(|e| read_error(e, &host_path, root, pinned, entry))?;
        check_hash(&bytes, &host_path, pinned, entry)?;
        if let Some(verified) = verified {
            verified.remember(&metadata, &pinned.hash.0);
        }
        let head = bytes[..bytes.len().min(8)].to_vec();
        (Some(bytes), head)
    };
    if !head.starts_with(WASM_MAGIC) {
        return Err(entry
            .error(format!(
                "{} is not WebAssembly: it does not start with the `\\0asm` magic bytes",
                host_path.display()
            ))
            .field("path")
            .fix("point `path` at a .wasm component, e.g. built with `cargo build --target wasm32-wasip2`"));
    }
    let file = ComponentFile {
        path: host_path,
        digest: pinned.hash,
        file,
        size: metadata.len(),
        bytes,
    };
    Ok((file, head))
}

fn check_hash(
    bytes: &[u8],
    path: &Path,
    pinned: &WasmFile,
    entry: &Entry,
) -> Result<(), LoadError> {
    let actual = Sha256Digest::of(bytes);
    if actual == pinned.hash {
        return Ok(());
    }
    Err(entry
        .error(format!(
            "hash mismatch for {}: expected {}, actual {actual}",
            path.display(),
            pinned.hash
        ))
        .field("hash")
        .fix(format!(
            "if you rebuilt the component on purpose, pin the new build with `hash: {actual}`; otherwise restore the file that was pinned"
        )))
}

fn read_error(
    e: ReadError,
    path: &Path,
    root: &Path,
    pinned: &WasmFile,
    entry: &Entry,
) -> LoadError {
    let problem = match e {
        ReadError::NotRegular(kind) => format!(
            "the component file {} is {kind}, not a regular file",
            path.display()
        ),
        ReadError::Io(e) if e.kind() == ErrorKind::NotFound => {
            format!("the component file {} does not exist", path.display())
        }
        ReadError::Io(e)
            if e.kind() == ErrorKind::PermissionDenied && e.to_string().contains("outside") =>
        {
            format!(
                "{} leads outside the fs directory `{}` (through a symlink); access is confined to {}",
                path.display(),
                pinned.fs,
                root.display()
            )
        }
        ReadError::Io(e) => format!("the component file {} cannot be read: {e}", path.display()),
        ReadError::TooLarge { size, .. } => format!(
            "the component file {} is {size} bytes, more than the 1 GiB a component may be",
            path.display()
        ),
    };
    entry
        .error(problem)
        .field("path")
        .fix("build the component, or correct `path` (it is relative to the fs directory)")
}
