//! `registry` (read-only part of Wippy's module): `parse_id(text)`, `get(id)` and
//! `find(filter)`, each entry a table `{id, kind, meta, data}`. A filter matches `kind`,
//! `type` (= `meta.type`), `meta.<key>` and `meta = {...}`; any other key is a meta key too.

use mlua::{Lua, Table, Value};
use serde_json::Value as Json;

use super::SharedContext;
use super::convert::from_payload;
use super::errors_module::{NOT_FOUND, fail};

use crate::registry::{Entry, EntryId};
use crate::values::Payload;

pub fn create(lua: &Lua, context: &SharedContext) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.set(
        "parse_id",
        lua.create_function(|lua, text: String| {
            let (ns, name) = text.split_once(':').unwrap_or(("", &text));
            let id = lua.create_table()?;
            id.set("ns", ns)?;
            id.set("name", name)?;
            Ok(id)
        })?,
    )?;
    let node = context.node.clone();
    let namespace = context.entry.namespace.clone();
    module.set(
        "get",
        lua.create_function(move |lua, id: String| {
            let id = EntryId::resolve(&id, &namespace);
            Ok(match node.registry().get(&id) {
                Some(entry) => (Some(entry_table(lua, entry)?), None),
                None => (
                    None,
                    Some(fail(NOT_FOUND, format!("entry `{id}` not found"))),
                ),
            })
        })?,
    )?;
    let node = context.node.clone();
    module.set(
        "find",
        lua.create_function(move |lua, filter: Table| {
            let mut wanted: Vec<(String, Json)> = Vec::new();
            for pair in filter.pairs::<String, Value>() {
                let (key, value) = pair?;
                match (key.as_str(), value) {
                    ("meta", Value::Table(meta)) => {
                        for pair in meta.pairs::<String, Value>() {
                            let (key, value) = pair?;
                            wanted.push((format!("meta.{key}"), json(&value)?));
                        }
                    }
                    ("kind", value) => wanted.push((".kind".into(), json(&value)?)),
                    ("type", value) => wanted.push(("meta.type".into(), json(&value)?)),
                    (key, value) if key.starts_with("meta.") || key.starts_with('.') => {
                        wanted.push((key.to_string(), json(&value)?))
                    }
                    (key, value) => wanted.push((format!("meta.{key}"), json(&value)?)),
                }
            }
            let found = lua.create_table()?;
            for entry in node.registry().entries() {
                if wanted
                    .iter()
                    .all(|(key, value)| field(entry, key).as_ref() == Some(value))
                {
                    found.raw_push(entry_table(lua, entry)?)?;
                }
            }
            Ok(found)
        })?,
    )?;
    Ok(module)
}

fn json(value: &Value) -> mlua::Result<Json> {
    let payload = super::convert::to_payload(value).map_err(mlua::Error::runtime)?;
    payload.to_json().map_err(mlua::Error::runtime)
}

/// `.kind`, `.id`, `.ns`, `.name` or `meta.<key>` of an entry.
fn field(entry: &Entry, key: &str) -> Option<Json> {
    Some(match key {
        ".kind" => Json::from(entry.kind.name()),
        ".id" => Json::from(entry.id.to_string()),
        ".ns" => Json::from(entry.id.namespace.as_str()),
        ".name" => Json::from(entry.id.name.as_str()),
        _ => entry.meta.get(key.strip_prefix("meta.")?)?.clone(),
    })
}

fn entry_table(lua: &Lua, entry: &Entry) -> mlua::Result<Value> {
    from_payload(lua, &Payload::from(&entry.description()))
}
