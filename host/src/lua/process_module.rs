//! `process`: this process's identity, spawning and supervision, messaging, the name
//! registry, and receiving. Failures return `nil, err`, as Wippy scripts expect.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::channel_module::LuaChannel;
use super::convert::{envelope_to_lua, from_payload, to_payload};
use super::time_module::duration;
use crate::process::{Pid, ProcessContext, SpawnRequest};
use crate::registry::EntryId;
use crate::values::Payload;

type Outcome = (Value, Option<String>);

fn failure(error: impl Into<String>) -> mlua::Result<Outcome> {
    Ok((Value::Nil, Some(error.into())))
}

fn args_to_payloads(args: &[Value]) -> Result<Vec<Payload>, String> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| to_payload(arg).map_err(|e| format!("argument {}: {e}", i + 1)))
        .collect()
}

fn entry_id(text: &str, context: &ProcessContext) -> EntryId {
    EntryId::resolve(text, &context.entry.namespace)
}

pub fn create(lua: &Lua, context: &ProcessContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let ctx = context.clone();
    module.set(
        "pid",
        lua.create_function(move |_, ()| Ok(ctx.pid.to_string()))?,
    )?;
    let ctx = context.clone();
    module.set(
        "id",
        lua.create_function(move |_, ()| Ok(ctx.entry.to_string()))?,
    )?;

    for (name, monitor, link) in [
        ("spawn", false, false),
        ("spawn_monitored", true, false),
        ("spawn_linked", false, true),
        ("spawn_linked_monitored", true, true),
    ] {
        let ctx = context.clone();
        module.set(
            name,
            lua.create_function(
                move |lua, (id, host, args): (String, String, Variadic<Value>)| {
                    let args = match args_to_payloads(&args) {
                        Ok(args) => args,
                        Err(e) => return failure(e),
                    };
                    let request = SpawnRequest {
                        parent: Some(ctx.pid.clone()),
                        monitor,
                        link,
                        ..SpawnRequest::new(entry_id(&id, &ctx), entry_id(&host, &ctx), args)
                    };
                    match ctx.node.spawn(request) {
                        Ok(spawned) => Ok((
                            Value::String(lua.create_string(spawned.pid.as_str())?),
                            None,
                        )),
                        Err(e) => failure(e),
                    }
                },
            )?,
        )?;
    }

    let ctx = context.clone();
    module.set(
        "exec",
        lua.create_async_function(
            move |lua, (id, host, args): (String, String, Variadic<Value>)| {
                let ctx = ctx.clone();
                async move {
                    let args = match args_to_payloads(&args) {
                        Ok(args) => args,
                        Err(e) => return failure(e),
                    };
                    let request = SpawnRequest {
                        parent: Some(ctx.pid.clone()),
                        ..SpawnRequest::new(entry_id(&id, &ctx), entry_id(&host, &ctx), args)
                    };
                    match ctx.node.exec(request).await {
                        Ok(value) => Ok((from_payload(&lua, &value)?, None)),
                        Err(e) => failure(e),
                    }
                }
            },
        )?,
    )?;

    let ctx = context.clone();
    module.set(
        "send",
        lua.create_function(
            move |_, (dest, topic, payload): (String, String, Variadic<Value>)| {
                let payload = match payload.len() {
                    0 => Ok(Payload::Nil),
                    1 => to_payload(&payload[0]),
                    _ => args_to_payloads(&payload).map(Payload::List),
                };
                let payload = match payload {
                    Ok(payload) => payload,
                    Err(e) => return Ok((false, Some(e))),
                };
                match ctx.node.send(Some(&ctx.pid), &dest, &topic, payload) {
                    Ok(()) => Ok((true, None)),
                    Err(e) => Ok((false, Some(e))),
                }
            },
        )?,
    )?;

    let ctx = context.clone();
    module.set(
        "terminate",
        lua.create_function(move |_, dest: String| Ok(result(ctx.node.terminate(&dest))))?,
    )?;
    let ctx = context.clone();
    module.set(
        "cancel",
        lua.create_function(move |_, (dest, reason): (String, Option<String>)| {
            Ok(result(ctx.node.cancel(
                Some(&ctx.pid),
                &dest,
                reason.as_deref().unwrap_or("cancelled"),
            )))
        })?,
    )?;
    for (name, on) in [("monitor", true), ("unmonitor", false)] {
        let ctx = context.clone();
        module.set(
            name,
            lua.create_function(move |_, dest: String| {
                Ok(result(ctx.node.monitor(&ctx.pid, &dest, on)))
            })?,
        )?;
    }
    for (name, on) in [("link", true), ("unlink", false)] {
        let ctx = context.clone();
        module.set(
            name,
            lua.create_function(move |_, dest: String| {
                Ok(result(ctx.node.link(&ctx.pid, &dest, on)))
            })?,
        )?;
    }

    let ctx = context.clone();
    module.set(
        "inbox",
        lua.create_function(move |_, ()| Ok(LuaChannel::Mailbox(ctx.mailbox.inbox.clone())))?,
    )?;
    let ctx = context.clone();
    module.set(
        "events",
        lua.create_function(move |_, ()| Ok(LuaChannel::Mailbox(ctx.mailbox.events.clone())))?,
    )?;
    let ctx = context.clone();
    module.set(
        "listen",
        lua.create_function(move |_, topic: String| {
            Ok(LuaChannel::Mailbox(ctx.mailbox.listen(&topic)))
        })?,
    )?;
    let ctx = context.clone();
    module.set(
        "receive",
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
                    Some(envelope) => envelope_to_lua(&lua, &envelope),
                    None => Ok(Value::Nil),
                }
            }
        })?,
    )?;

    let ctx = context.clone();
    module.set(
        "get_options",
        lua.create_function(move |lua, ()| {
            let options = lua.create_table()?;
            options.set("trap_links", ctx.mailbox.trap_links())?;
            Ok(options)
        })?,
    )?;
    let ctx = context.clone();
    module.set(
        "set_options",
        lua.create_function(move |_, options: Table| {
            if let Some(trap) = options.get::<Option<bool>>("trap_links")? {
                ctx.mailbox.set_trap_links(trap);
            }
            Ok(true)
        })?,
    )?;

    module.set("registry", registry_table(lua, context)?)?;

    let events = lua.create_table()?;
    events.set("EXIT", "pid.exit")?;
    events.set("LINK_DOWN", "pid.link.down")?;
    events.set("CANCEL", "pid.cancel")?;
    module.set("event", events)?;
    Ok(module)
}

