//! Where a project's registry lives: the project root and its source folder, and which YAML
//! files in that folder are registry files.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::LoadError;

/// A project on disk. Relative `fs.directory` paths resolve against `root`; registry files and
/// `file://` references live under `source`.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub source: PathBuf,
    /// `wippy.lock`'s `cluster:` section: the cluster a running app joins unless the command
    /// line says otherwise.
    pub cluster: LockCluster,
    /// `wippy.lock`'s `watch:`: whether a running app reloads what changes on disk, unless
    /// the command line says.
    pub watch: Option<bool>,
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    directories: LockDirectories,
    #[serde(default)]
    cluster: LockCluster,
    #[serde(default)]
    watch: Option<bool>,
}

/// `cluster: {url: nats://…, node: name}` in `wippy.lock` (ours; Wippy's lock has no such key).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockCluster {
    pub url: Option<String>,
    pub node: Option<String>,
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
        let mut cluster = LockCluster::default();
        let mut watch = None;
        let source = if lock_path.exists() {
            let text = read_lock_file(&lock_path)?;
            let lock: Lockfile = serde_saphyr::from_str(&text).map_err(|e| {
                LoadError::new(format!("not a valid lock file: {}", e.without_snippet()))
                    .file(&lock_path)
                    .fix("its keys are `directories: {src: DIR}`, `cluster: {url: nats://HOST:PORT, node: NAME}` and `watch: true|false`")
            })?;
            cluster = lock.cluster;
            watch = lock.watch;
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
        Ok(Self {
            root,
            source,
            cluster,
            watch,
        })
    }

    /// Every `*.yaml`/`*.yml` below the source folder (canonical paths), sorted so loads
    /// are deterministic. Hidden folders (`.git`, `.wippy`) are not part of the source tree.
    ///
    /// The source folder is the boundary of what the registry trusts, so the walk follows a
    /// symlink only when its target is inside the folder too, walks each folder once (a
    /// symlink loop ends), and refuses a symlink to a folder or YAML file outside it: loading
    /// it would run someone else's entries, and skipping it would quietly load part of a
    /// project. A symlink to any other outside file is not a registry file and is left alone
    /// (a `file://` naming it is refused where it is read).
    pub fn yaml_files(&self) -> Result<Vec<PathBuf>, LoadError> {
        let mut found = BTreeSet::new();
        let mut walked = HashSet::from([self.source.clone()]);
        let mut pending = vec![self.source.clone()];
        while let Some(dir) = pending.pop() {
            let cannot_list =
                |e: std::io::Error| LoadError::new(format!("cannot list {}: {e}", dir.display()));
            for item in std::fs::read_dir(&dir).map_err(cannot_list)? {
                let item = item.map_err(cannot_list)?;
                let path = item.path();
                let hidden = item.file_name().to_string_lossy().starts_with('.');
                let yaml = matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                );
                // The entry itself, not what a symlink points to.
                let kind = item.file_type().map_err(cannot_list)?;
                if kind.is_dir() {
                    // `dir` is canonical and this is a real folder in it, so `path` is too.
                    if !hidden && walked.insert(path.clone()) {
                        pending.push(path);
                    }
                } else if kind.is_symlink() {
                    let Some(target) = self.follow(&path, hidden, yaml)? else {
                        continue;
                    };
                    if target.is_dir() {
                        if walked.insert(target.clone()) {
                            pending.push(target);
                        }
                    } else if yaml {
                        found.insert(target);
                    }
                } else if yaml {
                    // Whatever it is: a FIFO or device named .yaml is refused where it is read.
                    found.insert(path);
                }
            }
        }
        Ok(found.into_iter().collect())
    }

    /// Where the symlink at `link` leads, when the walk should go there: `None` for what is
    /// not part of the registry (hidden, dangling or outside and neither a folder nor YAML).
    fn follow(&self, link: &Path, hidden: bool, yaml: bool) -> Result<Option<PathBuf>, LoadError> {
        if hidden && !yaml {
            return Ok(None);
        }
        let target = match link.canonicalize() {
            Ok(target) => target,
            Err(e) if yaml => {
                return Err(
                    LoadError::new(format!("this symlink cannot be followed: {e}"))
                        .file(link)
                        .fix("point it at a registry file inside the source folder, or remove it"),
                );
            }
            Err(_) => return Ok(None),
        };
        if target.starts_with(&self.source) {
            return Ok(Some(target));
        }
        if !yaml && !target.is_dir() {
            return Ok(None);
        }
        Err(LoadError::new(format!(
            "this symlink leads to {}, outside the source folder {}; registry files are loaded only from inside it",
            target.display(),
            self.source.display()
        ))
        .file(link)
        .fix("move or copy what it points to into the source folder; if it is a folder that holds no registry files, rename the link to start with `.` so the walk skips it"))
    }
}

/// `wippy.lock` is small; anything but a regular file of at most 1 MiB is refused.
fn read_lock_file(path: &Path) -> Result<String, LoadError> {
    let bytes = crate::regular_file::read(path, 1024 * 1024).map_err(|e| {
        let problem = match e {
            crate::regular_file::ReadError::NotRegular(kind) => {
                format!("this is {kind}, not a regular file")
            }
            crate::regular_file::ReadError::TooLarge { size, .. } => {
                format!("the lock file is {size} bytes, more than the 1 MiB it may hold")
            }
            crate::regular_file::ReadError::Io(e) => format!("cannot read it: {e}"),
        };
        LoadError::new(problem)
            .file(path)
            .fix("make wippy.lock a small YAML file, or remove it")
    })?;
    String::from_utf8(bytes)
        .map_err(|e| LoadError::new(format!("it is not UTF-8 text: {e}")).file(path))
}
