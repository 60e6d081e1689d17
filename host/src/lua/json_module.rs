//! `json`: `encode(v)` → text or `nil, err`; `decode(text)` → value or `nil, err`, as Wippy's
//! module does it: a table with keys 1..n is an array, one with string keys an object, `{}`
//! is `[]`; whole numbers are written without a decimal point; `null` decodes to `nil`.
//! Objects are written with their keys sorted, so the same table always gives the same text.

use mlua::{Lua, Table, Value};

use super::errors_module::{INTERNAL, INVALID, fail};
use serde_json::{Map, Number};

/// Deeper nesting is refused (a table that contains itself would otherwise never end).
const MAX_DEPTH: usize = 128;

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.set(
        "encode",
        lua.create_function(|_, value: Value| {
            Ok(match encode(&value, 0) {
                Ok(json) => (Some(json.to_string()), None),
                Err(error) => (
                    None,
                    Some(fail(INTERNAL, format!("encode failed: {error}"))),
                ),
            })
        })?,
    )?;
    module.set(
        "decode",
        lua.create_function(|lua, text: Value| {
            let text = match &text {
                Value::String(text) => text.to_str()?.to_string(),
                other => {
                    return Ok((
                        Value::Nil,
                        Some(fail(
                            INVALID,
                            format!("string expected, got {}", other.type_name()),
                        )),
                    ));
                }
            };
            if text.trim().is_empty() {
                return Ok((
                    Value::Nil,
                    Some(fail(INVALID, "empty string is not valid JSON")),
                ));
            }
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(json) => Ok((decode(lua, &json)?, None)),
                Err(error) => Ok((
                    Value::Nil,
                    Some(fail(INTERNAL, format!("decode failed: {error}"))),
                )),
            }
        })?,
    )?;
    Ok(module)
}

fn encode(value: &Value, depth: usize) -> Result<serde_json::Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "nested deeper than {MAX_DEPTH} levels (does a table contain itself?)"
        ));
    }
    Ok(match value {
        Value::Nil => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
            serde_json::Value::from(*n as i64)
        }
        Value::Number(n) => {
            Number::from_f64(*n).map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        Value::String(s) => serde_json::Value::String(s.to_string_lossy()),
        Value::Table(table) => encode_table(table, depth)?,
        // Functions, threads and userdata have no JSON form.
        _ => serde_json::Value::Null,
    })
}

fn encode_table(table: &Table, depth: usize) -> Result<serde_json::Value, String> {
    let mut integer_keys = Vec::new();
    let mut object = Map::new();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        match key {
            Value::Integer(i) => integer_keys.push((i, value)),
            Value::String(key) => {
                object.insert(key.to_string_lossy(), encode(&value, depth + 1)?);
            }
            other => {
                return Err(format!(
                    "a table key of type {} cannot be a JSON key",
                    other.type_name()
                ));
            }
        }
    }
    match (integer_keys.is_empty(), object.is_empty()) {
        (true, _) if !object.is_empty() => Ok(serde_json::Value::Object(sorted(object))),
        (true, _) => Ok(serde_json::Value::Array(Vec::new())),
        (false, false) => {
            Err("cannot encode mixed-key table: it has both numeric and string keys".into())
        }
        (false, true) => {
            integer_keys.sort_by_key(|(i, _)| *i);
            let is_sequence = integer_keys
                .iter()
                .enumerate()
                .all(|(n, (i, _))| *i == n as i64 + 1);
            if !is_sequence {
                return Err("cannot encode sparse array: its keys are not 1..n".into());
            }
            let items = (integer_keys.iter())
                .map(|(_, value)| encode(value, depth + 1))
                .collect::<Result<_, _>>()?;
            Ok(serde_json::Value::Array(items))
        }
    }
}

fn sorted(object: Map<String, serde_json::Value>) -> Map<String, serde_json::Value> {
    let mut entries: Vec<_> = object.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

fn decode(lua: &Lua, json: &serde_json::Value) -> mlua::Result<Value> {
    Ok(match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, decode(lua, item)?)?;
            }
            Value::Table(table)
        }
        serde_json::Value::Object(members) => {
            let table = lua.create_table_with_capacity(0, members.len())?;
            for (key, value) in members {
                table.raw_set(key.as_str(), decode(lua, value)?)?;
            }
            Value::Table(table)
        }
    })
}
