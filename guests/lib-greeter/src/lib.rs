//! The `wippy-guest` library's function: greets the name it is called with.

use wippy_guest::Function;

struct Greeter;

impl Function for Greeter {
    type Args = String;
    type Output = String;

    fn call(name: String) -> Result<String, String> {
        match name.trim() {
            "" => Err("a name is needed".into()),
            name => Ok(format!("Hello, {name}!")),
        }
    }
}

wippy_guest::function!(Greeter);
