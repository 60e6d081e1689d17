//! Errors as Wippy scripts see them: objects with `:kind()`, `:message()`, `:retryable()`,
//! `:details()` and `:stack()` (each but `message` and `stack` also a setter that returns a new
//! error, as in `errors.new("x"):kind(errors.INVALID)`), which print, concatenate and compare
//! by their text; and the `errors` global: `new`, `wrap`, `is` and the kind constants. The
//! modules here return them as the `err` of `nil, err`. Wippy's string functions take them
//! too, so `string.find(err, "not found")` works as it does there (the eight that inspect text
//! are wrapped: Lua 5.4 does not turn userdata into strings).

use mlua::{
    AnyUserData, Function, IntoLua, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods,
    Value,
};

use super::convert::{from_payload, to_payload};
use super::preempt::Preemptible;
use crate::process::CallError;
use crate::values::Payload;

pub const NOT_FOUND: &str = "NotFound";
pub const INVALID: &str = "Invalid";
pub const INTERNAL: &str = "Internal";
pub const ALREADY_EXISTS: &str = "AlreadyExists";
pub const RATE_LIMITED: &str = "RateLimited";

const KINDS: &[(&str, &str)] = &[
    ("NOT_FOUND", NOT_FOUND),
    ("ALREADY_EXISTS", ALREADY_EXISTS),
    ("INVALID", INVALID),
    ("PERMISSION_DENIED", "PermissionDenied"),
    ("UNAVAILABLE", "Unavailable"),
    ("INTERNAL", INTERNAL),
    ("CANCELED", "Canceled"),
    ("CONFLICT", "Conflict"),
    ("TIMEOUT", "Timeout"),
    ("RATE_LIMITED", RATE_LIMITED),
    ("UNKNOWN", ""),
];

/// String functions a script may hand an error to, as it may in Wippy.
const STRING_FUNCTIONS: &[&str] = &[
    "find", "match", "gmatch", "gsub", "sub", "len", "lower", "upper",
];

#[derive(Clone, Debug)]
pub struct LuaError {
    message: String,
    kind: String,
    retryable: Option<bool>,
    details: Option<Payload>,
    /// What `errors.wrap` added, outermost first.
    context: Vec<String>,
    /// Where the error was made: `chunk:line` of each caller, innermost first.
    stack: String,
}

impl LuaError {
    pub fn new(lua: &Lua, kind: &str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: kind.to_string(),
            retryable: None,
            details: None,
            context: Vec::new(),
            stack: stack(lua),
        }
    }

    /// The full text: the contexts `wrap` added, then the message.
    pub fn text(&self) -> String {
        let mut parts = self.context.clone();
        parts.push(self.message.clone());
        parts.join(": ")
    }
}

/// The `err` of a module function's `nil, err`: an error object of `kind` once it reaches Lua.
pub struct Failure {
    kind: String,
    retryable: bool,
    message: String,
}

/// What may work when tried again later (a full mailbox).
pub fn fail_for_now(kind: impl Into<String>, message: impl Into<String>) -> Failure {
    Failure {
        retryable: true,
        ..fail(kind, message)
    }
}

/// As Wippy's modules do: what failed here fails again if tried again.
pub fn fail(kind: impl Into<String>, message: impl Into<String>) -> Failure {
    Failure {
        kind: kind.into(),
        retryable: false,
        message: message.into(),
    }
}

impl From<CallError> for Failure {
    /// A failed call's error, with the kind and retryability its function gave it.
    fn from(error: CallError) -> Self {
        Failure {
            kind: error.kind.unwrap_or_else(|| INTERNAL.to_string()),
            retryable: error.retryable.unwrap_or(false),
            message: error.message,
        }
    }
}

impl IntoLua for Failure {
    fn into_lua(self, lua: &Lua) -> mlua::Result<Value> {
        let mut error = LuaError::new(lua, &self.kind, self.message);
        error.retryable = Some(self.retryable);
        object(lua, error)
    }
}

/// The error's text when `value` is an error object.
pub fn as_error_text(value: &Value) -> Option<String> {
    as_call_error(value).map(|error| error.message)
}

/// An error object as the error of a call: its kind, retryability and text.
pub fn as_call_error(value: &Value) -> Option<CallError> {
    let Value::UserData(data) = value else {
        return None;
    };
    let error = data.borrow::<LuaError>().ok()?;
    Some(CallError {
        kind: Some(error.kind.clone()),
        retryable: error.retryable,
        message: error.text(),
    })
}

fn stack(lua: &Lua) -> String {
    (1..16)
        .map_while(|level| {
            lua.inspect_stack(level, |frame| {
                let source = frame.source();
                let name = source.short_src.as_deref().unwrap_or("?").to_string();
                format!("{name}:{}", frame.current_line().unwrap_or(0))
            })
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_of(value: &Value) -> mlua::Result<String> {
    Ok(match as_error_text(value) {
        Some(text) => text,
        None => value.to_string()?,
    })
}

impl UserData for LuaError {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("message", |_, this, ()| Ok(this.message.clone()));
        methods.add_method("stack", |_, this, ()| Ok(this.stack.clone()));
        methods.add_method("kind", |lua, this, kind: Option<String>| {
            Ok(match kind {
                None => Value::String(lua.create_string(&this.kind)?),
                Some(kind) => with(lua, this, |e| e.kind = kind)?,
            })
        });
        methods.add_method("retryable", |lua, this, retryable: Option<bool>| {
            Ok(match retryable {
                None => this.retryable.map_or(Value::Nil, Value::Boolean),
                Some(retryable) => with(lua, this, |e| e.retryable = Some(retryable))?,
            })
        });
        methods.add_method(
            "details",
            |lua, this, details: Option<Value>| match details {
                None => match &this.details {
                    Some(details) => from_payload(lua, details),
                    None => Ok(Value::Nil),
                },
                Some(details) => {
                    let details = to_payload(&details).map_err(mlua::Error::runtime)?;
                    with(lua, this, |e| e.details = Some(details))
                }
            },
        );
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.text()));
        methods.add_meta_function(MetaMethod::Concat, |_, (a, b): (Value, Value)| {
            Ok(text_of(&a)? + &text_of(&b)?)
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other
                .borrow::<LuaError>()
                .is_ok_and(|o| o.kind == this.kind && o.text() == this.text()))
        });
    }
}

