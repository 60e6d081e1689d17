//! The tokio runtime a node runs on: a worker thread per core, whose idle workers stay awake
//! for a moment before they sleep.
//!
//! Why stay awake: two processes that message each other hand the worker back and forth, and
//! after three such hand-offs in a row tokio queues the woken process and wakes a sleeping
//! worker to steal it (a futex wake on the busy thread, and a thread wake-up, several
//! microseconds each in a VM); the pair then talks across threads. A worker that is idle but
//! not yet asleep is not woken, so the pair stays on one thread. Lua ping-pong on 2 cores:
//! 5.3–6.1 µs a round trip without the wait, 3.6–4.0 µs with 200 µs of it (`cargo bench
//! --bench runtime -- actors/ping_pong`); a single worker does 3.1–3.6 µs. BEAM's schedulers
//! busy-wait before sleeping for the same reason (`+sbwt`).
//!
//! The cost: an idle worker spends up to the wait (yielding its core to any other runnable
//! thread) before it sleeps, and work queued while it waits is not taken by it until then.

use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle, Runtime};

/// The variable that sets the wait: `off`, or a duration in `us` or `ms` (a plain number is
/// microseconds).
const BUSY_WAIT_VARIABLE: &str = "WIPPY_SCHEDULER_BUSY_WAIT";

/// How long an idle worker stays awake when the variable does not say otherwise.
const DEFAULT_BUSY_WAIT: Duration = Duration::from_micros(200);

/// Longer waits only delay the work queued meanwhile.
const LONGEST_BUSY_WAIT: Duration = Duration::from_millis(10);

/// A multi-threaded runtime with timers and I/O, whose idle workers wait as
/// `WIPPY_SCHEDULER_BUSY_WAIT` says before they sleep.
pub fn node_runtime() -> std::io::Result<Runtime> {
    let wait = busy_wait_from_env();
    let mut builder = Builder::new_multi_thread();
    builder.enable_all();
    if !wait.is_zero() {
        builder.on_thread_park(move || stay_awake(wait));
    }
    builder.build()
}

/// Yields the core until `wait` has passed, or until work arrives from outside the workers
/// (a task spawned by another thread, such as a `block_on` caller): that work wakes no
/// worker while one waits here, and would wait too. A lone worker does not wait: nothing
/// could be kept from waking it, and it is the one that polls timers and sockets when it
/// sleeps.
fn stay_awake(wait: Duration) {
    let Ok(handle) = Handle::try_current() else {
        return;
    };
    let metrics = handle.metrics();
    if metrics.num_workers() < 2 {
        return;
    }
    let started = Instant::now();
    while started.elapsed() < wait && metrics.global_queue_depth() == 0 {
        std::thread::yield_now();
    }
}

/// The wait `WIPPY_SCHEDULER_BUSY_WAIT` asks for; the default when it is unset or unreadable.
fn busy_wait_from_env() -> Duration {
    let Ok(text) = std::env::var(BUSY_WAIT_VARIABLE) else {
        return DEFAULT_BUSY_WAIT;
    };
    match parse_wait(&text) {
        Some(wait) if wait <= LONGEST_BUSY_WAIT => wait,
        _ => {
            log::warn!(
                "{BUSY_WAIT_VARIABLE}={text} is not `off` or a duration up to 10ms (such as `200us` or `1ms`): keeping {} µs",
                DEFAULT_BUSY_WAIT.as_micros()
            );
            DEFAULT_BUSY_WAIT
        }
    }
}

fn parse_wait(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Some(Duration::ZERO);
    }
    let (digits, unit) = if let Some(digits) = text.strip_suffix("ms") {
        (digits, Duration::from_millis(1))
    } else if let Some(digits) = text.strip_suffix("us").or(text.strip_suffix("µs")) {
        (digits, Duration::from_micros(1))
    } else {
        (text, Duration::from_micros(1))
    };
    unit.checked_mul(digits.trim().parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_off_or_a_duration() {
        assert_eq!(parse_wait("off"), Some(Duration::ZERO));
        assert_eq!(parse_wait("OFF"), Some(Duration::ZERO));
        assert_eq!(parse_wait("0"), Some(Duration::ZERO));
        assert_eq!(parse_wait("150"), Some(Duration::from_micros(150)));
        assert_eq!(parse_wait("150us"), Some(Duration::from_micros(150)));
        assert_eq!(parse_wait(" 150 µs "), Some(Duration::from_micros(150)));
        assert_eq!(parse_wait("2ms"), Some(Duration::from_millis(2)));
        assert_eq!(parse_wait("fast"), None);
        assert_eq!(parse_wait("-1"), None);
        assert_eq!(parse_wait("1.5ms"), None);
        assert_eq!(parse_wait("ms"), None);
    }

    #[test]
    fn a_runtime_with_the_wait_runs_tasks_across_workers_and_shuts_down() {
        let runtime = node_runtime().unwrap();
        let total = runtime.block_on(async {
            let tasks: Vec<_> = (0..64u64)
                .map(|n| {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        n
                    })
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..64).sum::<u64>());
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}
