//! A frame per request the node serves (an HTTP request to an endpoint): a pid of the
//! service, in the process table while the request runs, so that what the handler spawns or
//! calls has a parent, a stopping node waits for the request, and its grace period's end
//! stops it like any process.

use std::sync::Arc;

use futures_util::future::{AbortHandle, AbortRegistration};

use super::{Generation, Node, ProcessContext, Record};
use crate::guest::Stdio;
use crate::process::mailbox::Mailbox;
use crate::registry::{DEFAULT_MAX_MAILBOX_MESSAGES, EntryId};

impl Node {
    /// A frame for a request `service` serves with `func` of `generation` (the one its route
    /// was made from): its context, and the registration
    /// that aborts the request's handling when the node terminates the frame. Refused while
    /// the node stops or is short of memory. [`Node::end_call`] ends it.
    pub fn begin_request(
        &self,
        service: &EntryId,
        func: &EntryId,
        generation: &Arc<Generation>,
    ) -> Result<(ProcessContext, AbortRegistration), String> {
        self.inner.headroom.check()?;
        let pid = self.new_pid(service);
        let mailbox = Arc::new(Mailbox::new(DEFAULT_MAX_MAILBOX_MESSAGES));
        let stop: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let (abort, registration) = AbortHandle::new_pair();
        {
            let mut processes = self.inner.processes.lock().unwrap();
            // Checked under the lock [`Node::stop`] sets it under, as a spawn does.
            if self.is_stopping() {
                return Err(format!(
                    "`{func}` takes no new requests: the node is stopping"
                ));
            }
            // A CANCEL is delivered, not fatal: the request has the grace period to finish.
            processes.insert(
                pid.clone(),
                Record::frame(&mailbox, Some(abort), stop.clone()),
            );
        }
        let stdio = Stdio::Labelled {
            label: format!("{func} {pid}").into(),
            sink: self.inner.output.clone(),
        };
        let context = ProcessContext {
            node: self.clone(),
            pid,
            entry: func.clone(),
            generation: generation.clone(),
            mailbox,
            stdio: Arc::new(stdio),
            context: Default::default(),
            stop,
        };
        Ok((context, registration))
    }
}
