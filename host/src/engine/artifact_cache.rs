//! Compiled components on disk, so a second run deserializes instead of compiling.
//!
//! Deserializing runs whatever machine code the file holds, so a file is used only when it is
//! exactly what this program wrote for this component:
//! - it records the sha256 of the component it was compiled from and the engine fingerprint
//!   (wasmtime version and every setting that affects code), and is used only when both
//!   match: an artifact copied over another component's file is ignored, not run;
//! - a sha256 over all of that and the compiled code finds truncated or corrupted files;
//! - a checksum cannot stop someone who can write the folder (they would recompute it), so
//!   the folder is created private (0700), and a folder or file that another user (but root)
//!   owns or that its group or others may write is not trusted. Such a folder is not used at all: one
//!   warning, and components are compiled in memory. That costs time, never correctness, so
//!   it is not worth refusing to run over.
//!
//! `WIPPY_CACHE_DIR=off` turns the cache off.

use std::fs::Metadata;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::verified_files::VerifiedFiles;
use crate::registry::Sha256Digest;
use crate::regular_file;

/// The environment variable naming the folder, or `off`.
pub const CACHE_VARIABLE: &str = "WIPPY_CACHE_DIR";

const FORMAT_TAG: &[u8; 8] = b"WIPPYC02";
/// Tag, the component's sha256, the engine fingerprint, then the checksum of all of it and
/// the payload.
const SOURCE_AT: usize = FORMAT_TAG.len();
const ENGINE_AT: usize = SOURCE_AT + 32;
const CHECKSUM_AT: usize = ENGINE_AT + 8;
const HEADER_LEN: usize = CHECKSUM_AT + 32;

pub struct ArtifactCache {
    dir: Option<PathBuf>,
    /// The folder once checked (and created): `None` when it cannot be trusted.
    checked: OnceLock<Option<PathBuf>>,
}

impl ArtifactCache {
    /// `$WIPPY_CACHE_DIR` (`off`: no cache), else `<user cache dir>/wippy/artifacts`.
    pub fn from_env() -> Self {
        let dir = match std::env::var_os(CACHE_VARIABLE) {
            Some(value) if value.eq_ignore_ascii_case("off") => None,
            Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
            _ => dirs::cache_dir().map(|d| d.join("wippy").join("artifacts")),
        };
        Self::new(dir)
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self::new(Some(dir.into()))
    }

    /// Every component is compiled, nothing is stored.
    pub fn off() -> Self {
        Self::new(None)
    }

    fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            checked: OnceLock::new(),
        }
    }

    /// The artifact compiled from the component whose sha256 is `digest`, with the file it
    /// came from, when the cache holds an intact one.
    pub fn load(
        &self,
        engine: &wasmtime::Engine,
        digest: &Sha256Digest,
    ) -> Option<(Component, PathBuf)> {
        let dir = self.trusted_dir()?;
        let fingerprint = engine_fingerprint(engine);
        let path = dir.join(format!("{}-{fingerprint:016x}.cwasm", digest.hex()));
        let verified = VerifiedFiles::in_dir(dir);
        let component = load(engine, &path, digest, fingerprint, &verified)?;
        Some((component, path))
    }

    /// Compiles `bytes` (whose sha256 is `digest`) and stores the result; the path it was
    /// stored at, if the cache could be written.
    pub fn compile(
        &self,
        engine: &wasmtime::Engine,
        digest: &Sha256Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Option<PathBuf>)> {
        let component = Component::new(engine, bytes)?;
        let Some(dir) = self.trusted_dir() else {
            return Ok((component, None));
        };
        let fingerprint = engine_fingerprint(engine);
        let path = dir.join(format!("{}-{fingerprint:016x}.cwasm", digest.hex()));
        let stored = match component.serialize() {
            Ok(artifact) => store(dir, &path, &encode(digest, fingerprint, &artifact))
                .map_err(|e| {
                    log::warn!(
                        "cannot write the artifact cache file {}: {e}",
                        path.display()
                    )
                })
                .ok(),
            Err(e) => {
                log::warn!("cannot serialize the compiled component: {e}");
                None
            }
        };
        Ok((component, stored.map(|()| path)))
    }

    /// Records of the component files verified before, when the cache folder may be trusted.
    pub fn verified_files(&self) -> Option<VerifiedFiles> {
        self.trusted_dir().map(VerifiedFiles::in_dir)
    }

    /// The folder, created private if missing, when it may be trusted; checked once.
    fn trusted_dir(&self) -> Option<&Path> {
        let checked = self.checked.get_or_init(|| {
            let dir = self.dir.as_ref()?;
            match prepare(dir) {
                Ok(()) => Some(dir.clone()),
                Err((reason, fix)) => {
                    log::warn!(
                        "not using the artifact cache {}: {reason}; compiling without it. {fix}, or set {CACHE_VARIABLE}=off",
                        dir.display()
                    );
                    None
                }
            }
        });
        checked.as_deref()
    }
}

