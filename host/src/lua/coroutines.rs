//! `coroutine.resume` and `coroutine.wrap` that let a coroutine wait and be preempted, and
//! Wippy's `coroutine.spawn`, which runs a function concurrently inside the process.
//!
//! Lua's own `resume` is a C call that cannot pass a yield on: an async function
//! (`process.receive`, `time.sleep`, a channel) called inside a coroutine would hand mlua's
//! internal "pending" marker back to the resumer, and a preemption would look like
//! `coroutine.yield()`. Here `resume` is an async function that drives the coroutine as mlua
//! drives a process: a wait inside the coroutine suspends the whole process until it is
//! ready, and a preemption lets the scheduler run others, then carries on, unseen by the
//! script. Everything else about coroutines is Lua's: what `resume` returns, `wrap`'s
//! errors, `status`, `close`, `isyieldable`, `running`.

use std::pin::Pin;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::Stream;
use mlua::thread::{AsyncThread, ThreadStatus};
use mlua::{Function, Lua, MultiValue, Table, Thread, Value, ffi};

use super::lazy::{self, Maker};
use super::preempt::{Preemptible, take_preempted};

/// `create` runs the body under `xpcall`, so its error reaches `resume` as a value (mlua
/// would turn a table raised through its thread into text).
const PRELUDE: &str = r#"
local coroutine, resume, create = ...
local xpcall, error, type = xpcall, error, type
local function keep(e) return e end
function coroutine.create(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'create' (function expected, got " .. type(f) .. ")", 2)
  end
  return create(function(...) return xpcall(f, keep, ...) end)
end
coroutine.resume = resume
local function raise(ok, ...)
  if ok then return ... end
  local e = ...
  error(e, type(e) == "string" and 2 or 0)
end
function coroutine.wrap(f)
  local co = coroutine.create(f)
  return function(...) return raise(resume(co, ...)) end
end
"#;

/// The four functions this module replaces or adds; the rest of `coroutine` is Lua's.
const OURS: [&str; 4] = ["create", "resume", "wrap", "spawn"];

/// Installs the functions on first use of any of them (see [`super::lazy`]): most
/// processes never touch a coroutine, and the four cost a state about 7 KiB.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let coroutine: Table = lua.globals().get("coroutine")?;
    lua.set_app_data(Spawned::default());
    let create: Function = coroutine.get("create")?;
    let installed = Arc::new(AtomicBool::new(false));
    let mut makers = Vec::new();
    for name in OURS {
        coroutine.raw_set(name, Value::Nil)?;
        let (coroutine, create) = (coroutine.clone(), create.clone());
        let installed = installed.clone();
        let make: Maker = Box::new(move |lua| {
            if !installed.swap(true, Ordering::Relaxed) {
                // What the script assigned itself before stays.
                let assigned = OURS.map(|name| coroutine.raw_get::<Value>(name));
                install_now(lua, &coroutine, &create)?;
                for (name, value) in OURS.into_iter().zip(assigned) {
                    match value? {
                        Value::Nil => {}
                        value => coroutine.raw_set(name, value)?,
                    }
                }
            }
            coroutine.raw_get(name)
        });
        makers.push((name, make));
    }
    lazy::fields(lua, &coroutine, makers)
}

fn install_now(lua: &Lua, coroutine: &Table, create: &Function) -> mlua::Result<()> {
    coroutine.raw_set(
        "spawn",
        lua.create_function(|lua, f: Function| {
            let thread = lua.create_thread(f)?;
            if let Some(spawned) = lua.app_data_ref::<Spawned>() {
                spawned.lock().push(thread.clone());
            }
            Ok(thread)
        })?,
    )?;
    let resume = lua.create_async_function(|lua, (co, args): (Thread, MultiValue)| async move {
        resume(&lua, co, args).await
    })?;
    super::sandbox::trusted(lua, "coroutine", PRELUDE)?.call::<()>((
        coroutine.clone(),
        resume,
        create.clone(),
    ))
}

