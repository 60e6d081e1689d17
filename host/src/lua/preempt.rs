//! Preemption for Lua, the way WASM guests get it from epochs: a Lua thread that runs past a
//! time slice yields to the scheduler, so a spinning script cannot starve the other
//! processes, and `terminate`, `cancel` and `limits.max_execution_ms` reach it (they drop the
//! process's future, which they can only do while it yields).
//!
//! A count hook costs every instruction (a loop runs 2.2× slower with one installed), so none
//! is installed while Lua runs well. A watchdog thread notices an OS thread that has been in
//! one Lua run for over a tick and sends it a signal; the handler installs the hook on the Lua
//! thread running there — the way `lua.c` stops a script on Ctrl-C, which is what
//! `lua_sethook` is written to allow — and the hook yields at the next instruction. The
//! yield reaches the resumer: mlua's async thread for a process's main flow, or
//! [`crate::lua`]'s `coroutine.resume`, which yields further up (see `coroutines.rs`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use mlua::ffi;

/// How long a Lua thread runs before it is asked to yield: between one and two ticks.
const TICK: Duration = Duration::from_millis(2);

/// The signal that asks a thread to install the hook. Its default action is to ignore it,
/// so one arriving before the handler or after a thread's Lua is done harms nothing (Go
/// preempts goroutines with the same signal, for the same reason).
const SIGNAL: libc::c_int = libc::SIGURG;

/// Marks a Lua thread (in its extra space) that the hook yielded; the hook's next call, on
/// the first instruction after the resume, removes it instead of yielding again.
const YIELDED: usize = 0x5945_4c44;

/// Marks a Lua thread that carried on after a preemption, until [`Preemptible`] reads it.
///
/// The resume after a preemption uses up a wake-up that may not have been its own: when the
/// hook fires in mlua's async wrapper just after a Rust future returned `Pending` having woken
/// itself (wasmtime yielding at an epoch does), mlua's wake for the preemption and the
/// future's own wake are one. Resumed, the wrapper yields "pending" without polling the
/// future, and nothing would wake the task again. So a poll that carried on after a
/// preemption and ends pending wakes the task once more: at worst one spare poll, in which
/// the wrapper polls its future.
const RESUMED: usize = 0x5245_5355;

/// When a Lua run must end though it cannot yield: its process was killed, or its
/// `limits.max_execution_ms` passed. Kept in the state's app data.
pub struct Watch {
    pub stop: Arc<AtomicBool>,
    /// The deadline and the limit it comes from, in milliseconds.
    pub deadline: Option<(Instant, u64)>,
}

impl Watch {
    /// Why the run must end now, if it must.
    fn verdict(&self) -> Option<String> {
        if self.stop.load(Ordering::Relaxed) {
            return Some("it was terminated".to_string());
        }
        let (deadline, ms) = self.deadline?;
        (Instant::now() >= deadline).then(|| {
            format!(
                "it ran longer than its limit of {ms} ms (limits.max_execution_ms) and was stopped"
            )
        })
    }
}

thread_local! {
    /// The Lua thread this OS thread is running now, for the signal handler; null when none.
    static RUNNING: Cell<*mut ffi::lua_State> = const { Cell::new(ptr::null_mut()) };
    /// The watch of the Lua run on this OS thread, for the hook; null when none.
    static WATCH: Cell<*const Watch> = const { Cell::new(ptr::null()) };
    /// Set by the hook as it yields, so the resumer can tell it from `coroutine.yield()`.
    static PREEMPTED: Cell<bool> = const { Cell::new(false) };
    /// This OS thread as the watchdog sees it.
    static SLOT: SlotHandle = SlotHandle::register();
    /// The waker of the task whose Lua this thread runs now; null when none.
    static WAKER: Cell<*const std::task::Waker> = const { Cell::new(ptr::null()) };
}

/// The watchdog's clock, in ticks since it started.
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Every OS thread that has run Lua, while it lives.
static SLOTS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

struct Slot {
    thread: libc::pthread_t,
    /// 1 + the tick at which the thread's current Lua run started; 0 while it runs none.
    busy_since: AtomicU64,
}

struct SlotHandle(Arc<Slot>);

impl SlotHandle {
    fn register() -> Self {
        start();
        let slot = Arc::new(Slot {
            // SAFETY: pthread_self has no preconditions.
            thread: unsafe { libc::pthread_self() },
            busy_since: AtomicU64::new(0),
        });
        lock_slots().push(slot.clone());
        SlotHandle(slot)
    }
}

