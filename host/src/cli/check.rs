//! `wippy check`: load and verify everything without running anything.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Failure, load_registry, new_runtime};
use crate::capabilities::{ImportReport, ImportStatus};
use crate::engine::PreparedEntry;
use crate::registry::{LoadErrors, display_path};

pub fn check(project: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let registry = load_registry(project)?;
    let runtime = new_runtime()?;
    let mut errors = Vec::new();
    let mut verified = 0;
    let mut notes = 0;
    for entry in registry.entries() {
        if let Some(core) = runtime.core_function(&registry, entry) {
            match core {
                Ok(function) => {
                    verified += 1;
                    println!("ok  {}  {} (core module)", entry.id, function.signature());
                }
                Err(error) => errors.push(error),
            }
        } else if entry.kind.wasm().is_some() {
            match PreparedEntry::prepare(&runtime, &registry, entry) {
                Ok(prepared) => {
                    verified += 1;
                    println!("ok  {}  {}", entry.id, prepared.signature());
                    print_imports(&prepared.imports);
                }
                Err(error) => errors.push(error),
            }
        }
        if !entry.notes.is_empty() {
            println!("{}:{}: {}", display_path(&entry.file), entry.line, entry.id);
        }
        for note in &entry.notes {
            notes += 1;
            println!("    note: field `{}`: {}", note.field, note.text);
        }
    }
    println!(
        "{}: {} entries, {verified} components verified, {notes} notes, {} errors",
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

/// The component's imports by status. Gaps are notes, not errors: calls to them fail with a
/// message, and a component that never makes them runs fine.
fn print_imports(imports: &[ImportReport]) {
    let names = |wanted: fn(&ImportStatus) -> bool| -> Vec<&str> {
        imports
            .iter()
            .filter(|i| wanted(&i.status))
            .map(|i| i.name.as_str())
            .collect()
    };
    let granted = names(|s| *s == ImportStatus::Granted);
    let not_granted = names(|s| matches!(s, ImportStatus::NotGranted { .. }));
    let not_provided = names(|s| *s == ImportStatus::NotProvided);
    if !granted.is_empty() {
        println!("    granted: {}", granted.join(", "));
    }
    if !not_granted.is_empty() {
        let mut groups: Vec<&str> = (imports.iter())
            .filter_map(|i| match i.status {
                ImportStatus::NotGranted { group } => Some(group),
                _ => None,
            })
            .collect();
        groups.sort();
        groups.dedup();
        println!(
            "    note: not granted (calls fail): {}; grant with `imports: [{}]`",
            not_granted.join(", "),
            groups.join(", ")
        );
    }
    if !not_provided.is_empty() {
        println!(
            "    note: not provided by wippy (calls fail): {}",
            not_provided.join(", ")
        );
    }
}
