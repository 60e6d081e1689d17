//! The node's own limit on open files. Every process's open handles (`limits.max_open_handles`,
//! 1,024 each by default) may be file descriptors of the one `wippy` OS process, and the soft
//! limit is often 1,024 too (systemd services, many shells): a single guest at its cap would
//! leave no descriptor for the others. The soft limit is raised to the hard one at start, as
//! Go's runtime (and so Wippy) does.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; a failure only leaves it as it was.
#[cfg(unix)]
pub fn raise_soft_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => log::debug!(
            "open files limit raised from {:?} to {:?}",
            limit.current,
            limit.maximum
        ),
        // macOS refuses an unlimited soft limit; the node runs with the one it was given.
        Err(error) => log::debug!("open files limit left at {:?}: {error}", limit.current),
    }
}

#[cfg(not(unix))]
pub fn raise_soft_limit() {}
