//! `wippy:runtime/funcs`: a WebAssembly process calls registry functions (`wit/runtime`).
//! Arguments and results are JSON text (`call-string`) or bytes (`call-bytes`).

use wasmtime::component::HasSelf;

use super::Interface;
use crate::process::{ProcessState, call_function};
use crate::registry::EntryId;
use crate::values::Payload;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/runtime",
        world: "functions",
        imports: { default: async },
    });
}

use bindings::wippy::runtime::funcs;

pub const GROUP: &str = "wippy:runtime";

pub const INTERFACES: &[Interface] = &[Interface {
    name: "wippy:runtime/funcs",
    requires: &[],
    link: |l| funcs::add_to_linker::<_, HasSelf<ProcessState>>(l, |state| state),
}];

impl ProcessState {
    async fn call(&mut self, id: &str, args: Vec<Payload>) -> Result<Payload, String> {
        let caller =
            (self.actor.clone()).ok_or("this instance is not running as a process on a node")?;
        call_function(
            &caller,
            &EntryId::resolve(id, &caller.entry.namespace),
            args,
        )
        .await
    }
}

impl funcs::Host for ProcessState {
    async fn call_string(&mut self, id: String, args: String) -> Result<String, String> {
        let args = match Payload::from_json_text(&args)? {
            Payload::List(items) => items,
            Payload::Nil => Vec::new(),
            single => vec![single],
        };
        let value = self.call(&id, args).await?;
        Ok(value.to_json()?.to_string())
    }

    async fn call_bytes(&mut self, id: String, args: Vec<u8>) -> Result<Vec<u8>, String> {
        let arg = match String::from_utf8(args) {
            Ok(text) => Payload::String(text),
            Err(bytes) => Payload::Bytes(bytes.into_bytes()),
        };
        match self.call(&id, vec![arg]).await? {
            Payload::String(text) => Ok(text.into_bytes()),
            Payload::Bytes(bytes) => Ok(bytes),
            other => Err(format!("`{id}` returned a {}, not bytes", other.kind())),
        }
    }
}
