//! A function built against the published world `wippy:runtime/function`, as is: `call` gets
//! the call's arguments as a JSON array and returns JSON. It greets the name it is given.

wit_bindgen::generate!({ world: "wippy:runtime/function", path: "../../wit/runtime" });

use exports::wippy::runtime::entry::Guest;
use serde_json::Value;

struct Function;

impl Guest for Function {
    fn call(args: String) -> Result<String, String> {
        let args: Vec<Value> = serde_json::from_str(&args)
            .map_err(|e| format!("the arguments are not a JSON array: {e}"))?;
        match args.first() {
            Some(Value::String(name)) => Ok(Value::String(format!("Hello, {name}!")).to_string()),
            Some(other) => Err(format!("{other} is not a name")),
            None => Err("a name is needed".to_string()),
        }
    }
}

export!(Function);
