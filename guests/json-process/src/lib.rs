//! A process built against the published world `wippy:process/process`, as is: `run` gets the
//! spawn arguments as a JSON array and returns JSON. It adds the numbers it is given (or
//! their text), and fails when one of them is the text "fail".

wit_bindgen::generate!({ world: "wippy:process/process", path: "../../wit/process" });

use exports::wippy::process::entry::Guest;
use serde_json::{Value, json};
use wippy::process::host;

struct Process;

impl Guest for Process {
    fn run(args: String) -> Result<String, String> {
        let args: Vec<Value> = serde_json::from_str(&args)
            .map_err(|e| format!("the arguments are not a JSON array: {e}"))?;
        let mut sum = 0.0;
        for arg in &args {
            match arg {
                Value::Number(n) => sum += n.as_f64().unwrap_or_default(),
                Value::String(s) if s == "fail" => return Err("asked to fail".to_string()),
                // Words from the command line arrive as strings.
                Value::String(s) if s.parse::<f64>().is_ok() => sum += s.parse::<f64>().unwrap(),
                other => return Err(format!("{other} is not a number")),
            }
        }
        Ok(json!({"sum": sum, "pid": host::self_pid()}).to_string())
    }
}

export!(Process);
