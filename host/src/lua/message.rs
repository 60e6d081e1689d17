//! Messages as Wippy scripts see them: `msg:topic()`, `msg:from()` (`""` when the sender was
//! not a process) and `msg:payload()`, an object whose `:data()` is the value sent (`nil`
//! when nothing was). A payload object can be sent on as it is.

use mlua::{Lua, UserData, UserDataMethods, Value};

use super::convert::from_payload;
use crate::process::Message;
use crate::values::Payload;

pub struct LuaMessage(pub Message);

/// The value a message carries, unconverted until the script asks for it.
#[derive(Clone)]
pub struct LuaPayload(pub Payload);

impl UserData for LuaMessage {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("topic", |_, this, ()| Ok(this.0.topic.clone()));
        methods.add_method("from", |_, this, ()| {
            Ok(this
                .0
                .from
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default())
        });
        methods.add_method("payload", |_, this, ()| {
            Ok(match &this.0.payload {
                Payload::Nil => None,
                payload => Some(LuaPayload(payload.clone())),
            })
        });
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| {
            Ok(format!("process.Message{{topic={}}}", this.0.topic))
        });
    }
}

impl UserData for LuaPayload {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        let data = |lua: &Lua, this: &LuaPayload, ()| -> mlua::Result<Value> {
            from_payload(lua, &this.0)
        };
        methods.add_method("data", data);
        methods.add_method("unmarshal", data);
        methods.add_method("get_format", |_, _, ()| Ok("lua/any"));
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| {
            Ok(format!("payload({})", this.0))
        });
    }
}
