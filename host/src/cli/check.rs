//! `wippy check`: load and verify everything without running anything.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Failure, load_registry, new_runtime};
use crate::engine::PreparedEntry;
use crate::registry::{LoadErrors, display_path};

pub fn check(project: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let registry = load_registry(project)?;
    let runtime = new_runtime()?;
    let mut errors = Vec::new();
    let mut verified = 0;
    for entry in registry.entries() {
        if entry.kind.wasm().is_none() {
            continue;
        }
        match PreparedEntry::prepare(&runtime, &registry, entry) {
            Ok(prepared) => {
                verified += 1;
                println!("ok  {}  {}", entry.id, prepared.signature());
            }
            Err(error) => errors.push(error),
        }
    }
    println!(
        "{}: {} entries, {verified} components verified, {} errors",
        display_path(&registry.project.source),
        registry.entries().count(),
        errors.len()
    );
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::from(LoadErrors(errors)))
    }
}
