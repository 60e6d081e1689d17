//! Hot reload of a running app (`wippy run --watch`): the project's files are looked at
//! every [`POLL`]; once a change has settled, the registry is loaded again and handed to the
//! node, which verifies all of it beside the one it serves and swaps it in only when it all
//! holds. Then the HTTP services and the process services follow it. Each entry added,
//! changed, removed or refused is logged and sent on the node's event bus as Wippy's
//! registry events (`registry` / `entry.create`, `entry.update`, `entry.delete`,
//! `entry.reject`), which a Lua supervisor can subscribe to.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::process::{BusEvent, Node, Services};
use crate::registry::watch::{Stamps, Watched};
use crate::registry::{Changes, Registry};
use crate::serve::Servers;
use crate::values::Payload;

/// How often the files are looked at; a change is picked up within about twice this.
const POLL: Duration = Duration::from_millis(250);
/// A change counts once the files look the same for this long: an editor or a build that
/// writes in several steps is reloaded once, at its end.
const SETTLE: Duration = Duration::from_millis(100);

/// Follows the project at `root` for as long as it is polled (the app drops it to stop).
pub async fn follow(
    root: PathBuf,
    node: Node,
    servers: &mut Servers,
    services: &mut Services,
) -> Infallible {
    let mut watched = Arc::new(Watched::of(&node.registry()));
    let mut stamps = stamps_of(&watched).await;
    log::info!(
        "watching {} files for changes (`--no-watch` turns it off)",
        stamps.count()
    );
    loop {
        tokio::time::sleep(POLL).await;
        let mut now = stamps_of(&watched).await;
        if now == stamps {
            continue;
        }
        loop {
            tokio::time::sleep(SETTLE).await;
            let again = stamps_of(&watched).await;
            if again == now {
                break;
            }
            now = again;
        }
        // What the load is about to read: an edit made while it runs is a change next time.
        stamps = now;
        // Files the loaded registry names (a new script, another component) are watched
        // from now on, taken or not; after a load that failed, every file of the source
        // folder is, since the fix may be a file no registry named yet.
        watched = Arc::new(match reload(&root, &node, servers, services).await {
            Some(loaded) => loaded,
            None => watched.with_source_tree(),
        });
        stamps = stamps.carried_to(stamps_of(&watched).await);
    }
}

/// The stamps, taken off the async workers (a large source folder takes a while to walk).
async fn stamps_of(watched: &Arc<Watched>) -> Stamps {
    let watched = watched.clone();
    (tokio::task::spawn_blocking(move || watched.stamps()).await).unwrap_or_default()
}

/// Loads the registry again and has the node, then the services, take it — or says why not.
/// Returns what the loaded registry watches, when it loaded.
async fn reload(
    root: &Path,
    node: &Node,
    servers: &mut Servers,
    services: &mut Services,
) -> Option<Watched> {
    let root = root.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || Registry::load(&root)).await;
    let registry = match loaded {
        Ok(Ok(registry)) => registry,
        Ok(Err(errors)) => {
            let rejected = (errors.0.iter())
                .map(|e| (e.subject(), e.to_string()))
                .collect();
            reject(node, rejected);
            return None;
        }
        Err(error) => {
            log::error!("the registry could not be loaded again: {error}");
            return None;
        }
    };
    let watched = Watched::of(&registry);
    match node.reload(registry).await {
        Ok(changes) if changes.is_empty() => {
            log::info!("the registry on disk is the same as the one served");
        }
        Ok(changes) => {
            applied(node, &changes);
            for (id, error) in servers.reload(&changes).await {
                log::error!("`{id}` did not follow the reload: {error}");
                announce(node, "entry.reject", id.to_string(), Payload::String(error));
            }
            services.reload(&changes).await;
        }
        Err(errors) => {
            let rejected = (errors.into_iter())
                .map(|(id, error)| (Some(id.to_string()), error))
                .collect();
            reject(node, rejected);
        }
    }
    Some(watched)
}

/// Logs and announces a reload that was taken.
fn applied(node: &Node, changes: &Changes) {
    log::info!(
        "registry reloaded: {} added, {} changed, {} removed",
        changes.added.len(),
        changes.changed.len(),
        changes.removed.len()
    );
    let registry = node.registry();
    let taken = (changes.added.iter().map(|id| ("added", "entry.create", id))).chain(
        changes
            .changed
            .iter()
            .map(|id| ("changed", "entry.update", id)),
    );
    for (what, kind, id) in taken {
        let Some(entry) = registry.get(id) else {
            continue;
        };
        log::info!("entry {what}: {id} ({})", entry.kind.name());
        announce(
            node,
            kind,
            id.to_string(),
            Payload::from(&entry.description()),
        );
    }
    for entry in &changes.removed {
        log::info!("entry removed: {} ({})", entry.id, entry.kind.name());
        let description = Payload::from(&entry.description());
        announce(node, "entry.delete", entry.id.to_string(), description);
    }
}

/// Logs and announces a reload that was refused: the registry served before goes on.
fn reject(node: &Node, rejected: Vec<(Option<String>, String)>) {
    let count = rejected.len();
    let errors: Vec<&str> = rejected.iter().map(|(_, error)| error.as_str()).collect();
    log::error!(
        "the registry on disk was not loaded ({count} problem{}); the running one goes on serving until it is fixed:\n\n{}",
        if count == 1 { "" } else { "s" },
        errors.join("\n\n")
    );
    for (subject, error) in rejected {
        let path = subject.unwrap_or_else(|| "registry".to_string());
        announce(node, "entry.reject", path, Payload::String(error));
    }
}

fn announce(node: &Node, kind: &str, path: String, data: Payload) {
    node.publish(BusEvent {
        system: "registry".to_string(),
        kind: kind.to_string(),
        path,
        data,
    });
}
