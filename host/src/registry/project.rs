//! Where a project's registry lives: the project root and its source folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::LoadError;

/// A project on disk. Relative `fs.directory` paths resolve against `root`; registry files and
/// `file://` references live under `source`.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub source: PathBuf,
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    directories: LockDirectories,
}

#[derive(Deserialize, Default)]
struct LockDirectories {
    src: Option<String>,
}

impl Project {
    /// Finds the source folder the way Wippy does: `wippy.lock`'s `directories.src`, else `src/`
    /// when it exists, else the root itself.
    pub fn open(root: &Path) -> Result<Self, LoadError> {
        let root = root.canonicalize().map_err(|e| {
            LoadError::new(format!(
                "cannot open the project folder {}: {e}",
                root.display()
            ))
            .fix("pass an existing folder with -C/--project, or run wippy inside the project")
        })?;
        let lock_path = root.join("wippy.lock");
        let source = if lock_path.is_file() {
            let text = std::fs::read_to_string(&lock_path)
                .map_err(|e| LoadError::new(format!("cannot read it: {e}")).file(&lock_path))?;
            let lock: Lockfile = serde_saphyr::from_str(&text).map_err(|e| {
                LoadError::new(format!("not a valid lock file: {}", e.without_snippet()))
                    .file(&lock_path)
            })?;
            root.join(lock.directories.src.as_deref().unwrap_or("."))
        } else if root.join("src").is_dir() {
            root.join("src")
        } else {
            root.clone()
        };
        let source = source.canonicalize().map_err(|e| {
            LoadError::new(format!(
                "the source folder {} cannot be opened: {e}",
                source.display()
            ))
            .file(&lock_path)
            .field("directories.src")
            .fix("point directories.src at an existing folder")
        })?;
        Ok(Self { root, source })
    }

    /// Every `*.yaml`/`*.yml` below the source folder, sorted so loads are deterministic.
    /// Hidden folders (`.git`, `.wippy`) are not part of the source tree.
    pub fn yaml_files(&self) -> Result<Vec<PathBuf>, LoadError> {
        let mut found = Vec::new();
        let mut pending = vec![self.source.clone()];
        while let Some(dir) = pending.pop() {
            let listing = std::fs::read_dir(&dir)
                .map_err(|e| LoadError::new(format!("cannot list {}: {e}", dir.display())))?;
            for item in listing {
                let item = item
                    .map_err(|e| LoadError::new(format!("cannot list {}: {e}", dir.display())))?;
                let path = item.path();
                let hidden = item.file_name().to_string_lossy().starts_with('.');
                if path.is_dir() {
                    if !hidden {
                        pending.push(path);
                    }
                } else if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                ) {
                    found.push(path);
                }
            }
        }
        found.sort();
        Ok(found)
    }
}
