//! The demo guest: `greet` and `compute` as world-level exports, `text` as an interface export.

wit_bindgen::generate!({ world: "hello", path: "wit" });

use exports::wippy_guests::hello::text;

struct Hello;

impl Guest for Hello {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }

    fn compute(a: u32, b: u32) -> u32 {
        a.wrapping_mul(b)
    }
}

impl text::Guest for Hello {
    fn shout(s: String) -> String {
        s.to_uppercase()
    }

    fn repeat(s: String, times: u8) -> Vec<String> {
        vec![s; usize::from(times)]
    }
}

export!(Hello);
