//! The `wit` of a core module: one or more `name: func(...) -> ...;` signatures, parsed with
//! wit-parser. Core functions take and return numbers, so the types are bool, s8..s64,
//! u8..u64, f32 and f64; each is checked against the module's export.

use wasmtime::{Val, ValType};

use crate::values::Payload;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Number {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
}

impl Number {
    fn from_wit(ty: &wit_parser::Type) -> Option<Self> {
        use wit_parser::Type;
        Some(match ty {
            Type::Bool => Self::Bool,
            Type::S8 => Self::S8,
            Type::U8 => Self::U8,
            Type::S16 => Self::S16,
            Type::U16 => Self::U16,
            Type::S32 => Self::S32,
            Type::U32 => Self::U32,
            Type::S64 => Self::S64,
            Type::U64 => Self::U64,
            Type::F32 => Self::F32,
            Type::F64 => Self::F64,
            _ => return None,
        })
    }

    pub(super) fn core(self) -> ValType {
        match self {
            Self::S64 | Self::U64 => ValType::I64,
            Self::F32 => ValType::F32,
            Self::F64 => ValType::F64,
            _ => ValType::I32,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::S8 => "s8",
            Self::U8 => "u8",
            Self::S16 => "s16",
            Self::U16 => "u16",
            Self::S32 => "s32",
            Self::U32 => "u32",
            Self::S64 => "s64",
            Self::U64 => "u64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    fn range(self) -> (i128, i128) {
        match self {
            Self::S8 => (i8::MIN.into(), i8::MAX.into()),
            Self::U8 => (0, u8::MAX.into()),
            Self::S16 => (i16::MIN.into(), i16::MAX.into()),
            Self::U16 => (0, u16::MAX.into()),
            Self::S32 => (i32::MIN.into(), i32::MAX.into()),
            Self::U32 => (0, u32::MAX.into()),
            Self::S64 => (i64::MIN.into(), i64::MAX.into()),
            // Lua integers are i64: a u64 above i64::MAX would not survive the way back.
            _ => (0, i64::MAX.into()),
        }
    }

    pub(super) fn val_of(self, value: &Payload) -> Result<Val, String> {
        let integer = || -> Result<i128, String> {
            let n = match value {
                Payload::Integer(i) => i128::from(*i),
                Payload::Number(f) if f.fract() == 0.0 => *f as i128,
                other => return Err(format!("expected {}, got {}", self.name(), other.kind())),
            };
            let (min, max) = self.range();
            if n < min || n > max {
                return Err(format!("{n} is out of range for {}", self.name()));
            }
            Ok(n)
        };
        let float = || match value {
            Payload::Integer(i) => Ok(*i as f64),
            Payload::Number(f) => Ok(*f),
            other => Err(format!("expected {}, got {}", self.name(), other.kind())),
        };
        Ok(match self {
            Self::Bool => match value {
                Payload::Bool(b) => Val::I32(i32::from(*b)),
                other => return Err(format!("expected bool, got {}", other.kind())),
            },
            Self::F32 => Val::F32((float()? as f32).to_bits()),
            Self::F64 => Val::F64(float()?.to_bits()),
            Self::S64 | Self::U64 => Val::I64(integer()? as i64),
            Self::U32 => Val::I32(integer()? as u32 as i32),
            _ => Val::I32(integer()? as i32),
        })
    }

    pub(super) fn payload_of(self, value: &Val) -> Result<Payload, String> {
        Ok(match (self, value) {
            (Self::Bool, Val::I32(n)) => Payload::Bool(*n != 0),
            (Self::S8, Val::I32(n)) => Payload::Integer((*n as i8).into()),
            (Self::U8, Val::I32(n)) => Payload::Integer((*n as u8).into()),
            (Self::S16, Val::I32(n)) => Payload::Integer((*n as i16).into()),
            (Self::U16, Val::I32(n)) => Payload::Integer((*n as u16).into()),
            (Self::S32, Val::I32(n)) => Payload::Integer((*n).into()),
            (Self::U32, Val::I32(n)) => Payload::Integer((*n as u32).into()),
            (Self::S64, Val::I64(n)) => Payload::Integer(*n),
            (Self::U64, Val::I64(n)) if *n >= 0 => Payload::Integer(*n),
            (Self::U64, Val::I64(n)) => {
                return Err(format!("u64 {} does not fit a Lua integer", *n as u64));
            }
            (Self::F32, Val::F32(bits)) => Payload::Number(f32::from_bits(*bits).into()),
            (Self::F64, Val::F64(bits)) => Payload::Number(f64::from_bits(*bits)),
            (_, other) => {
                return Err(format!(
                    "the module returned {other:?}, not {}",
                    self.name()
                ));
            }
        })
    }
}

/// One parsed `name: func(...) -> ...;` signature.
pub(super) struct Signature {
    pub name: String,
    pub params: Vec<(String, Number)>,
    pub result: Option<Number>,
}

impl Signature {
    /// `name(param: type, ...) -> result`, for messages and `wippy check`.
    pub fn display(&self) -> String {
        let params: Vec<String> = (self.params.iter())
            .map(|(n, t)| format!("{n}: {}", t.name()))
            .collect();
        let result = (self.result)
            .map(|t| format!(" -> {}", t.name()))
            .unwrap_or_default();
        format!("{}({}){result}", self.name, params.join(", "))
    }
}

/// The signature `method` names in `wit`; with no `method`, the only one `wit` declares. An
/// `export` before a signature, as Wippy allows, is accepted. The error is about `wit`
/// (first) or `method` (second).
pub(super) fn parse_signature(
    wit: &str,
    method: &str,
) -> Result<Signature, (&'static str, String)> {
    let exports: String = (wit.split(';'))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            format!(
                "  export {};\n",
                item.strip_prefix("export ").unwrap_or(item)
            )
        })
        .collect();
    let text = format!("package wippy:signature;\nworld signature {{\n{exports}}}\n");
    let not_a_signature = |detail: String| {
        (
            "wit",
            format!(
                "`{}` is not a WIT function signature ({detail}); write it like `add: func(a: s32, b: s32) -> s32;`",
                wit.trim()
            ),
        )
    };
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve
        .push_source("signature.wit", &text)
        .map_err(|e| not_a_signature(e.root_cause().to_string()))?;
    let world = resolve
        .select_world(&[package], Some("signature"))
        .map_err(|e| not_a_signature(e.to_string()))?;
    let functions: Vec<&wit_parser::Function> = (resolve.worlds[world].exports.values())
        .filter_map(|item| match item {
            wit_parser::WorldItem::Function(function) => Some(function),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    let function = match (method, functions.as_slice()) {
        (_, []) => return Err(not_a_signature("it declares no function".into())),
        ("", [only]) => *only,
        ("", _) => {
            return Err((
                "method",
                format!(
                    "`wit` declares several functions ({}), so `method` must name one",
                    names.join(", ")
                ),
            ));
        }
        (method, _) => *functions.iter().find(|f| f.name == method).ok_or_else(|| {
            (
                "method",
                format!(
                    "`{method}` is not declared in `wit`, which declares {}",
                    names.join(", ")
                ),
            )
        })?,
    };
    let number = |ty: &wit_parser::Type| {
        Number::from_wit(ty).ok_or_else(|| {
            (
                "wit",
                "core functions take and return numbers: use bool, s8..s64, u8..u64, f32 or f64"
                    .to_string(),
            )
        })
    };
    Ok(Signature {
        name: function.name.clone(),
        params: (function.params.iter())
            .map(|p| Ok((p.name.clone(), number(&p.ty)?)))
            .collect::<Result<_, _>>()?,
        result: function.result.as_ref().map(number).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_parse_with_wit_parser() {
        let s = parse_signature("add: func(a: s32, b: s32) -> s32;", "").unwrap();
        assert_eq!(s.display(), "add(a: s32, b: s32) -> s32");
        assert!(parse_signature("answer: func() -> f64", "").is_ok());
        assert!(parse_signature("export answer: func() -> u8;", "answer").is_ok());
        let (field, err) = parse_signature("greet: func(name: string) -> string;", "")
            .err()
            .unwrap();
        assert_eq!(field, "wit");
        assert!(
            err.contains("core functions take and return numbers"),
            "{err}"
        );
        assert!(parse_signature("not a signature", "").is_err());
    }

    #[test]
    fn method_picks_one_of_several() {
        let wit = "answer: func() -> s32;\nadd: func(a: s32, b: s32) -> s32;";
        assert_eq!(parse_signature(wit, "add").unwrap().name, "add");
        assert_eq!(parse_signature(wit, "answer").unwrap().name, "answer");
        let (field, err) = parse_signature(wit, "").err().unwrap();
        assert_eq!((field, err.contains("must name one")), ("method", true));
        let (field, err) = parse_signature(wit, "sub").err().unwrap();
        assert_eq!(field, "method");
        assert_eq!(
            err,
            "`sub` is not declared in `wit`, which declares answer, add"
        );
    }
}
