//! Channels between tasks with Go-like semantics (buffered, closable, selectable), used for
//! mailboxes and for Lua's `channel` module. Waiting costs no thread: waiters await a
//! `Notify` that every state change wakes.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

pub struct Channel<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    changed: Notify,
    /// A task waiting for a value without a `Notified` future (see [`Channel::register`]).
    waiter: AtomicWaker,
}

struct State<T> {
    queue: VecDeque<T>,
    /// `None`: unbounded.
    capacity: Option<usize>,
    closed: bool,
}

/// What a non-blocking attempt found.
pub enum Attempt<T> {
    Done(T),
    /// Receive on a closed, empty channel; send on a closed channel.
    Closed,
    WouldBlock,
}

impl<T> Channel<T> {
    /// `capacity` 0 is treated as 1: a send completes once the value is queued.
    pub fn bounded(capacity: usize) -> Self {
        Self::with_capacity(Some(capacity.max(1)))
    }

    pub fn unbounded() -> Self {
        Self::with_capacity(None)
    }

    fn with_capacity(capacity: Option<usize>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    capacity,
                    closed: false,
                }),
                changed: Notify::new(),
                waiter: AtomicWaker::new(),
            }),
        }
    }

    /// Values waiting to be received.
    pub fn waiting(&self) -> usize {
        self.inner.state.lock().unwrap().queue.len()
    }

    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Removes and returns the queued values `wanted` picks, keeping the others in order.
    pub fn take_where(&self, mut wanted: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut state = self.inner.state.lock().unwrap();
        let (taken, kept): (Vec<T>, Vec<T>) =
            state.queue.drain(..).partition(|value| wanted(value));
        state.queue = kept.into();
        taken
    }

    pub fn try_recv(&self) -> Attempt<T> {
        let mut state = self.inner.state.lock().unwrap();
        match state.queue.pop_front() {
            Some(value) => {
                drop(state);
                self.inner.changed.notify_waiters();
                Attempt::Done(value)
            }
            None if state.closed => Attempt::Closed,
            None => Attempt::WouldBlock,
        }
    }

    /// Gives the value back when the channel is full or closed.
    pub fn try_send(&self, value: T) -> Result<(), (T, Attempt<()>)> {
        let mut state = self.inner.state.lock().unwrap();
        if state.closed {
            return Err((value, Attempt::Closed));
        }
        if state.capacity.is_some_and(|c| state.queue.len() >= c) {
            return Err((value, Attempt::WouldBlock));
        }
        state.queue.push_back(value);
        drop(state);
        self.inner.changed.notify_waiters();
        self.inner.waiter.wake();
        Ok(())
    }

    /// Wakes `waker` at the next value sent or at closing (once; register again to wait
    /// again): a wait that holds no future, for a Lua process's `receive`.
    pub fn register(&self, waker: &Waker) {
        self.inner.waiter.register(waker);
    }

    /// Waits for a value; `None` once the channel is closed and drained.
    pub async fn recv(&self) -> Option<T> {
        loop {
            let mut changed = pin!(self.inner.changed.notified());
            changed.as_mut().enable();
            match self.try_recv() {
                Attempt::Done(value) => return Some(value),
                Attempt::Closed => return None,
                Attempt::WouldBlock => changed.await,
            }
        }
    }

    /// Waits for room; gives the value back if the channel is closed.
    pub async fn send(&self, mut value: T) -> Result<(), T> {
        loop {
            let mut changed = pin!(self.inner.changed.notified());
            changed.as_mut().enable();
            match self.try_send(value) {
                Ok(()) => return Ok(()),
                Err((back, Attempt::Closed)) => return Err(back),
                Err((back, _)) => {
                    value = back;
                    changed.await;
                }
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().unwrap().closed
    }

    pub fn close(&self) {
        self.inner.state.lock().unwrap().closed = true;
        self.inner.changed.notify_waiters();
        self.inner.waiter.wake();
    }

    /// Resolves at the channel's next state change (for `select` over several channels).
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.changed.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_arrive_in_order_and_close_drains() {
        let channel = Channel::bounded(2);
        channel.send(1).await.unwrap();
        channel.send(2).await.unwrap();
        assert!(matches!(channel.try_send(3), Err((3, Attempt::WouldBlock))));
        channel.close();
        assert_eq!(channel.recv().await, Some(1));
        assert_eq!(channel.recv().await, Some(2));
        assert_eq!(channel.recv().await, None);
        assert!(channel.send(4).await.is_err());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let channel = Channel::unbounded();
        let receiver = tokio::spawn({
            let channel = channel.clone();
            async move { channel.recv().await }
        });
        tokio::task::yield_now().await;
        channel.send("hello").await.unwrap();
        assert_eq!(receiver.await.unwrap(), Some("hello"));
    }
}
