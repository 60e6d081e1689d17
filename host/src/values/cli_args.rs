use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val, wasm_wave};

use super::output::{signature, type_name};

/// Types each command-line argument by the export's parameter: `string` takes the text as it
/// is, `char` a single character, everything else is parsed as WAVE (`42`, `true`,
/// `[1, 2]`, `{name: "x"}`, `some(3)`, `ok("y")`, `red`, `{read, write}`, `("a", 1)`).
pub fn parse_cli_args(
    name: &str,
    func: &ComponentFunc,
    args: &[String],
) -> Result<Vec<Val>, String> {
    let params: Vec<(&str, Type)> = func.params().collect();
    if params.len() != args.len() {
        return Err(format!(
            "`{name}` takes {} but {} given. Usage: {}",
            count(params.len(), "argument"),
            match args.len() {
                1 => "1 was".to_string(),
                n => format!("{n} were"),
            },
            signature(name, func)
        ));
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, ((param, ty), arg))| {
            parse_one(ty, arg).map_err(|problem| {
                format!(
                    "argument {} (`{param}: {}`): {problem}. Usage: {}",
                    i + 1,
                    type_name(ty),
                    signature(name, func)
                )
            })
        })
        .collect()
}

fn parse_one(ty: &Type, arg: &str) -> Result<Val, String> {
    match ty {
        Type::String => Ok(Val::String(arg.to_string())),
        Type::Char => {
            let mut chars = arg.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Val::Char(c)),
                _ => Val::from_wave(ty, arg)
                    .map_err(|_| format!("`{arg}` is not a single character")),
            }
        }
        _ => wasm_wave::from_str::<Val>(ty, arg).map_err(|e| {
            let span = e.span();
            let inner = span.start > 0 || span.end < arg.trim_end().len();
            match arg.get(span) {
                // The value as a whole is of the right shape; a part inside it is not.
                Some(part) if inner && !part.is_empty() => {
                    format!(
                        "`{arg}` is not a valid {}: {} at `{part}`",
                        type_name(ty),
                        e.kind()
                    )
                }
                _ => format!(
                    "`{arg}` is not a valid {}: expected {}",
                    type_name(ty),
                    expected_form(ty)
                ),
            }
        }),
    }
}

/// What a value of `ty` looks like on the command line.
fn expected_form(ty: &Type) -> String {
    let range = |min: &dyn std::fmt::Display, max: &dyn std::fmt::Display| {
        format!("a whole number from {min} to {max}")
    };
    match ty {
        Type::Bool => "`true` or `false`".to_string(),
        Type::S8 => range(&i8::MIN, &i8::MAX),
        Type::U8 => range(&u8::MIN, &u8::MAX),
        Type::S16 => range(&i16::MIN, &i16::MAX),
        Type::U16 => range(&u16::MIN, &u16::MAX),
        Type::S32 => range(&i32::MIN, &i32::MAX),
        Type::U32 => range(&u32::MIN, &u32::MAX),
        Type::S64 => range(&i64::MIN, &i64::MAX),
        Type::U64 => range(&u64::MIN, &u64::MAX),
        Type::Float32 | Type::Float64 => "a number such as `1.5`, `-2`, `nan` or `inf`".to_string(),
        Type::List(_) => "a WAVE list such as `[1, 2, 3]`".to_string(),
        Type::Record(record) => format!(
            "a WAVE record such as `{{{}}}`",
            record
                .fields()
                .map(|f| format!("{}: ...", f.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Tuple(_) => "a WAVE tuple such as `(\"a\", 1)`".to_string(),
        Type::Variant(variant) => format!(
            "one of the cases {}, with a payload in parentheses where the case has one",
            variant
                .cases()
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Enum(cases) => format!(
            "one of {}",
            cases
                .names()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Option(_) => "`some(value)` or `none`".to_string(),
        Type::Result(_) => {
            "`ok(value)` or `err(value)` (no parentheses without a payload)".to_string()
        }
        Type::Flags(flags) => format!(
            "a set of flags such as `{{{}}}`, or `{{}}` for none",
            flags.names().collect::<Vec<_>>().join(", ")
        ),
        _ => "a value in WAVE syntax".to_string(),
    }
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
