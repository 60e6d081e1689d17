//! WIT values ⇄ [`Payload`], following DESIGN.md §4: records are maps with kebab-case keys
//! (snake_case accepted on input), options are nil or the value, results `{ok = v}` /
//! `{err = e}`, variants `{case = payload}`, enums their case name, flags a list of names.
//! Conversions are checked; errors name the parameter and the path inside it.

use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val};

use super::Payload;
use super::output::type_name;

/// The arguments of a call, typed by the function's parameters.
pub fn payloads_to_args(func: &ComponentFunc, args: &[Payload]) -> Result<Vec<Val>, String> {
    let params: Vec<(&str, Type)> = func.params().collect();
    if params.len() != args.len() {
        return Err(format!(
            "expected {} argument{}, got {}",
            params.len(),
            if params.len() == 1 { "" } else { "s" },
            args.len()
        ));
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, ((name, ty), arg))| to_val(ty, arg).map_err(|e| e.at_param(i + 1, name)))
        .collect()
}

/// Where a conversion failed and why.
#[derive(Debug)]
pub struct ConversionError {
    /// Innermost first; reversed when shown.
    path: Vec<String>,
    message: String,
}

impl ConversionError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            path: Vec::new(),
            message: message.into(),
        }
    }

    fn within(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    fn path(&self) -> String {
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            if !segment.starts_with('[') && !path.is_empty() {
                path.push('.');
            }
            path.push_str(segment);
        }
        path
    }

    /// `param 1 users[2].tags: expected list<string>, got number`.
    pub fn at_param(&self, index: usize, name: &str) -> String {
        let path = self.path();
        if path.is_empty() {
            format!("param {index} ({name}): {}", self.message)
        } else {
            format!("param {index} ({name}) {path}: {}", self.message)
        }
    }
}

impl std::fmt::Display for ConversionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path();
        if path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{path}: {}", self.message)
        }
    }
}

fn mismatch(ty: &Type, got: &Payload) -> ConversionError {
    ConversionError::new(format!("expected {}, got {}", type_name(ty), describe(got)))
}

fn describe(value: &Payload) -> String {
    match value {
        Payload::Integer(i) => format!("number {i}"),
        Payload::Number(n) => format!("number {n}"),
        Payload::String(s) if s.chars().count() <= 20 => format!("string {s:?}"),
        other => other.kind().to_string(),
    }
}

fn integer<T: TryFrom<i64>>(ty: &Type, value: &Payload) -> Result<T, ConversionError> {
    let n = match value {
        Payload::Integer(i) => *i,
        Payload::Number(f) if f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64 => {
            *f as i64
        }
        Payload::Number(f) => {
            return Err(ConversionError::new(format!(
                "expected {}, got number {f}, which is not a whole number in range",
                type_name(ty)
            )));
        }
        other => return Err(mismatch(ty, other)),
    };
    T::try_from(n)
        .map_err(|_| ConversionError::new(format!("{n} is out of range for {}", type_name(ty))))
}

/// Lua strings and tables both map onto `list<u8>`.
fn bytes_list(value: &Payload) -> Option<Vec<Val>> {
    match value {
        Payload::String(s) => Some(s.bytes().map(Val::U8).collect()),
        Payload::Bytes(b) => Some(b.iter().copied().map(Val::U8).collect()),
        _ => None,
    }
}

fn sequence<'a>(ty: &Type, value: &'a Payload) -> Result<&'a [Payload], ConversionError> {
    match value {
        Payload::List(items) => Ok(items),
        Payload::Map(entries) if entries.is_empty() => Ok(&[]),
        other => Err(mismatch(ty, other)),
    }
}

/// A single-key map `{name = payload}` (or just `"name"`, for cases without payload).
fn tagged<'a>(
    ty: &Type,
    value: &'a Payload,
) -> Result<(&'a str, Option<&'a Payload>), ConversionError> {
    match value {
        Payload::String(name) => Ok((name, None)),
        Payload::Map(entries) if entries.len() == 1 => match &entries[0] {
            (Payload::String(name), payload) => Ok((name, Some(payload))),
            _ => Err(mismatch(ty, value)),
        },
        other => Err(mismatch(ty, other)),
    }
}

