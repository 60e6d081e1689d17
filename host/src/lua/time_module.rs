//! `time`: `now()`, `sleep(d)`, `after(d)` (a channel), `seconds(n)`, `milliseconds(n)`,
//! `parse_duration("1.5s")`. Durations are numbers of nanoseconds or strings like `"3s"`.

use std::time::Duration;

use mlua::{Lua, Table, Value};

use super::channel_module::LuaChannel;
use super::lazy::{self, Maker};
use crate::process::channel::Channel;
use crate::process::now_nanos;
use crate::values::parse_duration;

/// A duration argument: nanoseconds as a number, or text.
pub fn duration(value: &Value) -> mlua::Result<Duration> {
    match value {
        Value::Integer(n) if *n >= 0 => Ok(Duration::from_nanos(*n as u64)),
        Value::Number(n) if *n >= 0.0 => Ok(Duration::from_nanos(*n as u64)),
        Value::String(text) => parse_duration(&text.to_str()?).map_err(mlua::Error::runtime),
        other => Err(mlua::Error::runtime(format!(
            "expected a duration (nanoseconds, or text like \"1.5s\"), got {}",
            match other {
                Value::Integer(n) => n.to_string(),
                Value::Number(n) => n.to_string(),
                other => other.type_name().to_string(),
            }
        ))),
    }
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.set("now", lua.create_function(|_, ()| Ok(now_nanos()))?)?;
    let sleep: Maker = Box::new(|lua| {
        lua.create_async_function(|_, d: Value| async move {
            tokio::time::sleep(duration(&d)?).await;
            Ok(())
        })
        .map(Value::Function)
    });
    lazy::fields(lua, &module, vec![("sleep", sleep)])?;
    module.set(
        "after",
        lua.create_function(|_, d: Value| {
            let delay = duration(&d)?;
            let channel = Channel::bounded(1);
            let sender = channel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = sender.try_send(Value::Integer(now_nanos()));
            });
            Ok(LuaChannel::Local(channel))
        })?,
    )?;
    module.set(
        "seconds",
        lua.create_function(|_, n: f64| Ok((n * 1e9) as i64))?,
    )?;
    module.set(
        "milliseconds",
        lua.create_function(|_, n: f64| Ok((n * 1e6) as i64))?,
    )?;
    module.set(
        "parse_duration",
        lua.create_function(|_, text: String| {
            parse_duration(&text)
                .map(|d| d.as_nanos() as i64)
                .map_err(mlua::Error::runtime)
        })?,
    )?;
    Ok(module)
}
