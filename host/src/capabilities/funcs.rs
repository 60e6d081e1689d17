//! `wippy:runtime/funcs`: a WebAssembly process calls registry functions (`wit/runtime`), as
//! Wippy's host does it: the input is the target's one argument, a raw string (`call-string`)
//! or raw bytes (`call-bytes`); a string or bytes result comes back raw.

use wasmtime::component::HasSelf;

use super::Interface;
use super::ProcessState;
use crate::values::Payload;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/runtime",
        world: "functions",
        imports: { default: async },
    });
}

use bindings::wippy::runtime::funcs;

pub const INTERFACES: &[Interface] = &[Interface {
    name: "wippy:runtime/funcs",
    link: |l| funcs::add_to_linker::<_, HasSelf<ProcessState>>(l, |state| state),
}];

impl ProcessState {
    async fn call(&mut self, id: &str, args: Vec<Payload>) -> Result<Payload, String> {
        self.actor()?.call(id, args).await
    }
}

impl funcs::Host for ProcessState {
    async fn call_string(&mut self, target: String, input: String) -> Result<String, String> {
        let value = self.call(&target, vec![Payload::String(input)]).await?;
        Ok(match value {
            Payload::String(text) => text,
            Payload::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            other => as_text(&other)?,
        })
    }

    async fn call_bytes(&mut self, target: String, input: Vec<u8>) -> Result<Vec<u8>, String> {
        let arg = match String::from_utf8(input) {
            Ok(text) => Payload::String(text),
            Err(bytes) => Payload::Bytes(bytes.into_bytes()),
        };
        Ok(match self.call(&target, vec![arg]).await? {
            Payload::String(text) => text.into_bytes(),
            Payload::Bytes(bytes) => bytes,
            Payload::List(items) if is_bytes(&items) => (items.iter())
                .map(|item| match item {
                    Payload::Integer(byte) => *byte as u8,
                    _ => 0,
                })
                .collect(),
            other => as_text(&other)?.into_bytes(),
        })
    }
}

/// A result that is not a string: numbers and booleans as their text, nothing as "", anything
/// else as JSON.
fn as_text(value: &Payload) -> Result<String, String> {
    Ok(match value {
        Payload::Nil => String::new(),
        Payload::Bool(b) => b.to_string(),
        Payload::Integer(i) => i.to_string(),
        Payload::Number(n) => n.to_string(),
        other => other.to_json()?.to_string(),
    })
}

/// A `list<u8>` result, as a list of small integers.
fn is_bytes(items: &[Payload]) -> bool {
    (items.iter()).all(|item| matches!(item, Payload::Integer(byte) if (0..=255).contains(byte)))
}
