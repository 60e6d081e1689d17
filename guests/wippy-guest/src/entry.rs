//! Entry points: a type implementing [`Process`] or [`Function`] becomes the component's
//! `entry.run` / `entry.call` with [`process!`](crate::process) or
//! [`function!`](crate::function). Its arguments are read from the JSON array the host passes
//! (a tuple of the parameters, or a `Vec`), and its output written back as JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A process: what it does with its spawn arguments, and the value it ends with.
pub trait Process {
    /// The spawn arguments: a tuple such as `(f64, f64)`, a `Vec<T>`, or `()` for none.
    type Args: DeserializeOwned;
    type Output: Serialize;
    fn run(args: Self::Args) -> Result<Self::Output, String>;
}

/// A function: what it makes of its call's arguments.
pub trait Function {
    type Args: DeserializeOwned;
    type Output: Serialize;
    fn call(args: Self::Args) -> Result<Self::Output, String>;
}

/// Reads `args` (the host's JSON array) as `A` — the whole array (a tuple, a `Vec`), else
/// for no arguments `()`, else for one argument that argument — runs `body`, and writes its
/// output as JSON.
#[doc(hidden)]
pub fn dispatch<A: DeserializeOwned, O: Serialize>(
    args: &str,
    body: impl FnOnce(A) -> Result<O, String>,
) -> Result<String, String> {
    let json: serde_json::Value = serde_json::from_str(args)
        .map_err(|e| format!("the arguments {args} are not JSON: {e}"))?;
    let whole = serde_json::from_value::<A>(json.clone());
    let args: A = match (whole, json) {
        (Ok(args), _) => args,
        (Err(e), serde_json::Value::Array(items)) if items.len() <= 1 => {
            let single = items.into_iter().next().unwrap_or(serde_json::Value::Null);
            serde_json::from_value(single)
                .map_err(|_| format!("the arguments {args} do not fit this entry point: {e}"))?
        }
        (Err(e), _) => {
            return Err(format!(
                "the arguments {args} do not fit this entry point: {e}"
            ));
        }
    };
    let output = body(args)?;
    serde_json::to_string(&output).map_err(|e| format!("the result cannot be JSON: {e}"))
}

/// Exports `$t` (a [`Process`]) as this component's `wippy:process/entry.run`.
#[cfg(feature = "process")]
#[macro_export]
macro_rules! process {
    ($t:ty) => {
        const _: () = {
            struct __WippyProcess;
            impl $crate::bindings::process::exports::wippy::process::entry::Guest for __WippyProcess {
                fn run(args: ::std::string::String) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                    $crate::dispatch(&args, <$t as $crate::Process>::run)
                }
            }
            $crate::bindings::process::export_process!(__WippyProcess with_types_in $crate::bindings::process);
        };
    };
}

/// Exports `$t` (a [`Function`]) as this component's `wippy:runtime/entry.call`.
#[cfg(feature = "function")]
#[macro_export]
macro_rules! function {
    ($t:ty) => {
        const _: () = {
            struct __WippyFunction;
            impl $crate::bindings::function::exports::wippy::runtime::entry::Guest for __WippyFunction {
                fn call(args: ::std::string::String) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                    $crate::dispatch(&args, <$t as $crate::Function>::call)
                }
            }
            $crate::bindings::function::export_function!(__WippyFunction with_types_in $crate::bindings::function);
        };
    };
}
