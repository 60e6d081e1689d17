//! Noticing that a project changed on disk, by looking: the size, times and inode of every
//! file a reload would read. Polling a few dozen files costs microseconds and works the same
//! on every filesystem (a bind mount, a network share, an editor that replaces files).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::{Project, Registry};

/// The files a reload of a registry's project reads: its registry files as they are at each
/// look (so a new one counts), `wippy.lock`, the `file://` targets and the component files
/// the registry names.
pub struct Watched {
    project: Project,
    named: Vec<PathBuf>,
}

/// The most files of the source folder watched after a load that failed.
const SOURCE_TREE_LIMIT: usize = 10_000;

/// What each watched file looked like; `None` for a file that is not there.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stamps(BTreeMap<PathBuf, Option<Stamp>>);

#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
    inode: u64,
}

impl Watched {
    pub fn of(registry: &Registry) -> Self {
        let project = registry.project.clone();
        let mut named: Vec<PathBuf> = registry.files.clone();
        named.push(project.root.join("wippy.lock"));
        for entry in registry.entries() {
            if let Some(pinned) = entry.kind.wasm().and_then(|wasm| wasm.file()) {
                let directory = &registry.fs_directory(&pinned.fs).directory;
                named.push(directory.join(&pinned.path));
            }
        }
        Self { project, named }
    }

    /// These files, and every folder and file below the source folder (hidden ones aside),
    /// up to [`SOURCE_TREE_LIMIT`] of them: a file created in a folder moves the folder's
    /// times, so one that does not exist yet counts too.
    pub fn with_source_tree(&self) -> Self {
        let mut named = self.named.clone();
        let mut pending = vec![self.project.source.clone()];
        let mut found = 0;
        while let Some(dir) = pending.pop() {
            named.push(dir.clone());
            let Ok(items) = std::fs::read_dir(&dir) else {
                continue;
            };
            for item in items.flatten() {
                if item.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                match item.file_type() {
                    Ok(kind) if kind.is_dir() => pending.push(item.path()),
                    Ok(_) if found < SOURCE_TREE_LIMIT => {
                        found += 1;
                        named.push(item.path());
                    }
                    _ => {}
                }
            }
        }
        Self {
            project: self.project.clone(),
            named,
        }
    }

    /// How the files look now.
    pub fn stamps(&self) -> Stamps {
        let mut paths = self.named.clone();
        paths.extend(self.project.yaml_files().unwrap_or_default());
        let stamps = paths.into_iter().map(|path| {
            let stamp = std::fs::metadata(&path).ok().map(|m| Stamp {
                size: m.len(),
                modified: (m.mtime(), m.mtime_nsec()),
                changed: (m.ctime(), m.ctime_nsec()),
                inode: m.ino(),
            });
            (path, stamp)
        });
        Stamps(stamps.collect())
    }
}

impl Stamps {
    /// How many files are watched.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// `now`, of another set of files, with what these stamps knew of the files in both:
    /// a change to them since these were taken stays a change.
    pub fn carried_to(self, now: Stamps) -> Stamps {
        let mut before = self.0;
        let carried = (now.0.into_iter())
            .map(|(path, stamp)| {
                let known = before.remove(&path);
                (path, known.unwrap_or(stamp))
            })
            .collect();
        Stamps(carried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_a_new_registry_file_and_a_removed_source_each_show() {
        let dir = tempfile::tempdir().unwrap();
        let index = "version: \"1.0\"\nnamespace: app\nentries:\n  - {name: a, kind: process.lua, source: file://a.lua, method: main}\n";
        std::fs::write(dir.path().join("_index.yaml"), index).unwrap();
        std::fs::write(dir.path().join("a.lua"), "return 1").unwrap();
        let watched = Watched::of(&Registry::load(dir.path()).unwrap());
        let first = watched.stamps();
        assert_eq!(first.count(), 3, "{first:?}");
        assert_eq!(watched.stamps(), first, "nothing changed");

        std::fs::write(dir.path().join("a.lua"), "return 22").unwrap();
        let edited = watched.stamps();
        assert_ne!(edited, first);

        std::fs::write(
            dir.path().join("more.yaml"),
            "version: \"1.0\"\nnamespace: app\nentries: []\n",
        )
        .unwrap();
        let added = watched.stamps();
        assert_ne!(added, edited);
        assert_eq!(added.count(), 4);

        std::fs::remove_file(dir.path().join("a.lua")).unwrap();
        assert_ne!(watched.stamps(), added);
    }
}
