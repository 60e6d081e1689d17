//! `process.service` entries: a supervisor per service restarts its process when it fails,
//! with exponential backoff and jitter, and gives up after `max_attempts` failures in a row
//! (never, by default). A run that lasted `stable_threshold` resets the count. Services start
//! after the services they depend on (`lifecycle.depends_on` / `requires`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{ExitResult, Node, SpawnRequest};
use crate::registry::{Changes, EntryId, EntryKind, ServiceEntry};
use crate::values::Payload;

/// One run of a service's process, as the supervisor saw it.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    pub started: Instant,
    pub ended: Instant,
    pub error: Option<String>,
}

/// What a supervisor has done so far; shared with whoever started it.
#[derive(Debug, Default)]
pub struct ServiceHistory {
    pub runs: Vec<ServiceRun>,
    /// Set when the supervisor stopped restarting.
    pub gave_up: bool,
}

/// The node's service supervisors.
pub struct Services {
    node: Node,
    /// How long a stopped service's process has to finish after its CANCEL.
    grace: Duration,
    running: Vec<Supervisor>,
}

struct Supervisor {
    id: EntryId,
    history: Arc<Mutex<ServiceHistory>>,
    /// Set to why the service stops: its process is cancelled, and it is not restarted.
    stop: watch::Sender<Option<&'static str>>,
    task: JoinHandle<()>,
}

/// Starts a supervisor for every `process.service` with `auto_start`, each after those it
/// depends on; a service stopped later (see [`Services::reload`]) has `grace` to finish.
pub fn start_services(node: &Node, grace: Duration) -> Services {
    let mut services = Services {
        node: node.clone(),
        grace,
        running: Vec::new(),
    };
    services.start_where(|_| true);
    services
}

impl Services {
    /// Each running supervisor's service and what it has done so far.
    pub fn histories(&self) -> Vec<(EntryId, Arc<Mutex<ServiceHistory>>)> {
        (self.running.iter())
            .map(|s| (s.id.clone(), s.history.clone()))
            .collect()
    }

    /// How many services run.
    pub fn count(&self) -> usize {
        self.running.len()
    }

    /// Follows the node's registry after a reload: a service removed, or changed (its entry,
    /// its process's entry or a library that process imports), is stopped — its process gets
    /// CANCEL and `grace` to finish — and a changed or new `auto_start` one is started, in
    /// dependency order.
    pub async fn reload(&mut self, changes: &Changes) {
        let registry = self.node.registry();
        let touched = |id: &EntryId| {
            if changes.touches(id) {
                return true;
            }
            let Some(EntryKind::ProcessService(service)) = registry.get(id).map(|e| &e.kind) else {
                return false;
            };
            changes.touches(&service.process)
                || (registry.get(&service.process).and_then(|e| e.kind.lua()))
                    .is_some_and(|lua| lua.imports.values().any(|lib| changes.touches(lib)))
        };
        let (stopping, kept): (Vec<Supervisor>, Vec<Supervisor>) =
            self.running.drain(..).partition(|s| touched(&s.id));
        self.running = kept;
        let stopped = stopping.into_iter().map(|supervisor| {
            let why = match registry.get(&supervisor.id) {
                Some(_) => "its entry changed",
                None => "its entry was removed",
            };
            let _ = supervisor.stop.send(Some(why));
            supervisor.task
        });
        futures_util::future::join_all(stopped).await;
        let started: Vec<EntryId> = (self.running.iter()).map(|s| s.id.clone()).collect();
        self.start_where(|id| !started.contains(id) && touched(id));
    }

    /// Starts the `auto_start` services `pick` picks, in dependency order.
    fn start_where(&mut self, pick: impl Fn(&EntryId) -> bool) {
        let registry = self.node.registry();
        let services = (registry.services_in_order())
            .expect("the service order was checked when the registry loaded")
            .into_iter()
            .filter(|(entry, service)| service.lifecycle.auto_start && pick(&entry.id));
        for (entry, service) in services {
            let history = Arc::new(Mutex::new(ServiceHistory::default()));
            let (stop, stopped) = watch::channel(None);
            let task = tokio::spawn(supervise(
                self.node.clone(),
                entry.id.clone(),
                service.clone(),
                history.clone(),
                (stopped, self.grace),
            ));
            self.running.push(Supervisor {
                id: entry.id.clone(),
                history,
                stop,
                task,
            });
        }
    }
}

