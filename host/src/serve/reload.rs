//! The HTTP services following a reload of the node's registry.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::listener::Phase;
use super::routes::RouteTable;
use super::{Running, Servers, bind, warm};
use crate::registry::{Changes, EntryId, EntryKind};

/// How long the connections of a service stopped by a reload go on before they close.
const LINGER: Duration = Duration::from_secs(1);

impl Servers {
    /// Follows the node's registry after a reload. A service whose entry changed is served
    /// again under its new settings: on the same `addr` it takes the old listener over (no
    /// connection is refused meanwhile), on another it listens there first and stops the old
    /// one only then — if it cannot, the old one goes on as it was. A removed service stops
    /// accepting (its open requests are answered); a new one listens; every other one routes
    /// by the new endpoints from its next request. Returns the services that could not
    /// follow, each with why.
    pub async fn reload(&mut self, changes: &Changes) -> Vec<(EntryId, String)> {
        let registry = self.node.registry();
        let (touched, kept): (Vec<Running>, Vec<Running>) =
            (self.running.drain(..)).partition(|r| changes.touches(&r.id));
        self.running = kept;
        self.closing.retain(|task| !task.is_finished());
        let mut failed = Vec::new();
        let mut fresh = Vec::new();
        for old in touched {
            let entry = registry.get(&old.id);
            let settings = match entry.map(|e| &e.kind) {
                Some(EntryKind::HttpService(settings)) if settings.lifecycle.auto_start => settings,
                _ => {
                    self.stop(old);
                    continue;
                }
            };
            let entry = entry.expect("matched above");
            let handed = match settings.addr == old.addr {
                true => self.hand_over(old).await,
                false => Err(old),
            };
            let listener = match handed {
                Ok(listener) => listener,
                Err(old) => match bind(entry, settings).await {
                    Ok(listener) => {
                        self.stop(old);
                        listener
                    }
                    Err(error) => {
                        let address = old.service.address;
                        failed.push((
                            old.id.clone(),
                            format!("{error}; it goes on listening on http://{address} as it was"),
                        ));
                        self.running.push(old);
                        continue;
                    }
                },
            };
            match self.serve_on(listener, &registry, entry, settings).await {
                Ok(()) => fresh.push(entry.id.clone()),
                Err(error) => failed.push((entry.id.clone(), error)),
            }
        }
        for id in &changes.added {
            if let Some(entry) = registry.get(id)
                && let EntryKind::HttpService(settings) = &entry.kind
            {
                match self.start_one(&registry, entry, settings).await {
                    Ok(()) => fresh.push(id.clone()),
                    Err(error) => failed.push((id.clone(), error)),
                }
            }
        }
        for running in self.running.iter().filter(|r| !fresh.contains(&r.id)) {
            let Some(EntryKind::HttpService(settings)) = registry.get(&running.id).map(|e| &e.kind)
            else {
                continue;
            };
            let routes = Arc::new(RouteTable::of(&registry, &running.id, settings));
            warm(&self.node, &routes).await;
            *running.service.routes.write().unwrap() = routes;
        }
        failed
    }

    /// Stops `old` accepting and takes its listener — or gives `old` back, still serving,
    /// when its accept loop ended without handing the listener over.
    async fn hand_over(&mut self, mut old: Running) -> Result<TcpListener, Running> {
        if old.task.is_finished() {
            return Err(old);
        }
        let _ = old.shutdown.send(Phase::NotAccepting);
        match (&mut old.listener_back).await {
            Ok(listener) => {
                self.retire(old);
                Ok(listener)
            }
            Err(_) => Err(old),
        }
    }

    /// Stops `old` accepting; its open requests are answered.
    fn stop(&mut self, old: Running) {
        let _ = old.shutdown.send(Phase::NotAccepting);
        log::info!(
            "{}: stopped listening on http://{}",
            old.id,
            old.service.address
        );
        self.retire(old);
    }

    /// Lets `old`'s open connections go on for [`LINGER`] before each is told to close after
    /// its request: one accepted just before the stop has sent its request by then, and is
    /// answered rather than closed unanswered.
    fn retire(&mut self, old: Running) {
        let shutdown = old.shutdown;
        tokio::spawn(async move {
            tokio::time::sleep(LINGER).await;
            let _ = shutdown.send(Phase::Closing);
        });
        self.closing.push(old.task);
    }
}
