//! The wasmtime engine and everything that turns a `process.wasm` entry into something
//! instantiable: verified bytes, a compiled (and cached) component, the resolved export,
//! and one `InstancePre` per entry.

mod allocation;
mod artifact_cache;
mod blocks;
mod component_file;
mod core_function;
mod core_signature;
mod exports;
mod fiber_stacks;
mod linear_memories;
mod prepared;
mod progress;
mod resident_pages;
mod verified_files;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasmtime::component::Component;

pub use artifact_cache::{ArtifactCache, CACHE_VARIABLE};
pub use core_function::CoreFunction;
pub use exports::{ExportedFunc, resolve_method};
pub use prepared::PreparedEntry;

use crate::registry::{Entry, LoadError, Registry, Sha256Digest, Transport, WasmCode};

/// One wasmtime engine plus the on-disk cache of what it compiled.
pub struct Runtime {
    pub engine: wasmtime::Engine,
    pub cache: ArtifactCache,
    /// Each component compiled (or loaded) so far, by its pinned hash: entries that name one
    /// file share it, and a node preparing them all at once compiles it once.
    components: Mutex<HashMap<Sha256Digest, Arc<Mutex<Option<Component>>>>>,
}

impl Runtime {
    pub fn new(cache: ArtifactCache) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        // Every running guest yields at each epoch tick (see `process::run`), which is what
        // lets thousands of processes share a few threads and makes terminate and timeouts
        // reach a guest in a tight loop. Fuel is always metered so `max_fuel` can be set
        // per entry.
        config.epoch_interruption(true);
        config.consume_fuel(true);
        let engine = allocation::engine_with_allocator(config)?;
        start_epoch_ticker(&engine);
        Ok(Self {
            engine,
            cache,
            components: Mutex::default(),
        })
    }

    /// Whether the entry's file, if it names one, is still the one its hash pins.
    pub fn verify_pin(&self, registry: &Registry, entry: &Entry) -> Result<(), LoadError> {
        match entry.kind.wasm().and_then(|wasm| wasm.file()) {
            Some(pinned) => component_file::verify_pin(
                registry,
                entry,
                pinned,
                self.cache.verified_files().as_ref(),
            ),
            None => Ok(()),
        }
    }

    /// Lets go of the compiled components no entry of `registry` pins (after a reload, the
    /// builds it replaced); a process still running one holds its own reference.
    pub fn forget_unpinned(&self, registry: &Registry) {
        let pinned: std::collections::HashSet<&Sha256Digest> = (registry.entries())
            .filter_map(|entry| Some(&entry.kind.wasm()?.file()?.hash))
            .collect();
        (self.components.lock().unwrap()).retain(|hash, _| pinned.contains(hash));
    }

    /// A `function.wat` entry, or a `function.wasm` / `process.wasm` entry whose file is a
    /// core module with a `wit` signature; `None` for any other entry.
    pub fn core_function(
        &self,
        registry: &Registry,
        entry: &Entry,
    ) -> Option<Result<CoreFunction, LoadError>> {
        let wasm = entry.kind.wasm()?;
        let code = match (&wasm.code, &wasm.wit) {
            (WasmCode::Wat(source), _) => source.as_bytes().to_vec(),
            // Without a signature the file can only be a component (a core module without
            // one is refused when it is prepared), so only then is it read here.
            (WasmCode::File(file), Some(_)) => {
                match component_file::read_module(registry, entry, file) {
                    Ok(bytes) if component_file::is_core_module(&bytes) => bytes,
                    Ok(_) => return None,
                    Err(error) => return Some(Err(error)),
                }
            }
            (WasmCode::File(_), None) => return None,
        };
        Some(
            CoreFunction::new(&self.engine, registry, &entry.id, wasm, &code)
                .map_err(|(field, problem)| entry.error(problem).field(field)),
        )
    }

    /// Reads the entry's component through its `fs.directory`, verifies its hash, and
    /// compiles it — or loads the compiled artifact from the cache.
    pub fn component(&self, registry: &Registry, entry: &Entry) -> Result<Component, LoadError> {
        let Some((wasm, pinned)) = entry.kind.wasm().and_then(|w| Some((w, w.file()?))) else {
            return Err(entry
                .error(format!("is a {}, not a component entry", entry.kind.name()))
                .fix("run a process.wasm or function.wasm entry"));
        };
        let verified = self.cache.verified_files();
        let file = component_file::read_verified(
            registry,
            entry,
            pinned,
            wasm.wit.is_some(),
            verified.as_ref(),
        )?;
        // Held while this hash compiles: another entry of the same file waits for it.
        let slot = (self.components.lock().unwrap().entry(pinned.hash))
            .or_default()
            .clone();
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(component) = slot.as_ref() {
            return Ok(component.clone());
        }
        let started = std::time::Instant::now();
        if let Some((component, path)) = self.cache.load(&self.engine, &file.digest) {
            log::info!(
                "{}: loaded from the artifact cache {} in {:.1} ms",
                entry.id,
                path.display(),
                started.elapsed().as_secs_f64() * 1e3
            );
            *slot = Some(component.clone());
            return Ok(component);
        }
        let path = file.path.clone();
        let bytes = file.into_bytes(entry, pinned)?;
        let started = std::time::Instant::now();
        let megabytes = bytes.len() as f64 / (1024.0 * 1024.0);
        let progress = progress::Progress::start(format!("{} ({megabytes:.1} MB)", entry.id));
        let compiled = self.cache.compile(&self.engine, &pinned.hash, &bytes);
        if compiled.is_ok() {
            progress.finish();
        }
        let (component, stored) =
            compiled
                .map_err(|e| {
                    entry
                        .error(format!(
                            "{} is not a valid WebAssembly component: {}",
                            path.display(),
                            crate::guest::describe_wasmtime_error(&e)
                        ))
                        .field("path")
                        .fix("rebuild the component (for Rust: `cargo build --target wasm32-wasip2`) and re-pin its hash")
                })?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match stored {
            Some(stored) => log::info!(
                "{}: compiled in {ms:.1} ms, cached at {}",
                entry.id,
                stored.display()
            ),
            None => log::info!(
                "{}: compiled in {ms:.1} ms (artifact cache unavailable)",
                entry.id
            ),
        }
        *slot = Some(component.clone());
        Ok(component)
    }
}

/// Whether the entry can be called with values (a command, `funcs.call`, a spawn): one with
/// `transport: wasi-http` answers HTTP requests only, as in Wippy.
pub fn takes_payloads(entry: &Entry) -> Result<(), LoadError> {
    match entry.kind.wasm().map(|wasm| wasm.transport) {
        None | Some(Transport::Payload) => Ok(()),
        Some(Transport::WasiHttp) => Err(entry
            .error("has `transport: wasi-http`: it answers HTTP requests through an http.endpoint, and cannot be called with values")
            .field("transport")
            .fix("request its http.endpoint, or remove `transport` (the default, `payload`, passes arguments and results as values)")),
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`](crate::guest::EPOCH_TICK) until the
/// engine is dropped.
fn start_epoch_ticker(engine: &wasmtime::Engine) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("wippy-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(crate::guest::EPOCH_TICK);
            }
        })
        .expect("cannot start the epoch thread");
}
