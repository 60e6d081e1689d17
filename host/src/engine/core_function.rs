//! Core WebAssembly modules (WAT text in `function.wat`, or a core `.wasm` in
//! `function.wasm`) called through a WIT signature such as `add: func(a: s32, b: s32) -> s32;`.
//! Core functions take and return numbers, so the signature may use s32, u32, s64, u64, f32,
//! f64 and bool; the module's export must have the matching core type.

use wasmtime::{Linker, Module, Store, UpdateDeadline, Val, ValType};

use crate::process::{MemoryLimiter, describe_wasmtime_error};
use crate::registry::{EntryId, Limits};
use crate::values::Payload;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Bool,
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
            Type::S32 => Self::S32,
            Type::U32 => Self::U32,
            Type::S64 => Self::S64,
            Type::U64 => Self::U64,
            Type::F32 => Self::F32,
            Type::F64 => Self::F64,
            _ => return None,
        })
    }

    fn core(self) -> ValType {
        match self {
            Self::Bool | Self::S32 | Self::U32 => ValType::I32,
            Self::S64 | Self::U64 => ValType::I64,
            Self::F32 => ValType::F32,
            Self::F64 => ValType::F64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::S32 => "s32",
            Self::U32 => "u32",
            Self::S64 => "s64",
            Self::U64 => "u64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    fn val_of(self, value: &Payload) -> Result<Val, String> {
        let integer = |min: i128, max: i128| -> Result<i128, String> {
            let n = match value {
                Payload::Integer(i) => i128::from(*i),
                Payload::Number(f) if f.fract() == 0.0 => *f as i128,
                other => return Err(format!("expected {}, got {}", self.name(), other.kind())),
            };
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
            Self::S32 => Val::I32(integer(i32::MIN.into(), i32::MAX.into())? as i32),
            Self::U32 => Val::I32(integer(0, u32::MAX.into())? as u32 as i32),
            Self::S64 => Val::I64(integer(i64::MIN.into(), i64::MAX.into())? as i64),
            Self::U64 => Val::I64(integer(0, i64::MAX.into())? as i64),
            Self::F32 => Val::F32((float()? as f32).to_bits()),
            Self::F64 => Val::F64(float()?.to_bits()),
        })
    }

    fn payload_of(self, value: &Val) -> Result<Payload, String> {
        Ok(match (self, value) {
            (Self::Bool, Val::I32(n)) => Payload::Bool(*n != 0),
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

/// A parsed `name: func(...) -> ...;` signature.
struct Signature {
    name: String,
    params: Vec<(String, Number)>,
    result: Option<Number>,
}

fn parse_signature(wit: &str) -> Result<Signature, String> {
    let text = format!(
        "package wippy:signature;\nworld signature {{\n  export {}\n}}\n",
        wit.trim().trim_end_matches(';').to_string() + ";"
    );
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_source("signature.wit", &text).map_err(|e| {
        format!(
            "`{}` is not a WIT function signature: {}",
            wit.trim(),
            e.root_cause()
        )
    })?;
    let world = resolve
        .select_world(&[package], Some("signature"))
        .map_err(|e| e.to_string())?;
    let Some(wit_parser::WorldItem::Function(function)) =
        resolve.worlds[world].exports.values().next()
    else {
        return Err(format!(
            "`{}` is not a function signature; write it like `add: func(a: s32, b: s32) -> s32;`",
            wit.trim()
        ));
    };
    let number = |ty: &wit_parser::Type| {
        Number::from_wit(ty).ok_or_else(|| {
            "core functions take and return numbers: use s32, u32, s64, u64, f32, f64 or bool"
                .to_string()
        })
    };
    Ok(Signature {
        name: function.name.clone(),
        params: (function.params.iter())
            .map(|p| Ok((p.name.clone(), number(&p.ty)?)))
            .collect::<Result<_, String>>()?,
        result: function.result.as_ref().map(number).transpose()?,
    })
}

/// A core module and the export its signature names, checked against each other.
pub struct CoreFunction {
    id: EntryId,
    module: Module,
    signature: Signature,
    limits: Limits,
}

impl CoreFunction {
    /// `code` is WAT text or core-module bytes. The error is a problem with `wit` (the
    /// signature) or with the module; the caller places it.
    pub fn new(
        engine: &wasmtime::Engine,
        id: &EntryId,
        code: &[u8],
        wit: &str,
        limits: Limits,
    ) -> Result<Self, (&'static str, String)> {
        let signature = parse_signature(wit).map_err(|e| ("wit", e))?;
        let module = Module::new(engine, code).map_err(|e| {
            (
                "source",
                format!(
                    "the module does not compile: {}",
                    describe_wasmtime_error(&e)
                ),
            )
        })?;
        if let Some(import) = module.imports().next() {
            return Err((
                "source",
                format!(
                    "the module imports `{}::{}`; core modules run without imports",
                    import.module(),
                    import.name()
                ),
            ));
        }
        let export = module
            .get_export(&signature.name)
            .and_then(|e| e.func().cloned())
            .ok_or_else(|| {
                (
                    "wit",
                    format!("the module exports no function `{}`", signature.name),
                )
            })?;
        let expected_params: Vec<ValType> =
            signature.params.iter().map(|(_, n)| n.core()).collect();
        let expected_results: Vec<ValType> = signature.result.iter().map(|n| n.core()).collect();
        let matches = export.params().len() == expected_params.len()
            && export
                .params()
                .zip(&expected_params)
                .all(|(a, b)| ValType::eq(&a, b))
            && export.results().len() == expected_results.len()
            && export
                .results()
                .zip(&expected_results)
                .all(|(a, b)| ValType::eq(&a, b));
        if !matches {
            return Err((
                "wit",
                format!(
                    "the signature does not match the module's `{}`, whose core type is {export}",
                    signature.name
                ),
            ));
        }
        Ok(Self {
            id: id.clone(),
            module,
            signature,
            limits,
        })
    }

    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .signature
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {}", t.name()))
            .collect();
        let result = self
            .signature
            .result
            .map(|t| format!(" -> {}", t.name()))
            .unwrap_or_default();
        format!("{}({}){result}", self.signature.name, params.join(", "))
    }

    /// Runs one call in a fresh instance, with the entry's limits and epoch yields.
    pub async fn call(&self, args: &[Payload]) -> Result<Payload, String> {
        let id = &self.id;
        if args.len() != self.signature.params.len() {
            return Err(format!(
                "`{id}`: expected {} arguments, got {}; the signature is {}",
                self.signature.params.len(),
                args.len(),
                self.signature()
            ));
        }
        let vals = (self.signature.params.iter().zip(args).enumerate())
            .map(|(i, ((name, ty), arg))| {
                ty.val_of(arg)
                    .map_err(|e| format!("`{id}`: param {} ({name}): {e}", i + 1))
            })
            .collect::<Result<Vec<Val>, String>>()?;
        let engine = self.module.engine();
        let mut store = Store::new(engine, MemoryLimiter::new(self.limits.max_memory_bytes));
        store.limiter(|limiter| limiter);
        store
            .set_fuel(self.limits.max_fuel.unwrap_or(u64::MAX))
            .map_err(|e| e.to_string())?;
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        store.set_epoch_deadline(1);
        let linker = Linker::new(engine);
        let call = async {
            let instance = linker.instantiate_async(&mut store, &self.module).await?;
            let func = instance
                .get_func(&mut store, &self.signature.name)
                .expect("the export was checked when the entry loaded");
            let mut results = vec![Val::I32(0); self.signature.result.iter().count()];
            func.call_async(&mut store, &vals, &mut results).await?;
            wasmtime::Result::Ok(results)
        };
        let results = match self.limits.max_execution_ms {
            Some(ms) => tokio::time::timeout(std::time::Duration::from_millis(ms), call)
                .await
                .map_err(|_| format!("`{id}` failed: it ran longer than its limit of {ms} ms (limits.max_execution_ms)"))?,
            None => call.await,
        }
        .map_err(|e| format!("`{id}` failed: {}", describe_wasmtime_error(&e)))?;
        match (self.signature.result, results.first()) {
            (Some(ty), Some(value)) => ty.payload_of(value).map_err(|e| format!("`{id}`: {e}")),
            _ => Ok(Payload::Nil),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_parse_with_wit_parser() {
        let s = parse_signature("add: func(a: s32, b: s32) -> s32;").unwrap();
        assert_eq!(
            (s.name.as_str(), s.params.len(), s.result),
            ("add", 2, Some(Number::S32))
        );
        assert!(parse_signature("answer: func() -> f64").is_ok());
        let err = parse_signature("greet: func(name: string) -> string;")
            .err()
            .unwrap();
        assert!(
            err.contains("core functions take and return numbers"),
            "{err}"
        );
        assert!(parse_signature("not a signature").is_err());
    }
}
