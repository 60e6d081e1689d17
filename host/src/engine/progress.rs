//! Saying what a slow compile is doing. A large component (a 12 MB JavaScript one) compiles
//! for seconds, and a run or a check that says nothing meanwhile looks hung. A compile still
//! going after half a second (`WIPPY_SLOW_COMPILE`, a duration) is shown: on a terminal as a
//! spinner on stderr with the time so far, and at its end in one log line (`compiled app:js
//! (12.1 MB) in 11.2 s`), which logs show by default; a fast compile shows nothing.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a compile may take before it is shown: `WIPPY_SLOW_COMPILE`, else half a second.
fn slow() -> Duration {
    std::env::var("WIPPY_SLOW_COMPILE")
        .ok()
        .and_then(|text| crate::values::parse_duration(&text).ok())
        .unwrap_or(Duration::from_millis(500))
}

/// A compile in progress; [`Progress::finish`] ends it.
pub struct Progress {
    what: String,
    started: Instant,
    slow: Duration,
    /// Set when the compile ends; the watcher waits on it.
    done: Arc<(Mutex<bool>, Condvar)>,
    watcher: Option<JoinHandle<bool>>,
}

impl Progress {
    /// Starts watching the compile of `what` (`app:js (12.1 MB)`).
    pub fn start(what: String) -> Progress {
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let (watched, label, slow) = (done.clone(), what.clone(), slow());
        let watcher = std::thread::Builder::new()
            .name("compile-progress".into())
            .spawn(move || watch(&watched, &label, slow))
            .ok();
        Progress {
            what,
            started: Instant::now(),
            slow,
            done,
            watcher,
        }
    }

    /// The compile ended: if it was slow, says how long it took.
    pub fn finish(mut self) {
        let took = self.started.elapsed();
        let shown = self.stop();
        if shown || took >= self.slow {
            log::info!("compiled {} in {:.1} s", self.what, took.as_secs_f64());
        }
    }

    /// Stops the watcher: whether it drew a spinner.
    fn stop(&mut self) -> bool {
        let (lock, wake) = &*self.done;
        *lock.lock().unwrap() = true;
        wake.notify_all();
        (self.watcher.take()).is_some_and(|w| w.join().unwrap_or(false))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A compile that failed ends here: the spinner goes all the same.
        self.stop();
    }
}

/// Waits `slow`; if the compile is still going and stderr is a terminal, spins until it
/// ends, then clears its line. Whether it drew anything.
fn watch(done: &(Mutex<bool>, Condvar), what: &str, slow: Duration) -> bool {
    let (lock, wake) = done;
    let started = Instant::now();
    let mut finished = lock.lock().unwrap();
    finished = wake.wait_timeout_while(finished, slow, |d| !*d).unwrap().0;
    if *finished || !std::io::stderr().is_terminal() {
        return false;
    }
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
    let mut frame = 0;
    while !*finished {
        let line = format!(
            "\r{} compiling {what}… {:.1} s",
            FRAMES[frame % FRAMES.len()],
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
        frame += 1;
        finished = (wake.wait_timeout_while(finished, Duration::from_millis(100), |d| !*d))
            .unwrap()
            .0;
    }
    // Clears the line for what comes next.
    let _ = std::io::stderr().write_all(b"\r\x1b[2K");
    true
}