pub fn to_val(ty: &Type, value: &Payload) -> Result<Val, ConversionError> {
    Ok(match ty {
        Type::Bool => match value {
            Payload::Bool(b) => Val::Bool(*b),
            other => return Err(mismatch(ty, other)),
        },
        Type::S8 => Val::S8(integer(ty, value)?),
        Type::U8 => Val::U8(integer(ty, value)?),
        Type::S16 => Val::S16(integer(ty, value)?),
        Type::U16 => Val::U16(integer(ty, value)?),
        Type::S32 => Val::S32(integer(ty, value)?),
        Type::U32 => Val::U32(integer(ty, value)?),
        Type::S64 => Val::S64(integer(ty, value)?),
        Type::U64 => Val::U64(integer(ty, value)?),
        Type::Float32 => Val::Float32(float(ty, value)? as f32),
        Type::Float64 => Val::Float64(float(ty, value)?),
        Type::Char => match value {
            Payload::String(s) if s.chars().count() == 1 => Val::Char(s.chars().next().unwrap()),
            other => {
                return Err(ConversionError::new(format!(
                    "expected char (a 1-character string), got {}",
                    describe(other)
                )));
            }
        },
        Type::String => match value {
            Payload::String(s) => Val::String(s.clone()),
            other => return Err(mismatch(ty, other)),
        },
        Type::List(list) => {
            let element = list.ty();
            if matches!(element, Type::U8)
                && let Some(bytes) = bytes_list(value)
            {
                return Ok(Val::List(bytes));
            }
            let items = sequence(ty, value)?;
            Val::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        to_val(&element, item).map_err(|e| e.within(format!("[{}]", i + 1)))
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Record(record) => {
            let Payload::Map(_) = value else {
                return Err(mismatch(ty, value));
            };
            let mut fields = Vec::new();
            for field in record.fields() {
                let snake = field.name.replace('-', "_");
                let given = value
                    .get(field.name)
                    .or_else(|| value.get(&snake))
                    .unwrap_or(&Payload::Nil);
                if matches!(given, Payload::Nil) && !matches!(field.ty, Type::Option(_)) {
                    return Err(ConversionError::new(format!(
                        "missing field `{}` ({})",
                        field.name,
                        type_name(&field.ty)
                    )));
                }
                let converted =
                    to_val(&field.ty, given).map_err(|e| e.within(field.name.to_string()))?;
                fields.push((field.name.to_string(), converted));
            }
            if let Payload::Map(entries) = value {
                for (key, _) in entries {
                    let known = matches!(key, Payload::String(k) if record.fields().any(|f| f.name == k || f.name.replace('-', "_") == *k));
                    if !known {
                        return Err(ConversionError::new(format!(
                            "unknown field {} for {}",
                            key,
                            type_name(ty)
                        )));
                    }
                }
            }
            Val::Record(fields)
        }
        Type::Tuple(tuple) => {
            let items = sequence(ty, value)?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(ConversionError::new(format!(
                    "expected {} ({} elements), got {} elements",
                    type_name(ty),
                    types.len(),
                    items.len()
                )));
            }
            Val::Tuple(
                types
                    .iter()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, item))| {
                        to_val(t, item).map_err(|e| e.within(format!("[{}]", i + 1)))
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let (name, payload) = tagged(ty, value)?;
            let Some(case) = variant.cases().find(|c| c.name == name) else {
                let cases: Vec<&str> = variant.cases().map(|c| c.name).collect();
                return Err(ConversionError::new(format!(
                    "`{name}` is not a case of {}; cases: {}",
                    type_name(ty),
                    cases.join(", ")
                )));
            };
            let payload = match (&case.ty, payload) {
                (Some(t), Some(p)) => Some(Box::new(
                    to_val(t, p).map_err(|e| e.within(name.to_string()))?,
                )),
                (Some(t), None) => {
                    return Err(ConversionError::new(format!(
                        "case `{name}` needs a payload of type {}",
                        type_name(t)
                    )));
                }
                (None, _) => None,
            };
            Val::Variant(case.name.to_string(), payload)
        }
        Type::Enum(cases) => match value {
            Payload::String(name) if cases.names().any(|c| c == name) => Val::Enum(name.clone()),
            other => {
                let names: Vec<&str> = cases.names().collect();
                return Err(ConversionError::new(format!(
                    "expected one of {}, got {}",
                    names.join(", "),
                    describe(other)
                )));
            }
        },
        Type::Option(option) => match value {
            Payload::Nil => Val::Option(None),
            some => Val::Option(Some(Box::new(to_val(&option.ty(), some)?))),
        },
        Type::Result(result) => {
            let (arm, payload) = tagged(ty, value)?;
            let (arm_type, ok) = match arm {
                "ok" => (result.ok(), true),
                "err" => (result.err(), false),
                other => {
                    return Err(ConversionError::new(format!(
                        "expected {{ok = ...}} or {{err = ...}}, got key `{other}`"
                    )));
                }
            };
            let converted = match (arm_type, payload) {
                (Some(t), Some(p)) => Some(Box::new(
                    to_val(&t, p).map_err(|e| e.within(arm.to_string()))?,
                )),
                (Some(t), None) => {
                    return Err(ConversionError::new(format!(
                        "`{arm}` needs a payload of type {}",
                        type_name(&t)
                    )));
                }
                (None, _) => None,
            };
            Val::Result(if ok { Ok(converted) } else { Err(converted) })
        }
        Type::Flags(flags) => {
            let items = sequence(ty, value)?;
            let mut set = Vec::new();
            for item in items {
                match item {
                    Payload::String(name) if flags.names().any(|f| f == name) => {
                        set.push(name.clone())
                    }
                    other => {
                        let names: Vec<&str> = flags.names().collect();
                        return Err(ConversionError::new(format!(
                            "expected flags from {}, got {}",
                            names.join(", "),
                            describe(other)
                        )));
                    }
                }
            }
            Val::Flags(set)
        }
        other => {
            return Err(ConversionError::new(format!(
                "values of type {} cannot be passed from outside",
                type_name(other)
            )));
        }
    })
}

