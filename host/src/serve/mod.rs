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
use crate::registry::{Changes, Entry, EntryId, EntryKind, HttpService, Registry};
use handler::Service;
use routes::RouteTable;

/// The running HTTP services of a node.
pub struct Servers {
    node: Node,
    running: Vec<Running>,
    /// Services stopped by a reload, finishing the requests they were answering.
    closing: Vec<JoinHandle<()>>,
}

struct Running {
    id: EntryId,
    service: Arc<Service>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Servers {
    /// Binds every `http.service` whose `lifecycle.auto_start` is set and serves it; fails,
    /// naming the entry, when an address cannot be bound. Each endpoint's function is
    /// compiled first, so the first request does not wait for it.
    pub async fn start(node: &Node) -> Result<Self, String> {
        let mut servers = Self {
            node: node.clone(),
            running: Vec::new(),
            closing: Vec::new(),
        };
        let registry = node.registry();
        for entry in registry.entries() {
            if let EntryKind::HttpService(settings) = &entry.kind {
                servers.start_one(&registry, entry, settings).await?;
            }
        }
        Ok(servers)
    }

    async fn start_one(
        &mut self,
        registry: &Registry,
        entry: &Entry,
        settings: &HttpService,
    ) -> Result<(), String> {
        if !settings.lifecycle.auto_start {
            log::info!("{}: not started (lifecycle.auto_start is false)", entry.id);
            return Ok(());
        }
        let listener = bind(&settings.addr).await.map_err(|error| {
            format!(
                "{}:{}: {}: cannot listen on `{}` (addr): {error}; pick another port, or stop what uses it",
                entry.file.display(),
                entry.line,
                entry.id,
                settings.addr
            )
        })?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let routes = Arc::new(RouteTable::of(registry, &entry.id, settings));
        warm(&self.node, &routes).await;
        log::info!(
            "{}: listening on http://{address} ({} endpoint{})",
            entry.id,
            routes.routes().len(),
            if routes.routes().len() == 1 { "" } else { "s" }
        );
        let service = Arc::new(Service {
            id: entry.id.clone(),
            node: self.node.clone(),
            routes: std::sync::RwLock::new(routes),
            address,
        });
        let (shutdown, stopping) = watch::channel(false);
        let task = tokio::spawn(listener::accept(
            listener,
            service.clone(),
            settings.clone(),
            stopping,
        ));
        self.running.push(Running {
            id: entry.id.clone(),
            service,
            shutdown,
            task,
        });
        Ok(())
    }

    /// Follows the node's registry after a reload: a removed or changed service stops
    /// accepting (its open requests are answered), a changed or new one listens, and every
    /// other one routes by the new endpoints from its next request. Returns the services
    /// that could not start, each with why.
    pub async fn reload(&mut self, changes: &Changes) -> Vec<(EntryId, String)> {
        let registry = self.node.registry();
        let (stopped, kept): (Vec<Running>, Vec<Running>) =
            (self.running.drain(..)).partition(|r| changes.touches(&r.id));
        self.running = kept;
        for running in stopped {
            let _ = running.shutdown.send(true);
            log::info!(
                "{}: stopped listening on http://{}",
                running.id,
                running.service.address
            );
            self.closing.push(running.task);
        }
        self.closing.retain(|task| !task.is_finished());
        for running in &self.running {
            let Some(EntryKind::HttpService(settings)) = registry.get(&running.id).map(|e| &e.kind)
            else {
                continue;
            };
            let routes = Arc::new(RouteTable::of(&registry, &running.id, settings));
            warm(&self.node, &routes).await;
            *running.service.routes.write().unwrap() = routes;
        }
        let mut failed = Vec::new();
        for id in changes.added.iter().chain(&changes.changed) {
            if let Some(entry) = registry.get(id)
                && let EntryKind::HttpService(settings) = &entry.kind
                && let Err(error) = self.start_one(&registry, entry, settings).await
            {
                failed.push((id.clone(), error));
            }
        }
        failed
    }

    /// Each service and the address it listens on.
    pub fn addresses(&self) -> Vec<(EntryId, SocketAddr)> {
        (self.running.iter())
            .map(|r| (r.id.clone(), r.service.address))
            .collect()
    }

    /// Closes the listeners; each connection closes once its current request is answered.
    pub fn stop_accepting(&self) {
        for running in &self.running {
            let _ = running.shutdown.send(true);
        }
    }

    /// Waits, at most `within`, for the open connections to close; closes what is left.
    pub async fn finish(self, within: Duration) {
        self.stop_accepting();
        let tasks: Vec<JoinHandle<()>> = (self.running.into_iter().map(|r| r.task))
            .chain(self.closing)
            .collect();
        let aborts: Vec<_> = tasks.iter().map(|task| task.abort_handle()).collect();
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(within, all).await.is_err() {
            for abort in aborts {
                abort.abort();
            }
            log::warn!("HTTP connections still open after {within:?} were closed");
        }
    }
}

/// Binds `addr`; a service restarted on its own address may find the old listener not
/// closed yet, so an address in use is tried again for a moment.
async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut tries = 0;
    loop {
        match TcpListener::bind(addr).await {
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            bound => return bound,
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
