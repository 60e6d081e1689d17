use std::fmt;

/// A value that crosses between processes: messages, spawn arguments, exit results. Lua
/// states and WASM instances each convert to and from it; WIT values need their type to
/// come back (see [`super::wit_conversion`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Nil,
    Bool(bool),
    Integer(i64),
    Number(f64),
    String(String),
    /// A string that is not UTF-8 (Lua strings are bytes).
    Bytes(Vec<u8>),
    List(Vec<Payload>),
    /// A table that is not a sequence, keys in a stable order.
    Map(Vec<(Payload, Payload)>),
}

impl Payload {
    /// What kind of value this is, as error messages name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Nil => "nil",
            Payload::Bool(_) => "boolean",
            Payload::Integer(_) | Payload::Number(_) => "number",
            Payload::String(_) | Payload::Bytes(_) => "string",
            Payload::List(_) | Payload::Map(_) => "table",
        }
    }

    /// A command-line word as the number, boolean or text it reads as (for core functions,
    /// whose parameters are numbers).
    pub fn from_cli_text(text: &str) -> Payload {
        if let Ok(integer) = text.parse::<i64>() {
            Payload::Integer(integer)
        } else if let Ok(number) = text.parse::<f64>() {
            Payload::Number(number)
        } else {
            match text {
                "true" => Payload::Bool(true),
                "false" => Payload::Bool(false),
                _ => Payload::String(text.to_string()),
            }
        }
    }

    /// The value under a string key of a map.
    pub fn get(&self, key: &str) -> Option<&Payload> {
        match self {
            Payload::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Payload::String(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The CLI's rendering: strings as they are at the top level; inside structures, WAVE-like.
impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Nil => f.write_str("nil"),
            Payload::Bool(b) => write!(f, "{b}"),
            Payload::Integer(i) => write!(f, "{i}"),
            Payload::Number(n) => write!(f, "{n}"),
            Payload::String(s) => write!(f, "{s:?}"),
            Payload::Bytes(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Payload::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Payload::Map(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match key {
                        Payload::String(key) => write!(f, "{key}: {value}")?,
                        other => write!(f, "[{other}]: {value}")?,
                    }
                }
                f.write_str("}")
            }
        }
    }
}

/// Values written in registry files (service `input`).
impl From<&serde_json::Value> for Payload {
    fn from(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Payload::Nil,
            serde_json::Value::Bool(b) => Payload::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Payload::Integer(i),
                None => Payload::Number(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Payload::String(s.clone()),
            serde_json::Value::Array(items) => {
                Payload::List(items.iter().map(Payload::from).collect())
            }
            serde_json::Value::Object(map) => Payload::Map(
                map.iter()
                    .map(|(k, v)| (Payload::String(k.clone()), Payload::from(v)))
                    .collect(),
            ),
        }
    }
}

impl Payload {
    /// As JSON, for guests that speak `wippy:process` (payloads are JSON text there).
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match self {
            Payload::Nil => Value::Null,
            Payload::Bool(b) => Value::Bool(*b),
            Payload::Integer(i) => Value::from(*i),
            Payload::Number(n) => serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .ok_or_else(|| format!("{n} has no JSON form"))?,
            Payload::String(s) => Value::String(s.clone()),
            Payload::Bytes(_) => return Err("a string that is not UTF-8 has no JSON form".into()),
            Payload::List(items) => Value::Array(
                items
                    .iter()
                    .map(Payload::to_json)
                    .collect::<Result<_, _>>()?,
            ),
            Payload::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| match k {
                        Payload::String(key) => Ok((key.clone(), v.to_json()?)),
                        other => Err(format!(
                            "the table key {other} has no JSON form (keys must be strings)"
                        )),
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    pub fn from_json_text(text: &str) -> Result<Payload, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        Ok(Payload::from(&value))
    }
}
