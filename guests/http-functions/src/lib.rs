//! Functions behind HTTP endpoints with Wippy's `transport: wasi-http`: one of each result
//! kind the transport maps onto a response, and two that fail (a trap and a loop).

wit_bindgen::generate!({ world: "http-functions", path: "wit" });

struct Functions;

impl Guest for Functions {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }

    fn nothing() {}

    fn bytes(body: String) -> Vec<u8> {
        body.bytes().rev().collect()
    }

    fn describe(body: String) -> Greeting {
        Greeting {
            length: body.len() as u32,
            message: format!("Hello, {body}!"),
        }
    }

    fn check(body: String) -> Result<String, String> {
        match body.as_str() {
            "" | "bad" => Err(format!("`{body}` is not acceptable")),
            _ => Ok(format!("accepted {body}")),
        }
    }

    fn spin() -> String {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn crash(body: String) -> String {
        panic!("crashing on purpose: {body}")
    }
}

export!(Functions);