async fn supervise(
    node: Node,
    id: EntryId,
    service: ServiceEntry,
    history: Arc<Mutex<ServiceHistory>>,
    (mut stop, grace): (watch::Receiver<Option<&'static str>>, Duration),
) {
    let policy = service.lifecycle.restart;
    let mut failures_in_a_row = 0u32;
    loop {
        let started = Instant::now();
        let request = SpawnRequest::new(
            service.process.clone(),
            service.host.clone(),
            service.input.iter().map(Payload::from).collect(),
        );
        let error = match node.spawn(request) {
            Err(error) => Some(error),
            Ok(mut spawned) => {
                let ended = tokio::select! {
                    ended = &mut spawned.exit => ended,
                    why = stopped(&mut stop) => {
                        let reason = format!("the service `{id}` stops: {why}");
                        let _ = node.cancel(None, spawned.pid.as_str(), &reason, Some(grace));
                        let _ = spawned.exit.await;
                        log::info!("service `{id}` stopped: {why}");
                        return;
                    }
                };
                ended
                    .unwrap_or_else(|_| ExitResult::failed("the process vanished"))
                    .error
            }
        };
        let ended = Instant::now();
        history.lock().unwrap().runs.push(ServiceRun {
            started,
            ended,
            error: error.clone(),
        });
        let Some(error) = error else {
            log::info!("service `{id}`: its process finished");
            return;
        };
        if node.is_stopping() {
            log::info!("service `{id}` stopped with the node: {error}");
            return;
        }
        if ended - started >= service.lifecycle.stable_threshold {
            failures_in_a_row = 0;
        }
        failures_in_a_row += 1;
        if policy.max_attempts > 0 && failures_in_a_row > policy.max_attempts {
            log::error!(
                "service `{id}` failed {failures_in_a_row} times in a row and is not restarted again: {error}"
            );
            history.lock().unwrap().gave_up = true;
            return;
        }
        let delay = jittered(
            backoff(
                policy.initial_delay,
                policy.backoff_factor,
                policy.max_delay,
                failures_in_a_row,
            ),
            policy.jitter,
        );
        let of = match policy.max_attempts {
            0 => String::new(),
            max => format!(" of {max}"),
        };
        log::warn!("service `{id}` failed ({error}); restart {failures_in_a_row}{of} in {delay:?}");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            why = stopped(&mut stop) => {
                log::info!("service `{id}` stopped: {why}");
                return;
            }
        }
    }
}

/// Why the service was told to stop, once it is.
async fn stopped(stop: &mut watch::Receiver<Option<&'static str>>) -> &'static str {
    let why = stop.wait_for(Option::is_some).await.map(|why| *why);
    match why {
        Ok(why) => why.unwrap_or_default(),
        // The supervisors were dropped without a word: nobody stops this one any more.
        Err(_) => std::future::pending().await,
    }
}

/// The wait before the `attempt`-th restart in a row (1-based).
fn backoff(initial: Duration, factor: f64, max: Duration, attempt: u32) -> Duration {
    let scaled = initial.as_secs_f64() * factor.powi(attempt as i32 - 1);
    Duration::try_from_secs_f64(scaled.min(max.as_secs_f64())).unwrap_or(max)
}

/// `delay` varied by up to ±`jitter` of itself, so services that fail together do not all
/// come back in the same instant.
fn jittered(delay: Duration, jitter: f64) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let unit = (random as f64 / u64::MAX as f64) * 2.0 - 1.0;
    Duration::try_from_secs_f64(delay.as_secs_f64() * (1.0 + jitter * unit).max(0.0))
        .unwrap_or(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_the_factor_up_to_the_maximum() {
        let ms = Duration::from_millis;
        let delays: Vec<Duration> = (1..=5).map(|n| backoff(ms(100), 2.0, ms(500), n)).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let ms = Duration::from_millis;
        for _ in 0..100 {
            let delay = jittered(ms(1000), 0.1);
            assert!(delay >= ms(900) && delay <= ms(1100), "{delay:?}");
        }
        assert_eq!(jittered(ms(1000), 0.0), ms(1000));
    }
}
