//! Lua values ⇄ payloads, and mailbox envelopes as the tables scripts see.

use mlua::{Function, Lua, Table, Value};

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
pub fn envelope_to_lua(lua: &Lua, envelope: Envelope) -> mlua::Result<Value> {
    let event = match envelope {
        Envelope::Message(message) => {
            return Ok(Value::UserData(lua.create_userdata(LuaMessage(message))?));
        }
        Envelope::Event(event) => event,
    };
    let build = event_builder(lua)?;
    match event {
        Event::Exit {
            from,
            at,
            value,
            error,
        } => build.call((
            1,
            from.to_string(),
            at,
            from_payload(lua, &value)?,
            error.as_deref(),
        )),
        Event::LinkDown { from, at, error } => {
            build.call((2, from.to_string(), at, Value::Nil, error.as_str()))
        }
        Event::Cancel { from, at, reason } => build.call((
            3,
            from.as_ref().map(|p| p.to_string()),
            at,
            Value::Nil,
            reason.as_str(),
        )),
    }
}

/// The state's event-table constructor, made on first use.
///
/// An event table made field by field from Rust costs two protected calls per field (a
/// memory-limited state guards every string and every set against allocation failure):
/// a seventh of a spawn-and-collect loop. In Lua it is one call.
fn event_builder(lua: &Lua) -> mlua::Result<Function> {
    struct EventBuilder(Function);
    if let Some(builder) = lua.app_data_ref::<EventBuilder>() {
        return Ok(builder.0.clone());
    }
    let builder: Function = super::sandbox::trusted(lua, "events", EVENTS)?.call(())?;
    lua.set_app_data(EventBuilder(builder.clone()));
    Ok(builder)
}

const EVENTS: &str = r#"
return function(kind, from, at, value, err)
  if kind == 1 then
    return {kind = "pid.exit", type = "EXIT", from = from, at = at,
            result = {value = value, error = err}, value = value, error = err}
  elseif kind == 2 then
    return {kind = "pid.link.down", type = "LINK_DOWN", from = from, at = at,
            result = {error = err}, error = err}
  end
  return {kind = "pid.cancel", type = "CANCEL", from = from, at = at, reason = err}
end
"#;
