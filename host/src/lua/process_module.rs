//! `process`: this process's identity, spawning and supervision, messaging, the name
//! registry, and receiving, function by function as Wippy's `process` module specifies them.
//! Failures return `nil, err`, as Wippy scripts expect.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::SharedContext;
use super::channel_module::{Delivery, LuaChannel};
use super::convert::{envelope_to_lua, from_payload, to_payload};
use super::errors_module::{
    Failure, INTERNAL, INVALID, NOT_FOUND, RATE_LIMITED, fail, fail_for_now,
};
use super::lazy::{self, Maker};
use super::spawner::{Call, SPAWNS, Spawner, args_to_payloads};
use super::time_module::duration;
use crate::process::{ProcessContext, SendError, SpawnRequest};
use crate::registry::EntryId;
use crate::values::{Payload, parse_duration};

type Outcome = (Value, Option<Failure>);

fn failure(error: impl Into<String>) -> mlua::Result<Outcome> {
    Ok((Value::Nil, Some(fail(INTERNAL, error))))
}

fn entry_id(text: &str, context: &ProcessContext) -> EntryId {
    EntryId::resolve(text, &context.entry.namespace)
}

pub fn create(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    // Every function is made on first use (see `lazy`): a process that only receives pays
    // for `receive` alone.
    let mut made: Vec<(&'static str, Maker)> = Vec::new();
    lazy_function(&mut made, "pid", context, |ctx| {
        move |_, ()| Ok(ctx.pid.to_string())
    });
    lazy_function(&mut made, "id", context, |ctx| {
        move |_, ()| Ok(ctx.entry.to_string())
    });

    for (name, monitor, link) in SPAWNS {
        made.push((name, spawn_function(context, monitor, link)));
    }
    super::spawner::install(lua, &module, context)?;

    let ctx = context.clone();
    let exec: Maker = Box::new(move |lua| {
        let ctx = ctx.clone();
        lua.create_async_function(
            move |lua, (id, host, args): (String, String, Variadic<Value>)| {
                let ctx = ctx.clone();
                async move {
                    let args = match args_to_payloads(&args) {
                        Ok(args) => args,
                        Err(e) => return failure(e),
                    };
                    let (host, node) = ctx.node.placement(&host);
                    let request = SpawnRequest {
                        parent: Some(ctx.pid.clone()),
                        context: ctx.context.clone(),
                        ..SpawnRequest::new(entry_id(&id, &ctx), entry_id(host, &ctx), args)
                    };
                    let result = match node {
                        Some(node) => ctx.node.exec_elsewhere(node, request).await,
                        None => ctx.node.exec(request).await,
                    };
                    match result {
                        Ok(value) => Ok((from_payload(&lua, &value)?, None)),
                        Err(e) => failure(e),
                    }
                }
            },
        )
        .map(Value::Function)
    });

    // `true`, or `nil, err` when the destination is not a live process or registered name (as
    // Wippy's own tests expect of a pid that has exited).
    lazy_function(&mut made, "send", context, |ctx| {
        move |_, (dest, topic, payload): (String, String, Variadic<Value>)| {
            if topic.starts_with('@') {
                return Ok((None, Some(fail(INVALID, "cannot send to @ topics"))));
            }
            let payload = match payload.len() {
                0 => Ok(Payload::Nil),
                1 => to_payload(&payload[0]),
                _ => args_to_payloads(&payload).map(Payload::List),
            };
            let payload = match payload {
                Ok(payload) => payload,
                Err(e) => return Ok((None, Some(fail(INVALID, e)))),
            };
            Ok(
                match ctx.node.send(Some(&ctx.pid), &dest, &topic, payload) {
                    Ok(()) => (Some(true), None),
                    Err(SendError::NotRunning(e)) => (None, Some(fail(NOT_FOUND, e))),
                    Err(SendError::MailboxFull(e)) => (None, Some(fail_for_now(RATE_LIMITED, e))),
                },
            )
        }
    });

    lazy_function(&mut made, "terminate", context, |ctx| {
        move |_, dest: String| Ok(result(ctx.node.terminate(&dest), NOT_FOUND))
    });
    lazy_function(&mut made, "cancel", context, |ctx| {
        move |_, (dest, second): (String, Value)| {
            // Wippy's documented second argument is a deadline (milliseconds, or text like
            // "5s"); its code reads a reason. Either works here.
            let (reason, deadline) = match &second {
                Value::Integer(ms) if *ms >= 0 => ("cancelled".to_string(), Some(*ms as u64)),
                Value::Number(ms) if *ms >= 0.0 => ("cancelled".to_string(), Some(*ms as u64)),
                Value::String(text) => {
                    let text = text.to_string_lossy();
                    match parse_duration(&text) {
                        Ok(d) => ("cancelled".to_string(), Some(d.as_millis() as u64)),
                        Err(_) => (text, None),
                    }
                }
                _ => ("cancelled".to_string(), None),
            };
            let deadline = deadline.map(std::time::Duration::from_millis);
            Ok(result(
                ctx.node.cancel(Some(&ctx.pid), &dest, &reason, deadline),
                NOT_FOUND,
            ))
        }
    });
    for (name, on) in [("monitor", true), ("unmonitor", false)] {
        lazy_function(&mut made, name, context, move |ctx| {
            move |_, dest: String| Ok(result(ctx.node.monitor(&ctx.pid, &dest, on), NOT_FOUND))
        });
    }
    for (name, on) in [("link", true), ("unlink", false)] {
        lazy_function(&mut made, name, context, move |ctx| {
            move |_, dest: String| Ok(result(ctx.node.link(&ctx.pid, &dest, on), NOT_FOUND))
        });
    }

    lazy_function(&mut made, "inbox", context, |ctx| {
        move |_, ()| {
            Ok(LuaChannel::Mailbox(
                ctx.mailbox.inbox.clone(),
                Delivery::Objects,
            ))
        }
    });
    lazy_function(&mut made, "events", context, |ctx| {
        move |_, ()| {
            Ok(LuaChannel::Mailbox(
                ctx.mailbox.events.clone(),
                Delivery::Objects,
            ))
        }
    });
    // The values sent on `topic`; with `{message = true}`, message objects.
    lazy_function(&mut made, "listen", context, |ctx| {
        move |_, (topic, options): (String, Option<Table>)| {
            if topic.is_empty() {
                return Ok((None, Some(fail(INVALID, "topic cannot be empty"))));
            }
            if topic.starts_with('@') {
                return Ok((None, Some(fail(INVALID, "cannot listen to @ topics"))));
            }
            let objects = match options {
                Some(options) => options.get::<Option<bool>>("message")?.unwrap_or(false),
                None => false,
            };
            let delivery = if objects {
                Delivery::Objects
            } else {
                Delivery::Values
            };
            Ok((
                Some(LuaChannel::Mailbox(ctx.mailbox.listen(&topic), delivery)),
                None,
            ))
        }
    });
    lazy_function(&mut made, "unlisten", context, |ctx| {
        move |_, channel: mlua::AnyUserData| {
            let channel = channel.borrow::<LuaChannel>()?;
            Ok(match &*channel {
                LuaChannel::Mailbox(channel, _) if ctx.mailbox.unlisten(channel) => (true, None),
                _ => (
                    false,
                    Some(fail(
                        NOT_FOUND,
                        "channel not found: it is not a listened topic of this process",
                    )),
                ),
            })
        }
    });
    let ctx = context.clone();
    let receive: Maker = Box::new(move |lua| {
        let waiting = ctx.clone();
        let waiting_for_step = ctx.clone();
        let try_receive = lua.create_function(move |lua, timeout: Value| {
            if !timeout.is_nil() {
                duration(&timeout)?;
            }
            match waiting.mailbox.try_next() {
                Some(envelope) => envelope_to_lua(lua, envelope),
                None => Ok(Value::Nil),
            }
        })?;
        // An async function costs a state ~5 KiB (mlua compiles a wrapper chunk for the
        // first one), a tenth of a waiting process: made when a wait needs it.
        let ctx = ctx.clone();
        let make_wait = lua.create_function(move |lua, ()| {
            let ctx = ctx.clone();
            lua.create_async_function(move |lua, timeout: Value| {
                let ctx = ctx.clone();
                async move {
                    let timeout = match timeout {
                        Value::Nil => None,
                        other => Some(duration(&other)?),
                    };
                    let next = ctx.mailbox.next();
                    let envelope = match timeout {
                        Some(limit) => tokio::time::timeout(limit, next).await.ok().flatten(),
                        None => next.await,
                    };
                    match envelope {
                        Some(envelope) => envelope_to_lua(&lua, envelope),
                        None => Ok(Value::Nil),
                    }
                }
            })
        })?;
        // One step of a wait without a timeout (the prelude has just found the mailbox empty,
        // or the task was woken): with the task's waker registered on the mailbox first, so a
        // delivery after the look wakes it, what is waiting — or mlua's "pending" mark, which
        // the prelude yields. `false` outside a task poll.
        let stepping = waiting_for_step.clone();
        let step = lua.create_function(move |lua, ()| {
            let registered = super::preempt::with_task_waker(|waker| {
                waker
                    .map(|waker| stepping.mailbox.register(waker))
                    .is_some()
            });
            if !registered {
                return Ok(Value::Boolean(false));
            }
            match stepping.mailbox.try_next() {
                Some(envelope) => envelope_to_lua(lua, envelope),
                None if stepping.mailbox.is_closed() => Ok(Value::Nil),
                None => Ok(Value::LightUserData(Lua::poll_pending())),
            }
        })?;
        let coroutine: Table = lua.globals().get("coroutine")?;
        let yield_: Value = coroutine.raw_get("yield")?;
        super::sandbox::trusted(lua, "receive", RECEIVE)?.call((
            try_receive,
            make_wait,
            step,
            yield_,
            Lua::poll_pending(),
        ))
    });

    lazy_function(&mut made, "get_options", context, |ctx| {
        move |lua, ()| {
            let options = lua.create_table()?;
            options.set("trap_links", ctx.mailbox.trap_links())?;
            Ok(options)
        }
    });
    lazy_function(&mut made, "set_options", context, |ctx| {
        move |_, options: Value| {
            let Value::Table(options) = options else {
                return Ok((
                    false,
                    Some(fail(INVALID, "options parameter must be a table")),
                ));
            };
            for pair in options.pairs::<Value, Value>() {
                let (key, value) = pair?;
                match (key.to_string()?.as_str(), value) {
                    ("trap_links", Value::Boolean(trap)) => ctx.mailbox.set_trap_links(trap),
                    ("trap_links", _) => {
                        return Ok((false, Some(fail(INVALID, "trap_links must be a boolean"))));
                    }
                    (other, _) => {
                        return Ok((
                            false,
                            Some(fail(INVALID, format!("option {other} is not supported"))),
                        ));
                    }
                }
            }
            Ok((true, None))
        }
    });

    module.set("registry", super::process_names::table(lua, context)?)?;

    let events = lua.create_table()?;
    events.set("EXIT", "pid.exit")?;
    events.set("LINK_DOWN", "pid.link.down")?;
    events.set("CANCEL", "pid.cancel")?;
    module.set("event", events)?;
    made.push(("exec", exec));
    made.push(("receive", receive));
    lazy::fields(lua, &module, made)?;
    Ok(module)
}

/// `process.receive`: a message already waiting is taken without the async machinery (a
/// future and a yield per call); an empty mailbox is waited on by yielding mlua's "pending"
/// mark with the task's waker registered on the mailbox — no future in a userdata, no
/// finaliser, per wait. A timeout, or a state run outside a task poll, waits through the async
/// function.
const RECEIVE: &str = r#"
local try_receive, make_wait, step, yield, pending = ...
local wait
return function(timeout)
  local message = try_receive(timeout)
  if message ~= nil then return message end
  if timeout ~= nil then
    wait = wait or make_wait()
    return wait(timeout)
  end
  while true do
    message = step()
    if message == false then
      wait = wait or make_wait()
      return wait(nil)
    end
    if message ~= pending then return message end
    yield(pending)
  end
end
"#;

/// `process.spawn*`: a spawn on this node runs through a plain function; one on another
/// node (`app:processes@b`) through an async one, made when first needed, which waits for
/// that node's answer.
fn spawn_function(context: &SharedContext, monitor: bool, link: bool) -> Maker {
    let ctx = context.clone();
    Box::new(move |lua| {
        let ctx = ctx.clone();
        let parts = move |call: Call| Ok((Spawner::default(), ctx.clone(), call));
        super::spawner::spawn_function(lua, monitor, link, parts).map(Value::Function)
    })
}

/// Adds `name` to the fields made on first use: a function `make` builds from the context.
fn lazy_function<A, R, F>(
    made: &mut Vec<(&'static str, Maker)>,
    name: &'static str,
    context: &SharedContext,
    make: impl Fn(SharedContext) -> F + Send + 'static,
) where
    A: mlua::FromLuaMulti,
    R: mlua::IntoLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<R> + Send + 'static,
{
    let ctx = context.clone();
    made.push((
        name,
        Box::new(move |lua| lua.create_function(make(ctx.clone())).map(Value::Function)),
    ));
}

/// `true`, or `nil, err` (of `kind`).
pub(super) fn result(
    outcome: Result<(), String>,
    kind: &'static str,
) -> (Option<bool>, Option<Failure>) {
    match outcome {
        Ok(()) => (Some(true), None),
        Err(e) => (None, Some(fail(kind, e))),
    }
}

/// Lua's multiple returns as a process result, as Wippy reads them: a second value that is a
/// string (or any other non-nil, non-boolean error value) makes it a failure, so
/// `return nil, err` and `return false, "why"` fail; otherwise the first value is the result.
pub fn outcome_of(values: MultiValue) -> Result<Value, Value> {
    let mut values = values.into_iter();
    let first = values.next().unwrap_or(Value::Nil);
    match values.next() {
        Some(error) if !matches!(error, Value::Nil | Value::Boolean(_)) => Err(error),
        _ => Ok(first),
    }
}