async fn resume(lua: &Lua, co: Thread, args: MultiValue) -> mlua::Result<MultiValue> {
    let refused = |why: &str| -> mlua::Result<MultiValue> {
        Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(why)?),
        ]))
    };
    match co.status() {
        ThreadStatus::Resumable => {}
        ThreadStatus::Running | ThreadStatus::Normal => {
            return refused("cannot resume non-suspended coroutine");
        }
        ThreadStatus::Finished | ThreadStatus::Error => {
            return refused("cannot resume dead coroutine");
        }
    }
    let state = co.to_pointer() as usize;
    let mut stream = co.clone().into_async::<MultiValue>(args)?;
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx));
        match Preemptible::new(next, state as *const std::ffi::c_void, lua).await {
            Some(Ok(values)) if take_preempted() => {
                debug_assert!(values.is_empty());
                if resumer_can_yield(lua) {
                    tokio::task::yield_now().await;
                }
            }
            // The body ended: the shim's `xpcall` said how.
            Some(Ok(values)) if co.status() == ThreadStatus::Finished => return Ok(values),
            Some(Ok(mut values)) => {
                values.push_front(Value::Boolean(true));
                return Ok(values);
            }
            Some(Err(error)) => return refused(&error.to_string()),
            None => return refused("cannot resume dead coroutine"),
        }
    }
}

/// Coroutines from `coroutine.spawn` waiting to be driven (by [`drive`]), in the state's app
/// data.
#[derive(Default, Clone)]
struct Spawned(Arc<Mutex<Vec<Thread>>>);

impl Spawned {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Thread>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Running = Preemptible<AsyncThread<MultiValue>>;

/// Runs `main` (a process's chunk or main function, on its own thread) to its end, and with
/// it every coroutine it starts with `coroutine.spawn` — Wippy's managed coroutines: each runs
/// until it waits (a channel, `receive`, `sleep`) or ends, preempted like `main`. An error in
/// one ends the whole run with that error; when `main` ends, the process ends and coroutines
/// still running stop with it (as in Wippy). Ones still running when a process's chunk
/// returns carry on while its main function runs.
pub async fn drive<T>(
    lua: &Lua,
    mut main: impl Future<Output = mlua::Result<T>> + Unpin,
) -> mlua::Result<T> {
    let mut running: Vec<(Thread, Running)> = Vec::new();
    // Taken out once: reading app data twice per poll was 3 % of a message round trip.
    let spawned = lua.app_data_ref::<Spawned>().map(|spawned| spawned.clone());
    let outcome = std::future::poll_fn(|cx| {
        loop {
            let started: Vec<Thread> = match &spawned {
                Some(spawned) => std::mem::take(&mut *spawned.lock()),
                None => Vec::new(),
            };
            for thread in started {
                let state = thread.to_pointer();
                let future = thread.clone().into_async::<MultiValue>(())?;
                running.push((thread, Preemptible::new(future, state, lua)));
            }
            let mut i = 0;
            while i < running.len() {
                match Pin::new(&mut running[i].1).poll(cx) {
                    Poll::Ready(Ok(_)) => drop(running.swap_remove(i)),
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => i += 1,
                }
            }
            if let Poll::Ready(outcome) = Pin::new(&mut main).poll(cx) {
                return Poll::Ready(outcome);
            }
            let more = spawned
                .as_ref()
                .is_some_and(|spawned| !spawned.lock().is_empty());
            if !more {
                return Poll::Pending;
            }
        }
    })
    .await;
    // Suspended ones are resumed by the next run in this state, if there is one.
    if let Some(spawned) = spawned {
        spawned
            .lock()
            .extend(running.into_iter().map(|(thread, _)| thread));
    }
    outcome
}

/// Whether the thread calling `resume` may yield (not inside a metamethod run by C, say).
fn resumer_can_yield(lua: &Lua) -> bool {
    let state = lua.current_thread().to_pointer() as *mut ffi::lua_State;
    // SAFETY: the current thread is alive: it is running this call.
    unsafe { ffi::lua_isyieldable(state) != 0 }
}
