//! wippy: runs WebAssembly components as supervised, actor-style processes declared in a YAML registry.
//!
//! The `wippy` binary (see `cli`) is a thin layer over modules that depend one way, bottom to
//! top (docs/architecture.md; `tests/layers.rs` keeps it so):
//! - [`values`] converts between text (CLI arguments, output), WIT values and payloads;
//! - [`registry`] turns YAML files into typed, validated entries;
//! - [`guest`] holds what any running guest needs: limits, stdio, failure descriptions;
//! - [`capabilities`] maps an entry's grants onto the linker and the store's state;
//! - [`engine`] verifies, compiles and caches components and resolves their exports;
//! - [`process`] runs processes: the node (spawn, links, monitors, names) and WASM lifecycles;
//! - [`lua`] runs Lua processes and functions, for the node, through `process::Scripts`.

pub mod capabilities;
pub mod cli;
pub mod cluster;
pub mod engine;
pub mod guest;
pub mod lua;
pub mod process;
pub mod registry;
pub mod serve;
pub mod values;

/// Opening only regular files, within a size limit: shared by the registry and the engine.
pub(crate) mod regular_file;