impl Drop for SlotHandle {
    /// Leaves the list before the thread ends, so the watchdog never signals a thread that is
    /// gone (it signals only while holding the same lock).
    fn drop(&mut self) {
        lock_slots().retain(|slot| !Arc::ptr_eq(slot, &self.0));
    }
}

fn lock_slots() -> std::sync::MutexGuard<'static, Vec<Arc<Slot>>> {
    SLOTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Installs the signal handler and starts the watchdog, once per runtime.
fn start() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        // SAFETY: the handler only reads a thread-local and calls `lua_sethook`, which Lua
        // documents as callable from a signal handler.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(SIGNAL, &action, ptr::null_mut());
        }
        let spawned = std::thread::Builder::new()
            .name("wippy-lua-watchdog".into())
            .spawn(watch);
        if let Err(error) = spawned {
            log::warn!("Lua processes will not be preempted: no watchdog thread ({error})");
        }
    });
}

fn watch() {
    loop {
        std::thread::sleep(TICK);
        let now = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
        for slot in lock_slots().iter() {
            let since = slot.busy_since.load(Ordering::Relaxed);
            if since != 0 && since < now {
                // SAFETY: the thread is alive: it leaves the list (under this lock) before
                // it ends.
                unsafe { libc::pthread_kill(slot.thread, SIGNAL) };
            }
        }
    }
}

extern "C" fn on_signal(_signal: libc::c_int) {
    let state = RUNNING.with(Cell::get);
    if !state.is_null() {
        // SAFETY: `state` is the Lua thread this OS thread is running: it lives until the
        // run ends, which clears RUNNING first. Lua allows this call from a signal handler.
        unsafe { ffi::lua_sethook(state, Some(hook), ffi::LUA_MASKCOUNT, 1) };
    }
}

/// Yields the Lua thread at its next instruction, once. Where it cannot yield, it carries on
/// — unless its run must end, which it then does with an error (a C caller such as
/// `table.sort` passes it up to code that can yield, where the next tick ends the run).
unsafe extern "C-unwind" fn hook(state: *mut ffi::lua_State, _debug: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls the hook on a live thread; its extra space is ours (mlua uses none).
    // WATCH points into the run's state, alive while it runs. No Rust value needing a drop
    // is alive when `lua_error` jumps out.
    unsafe {
        let mark = ffi::lua_getextraspace(state) as *mut usize;
        if *mark == YIELDED {
            // Back after a preemption: carry on.
            *mark = RESUMED;
            ffi::lua_sethook(state, None, 0, 0);
            return;
        }
        if ffi::lua_isyieldable(state) == 0 {
            ffi::lua_sethook(state, None, 0, 0);
            let watch = WATCH.with(Cell::get);
            let verdict = match watch.is_null() {
                true => None,
                false => (*watch).verdict(),
            };
            if let Some(verdict) = verdict {
                ffi::lua_pushlstring(state, verdict.as_ptr().cast(), verdict.len());
                drop(verdict);
                ffi::lua_error(state);
            }
            // Inside a call that cannot yield (a metamethod run by C, a `require`d chunk):
            // the watchdog asks again next tick. Meanwhile the worker's other tasks must not
            // wait for it.
            hand_off_when_held();
            return;
        }
        // The hook stays installed across the yield, which is how mlua tells a hook's yield
        // from a script's and resumes it without arguments.
        *mark = YIELDED;
        PREEMPTED.set(true);
        ffi::lua_yield(state, 0);
    }
}

/// Ticks a run that cannot yield may hold its worker thread before the worker's queue moves.
const HAND_OFF_AFTER: u64 = 4;

/// Hands the worker's queued tasks to another thread when the Lua run on this one has gone on
/// for [`HAND_OFF_AFTER`] ticks and cannot yield (a `table.sort` comparator that never
/// returns, say).
///
/// tokio's other workers take queued tasks from a busy worker only when they run out of work
/// of their own, and never its next-task slot: with a preempted spinner on the other core, a
/// process woken here — the one that would `terminate` the stuck run — waited forever.
/// `block_in_place` gives this worker's queue to a new thread while its closure runs; the
/// closure pauses so that thread can take it, and the run carries on here without a queue.
/// Tried again every [`HAND_OFF_AFTER`] ticks while the run is held (a retry after the
/// queue moved only pauses the stuck run).
fn hand_off_when_held() {
    thread_local! {
        static LAST_TRY: Cell<u64> = const { Cell::new(0) };
    }
    let now = TICKS.load(Ordering::Relaxed);
    let since = SLOT
        .try_with(|slot| slot.0.busy_since.load(Ordering::Relaxed))
        .unwrap_or(0);
    let last = LAST_TRY.with(Cell::get);
    if since == 0 || now < since + HAND_OFF_AFTER || now < last + HAND_OFF_AFTER {
        return;
    }
    LAST_TRY.set(now);
    let in_worker_task = tokio::task::try_id().is_some()
        && tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if in_worker_task {
        // block_in_place refuses (panics before doing anything) only outside a worker, which
        // the check above rules out; a panic must not unwind into Lua's C frames regardless.
        let _ = std::panic::catch_unwind(|| {
            tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(1)))
        });
    }
}