fn result(outcome: Result<(), String>) -> (bool, Option<String>) {
    match outcome {
        Ok(()) => (true, None),
        Err(e) => (false, Some(e)),
    }
}

fn registry_table(lua: &Lua, context: &ProcessContext) -> mlua::Result<Table> {
    let registry = lua.create_table()?;
    let ctx = context.clone();
    registry.set(
        "register",
        lua.create_function(move |_, (name, pid): (String, Option<String>)| {
            let pid = match pid {
                Some(text) => match Pid::parse(&text) {
                    Some(pid) => pid,
                    None => return Ok((false, Some(format!("`{text}` is not a pid")))),
                },
                None => ctx.pid.clone(),
            };
            Ok(result(ctx.node.register(&name, &pid)))
        })?,
    )?;
    let ctx = context.clone();
    registry.set(
        "lookup",
        lua.create_function(move |_, name: String| {
            Ok(ctx.node.lookup(&name).map(|p| p.to_string()))
        })?,
    )?;
    let ctx = context.clone();
    registry.set(
        "unregister",
        lua.create_function(move |_, name: String| Ok(ctx.node.unregister(&name, &ctx.pid)))?,
    )?;
    Ok(registry)
}

/// Lua's multiple returns `(value, err)` as a process result.
pub fn outcome_of(values: MultiValue) -> Result<Value, Value> {
    let mut values = values.into_iter();
    let first = values.next().unwrap_or(Value::Nil);
    match values.next() {
        Some(error) if first.is_nil() && !error.is_nil() => Err(error),
        _ => Ok(first),
    }
}
