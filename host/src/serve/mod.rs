//! Serving the registry's `http.service` entries: each listens on its `addr` and answers
//! requests by the `http.endpoint` entries on its `http.router`s, each request in a fresh
//! instance of the endpoint's function (see `handler`).

mod cors;
mod handler;
mod listener;
mod proxy;
mod responses;
mod routes;
mod values;
mod write_deadline;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::process::Node;
use crate::registry::{EntryId, EntryKind};
use handler::Service;
use routes::RouteTable;

/// The running HTTP services of a node.
pub struct Servers {
    running: Vec<Running>,
    shutdown: watch::Sender<bool>,
}

struct Running {
    id: EntryId,
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl Servers {
    /// Binds every `http.service` whose `lifecycle.auto_start` is set and serves it; fails,
    /// naming the entry, when an address cannot be bound. Each endpoint's function is
    /// compiled first, so the first request does not wait for it.
    pub async fn start(node: &Node) -> Result<Self, String> {
        let (shutdown, stopping) = watch::channel(false);
        let mut running = Vec::new();
        let services = (node.registry().entries()).filter_map(|entry| match &entry.kind {
            EntryKind::HttpService(service) => Some((entry, service)),
            _ => None,
        });
        for (entry, settings) in services {
            if !settings.lifecycle.auto_start {
                log::info!("{}: not started (lifecycle.auto_start is false)", entry.id);
                continue;
            }
            let listener = TcpListener::bind(&settings.addr).await.map_err(|error| {
                format!(
                    "{}:{}: {}: cannot listen on `{}` (addr): {error}; pick another port, or stop what uses it",
                    entry.file.display(),
                    entry.line,
                    entry.id,
                    settings.addr
                )
            })?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            let routes = RouteTable::of(node.registry(), &entry.id, settings);
            warm(node, &routes).await;
            log::info!(
                "{}: listening on http://{address} ({} endpoint{})",
                entry.id,
                routes.routes().len(),
                if routes.routes().len() == 1 { "" } else { "s" }
            );
            let service = Arc::new(Service {
                id: entry.id.clone(),
                node: node.clone(),
                routes,
                address,
            });
            let task = tokio::spawn(listener::accept(
                listener,
                service,
                settings.clone(),
                stopping.clone(),
            ));
            running.push(Running {
                id: entry.id.clone(),
                address,
                task,
            });
        }
        Ok(Self { running, shutdown })
    }

    /// Each service and the address it listens on.
    pub fn addresses(&self) -> Vec<(EntryId, SocketAddr)> {
        (self.running.iter())
            .map(|r| (r.id.clone(), r.address))
            .collect()
    }

    /// Closes the listeners; each connection closes once its current request is answered.
    pub fn stop_accepting(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Waits, at most `within`, for the open connections to close; closes what is left.
    pub async fn finish(self, within: Duration) {
        self.stop_accepting();
        let aborts: Vec<_> = self.running.iter().map(|r| r.task.abort_handle()).collect();
        let all = futures_util::future::join_all(self.running.into_iter().map(|r| r.task));
        if tokio::time::timeout(within, all).await.is_err() {
            for abort in aborts {
                abort.abort();
            }
            log::warn!("HTTP connections still open after {within:?} were closed");
        }
    }
}

/// Compiles (or loads) every route's function before the service answers, so no request
/// waits for it; a failure is logged now and answered with 500 at each request.
async fn warm(node: &Node, routes: &RouteTable) {
    let each = routes.routes().iter().map(|route| async move {
        if let Err(error) = handler::handler_of(node, route).await {
            log::error!(
                "{}: `{}` cannot answer requests: {error}",
                route.endpoint,
                route.func
            );
        }
    });
    futures_util::future::join_all(each).await;
}
