//! One `http.service` listening: accepting connections (at most [`MAX_CONNECTIONS`] at once),
//! serving HTTP/1.1 on each with keep-alive, and on shutdown closing the listener and letting
//! each connection finish the request it is on.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinSet;

use super::handler::{Service, serve};
use super::write_deadline::WriteDeadline;
use crate::registry::{DEFAULT_MAX_HEADERS, HttpService};

/// Connections one service holds open at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 4096;

/// What each connection of a service is held to.
#[derive(Clone, Copy)]
struct Settings {
    header_timeout: std::time::Duration,
    write_timeout: std::time::Duration,
    max_headers: usize,
}

/// How far a service is in stopping; it only moves forward.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub enum Phase {
    Serving,
    /// Accepts no more connections (its listener is handed back); those open go on.
    NotAccepting,
    /// Each open connection closes after its current request.
    Closing,
}

/// Accepts on `listener` until told to stop, hands the listener back (a service restarted
/// on the same address goes on with it, so no connection is refused meanwhile), then waits
/// for the open connections, which close after their current request once told to.
pub async fn accept(
    listener: TcpListener,
    service: Arc<Service>,
    settings: HttpService,
    (mut shutdown, handback): (watch::Receiver<Phase>, oneshot::Sender<TcpListener>),
) {
    let settings = Settings {
        // hyper's header timer also bounds an idle keep-alive connection: the longer of the
        // two.
        header_timeout: settings.timeouts.read.max(settings.timeouts.idle),
        write_timeout: settings.timeouts.write,
        max_headers: settings.limits.max_headers,
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = reached(&mut shutdown, Phase::NotAccepting) => break,
            accepted = async {
                let permit = slots.clone().acquire_owned().await;
                (permit, listener.accept().await)
            } => accepted,
        };
        // Reap the connections that closed, so the set does not grow with every one.
        while connections.try_join_next().is_some() {}
        let (Ok(permit), Ok((stream, peer))) = accepted else {
            // A failed accept (out of descriptors, a reset before accept) ends one
            // connection, not the service; the pause keeps a persistent failure from spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let service = service.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            connection(stream, peer, service, settings, shutdown).await;
            drop(permit);
        });
    }
    // Nobody taking it over (the node stops, the service is gone): it closes here.
    let _ = handback.send(listener);
    while connections.join_next().await.is_some() {}
}

/// Resolves once the service is told to stop.
async fn reached(shutdown: &mut watch::Receiver<Phase>, phase: Phase) {
    let _ = shutdown.wait_for(|now| *now >= phase).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    service: Arc<Service>,
    settings: Settings,
    mut shutdown: watch::Receiver<Phase>,
) {
    // Small writes of a streamed body go out at once rather than after Nagle's delay.
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(settings.header_timeout);
    // Setting it at all moves hyper's header buffer from the stack to the heap.
    if settings.max_headers != DEFAULT_MAX_HEADERS {
        builder.max_headers(settings.max_headers);
    }
    let handle = service_fn(move |request| {
        let service = service.clone();
        async move { Ok::<_, std::convert::Infallible>(serve(service, request).await) }
    });
    let io = WriteDeadline::new(TokioIo::new(stream), settings.write_timeout);
    let connection = builder.serve_connection(io, handle);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = reached(&mut shutdown, Phase::Closing) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome
        && !error.is_incomplete_message()
    {
        log::debug!("connection from {peer}: {error}");
    }
}
