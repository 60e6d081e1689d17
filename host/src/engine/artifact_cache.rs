//! Compiled components on disk, so a second run deserializes instead of compiling.
//!
//! A file is keyed by the component's sha256 and a hash of the wasmtime version and engine
//! settings, so a change to either compiles anew. Each file carries a sha256 of its payload:
//! a truncated or corrupted file is ignored and rewritten, never handed to wasmtime.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use crate::registry::Sha256Digest;

const FORMAT_TAG: &[u8; 8] = b"WIPPYC01";
const HEADER_LEN: usize = FORMAT_TAG.len() + 32;

pub struct ArtifactCache {
    dir: Option<PathBuf>,
}

pub enum CacheOutcome {
    Hit(PathBuf),
    /// Compiled now; the path it was stored at, if the cache could be written.
    Compiled(Option<PathBuf>),
}

impl ArtifactCache {
    /// `$WIPPY_CACHE_DIR`, else `<user cache dir>/wippy/artifacts`.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("WIPPY_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("wippy").join("artifacts")));
        Self { dir }
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    pub fn load_or_compile(
        &self,
        engine: &wasmtime::Engine,
        digest: &Sha256Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, bytes)?, CacheOutcome::Compiled(None)));
        };
        let path = dir.join(format!(
            "{}-{:016x}.cwasm",
            digest.hex(),
            settings_hash(engine)
        ));
        if let Some(component) = self.load(engine, &path) {
            return Ok((component, CacheOutcome::Hit(path)));
        }
        let component = Component::new(engine, bytes)?;
        let stored = match component.serialize() {
            Ok(artifact) => store(dir, &path, &artifact)
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
        Ok((component, CacheOutcome::Compiled(stored.map(|()| path))))
    }

    fn load(&self, engine: &wasmtime::Engine, path: &Path) -> Option<Component> {
        let file = std::fs::read(path).ok()?;
        let intact = file.len() > HEADER_LEN
            && file.starts_with(FORMAT_TAG)
            && file[FORMAT_TAG.len()..HEADER_LEN] == Sha256Digest::of(&file[HEADER_LEN..]).0;
        if !intact {
            log::info!(
                "ignoring the corrupt artifact cache file {}",
                path.display()
            );
            return None;
        }
        // SAFETY: the payload is exactly what `Component::serialize` produced with an engine
        // of the same version and settings (both are in the file name), and its checksum
        // proves it was not changed since; wasmtime re-checks version and settings itself.
        match unsafe { Component::deserialize(engine, &file[HEADER_LEN..]) } {
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
}

/// Written to a temporary file and renamed, so a concurrent reader never sees half a file.
fn store(dir: &Path, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut file = Vec::with_capacity(HEADER_LEN + artifact.len());
    file.extend_from_slice(FORMAT_TAG);
    file.extend_from_slice(&Sha256Digest::of(artifact).0);
    file.extend_from_slice(artifact);
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, &file)?;
    std::fs::rename(&temporary, path)
}

/// Identifies the wasmtime version and every engine setting that affects compiled code.
fn settings_hash(engine: &wasmtime::Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}
