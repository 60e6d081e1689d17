//! `wippy registry list|show`: what the registry holds.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{Failure, load_registry};
use crate::registry::{EntryId, display_path};

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Every entry: ID, kind and where it is declared.
    List,
    /// One entry in full.
    Show {
        /// `namespace:name`
        id: String,
    },
}

pub fn registry(project: Option<PathBuf>, command: RegistryCommand) -> Result<ExitCode, Failure> {
    let registry = load_registry(project)?;
    match command {
        RegistryCommand::List => {
            let width = registry
                .entries()
                .map(|e| e.id.to_string().len())
                .max()
                .unwrap_or(0);
            for entry in registry.entries() {
                println!(
                    "{:width$}  {:16}  {}:{}",
                    entry.id.to_string(),
                    entry.kind.name(),
                    display_path(&entry.file),
                    entry.line
                );
            }
        }
        RegistryCommand::Show { id } => {
            let entry = EntryId::parse_full(&id)
                .and_then(|parsed| registry.get(&parsed))
                .ok_or_else(|| {
                    Failure::from(format!(
                        "no entry `{id}`; `wippy registry list` shows them all"
                    ))
                })?;
            println!("id: {}", entry.id);
            println!("kind: {}", entry.kind.name());
            println!("declared at: {}:{}", display_path(&entry.file), entry.line);
            let mut rest = entry.data();
            if !entry.meta.is_empty() {
                rest.insert(
                    "meta".to_string(),
                    serde_json::Value::Object(entry.meta.clone()),
                );
            }
            if !rest.is_empty() {
                print!(
                    "{}",
                    serde_saphyr::to_string(&rest).map_err(|e| e.to_string())?
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