/// Creates the folder (and any missing parent) private, then checks that it may be trusted;
/// or why not, and how to fix that.
fn prepare(dir: &Path) -> Result<(), (String, String)> {
    let elsewhere = format!("Point {CACHE_VARIABLE} at a folder of your own");
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| (format!("it cannot be created: {e}"), elsewhere.clone()))?;
    }
    let metadata = std::fs::metadata(dir)
        .map_err(|e| (format!("it cannot be opened: {e}"), elsewhere.clone()))?;
    if !metadata.is_dir() {
        return Err(("it is not a folder".to_string(), elsewhere));
    }
    match untrusted(&metadata) {
        None => Ok(()),
        Some(reason) if metadata.uid() == euid() => Err((
            reason,
            format!("Make it private with `chmod 700 {}`", dir.display()),
        )),
        Some(reason) => Err((reason, elsewhere)),
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a cache folder or file with this metadata may have been written by someone else.
pub(super) fn untrusted(metadata: &Metadata) -> Option<String> {
    let me = euid();
    // Root may write anywhere anyway, so a root-owned folder (a system-wide cache) is fine.
    if metadata.uid() != me && metadata.uid() != 0 {
        return Some(format!(
            "it belongs to user {}, not to the user wippy runs as ({me}), who could otherwise run code that user compiled",
            metadata.uid()
        ));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "it is writable by its group or by others (mode {mode:03o}), so they could plant compiled code that wippy would run"
        ));
    }
    None
}

/// The component in `path`, when the file is intact and was compiled from `digest` by an
/// engine with `fingerprint`; otherwise `None`, and the caller compiles anew.
fn load(
    engine: &wasmtime::Engine,
    path: &Path,
    digest: &Sha256Digest,
    fingerprint: u64,
    verified: &VerifiedFiles,
) -> Option<Component> {
    let (file, metadata) = regular_file::open(path).ok()?;
    if let Some(reason) = untrusted(&metadata) {
        log::warn!(
            "ignoring the artifact cache file {}: {reason}",
            path.display()
        );
        return None;
    }
    let Ok(bytes) = regular_file::read_to_limit(file, metadata.len(), u64::MAX) else {
        log::info!("cannot read the artifact cache file {}", path.display());
        return None;
    };
    let intact = bytes.len() > HEADER_LEN && bytes.starts_with(FORMAT_TAG) && {
        let recorded = &bytes[CHECKSUM_AT..HEADER_LEN];
        // An artifact checked before and unchanged since is not checksummed again.
        verified.digest(&metadata).is_some_and(|d| d == recorded) || {
            let sum = checksum(&bytes[..CHECKSUM_AT], &bytes[HEADER_LEN..]);
            let matches = sum == recorded;
            if matches {
                verified.remember(&metadata, &sum);
            }
            matches
        }
    };
    if !intact {
        log::info!(
            "ignoring the corrupt artifact cache file {}",
            path.display()
        );
        return None;
    }
    if bytes[SOURCE_AT..ENGINE_AT] != digest.0 {
        let mut compiled_from = [0u8; 32];
        compiled_from.copy_from_slice(&bytes[SOURCE_AT..ENGINE_AT]);
        log::warn!(
            "ignoring the artifact cache file {}: it was compiled from {}, not from this component ({digest})",
            path.display(),
            Sha256Digest(compiled_from)
        );
        return None;
    }
    if bytes[ENGINE_AT..CHECKSUM_AT] != fingerprint.to_le_bytes() {
        log::info!(
            "ignoring the stale artifact cache file {}: another wasmtime version or other settings compiled it",
            path.display()
        );
        return None;
    }
    // SAFETY: the payload is what `Component::serialize` produced for this very component
    // (its sha256 is in the header) with an engine of the same version and settings (the
    // fingerprint), and the checksum over all of it proves the file was not changed since,
    // short of someone who can write the cache folder, which is refused above. wasmtime
    // re-checks version and settings itself.
    match unsafe { Component::deserialize(engine, &bytes[HEADER_LEN..]) } {
        Ok(component) => Some(component),
        Err(e) => {
            log::info!(
                "ignoring the stale artifact cache file {}: {e}",
                path.display()
            );
            None
        }
    }
}

fn encode(digest: &Sha256Digest, fingerprint: u64, artifact: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(HEADER_LEN + artifact.len());
    file.extend_from_slice(FORMAT_TAG);
    file.extend_from_slice(&digest.0);
    file.extend_from_slice(&fingerprint.to_le_bytes());
    let sum = checksum(&file, artifact);
    file.extend_from_slice(&sum);
    file.extend_from_slice(artifact);
    file
}

fn checksum(header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize().into()
}

/// Written to a new private file and renamed, so a concurrent reader never sees half a file
/// and a file planted under the final name is replaced, not written through.
pub(super) fn store(dir: &Path, path: &Path, file: &[u8]) -> std::io::Result<()> {
    let temporary = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
    };
    let mut out = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Left by an earlier run that had this process ID and did not finish.
            std::fs::remove_file(&temporary)?;
            create()?
        }
        other => other?,
    };
    // No fsync: a file cut short by a crash fails its checksum and is compiled anew.
    let written = out.write_all(file);
    drop(out);
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        std::fs::remove_file(&temporary).ok();
        return Err(e);
    }
    Ok(())
}

/// Identifies the wasmtime version and every engine setting that affects compiled code.
fn engine_fingerprint(engine: &wasmtime::Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}
