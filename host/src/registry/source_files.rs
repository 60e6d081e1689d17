//! The files one registry load reads: YAML files and `file://` targets, all inside the source
//! folder. Each is read through the folder's handle (cap-std), so neither `..` nor a symlink,
//! even one swapped in after the path was checked, reaches a file outside it; only regular
//! files are read; each distinct `file://` target is read once and its text shared; and every
//! byte is counted against the load's [`Budget`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::LoadError;
use super::budget::{Budget, FILE_LIMIT, human};
use crate::regular_file::{self, ReadError};

pub struct SourceFiles {
    /// The canonical source folder.
    root: PathBuf,
    dir: Dir,
    budget: Budget,
    /// `file://` texts by canonical path, for this load only.
    texts: HashMap<PathBuf, Arc<str>>,
}

impl SourceFiles {
    /// `root` is the canonical source folder.
    pub fn open(root: &Path, budget: Budget) -> Result<Self, LoadError> {
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|e| {
            LoadError::new(format!(
                "the source folder {} cannot be opened: {e}",
                root.display()
            ))
        })?;
        Ok(Self {
            root: root.to_path_buf(),
            dir,
            budget,
            texts: HashMap::new(),
        })
    }

    /// The text of a registry file found by the walk (a canonical path inside the folder).
    pub fn yaml(&mut self, path: &Path) -> Result<String, LoadError> {
        let place = |error: LoadError| error.file(path);
        let relative = self.relative(path).map_err(place)?;
        let bytes = regular_file::read_in(&self.dir, &relative, FILE_LIMIT).map_err(|e| {
            place(match e {
                ReadError::NotRegular(kind) => LoadError::new(format!(
                    "this is {kind}, not a regular file, so it cannot be a registry file"
                ))
                .fix("remove it, or rename it so that its name does not end in .yaml or .yml"),
                ReadError::TooLarge { size, limit } => LoadError::new(format!(
                    "the file is {size} bytes, more than the {} one registry file may hold",
                    human(limit)
                ))
                .fix("split it into several registry files"),
                ReadError::Io(e) => LoadError::new(format!("cannot read the file: {e}")),
            })
        })?;
        self.budget
            .charge(bytes.len() as u64, "this file")
            .map_err(place)?;
        String::from_utf8(bytes)
            .map_err(|e| place(LoadError::new(format!("the file is not UTF-8 text: {e}"))))
    }

    /// The text `file://<reference>` names: relative to `base` (the YAML file's folder), or
    /// to the source folder when it starts with `/`. The error is placed by the caller.
    pub fn referenced(&mut self, reference: &str, base: &Path) -> Result<Arc<str>, LoadError> {
        let path = match reference.strip_prefix('/') {
            Some(from_root) => self.root.join(from_root),
            None => base.join(reference),
        };
        let resolved = path.canonicalize().map_err(|e| {
            LoadError::new(format!(
                "`file://{reference}` names {}, which cannot be opened: {e}",
                path.display()
            ))
            .fix("check the path; it is relative to the YAML file")
        })?;
        if let Some(text) = self.texts.get(&resolved) {
            return Ok(text.clone());
        }
        let relative = self.relative(&resolved).map_err(|_| {
            LoadError::new(format!(
                "`file://{reference}` resolves to {}, outside the source folder {}",
                resolved.display(),
                self.root.display()
            ))
            .fix("keep referenced files inside the source folder")
        })?;
        let bytes = regular_file::read_in(&self.dir, &relative, FILE_LIMIT).map_err(|e| match e {
            ReadError::NotRegular(kind) => LoadError::new(format!(
                "`file://{reference}` names {}, which is {kind}, not a regular file",
                resolved.display()
            ))
            .fix("point it at a regular text file inside the source folder"),
            ReadError::TooLarge { size, limit } => LoadError::new(format!(
                "`file://{reference}` names {}, which is {size} bytes, more than the {} one file the registry loads may hold",
                resolved.display(),
                human(limit)
            ))
            .fix("keep large data out of the registry: put it in the folder of an `fs.directory` entry and read it at run time"),
            ReadError::Io(e) => LoadError::new(format!(
                "`file://{reference}` names {}, which cannot be read: {e}",
                resolved.display()
            ))
            .fix("keep referenced files inside the source folder, without symlinks that lead out of it"),
        })?;
        self.budget.charge(
            bytes.len() as u64,
            &format!("`file://{reference}` ({})", resolved.display()),
        )?;
        let text: Arc<str> = String::from_utf8(bytes)
            .map_err(|e| {
                LoadError::new(format!("`file://{reference}` cannot be read as text: {e}"))
            })?
            .into();
        self.texts.insert(resolved, text.clone());
        Ok(text)
    }

    /// The `file://` targets read so far.
    pub fn targets(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.texts.keys().cloned()
    }

    /// Counts a copy of a `file://` text placed into a field (every field but `source`
    /// holds its own copy).
    pub fn charge_copy(&mut self, reference: &str, bytes: usize) -> Result<(), LoadError> {
        self.budget.charge(
            bytes as u64,
            &format!("another copy of `file://{reference}`"),
        )
    }

    /// The budget ran out: the load stops with the errors it has.
    pub fn exhausted(&self) -> bool {
        self.budget.exhausted()
    }

    fn relative(&self, path: &Path) -> Result<PathBuf, LoadError> {
        path.strip_prefix(&self.root)
            .map(|relative| match relative.as_os_str().is_empty() {
                true => PathBuf::from("."),
                false => relative.to_path_buf(),
            })
            .map_err(|_| {
                LoadError::new(format!(
                    "{} is outside the source folder {}",
                    path.display(),
                    self.root.display()
                ))
            })
    }
}
