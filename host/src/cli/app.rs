//! `wippy run` with no command: the app as a long-running node, until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::{Failure, join_cluster, new_node, new_runtime, reload};
use crate::cluster::ClusterConfig;
use crate::process;
use crate::registry::Registry;
use crate::serve::Servers;

/// Starts the registry's `auto_start` services (each after those it depends on) and keeps
/// the node running until SIGINT or SIGTERM, following changes to the project's files when
/// `watch` is set (see `reload`). Then it stops gracefully: no new processes, a
/// CANCEL to every process, `grace` for them to finish, and termination of the rest (at once
/// on a second signal). Exit 0 when everything stopped by itself, 1 when something had to be
/// terminated.
pub fn run_app(
    registry: Registry,
    grace: Duration,
    cluster: Option<ClusterConfig>,
    watch: bool,
) -> Result<ExitCode, Failure> {
    let root = registry.project.root.clone();
    let runtime = Arc::new(new_runtime()?);
    let tokio = process::node_runtime()?;
    let terminated = tokio.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let node = new_node(registry, runtime).await?;
        let cluster = join_cluster(&node, cluster.as_ref()).await?;
        let mut services = process::start_services(&node, grace);
        let mut servers = match Servers::start(&node).await {
            Ok(servers) => servers,
            Err(error) => {
                node.stop("the node failed to start", grace, std::future::pending())
                    .await;
                return Err(Failure::from(error));
            }
        };
        let listening = match servers.addresses().len() {
            0 => String::new(),
            1 => ", 1 HTTP service listening".to_string(),
            n => format!(", {n} HTTP services listening"),
        };
        log::info!(
            "node started: {} service{} running{listening}; stop it with Ctrl-C or SIGTERM",
            services.count(),
            if services.count() == 1 { "" } else { "s" },
        );
        let following = async {
            match watch {
                true => reload::follow(root, node.clone(), &mut servers, &mut services).await,
                false => std::future::pending().await,
            }
        };
        let signal_name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
            never = following => match never {},
        };
        servers.stop_accepting();
        let live = node.live_pids().len();
        log::info!(
            "{signal_name}: stopping; {live} process{} cancelled, {grace:?} to finish (Ctrl-C again ends them at once)",
            if live == 1 { "" } else { "es" }
        );
        let hurry = async {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        };
        let terminated = node.stop("the node is stopping", grace, hurry).await;
        // Every request has been answered or stopped by now: what is left is closing.
        servers.finish(Duration::from_secs(2)).await;
        if let Some(cluster) = &cluster {
            cluster.leave().await;
        }
        Ok::<_, Failure>(terminated)
    })?;
    tokio.shutdown_timeout(Duration::from_secs(1));
    if terminated.is_empty() {
        log::info!("node stopped");
        return Ok(ExitCode::SUCCESS);
    }
    let pids: Vec<String> = terminated.iter().map(|pid| pid.to_string()).collect();
    Err(Failure::from(format!(
        "{} process{} did not stop within the grace period and {} terminated: {}; a process should return when it receives CANCEL (`process.events()`), or give it longer with `--grace`",
        pids.len(),
        if pids.len() == 1 { "" } else { "es" },
        if pids.len() == 1 { "was" } else { "were" },
        pids.join(", ")
    )))
}
