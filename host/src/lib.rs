//! wippy: runs WebAssembly components as supervised, actor-style processes declared in a YAML registry.
//!
//! The `wippy` binary (see `cli`) is a thin layer over these modules:
//! - [`registry`] turns YAML files into typed, validated entries;
//! - [`engine`] verifies, compiles and caches components and resolves their exports;
//! - [`capabilities`] maps an entry's grants onto the linker;
//! - [`values`] converts between text (CLI arguments, output) and WIT values;
//! - [`process`] runs processes: the node (spawn, links, monitors, names) and WASM lifecycles;
//! - [`lua`] runs Lua processes and functions.

pub mod capabilities;
pub mod cli;
pub mod engine;
pub mod guest;
pub mod lua;
pub mod process;
pub mod registry;
pub mod values;

/// Opening only regular files, within a size limit: shared by the registry and the engine.
pub(crate) mod regular_file;