/// Calls `f` with the waker of the task whose Lua runs on this thread (`None` outside a
/// [`Preemptible`] poll), for a sync function that arranges its own wake-up before it yields.
pub fn with_task_waker<R>(f: impl FnOnce(Option<&std::task::Waker>) -> R) -> R {
    let waker = WAKER.with(Cell::get);
    // SAFETY: set only for the length of a `Preemptible` poll on this thread, from the
    // poll's own context, and restored before the poll returns.
    f(unsafe { waker.as_ref() })
}

/// Whether the Lua thread just polled yielded to preemption rather than by itself (clears
/// the mark).
pub fn take_preempted() -> bool {
    PREEMPTED.replace(false)
}

/// A future that runs Lua on `state` (a Lua thread), under the watchdog's eye while polled.
pub struct Preemptible<F> {
    inner: F,
    /// The `lua_State` pointer; an address rather than a pointer so the future stays `Send`.
    state: usize,
    watch: Option<Arc<Watch>>,
}

impl<F> Preemptible<F> {
    /// `state` is the Lua thread `inner` resumes, as `Thread::to_pointer` gives it, in a
    /// Lua state whose app data may hold a [`Watch`].
    pub fn new(inner: F, state: *const std::ffi::c_void, lua: &mlua::Lua) -> Self {
        Self {
            inner,
            state: state as usize,
            watch: lua.app_data_ref::<Arc<Watch>>().map(|watch| watch.clone()),
        }
    }
}

impl<F: Future + Unpin> Future for Preemptible<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let watch = self.watch.as_ref().map_or(ptr::null(), Arc::as_ptr);
        let _running = Running::enter(self.state as *mut ffi::lua_State, watch);
        let _waker = TaskWaker::enter(cx.waker());
        let polled = Pin::new(&mut self.inner).poll(cx);
        if polled.is_pending() {
            // A preemption seen by mlua's own thread future; nothing else reads the mark.
            PREEMPTED.set(false);
        }
        // SAFETY: the Lua thread `inner` resumes lives as long as `inner`; its extra space
        // is ours (see `hook`), and no hook runs on it between polls.
        let mark =
            unsafe { ffi::lua_getextraspace(self.state as *mut ffi::lua_State) as *mut usize };
        // SAFETY: as above.
        if unsafe { *mark } == RESUMED {
            // SAFETY: as above.
            unsafe { *mark = 0 };
            if polled.is_pending() {
                cx.waker().wake_by_ref();
            }
        }
        polled
    }
}

/// While it lives, `waker` is the one [`with_task_waker`] gives; restores the one before when
/// dropped (also when a poll unwinds).
struct TaskWaker(*const std::task::Waker);

impl TaskWaker {
    fn enter(waker: &std::task::Waker) -> Self {
        Self(WAKER.replace(waker))
    }
}

impl Drop for TaskWaker {
    fn drop(&mut self) {
        WAKER.set(self.0);
    }
}

/// While it lives, `state` is the Lua thread this OS thread runs; the outermost one starts
/// the watchdog's clock for the thread. Restores what was there when dropped (also when a
/// poll unwinds), so the handler never sees a thread that has ended.
struct Running {
    previous: *mut ffi::lua_State,
    previous_watch: *const Watch,
    outermost: bool,
}

impl Running {
    fn enter(state: *mut ffi::lua_State, watch: *const Watch) -> Self {
        let previous = RUNNING.replace(state);
        let previous_watch = WATCH.replace(watch);
        // (A thread being torn down has no slot left; its Lua then runs unwatched.)
        let outermost = SLOT
            .try_with(|slot| {
                let busy = &slot.0.busy_since;
                let idle = busy.load(Ordering::Relaxed) == 0;
                if idle {
                    busy.store(TICKS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
                idle
            })
            .unwrap_or(false);
        Self {
            previous,
            previous_watch,
            outermost,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.outermost {
            let _ = SLOT.try_with(|slot| slot.0.busy_since.store(0, Ordering::Relaxed));
        }
        RUNNING.set(self.previous);
        WATCH.set(self.previous_watch);
    }
}
