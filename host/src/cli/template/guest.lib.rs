//! A wippy process built against the published world `wippy:process/process`: `run` gets
//! the spawn arguments as a JSON array and returns its answer as JSON.

wit_bindgen::generate!({ world: "wippy:process/process", path: "wit/process" });

use exports::wippy::process::entry::Guest;
use serde_json::{Value, json};
use wippy::process::host;

struct Worker;

impl Guest for Worker {
    fn run(args: String) -> Result<String, String> {
        let args: Vec<Value> = serde_json::from_str(&args).map_err(|e| e.to_string())?;
        let name = match args.first() {
            Some(Value::String(name)) => name.clone(),
            Some(other) => return Err(format!("{other} is not a name")),
            None => "World".to_string(),
        };
        Ok(json!({"greeting": format!("Hello, {name}!"), "pid": host::self_pid()}).to_string())
    }
}

export!(Worker);
