//! `channel`: `new(n)`, `:send`, `:receive`, `:close`, `:case_send`, `:case_receive`, and
//! `channel.select{...}` → `{channel, value, ok}`. The process's events, inbox and topic
//! channels are channels too, so scripts select over them and their own alike.

use std::pin::Pin;

use futures_util::future::select_all;
use mlua::{AnyUserData, Lua, Table, UserData, UserDataMethods, Value};

use super::convert::{envelope_to_lua, from_payload};
use super::lazy::{self, Maker};
use crate::process::Envelope;
use crate::process::channel::{Attempt, Channel};

#[derive(Clone)]
pub enum LuaChannel {
    /// Made by a script: carries Lua values.
    Local(Channel<Value>),
    /// A mailbox channel: carries messages and events, turned into Lua values when received.
    Mailbox(Channel<Envelope>, Delivery),
}

/// How a mailbox channel hands over messages: as message objects (`inbox()`,
/// `listen(topic, {message = true})`), or as the bare value sent (`listen(topic)`, as in Wippy).
#[derive(Clone, Copy)]
pub enum Delivery {
    Objects,
    Values,
}

/// One arm of a `select`.
pub struct Case {
    channel: AnyUserData,
    send: Option<Value>,
}

impl UserData for Case {}

impl LuaChannel {
    fn try_recv(&self, lua: &Lua) -> mlua::Result<Attempt<Value>> {
        Ok(match self {
            LuaChannel::Local(channel) => channel.try_recv(),
            LuaChannel::Mailbox(channel, delivery) => match channel.try_recv() {
                Attempt::Done(Envelope::Message(message))
                    if matches!(delivery, Delivery::Values) =>
                {
                    Attempt::Done(from_payload(lua, &message.payload)?)
                }
                Attempt::Done(envelope) => Attempt::Done(envelope_to_lua(lua, envelope)?),
                Attempt::Closed => Attempt::Closed,
                Attempt::WouldBlock => Attempt::WouldBlock,
            },
        })
    }

    fn try_send(&self, value: Value) -> mlua::Result<Attempt<()>> {
        match self {
            LuaChannel::Local(channel) => Ok(match channel.try_send(value) {
                Ok(()) => Attempt::Done(()),
                Err((_, attempt)) => attempt,
            }),
            LuaChannel::Mailbox(..) => Err(mlua::Error::runtime(
                "this channel belongs to the process's mailbox: use process.send to message a process",
            )),
        }
    }

    fn close(&self) {
        match self {
            LuaChannel::Local(channel) => channel.close(),
            LuaChannel::Mailbox(channel, _) => channel.close(),
        }
    }

    fn changed(&self) -> Pin<Box<tokio::sync::futures::Notified<'_>>> {
        let mut notified = Box::pin(match self {
            LuaChannel::Local(channel) => channel.changed(),
            LuaChannel::Mailbox(channel, _) => channel.changed(),
        });
        notified.as_mut().enable();
        notified
    }
}

impl UserData for LuaChannel {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("send", |_, this, value: Value| async move {
            match &*this {
                LuaChannel::Local(channel) => Ok(channel.send(value).await.is_ok()),
                LuaChannel::Mailbox(..) => Err(mlua::Error::runtime(
                    "this channel belongs to the process's mailbox: use process.send to message a process",
                )),
            }
        });
        methods.add_async_method("receive", |lua, this, ()| async move {
            let channel = this.clone();
            loop {
                let notified = channel.changed();
                match channel.try_recv(&lua)? {
                    Attempt::Done(value) => return Ok((value, true)),
                    Attempt::Closed => return Ok((Value::Nil, false)),
                    Attempt::WouldBlock => notified.await,
                }
            }
        });
        // Two handles on one channel (`process.events()` called twice) are equal.
        methods.add_meta_method(mlua::MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(match (this, &*other.borrow::<LuaChannel>()?) {
                (LuaChannel::Local(a), LuaChannel::Local(b)) => a.same(b),
                (LuaChannel::Mailbox(a, _), LuaChannel::Mailbox(b, _)) => a.same(b),
                _ => false,
            })
        });
        methods.add_method("close", |_, this, ()| {
            this.close();
            Ok(())
        });
        methods.add_function("case_send", |_, (this, value): (AnyUserData, Value)| {
            Ok(Case {
                channel: this,
                send: Some(value),
            })
        });
        methods.add_function("case_receive", |_, this: AnyUserData| {
            Ok(Case {
                channel: this,
                send: None,
            })
        });
    }
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.set(
        "new",
        lua.create_function(|_, capacity: Option<usize>| {
            Ok(LuaChannel::Local(Channel::bounded(capacity.unwrap_or(0))))
        })?,
    )?;
    let select: Maker = Box::new(|lua| lua.create_async_function(select).map(Value::Function));
    lazy::fields(lua, &module, vec![("select", select)])?;
    Ok(module)
}

/// Waits until one case can proceed and takes it; with `default = true` in the table,
/// returns `{default = true}` at once when none can.
async fn select(lua: Lua, cases: Table) -> mlua::Result<Table> {
    let has_default = cases.get::<Option<bool>>("default")?.unwrap_or(false);
    let mut arms = Vec::new();
    for case in cases.sequence_values::<AnyUserData>() {
        let case = case?;
        let case = case.borrow::<Case>()?;
        let channel = case.channel.borrow::<LuaChannel>()?.clone();
        arms.push((case.channel.clone(), channel, case.send.clone()));
    }
    if arms.is_empty() && !has_default {
        return Err(mlua::Error::runtime(
            "channel.select needs at least one case",
        ));
    }
    loop {
        let waits: Vec<_> = arms
            .iter()
            .map(|(_, channel, _)| channel.changed())
            .collect();
        for (handle, channel, send) in &arms {
            let outcome = match send {
                Some(value) => match channel.try_send(value.clone())? {
                    Attempt::Done(()) => Some((Value::Nil, true)),
                    Attempt::Closed => Some((Value::Nil, false)),
                    Attempt::WouldBlock => None,
                },
                None => match channel.try_recv(&lua)? {
                    Attempt::Done(value) => Some((value, true)),
                    Attempt::Closed => Some((Value::Nil, false)),
                    Attempt::WouldBlock => None,
                },
            };
            if let Some((value, ok)) = outcome {
                let result = lua.create_table()?;
                result.set("channel", handle.clone())?;
                result.set("value", value)?;
                result.set("ok", ok)?;
                return Ok(result);
            }
        }
        if has_default {
            let result = lua.create_table()?;
            result.set("default", true)?;
            return Ok(result);
        }
        select_all(waits).await;
    }
}
