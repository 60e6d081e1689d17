//! What a reload changes: the entries added, changed and removed between two registries.
//! An entry is changed when anything it was declared with differs — its kind, fields, meta
//! or source text (a `file://` target's text is part of it) — not where it was declared.

use super::{Entry, EntryId, Registry};

#[derive(Debug, Default)]
pub struct Changes {
    pub added: Vec<EntryId>,
    pub changed: Vec<EntryId>,
    /// As they were declared, for whoever reports them.
    pub removed: Vec<Entry>,
}

impl Changes {
    pub fn between(old: &Registry, new: &Registry) -> Self {
        let mut changes = Self::default();
        for entry in new.entries() {
            match old.get(&entry.id) {
                None => changes.added.push(entry.id.clone()),
                Some(before) if !before.same_definition(entry) => {
                    changes.changed.push(entry.id.clone())
                }
                Some(_) => {}
            }
        }
        changes.removed = (old.entries())
            .filter(|entry| new.get(&entry.id).is_none())
            .cloned()
            .collect();
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// Whether the entry was added, changed or removed.
    pub fn touches(&self, id: &EntryId) -> bool {
        self.added.contains(id)
            || self.changed.contains(id)
            || self.removed.iter().any(|entry| &entry.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(files: &[(&str, &str)]) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Registry::load(dir.path()).unwrap()
    }

    const FIRST: &str = "version: \"1.0\"\nnamespace: app\nentries:\n  - name: a\n    kind: process.lua\n    source: file://a.lua\n    method: main\n  - name: b\n    kind: env.storage.os\n  - name: gone\n    kind: env.storage.os\n";

    #[test]
    fn a_changed_source_file_changes_its_entry_and_only_it() {
        let old = registry(&[("_index.yaml", FIRST), ("a.lua", "return 1")]);
        let moved = FIRST.replace("  - name: gone\n    kind: env.storage.os\n", "")
            + "  - name: c\n    kind: env.storage.os\n";
        let new = registry(&[("_index.yaml", &moved), ("a.lua", "return 2")]);
        let changes = Changes::between(&old, &new);
        let ids = |ids: &[EntryId]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&changes.added), ["app:c"]);
        assert_eq!(ids(&changes.changed), ["app:a"]);
        let removed: Vec<String> = changes.removed.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(removed, ["app:gone"]);
        assert!(changes.touches(&EntryId::new("app", "gone")));
        assert!(!changes.touches(&EntryId::new("app", "b")));
        let same = registry(&[("_index.yaml", FIRST), ("a.lua", "return 1")]);
        assert!(Changes::between(&old, &same).is_empty());
    }
}
