//! Serving the registry's `http.service` entries: each listens on its `addr` and answers
//! requests by the `http.endpoint` entries on its `http.router`s, each request in a fresh
//! instance of the endpoint's function (see `handler`).

mod cors;
mod handler;
mod listener;
mod proxy;
mod reload;
mod responses;
mod routes;
mod values;
mod write_deadline;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::process::Node;
use crate::registry::{Entry, EntryId, EntryKind, HttpService, Registry};
use handler::Service;
use listener::Phase;
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
    /// Its `addr` as written: a restart on the same one takes the listener over.
    addr: String,
    service: Arc<Service>,
    shutdown: watch::Sender<Phase>,
    /// The listener, handed back by the accept loop once it is told to stop.
    listener_back: oneshot::Receiver<TcpListener>,
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
        let listener = bind(entry, settings).await?;
        self.serve_on(listener, registry, entry, settings).await
    }

    /// Serves the service on `listener`: its routes warmed first, then an accept loop.
    async fn serve_on(
        &mut self,
        listener: TcpListener,
        registry: &Registry,
        entry: &Entry,
        settings: &HttpService,
    ) -> Result<(), String> {
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
        let (shutdown, stopping) = watch::channel(Phase::Serving);
        let (handback, listener_back) = oneshot::channel();
        let task = tokio::spawn(listener::accept(
            listener,
            service.clone(),
            settings.clone(),
            (stopping, handback),
        ));
        self.running.push(Running {
            id: entry.id.clone(),
            addr: settings.addr.clone(),
            service,
            shutdown,
            listener_back,
            task,
        });
        Ok(())
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
            let _ = running.shutdown.send(Phase::Closing);
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

/// Binds the service's `addr`, or says which entry could not.
async fn bind(entry: &Entry, settings: &HttpService) -> Result<TcpListener, String> {
    TcpListener::bind(&settings.addr).await.map_err(|error| {
        format!(
            "{}:{}: {}: cannot listen on `{}` (addr): {error}; pick another port, or stop what uses it",
            entry.file.display(),
            entry.line,
            entry.id,
            settings.addr
        )
    })
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
