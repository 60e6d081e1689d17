//! `process.service` entries: a supervisor per service restarts its process when it fails,
//! with exponential backoff, and gives up after `max_attempts` failures in a row. A run that
//! lasted longer than `max_delay` counts as stable and resets the count.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Node, SpawnRequest};
use crate::registry::{EntryId, EntryKind, ServiceEntry};
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

/// Starts a supervisor for every `process.service` with `auto_start`.
pub fn start_services(node: &Node) -> Vec<(EntryId, Arc<Mutex<ServiceHistory>>)> {
    let services: Vec<(EntryId, ServiceEntry)> = (node.registry().entries())
        .filter_map(|e| match &e.kind {
            EntryKind::ProcessService(service) if service.auto_start => {
                Some((e.id.clone(), service.clone()))
            }
            _ => None,
        })
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
    let policy = service.restart;
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
        if ended - started > policy.max_delay {
            failures_in_a_row = 0;
        }
        failures_in_a_row += 1;
        if failures_in_a_row > policy.max_attempts {
            log::error!(
                "service `{id}` failed {failures_in_a_row} times in a row and is not restarted again: {error}"
            );
            history.lock().unwrap().gave_up = true;
            return;
        }
        let delay = backoff(
            policy.initial_delay,
            policy.backoff_factor,
            policy.max_delay,
            failures_in_a_row,
        );
        log::warn!(
            "service `{id}` failed ({error}); restart {failures_in_a_row} of {} in {delay:?}",
            policy.max_attempts
        );
        tokio::time::sleep(delay).await;
    }
}

/// The wait before the `attempt`-th restart in a row (1-based).
fn backoff(initial: Duration, factor: f64, max: Duration, attempt: u32) -> Duration {
    let scaled = initial.as_secs_f64() * factor.powi(attempt as i32 - 1);
    Duration::from_secs_f64(scaled.min(max.as_secs_f64()))
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
}
