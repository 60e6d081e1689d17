//! `process.service` entries: a supervisor per service restarts its process when it fails,
//! with exponential backoff and jitter, and gives up after `max_attempts` failures in a row
//! (never, by default). A run that lasted `stable_threshold` resets the count. Services start
//! after the services they depend on (`lifecycle.depends_on` / `requires`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Node, SpawnRequest};
use crate::registry::{EntryId, ServiceEntry};
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

/// Starts a supervisor for every `process.service` with `auto_start`, each after those it
/// depends on.
pub fn start_services(node: &Node) -> Vec<(EntryId, Arc<Mutex<ServiceHistory>>)> {
    let services: Vec<(EntryId, ServiceEntry)> = (node.registry().services_in_order())
        .expect("the service order was checked when the registry loaded")
        .into_iter()
        .filter(|(_, service)| service.lifecycle.auto_start)
        .map(|(entry, service)| (entry.id.clone(), service.clone()))
        .collect();
    services
        .into_iter()
        .map(|(id, service)| {
            let history = Arc::new(Mutex::new(ServiceHistory::default()));
            tokio::spawn(supervise(
                node.clone(),
                id.clone(),
                service,
                history.clone(),
            ));
            (id, history)
        })
        .collect()
}

async fn supervise(
    node: Node,
    id: EntryId,
    service: ServiceEntry,
    history: Arc<Mutex<ServiceHistory>>,
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
        let error = node.exec(request).await.err();
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
        tokio::time::sleep(delay).await;
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