/// A copy of `error` changed by `change`, as a new object.
fn with(lua: &Lua, error: &LuaError, change: impl FnOnce(&mut LuaError)) -> mlua::Result<Value> {
    let mut copy = error.clone();
    change(&mut copy);
    object(lua, copy)
}

/// Installs the `errors` global.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let errors = lua.create_table()?;
    for (name, kind) in KINDS {
        errors.set(*name, *kind)?;
    }
    errors.set(
        "new",
        lua.create_function(|lua, spec: Value| {
            let error = match spec {
                Value::Table(spec) => {
                    let mut error = LuaError::new(
                        lua,
                        &spec.get::<Option<String>>("kind")?.unwrap_or_default(),
                        spec.get::<Option<String>>("message")?.unwrap_or_default(),
                    );
                    error.retryable = spec.get("retryable")?;
                    error.details = match spec.get::<Value>("details")? {
                        Value::Nil => None,
                        Value::Table(empty) if empty.is_empty() => None,
                        details => Some(to_payload(&details).map_err(mlua::Error::runtime)?),
                    };
                    error
                }
                other => LuaError::new(lua, "", text_of(&other)?),
            };
            object(lua, error)
        })?,
    )?;
    errors.set(
        "wrap",
        lua.create_function(|lua, (inner, context): (Value, String)| {
            let mut error = match &inner {
                Value::UserData(data) => match data.borrow::<LuaError>() {
                    Ok(error) => error.clone(),
                    Err(_) => LuaError::new(lua, "", text_of(&inner)?),
                },
                other => LuaError::new(lua, "", text_of(other)?),
            };
            error.context.insert(0, context);
            object(lua, error)
        })?,
    )?;
    errors.set(
        "is",
        lua.create_function(|_, (value, kind): (Value, String)| {
            Ok(match &value {
                Value::UserData(data) => data.borrow::<LuaError>().is_ok_and(|e| e.kind == kind),
                _ => false,
            })
        })?,
    )?;
    lua.globals().set("errors", errors)?;
    Ok(())
}

/// Marks a state whose string functions read error objects.
struct StringsReadErrors;

/// Lets the string functions take error objects (as their text) from now on. Done when a state
/// makes its first error object, so states that never see one do not pay for the wrappers.
fn strings_read_errors(lua: &Lua) -> mlua::Result<()> {
    if lua.app_data_ref::<StringsReadErrors>().is_some() {
        return Ok(());
    }
    lua.set_app_data(StringsReadErrors);
    let string: Table = lua.globals().get("string")?;
    for name in STRING_FUNCTIONS {
        let original: Function = string.get(*name)?;
        let reads_errors = lua.create_function(move |lua, mut args: MultiValue| {
            if let Some(text) = args.front().and_then(as_error_text) {
                args.pop_front();
                args.push_front(Value::String(lua.create_string(text)?));
            }
            original.call::<MultiValue>(args)
        })?;
        string.set(*name, reads_errors)?;
    }
    Ok(())
}

/// A new error object in `lua`.
fn object(lua: &Lua, error: LuaError) -> mlua::Result<Value> {
    strings_read_errors(lua)?;
    Ok(Value::UserData(lua.create_userdata(error)?))
}

/// Calls `f(args)` through `xpcall` with a handler that turns a raised error object into its
/// text, so the error that ends a process reads as the script wrote it; other errors pass
/// through as they are. The outcome is what `f` returned, or the error as a Lua value.
pub async fn call_reading_errors(
    lua: &Lua,
    f: Function,
    args: MultiValue,
) -> mlua::Result<Result<MultiValue, Value>> {
    let xpcall: Function = lua.globals().get("xpcall")?;
    let as_text = lua.create_function(|lua, error: Value| match as_error_text(&error) {
        Some(text) => Ok(Value::String(lua.create_string(text)?)),
        None => Ok(error),
    })?;
    let mut call = MultiValue::from_vec(vec![Value::Function(f), Value::Function(as_text)]);
    call.extend(args);
    // Run on a thread of our own, so the watchdog knows which Lua thread to preempt.
    let thread = lua.create_thread(xpcall)?;
    let state = thread.to_pointer();
    let main = Preemptible::new(thread.into_async(call)?, state, lua);
    let mut results: MultiValue = super::coroutines::drive(lua, main).await?;
    match results.pop_front() {
        Some(Value::Boolean(true)) => Ok(Ok(results)),
        _ => Ok(Err(results.pop_front().unwrap_or(Value::Nil))),
    }
}
