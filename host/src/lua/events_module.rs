//! `events`, Wippy's event bus module: `events.subscribe(system, kind?)` gives a subscription
//! whose `:channel()` receives `{system, kind, path, data}` for each matching event, and
//! `:close()` ends it; `events.send(system, kind, path, data?)` sends one to every
//! subscriber on the node. The node's registry reloads arrive here as `registry` events.

use mlua::{AnyUserData, Lua, Table, UserData, UserDataMethods, Value};

use super::SharedContext;
use super::channel_module::{Delivery, LuaChannel};
use super::convert::to_payload;
use super::errors_module::{Failure, INVALID, fail};
use crate::process::BusEvent;

struct Subscription {
    context: SharedContext,
    topic: String,
    channel: AnyUserData,
}

impl UserData for Subscription {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, this, ()| Ok(this.channel.clone()));
        methods.add_method("close", |_, this, ()| {
            this.context.node.unsubscribe(&this.topic);
            if let LuaChannel::Mailbox(channel, _) = &*this.channel.borrow::<LuaChannel>()? {
                this.context.mailbox.unlisten(channel);
            }
            Ok(true)
        });
    }
}

/// The named text argument, or the error Wippy gives when it is empty.
fn required(name: &str, value: Option<String>) -> Result<String, Failure> {
    match value {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(fail(INVALID, format!("{name} cannot be empty"))),
    }
}

pub fn create(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let ctx = context.clone();
    module.set(
        "subscribe",
        lua.create_function(
            move |lua, (system, kind): (Option<String>, Option<String>)| {
                let system = match required("system", system) {
                    Ok(system) => system,
                    Err(failure) => return Ok((None, Some(failure))),
                };
                let topic = ctx.node.subscribe(&ctx.pid, &system, kind.as_deref());
                let channel = LuaChannel::Mailbox(ctx.mailbox.listen(&topic), Delivery::Values);
                let subscription = Subscription {
                    context: ctx.clone(),
                    topic,
                    channel: lua.create_userdata(channel)?,
                };
                Ok((Some(lua.create_userdata(subscription)?), None))
            },
        )?,
    )?;
    let ctx = context.clone();
    module.set(
        "send",
        lua.create_function(
            move |_,
                  (system, kind, path, data): (
                Option<String>,
                Option<String>,
                Option<String>,
                Value,
            )| {
                let event = (|| -> Result<BusEvent, Failure> {
                    Ok(BusEvent {
                        system: required("system", system)?,
                        kind: required("kind", kind)?,
                        path: required("path", path)?,
                        data: to_payload(&data).map_err(|e| fail(INVALID, e))?,
                    })
                })();
                Ok(match event {
                    Ok(event) => {
                        ctx.node.publish(event);
                        (Some(true), None)
                    }
                    Err(failure) => (None, Some(failure)),
                })
            },
        )?,
    )?;
    Ok(module)
}
