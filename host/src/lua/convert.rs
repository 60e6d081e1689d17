//! Lua values ⇄ payloads, and mailbox envelopes as the tables scripts see.

use mlua::{Lua, Table, Value};

use super::message::{LuaMessage, LuaPayload};
use crate::process::{Envelope, Event};
use crate::values::Payload;

/// How deep a table may nest before it is refused (a table that contains itself would
/// otherwise never end).
const MAX_DEPTH: usize = 64;

pub fn to_payload(value: &Value) -> Result<Payload, String> {
    convert(value, 0)
}

fn convert(value: &Value, depth: usize) -> Result<Payload, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "a table nests deeper than {MAX_DEPTH} levels (does it contain itself?)"
        ));
    }
    Ok(match value {
        Value::Nil => Payload::Nil,
        Value::Boolean(b) => Payload::Bool(*b),
        Value::Integer(i) => Payload::Integer(*i),
        Value::Number(n) => Payload::Number(*n),
        Value::String(s) => match s.to_str() {
            Ok(text) => Payload::String(text.to_string()),
            Err(_) => Payload::Bytes(s.as_bytes().to_vec()),
        },
        Value::Table(table) => table_to_payload(table, depth)?,
        Value::UserData(data) => match data.borrow::<LuaPayload>() {
            Ok(payload) => payload.0.clone(),
            Err(_) => match super::errors_module::as_error_text(value) {
                // An error object travels as its text.
                Some(text) => Payload::String(text),
                None => {
                    return Err("userdata (a channel?) cannot be sent to another process".into());
                }
            },
        },
        Value::Function(_) => return Err("functions cannot be sent to another process".into()),
        other => {
            return Err(format!(
                "a {} cannot be sent to another process",
                other.type_name()
            ));
        }
    })
}

fn table_to_payload(table: &Table, depth: usize) -> Result<Payload, String> {
    let length = table.raw_len();
    let mut pairs = Vec::new();
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        pairs.push((key, value));
    }
    let is_sequence = pairs.len() == length
        && pairs
            .iter()
            .all(|(k, _)| matches!(k, Value::Integer(i) if *i >= 1 && (*i as usize) <= length));
    if is_sequence && length > 0 {
        let mut items = vec![Payload::Nil; length];
        for (key, value) in &pairs {
            if let Value::Integer(i) = key {
                items[*i as usize - 1] = convert(value, depth + 1)?;
            }
        }
        return Ok(Payload::List(items));
    }
    let mut entries = Vec::with_capacity(pairs.len());
    for (key, value) in &pairs {
        entries.push((convert(key, depth + 1)?, convert(value, depth + 1)?));
    }
    // Lua's iteration order is arbitrary; a stable order keeps results reproducible.
    entries.sort_by_key(|entry| entry.0.to_string());
    Ok(Payload::Map(entries))
}

pub fn from_payload(lua: &Lua, payload: &Payload) -> mlua::Result<Value> {
    Ok(match payload {
        Payload::Nil => Value::Nil,
        Payload::Bool(b) => Value::Boolean(*b),
        Payload::Integer(i) => Value::Integer(*i),
        Payload::Number(n) => Value::Number(*n),
        Payload::String(s) => Value::String(lua.create_string(s)?),
        Payload::Bytes(b) => Value::String(lua.create_string(b)?),
        Payload::List(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for item in items {
                table.raw_push(from_payload(lua, item)?)?;
            }
            Value::Table(table)
        }
        Payload::Map(entries) => {
            let table = lua.create_table_with_capacity(0, entries.len())?;
            for (key, value) in entries {
                table.raw_set(from_payload(lua, key)?, from_payload(lua, value)?)?;
            }
            Value::Table(table)
        }
    })
}

/// Events are tables `{kind, type, from, at, ...}`; messages are message objects
/// (`msg:topic()`, `msg:from()`, `msg:payload():data()`), as in Wippy.
pub fn envelope_to_lua(lua: &Lua, envelope: &Envelope) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    match envelope {
        Envelope::Message(message) => {
            return Ok(Value::UserData(
                lua.create_userdata(LuaMessage(message.clone()))?,
            ));
        }
        Envelope::Event(Event::Exit {
            from,
            at,
            value,
            error,
        }) => {
            table.set("kind", "pid.exit")?;
            table.set("type", "EXIT")?;
            table.set("from", from.to_string())?;
            table.set("at", *at)?;
            let value = from_payload(lua, value)?;
            let result = lua.create_table()?;
            result.set("value", value.clone())?;
            result.set("error", error.as_deref())?;
            table.set("result", result)?;
            table.set("value", value)?;
            table.set("error", error.as_deref())?;
        }
        Envelope::Event(Event::LinkDown { from, at, error }) => {
            table.set("kind", "pid.link.down")?;
            table.set("type", "LINK_DOWN")?;
            table.set("from", from.to_string())?;
            table.set("at", *at)?;
            let result = lua.create_table()?;
            result.set("error", error.as_str())?;
            table.set("result", result)?;
            table.set("value", Value::Nil)?;
            table.set("error", error.as_str())?;
        }
        Envelope::Event(Event::Cancel { from, at, reason }) => {
            table.set("kind", "pid.cancel")?;
            table.set("type", "CANCEL")?;
            table.set("from", from.as_ref().map(|p| p.to_string()))?;
            table.set("at", *at)?;
            table.set("reason", reason.as_str())?;
        }
    }
    Ok(Value::Table(table))
}
