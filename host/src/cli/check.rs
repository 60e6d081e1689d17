//! `wippy check`: load and verify everything without running anything. By default a
//! component's ungranted imports are counted per capability group (a Rust std component
//! imports a dozen WASI interfaces it may never call, and the list buried what mattered);
//! `-v` lists them, `--json` gives tools the whole report.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::{Failure, load_registry, new_runtime};
use crate::capabilities::{ImportReport, ImportStatus};
use crate::engine::PreparedEntry;
use crate::registry::{Entry, LoadErrors, display_path};

/// `-v` (wippy's own) lists every import not granted, not just how many per group.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Print the report as one JSON document (entries, their signatures, imports and notes,
    /// errors); the exit code is the same.
    #[arg(long)]
    json: bool,
}

/// What checking one entry found.
struct Checked<'e> {
    entry: &'e Entry,
    /// The signature of a verified component (`(core module)` for a core one).
    signature: Option<String>,
    imports: Vec<ImportReport>,
    error: Option<String>,
}

pub fn check(
    project: Option<PathBuf>,
    args: CheckArgs,
    verbose: bool,
) -> Result<ExitCode, Failure> {
    let registry = match load_registry(project) {
        Ok(registry) => registry,
        Err(failure) if args.json => {
            println!("{:#}", json!({"error": failure.message}));
            return Ok(ExitCode::FAILURE);
        }
        Err(failure) => return Err(failure),
    };
    let runtime = new_runtime()?;
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    for entry in registry.entries() {
        let mut report = Checked {
            entry,
            signature: None,
            imports: Vec::new(),
            error: None,
        };
        let outcome = match runtime.core_function(&registry, entry) {
            Some(core) => core.map(|f| (format!("{} (core module)", f.signature()), Vec::new())),
            None if entry.kind.wasm().is_some() => {
                PreparedEntry::prepare(&runtime, &registry, entry)
                    .map(|p| (p.signature().to_string(), p.imports.clone()))
            }
            None => {
                checked.push(report);
                continue;
            }
        };
        match outcome {
            Ok((signature, imports)) => {
                report.signature = Some(signature);
                report.imports = imports;
            }
            Err(error) => {
                report.error = Some(error.to_string());
                errors.push(error);
            }
        }
        checked.push(report);
    }
    let source = display_path(&registry.project.source);
    if args.json {
        println!("{:#}", report_json(&source, &checked));
    } else {
        for report in &checked {
            print_entry(report, verbose);
        }
        let verified = checked.iter().filter(|c| c.signature.is_some()).count();
        let notes: usize = checked.iter().map(|c| c.entry.notes.len()).sum();
        println!(
            "{source}: {} entries, {verified} components verified, {notes} notes, {} errors",
            checked.len(),
            errors.len()
        );
    }
    match errors.is_empty() {
        true => Ok(ExitCode::SUCCESS),
        false if args.json => Ok(ExitCode::FAILURE),
        false => Err(Failure::from(LoadErrors(errors))),
    }
}

fn print_entry(report: &Checked, verbose: bool) {
    let entry = report.entry;
    if let Some(signature) = &report.signature {
        println!("ok  {}  {signature}", entry.id);
        print_imports(&report.imports, verbose);
    }
    if !entry.notes.is_empty() {
        println!("{}:{}: {}", display_path(&entry.file), entry.line, entry.id);
    }
    for note in &entry.notes {
        println!("    note: field `{}`: {}", note.field, note.text);
    }
}

/// The interfaces of each status; the groups of those not granted, each with its count.
struct Imports<'a> {
    granted: Vec<&'a str>,
    not_granted: Vec<(&'a str, &'static str)>,
    not_provided: Vec<&'a str>,
}

impl<'a> Imports<'a> {
    fn of(imports: &'a [ImportReport]) -> Self {
        let mut sorted = Imports {
            granted: Vec::new(),
            not_granted: Vec::new(),
            not_provided: Vec::new(),
        };
        for import in imports {
            let name = import.name.as_str();
            match import.status {
                ImportStatus::Granted => sorted.granted.push(name),
                ImportStatus::NotGranted { group } => sorted.not_granted.push((name, group)),
                ImportStatus::NotProvided => sorted.not_provided.push(name),
            }
        }
        sorted
    }

    /// Each group not granted and how many of its interfaces the component imports.
    fn groups(&self) -> Vec<(&'static str, usize)> {
        let mut groups: Vec<(&'static str, usize)> = Vec::new();
        for (_, group) in &self.not_granted {
            match groups.iter_mut().find(|(g, _)| g == group) {
                Some((_, count)) => *count += 1,
                None => groups.push((group, 1)),
            }
        }
        groups.sort();
        groups
    }
}

/// The component's imports by status. Gaps are notes, not errors: calls to them fail with a
/// message, and a component that never makes them runs fine.
fn print_imports(imports: &[ImportReport], verbose: bool) {
    let imports = Imports::of(imports);
    if !imports.granted.is_empty() {
        println!("    granted: {}", imports.granted.join(", "));
    }
    let groups = imports.groups();
    if !groups.is_empty() {
        let names: Vec<&str> = groups.iter().map(|(g, _)| *g).collect();
        let grant = format!("grant with `imports: [{}]`", names.join(", "));
        match verbose {
            true => {
                let all: Vec<&str> = imports.not_granted.iter().map(|(n, _)| *n).collect();
                println!(
                    "    note: not granted (calls fail): {}; {grant}",
                    all.join(", ")
                );
            }
            false => {
                let counted: Vec<String> = (groups.iter().enumerate())
                    .map(|(i, (group, count))| match (i, count) {
                        (0, 1) => format!("{group} (1 interface)"),
                        (0, n) => format!("{group} ({n} interfaces)"),
                        (_, n) => format!("{group} ({n})"),
                    })
                    .collect();
                println!(
                    "    note: not granted (calls fail): {}; {grant}; `wippy check -v` lists them",
                    counted.join(", ")
                );
            }
        }
    }
    if !imports.not_provided.is_empty() {
        println!(
            "    note: not provided by wippy (calls fail): {}",
            imports.not_provided.join(", ")
        );
    }
}

fn report_json(source: &str, checked: &[Checked]) -> Value {
    let entries: Vec<Value> = (checked.iter())
        .map(|report| {
            let entry = report.entry;
            let imports = Imports::of(&report.imports);
            let notes: Vec<Value> = (entry.notes.iter())
                .map(|n| json!({"field": n.field, "text": n.text}))
                .collect();
            let mut value = json!({
                "id": entry.id.to_string(),
                "kind": entry.kind.name(),
                "file": display_path(&entry.file),
                "line": entry.line,
                "notes": notes,
            });
            if let Some(signature) = &report.signature {
                value["signature"] = json!(signature);
                value["imports"] = json!({
                    "granted": imports.granted,
                    "not_granted": (imports.not_granted.iter())
                        .map(|(name, group)| json!({"interface": name, "group": group}))
                        .collect::<Vec<_>>(),
                    "not_provided": imports.not_provided,
                });
            }
            if let Some(error) = &report.error {
                value["error"] = json!(error);
            }
            value
        })
        .collect();
    let count = |pick: fn(&Checked) -> bool| checked.iter().filter(|c| pick(c)).count();
    json!({
        "project": source,
        "entries": entries,
        "summary": {
            "entries": checked.len(),
            "verified": count(|c| c.signature.is_some()),
            "notes": checked.iter().map(|c| c.entry.notes.len()).sum::<usize>(),
            "errors": count(|c| c.error.is_some()),
        },
    })
}