fn float(ty: &Type, value: &Payload) -> Result<f64, ConversionError> {
    match value {
        Payload::Number(n) => Ok(*n),
        Payload::Integer(i) => Ok(*i as f64),
        other => Err(mismatch(ty, other)),
    }
}

/// A WIT value as a payload. Fails only for u64 values above i64::MAX (Lua integers are
/// signed 64-bit; wrapping them would change the number) and for handles.
pub fn from_val(value: &Val) -> Result<Payload, ConversionError> {
    Ok(match value {
        Val::Bool(b) => Payload::Bool(*b),
        Val::S8(n) => Payload::Integer((*n).into()),
        Val::U8(n) => Payload::Integer((*n).into()),
        Val::S16(n) => Payload::Integer((*n).into()),
        Val::U16(n) => Payload::Integer((*n).into()),
        Val::S32(n) => Payload::Integer((*n).into()),
        Val::U32(n) => Payload::Integer((*n).into()),
        Val::S64(n) => Payload::Integer(*n),
        Val::U64(n) => Payload::Integer(i64::try_from(*n).map_err(|_| {
            ConversionError::new(format!(
                "u64 {n} does not fit a Lua integer (at most {})",
                i64::MAX
            ))
        })?),
        Val::Float32(f) => Payload::Number((*f).into()),
        Val::Float64(f) => Payload::Number(*f),
        Val::Char(c) => Payload::String(c.to_string()),
        Val::String(s) => Payload::String(s.clone()),
        Val::List(items) | Val::FixedLengthList(items) | Val::Tuple(items) => Payload::List(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| from_val(v).map_err(|e| e.within(format!("[{}]", i + 1))))
                .collect::<Result<_, _>>()?,
        ),
        Val::Record(fields) => Payload::Map(
            fields
                .iter()
                .filter(|(_, v)| !matches!(v, Val::Option(None)))
                .map(|(k, v)| {
                    Ok((
                        Payload::String(k.clone()),
                        from_val(v).map_err(|e| e.within(k.clone()))?,
                    ))
                })
                .collect::<Result<_, ConversionError>>()?,
        ),
        Val::Variant(case, payload) => tag(case, payload.as_deref())?,
        Val::Enum(case) => Payload::String(case.clone()),
        Val::Option(None) => Payload::Nil,
        Val::Option(Some(v)) => from_val(v)?,
        Val::Result(Ok(v)) => tag("ok", v.as_deref())?,
        Val::Result(Err(v)) => tag("err", v.as_deref())?,
        Val::Flags(names) => Payload::List(names.iter().cloned().map(Payload::String).collect()),
        Val::Map(entries) => Payload::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((from_val(k)?, from_val(v)?)))
                .collect::<Result<_, ConversionError>>()?,
        ),
        _ => {
            return Err(ConversionError::new(
                "resources, futures and streams cannot leave their instance",
            ));
        }
    })
}

/// `{name = payload}`; a case without payload is `{name = true}` so the key survives in Lua.
fn tag(name: &str, payload: Option<&Val>) -> Result<Payload, ConversionError> {
    let value = match payload {
        Some(v) => from_val(v).map_err(|e| e.within(name.to_string()))?,
        None => Payload::Bool(true),
    };
    Ok(Payload::Map(vec![(
        Payload::String(name.to_string()),
        value,
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Payload)]) -> Payload {
        Payload::Map(
            entries
                .iter()
                .map(|(k, v)| (Payload::String(k.to_string()), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn results_and_variants_are_single_key_tables_both_ways() {
        let ok = Val::Result(Ok(Some(Box::new(Val::U32(7)))));
        assert_eq!(from_val(&ok).unwrap(), map(&[("ok", Payload::Integer(7))]));
        let unit_err = Val::Result(Err(None));
        assert_eq!(
            from_val(&unit_err).unwrap(),
            map(&[("err", Payload::Bool(true))])
        );
        let point = Val::Variant("point".into(), None);
        assert_eq!(
            from_val(&point).unwrap(),
            map(&[("point", Payload::Bool(true))])
        );
        let nested = Val::Record(vec![
            ("outcome".into(), ok.clone()),
            ("maybe".into(), Val::Option(None)),
            ("flags".into(), Val::Flags(vec!["read".into()])),
        ]);
        assert_eq!(
            from_val(&nested).unwrap(),
            map(&[
                ("outcome", map(&[("ok", Payload::Integer(7))])),
                ("flags", Payload::List(vec![Payload::String("read".into())])),
            ]),
            "a none option field is left out"
        );
    }

    #[test]
    fn path_errors_read_like_the_contract() {
        let error = ConversionError::new("expected list<string>, got number")
            .within("tags".into())
            .within("[2]".into())
            .within("users".into());
        assert_eq!(
            error.at_param(1, "v"),
            "param 1 (v) users[2].tags: expected list<string>, got number"
        );
    }
}
