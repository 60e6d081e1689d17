//! Replacing the registry of a running node: the new one is verified completely beside the
//! old (every component's hash, compile and signature; every new or changed script's syntax)
//! and swapped in whole only when all of it holds. Processes that started keep what they
//! started with; spawns, calls and requests from then on use the new entries.

use std::sync::Arc;

use super::Node;
use crate::registry::{Changes, EntryId, Registry};

impl Node {
    /// Serves `registry` from now on, and says what changed — or every problem it has, with
    /// the registry served until now still served.
    pub async fn reload(&self, registry: Registry) -> Result<Changes, Vec<(EntryId, String)>> {
        let old = self.generation();
        let registry = Arc::new(registry);
        let changes = Changes::between(&old.registry, &registry);
        let unchanged: Vec<&EntryId> = (registry.entries())
            .map(|entry| &entry.id)
            .filter(|id| !changes.touches(id))
            .collect();
        let next = old.next(registry.clone(), &unchanged);
        // What is carried over was compiled from files that must still be the pinned ones.
        let runtime = self.inner.runtime.clone();
        let pinned = registry.clone();
        let ids: Vec<EntryId> = unchanged.iter().map(|id| (*id).clone()).collect();
        let mut errors = tokio::task::spawn_blocking(move || {
            (ids.into_iter())
                .filter_map(|id| {
                    let entry = pinned.get(&id)?;
                    let error = runtime.verify_pin(&pinned, entry).err()?;
                    Some((id, error.to_string()))
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        errors.extend(self.prepare_all_in(&next).await.err().unwrap_or_default());
        for id in changes.added.iter().chain(&changes.changed) {
            if let Some(entry) = registry.get(id)
                && let Err(error) = self.inner.scripts.verify(entry)
            {
                errors.push((id.clone(), error));
            }
        }
        if !errors.is_empty() {
            // What was compiled for the refused registry alone goes.
            self.inner.runtime.forget_unpinned(&old.registry);
            return Err(errors);
        }
        if changes.is_empty() {
            return Ok(changes);
        }
        *self.inner.generation.write().unwrap() = Arc::new(next);
        drop(old);
        self.inner.runtime.forget_unpinned(&registry);
        self.inner.scripts.forget_replaced();
        Ok(changes)
    }
}
