//! Stopping a node gracefully: no new processes, a CANCEL to every live one, a grace period
//! for them to finish, then termination of what is left.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Node, Pid};

/// How often a stopping node looks whether its processes have all ended.
const POLL: Duration = Duration::from_millis(10);

impl Node {
    /// Whether [`Node::stop`] has begun: spawns are refused and services not restarted.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Relaxed)
    }

    /// The processes alive now.
    pub fn live_pids(&self) -> Vec<Pid> {
        let processes = self.inner.processes.lock().unwrap();
        processes.keys().cloned().collect()
    }

    /// Refuses new processes, sends every live process a CANCEL (`reason`; a process that
    /// cannot receive events is terminated at once), and waits until they have all ended,
    /// `grace` has passed or `hurry` completes (a second Ctrl-C). Terminates what is still
    /// running then and returns those pids: empty when everything stopped by itself.
    pub async fn stop(
        &self,
        reason: &str,
        grace: Duration,
        hurry: impl Future<Output = ()>,
    ) -> Vec<Pid> {
        {
            // Under the table's lock: a spawn checks the flag under it before it inserts.
            let _processes = self.inner.processes.lock().unwrap();
            self.inner.stopping.store(true, Ordering::Relaxed);
        }
        for pid in self.live_pids() {
            // One that ended meanwhile is no failure to stop.
            let _ = self.cancel(None, pid.as_str(), reason, None);
        }
        let all_ended = async {
            while !self.inner.processes.lock().unwrap().is_empty() {
                tokio::time::sleep(POLL).await;
            }
        };
        tokio::select! {
            () = all_ended => return Vec::new(),
            () = tokio::time::sleep(grace) => {}
            () = hurry => {}
        }
        // Ones that end meanwhile were not made to.
        (self.live_pids().into_iter())
            .filter(|pid| self.terminate(pid.as_str()).is_ok())
            .collect()
    }
}
