//! Where files and configuration come from: `fs.directory`, `env.storage.*`, `env.variable`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::inert;
use crate::registry::{EntryId, LoadError, Note};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct FsDirectorySpec {
    directory: String,
    #[serde(default)]
    auto_init: bool,
    mode: Option<String>,
    r#type: Option<Value>,
    base: Option<String>,
}

/// An `fs.directory`: a folder that guests and components are confined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsDirectory {
    /// Absolute; relative paths in YAML are taken from the project root.
    pub directory: PathBuf,
    /// Create the folder (and its parents) when the registry loads.
    pub auto_init: bool,
    /// Permissions for a folder made by `auto_init` (`mode: "0755"`).
    pub mode: u32,
}

impl FsDirectorySpec {
    pub(in crate::registry) fn resolve(
        self,
        project_root: &Path,
        notes: &mut Vec<Note>,
    ) -> Result<FsDirectory, LoadError> {
        match self.base.as_deref() {
            None | Some("" | "project") => {}
            Some("module") => notes.push(Note::inert(
                "base",
                "wippy-rs has no modules; the directory is taken from the project folder",
            )),
            Some(other) => {
                return Err(LoadError::new(format!("`{other}` is not a base"))
                    .field("base")
                    .fix("write `project` or `module`, or leave it out"));
            }
        }
        inert(
            notes,
            "type",
            self.r#type.is_some(),
            "Wippy reads no `type` either",
        );
        let mode = match &self.mode {
            None => 0o755,
            Some(text) => u32::from_str_radix(text.trim_start_matches("0o"), 8)
                .ok()
                .filter(|mode| *mode <= 0o7777)
                .ok_or_else(|| {
                    LoadError::new(format!("`{text}` is not an octal file mode"))
                        .field("mode")
                        .fix("write it like \"0755\"")
                })?,
        };
        if self.mode.is_some() && !self.auto_init {
            notes.push(Note::inert(
                "mode",
                "the mode is only used for a folder that `auto_init: true` creates",
            ));
        }
        Ok(FsDirectory {
            directory: project_root.join(&self.directory).components().collect(),
            auto_init: self.auto_init,
            // As in Wippy, a folder others may read they may also enter.
            mode: mode | ((mode & 0o444) >> 2),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct EnvOsSpec {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct EnvStaticSpec {
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::registry) struct EnvVariableSpec {
    storage: String,
    variable: Option<String>,
    default: Option<String>,
    readonly: Option<bool>,
}

/// An `env.variable`: a named value read from a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVariable {
    pub storage: EntryId,
    pub variable: String,
    pub default: Option<String>,
}

impl EnvVariableSpec {
    pub(in crate::registry) fn resolve(self, id: &EntryId, notes: &mut Vec<Note>) -> EnvVariable {
        inert(
            notes,
            "readonly",
            self.readonly.is_some(),
            "guests only read variables here",
        );
        EnvVariable {
            storage: EntryId::resolve(&self.storage, &id.namespace),
            variable: self.variable.unwrap_or_else(|| id.to_string()),
            default: self.default,
        }
    }
}
