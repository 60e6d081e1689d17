//! Core WebAssembly modules (WAT text in `function.wat`, or a core `.wasm` in `function.wasm`
//! or `process.wasm`) called through their WIT signature, with the entry's limits, epoch
//! yields, and WASI preview 1 when the entry grants it.

use wasmtime::{InstancePre, Module, Store, UpdateDeadline, Val};
use wasmtime_wasi::I32Exit;

use super::core_signature::{Signature, parse_signature};
use crate::capabilities::EntryCapabilities;
use crate::capabilities::preview1::{self, CoreState};
use crate::guest::{Stdio, describe_failure, describe_wasmtime_error};
use crate::registry::{EntryId, Limits, Registry, WasmEntry};
use crate::values::Payload;

/// A core module and the export its signature names, checked against each other and linked.
pub struct CoreFunction {
    id: EntryId,
    pre: InstancePre<CoreState>,
    signature: Signature,
    limits: Limits,
    capabilities: EntryCapabilities,
}

impl CoreFunction {
    /// `code` is WAT text or core-module bytes. The error is a problem with a field of the
    /// entry (`wit`, `method`, `source` or `path`); the caller places it.
    pub fn new(
        engine: &wasmtime::Engine,
        registry: &Registry,
        id: &EntryId,
        wasm: &WasmEntry,
        code: &[u8],
    ) -> Result<Self, (&'static str, String)> {
        let code_field = if wasm.file().is_some() {
            "path"
        } else {
            "source"
        };
        let wit = wasm.wit.as_deref().unwrap_or_default();
        let signature = parse_signature(wit, &wasm.method)?;
        let module = Module::new(engine, code).map_err(|e| {
            (
                code_field,
                format!(
                    "the module does not compile: {}",
                    describe_wasmtime_error(&e)
                ),
            )
        })?;
        let export = module
            .get_export(&signature.name)
            .and_then(|e| e.func().cloned())
            .ok_or_else(|| {
                (
                    "wit",
                    format!("the module exports no function `{}`", signature.name),
                )
            })?;
        let expected_params: Vec<_> = signature.params.iter().map(|(_, n)| n.core()).collect();
        let expected_results: Vec<_> = signature.result.iter().map(|n| n.core()).collect();
        let matches = export.params().len() == expected_params.len()
            && export
                .params()
                .zip(&expected_params)
                .all(|(a, b)| wasmtime::ValType::eq(&a, b))
            && export.results().len() == expected_results.len()
            && export
                .results()
                .zip(&expected_results)
                .all(|(a, b)| wasmtime::ValType::eq(&a, b));
        if !matches {
            return Err((
                "wit",
                format!(
                    "the signature does not match the module's `{}`, whose core type is {export}",
                    signature.name
                ),
            ));
        }
        let linker = preview1::linker(
            engine,
            &module,
            wasm.grants.allows_preview1(),
            &id.to_string(),
        )
        .map_err(|problem| (code_field, problem))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| (code_field, describe_wasmtime_error(&e)))?;
        Ok(Self {
            id: id.clone(),
            pre,
            signature,
            limits: wasm.limits,
            capabilities: EntryCapabilities::resolve(registry, wasm),
        })
    }

    /// `name(param: type, ...) -> result`.
    pub fn signature(&self) -> String {
        self.signature.display()
    }

    /// Runs one call in a fresh instance, with the entry's limits and epoch yields. `stdio`
    /// is where preview 1 output goes.
    pub async fn call(&self, args: &[Payload], stdio: &Stdio) -> Result<Payload, String> {
        let id = &self.id;
        if args.len() != self.signature.params.len() {
            return Err(format!(
                "`{id}`: expected {} arguments, got {}; the signature is {}",
                self.signature.params.len(),
                args.len(),
                self.signature()
            ));
        }
        let vals = (self.signature.params.iter().zip(args).enumerate())
            .map(|(i, ((name, ty), arg))| {
                ty.val_of(arg)
                    .map_err(|e| format!("`{id}`: param {} ({name}): {e}", i + 1))
            })
            .collect::<Result<Vec<Val>, String>>()?;
        let state = self
            .capabilities
            .new_core_state(&id.to_string(), stdio, &self.limits)
            .map_err(|problem| format!("`{id}` cannot start: {problem}"))?;
        let mut store = Store::new(self.pre.module().engine(), state);
        store.limiter(|state| &mut state.memory);
        store
            .set_fuel(self.limits.max_fuel.unwrap_or(u64::MAX))
            .map_err(|e| e.to_string())?;
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        store.set_epoch_deadline(1);
        let call = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, &self.signature.name)
                .expect("the export was checked when the entry loaded");
            let mut results = vec![Val::I32(0); self.signature.result.iter().count()];
            func.call_async(&mut store, &vals, &mut results).await?;
            wasmtime::Result::Ok(results)
        };
        let outcome: wasmtime::Result<Vec<Val>> = match self.limits.max_execution_ms {
            Some(ms) => tokio::time::timeout(std::time::Duration::from_millis(ms), call)
                .await
                .map_err(|_| format!("`{id}` failed: it ran longer than its limit of {ms} ms (limits.max_execution_ms)"))?,
            None => call.await,
        };
        let results = match outcome {
            Ok(results) => results,
            Err(error) => {
                return match error.downcast_ref::<I32Exit>() {
                    Some(I32Exit(0)) => Ok(Payload::Nil),
                    Some(I32Exit(code)) => Err(format!("`{id}` exited with code {code}")),
                    None => Err(describe_failure(
                        id,
                        &store.data().memory,
                        &self.limits,
                        &error,
                    )),
                };
            }
        };
        match (self.signature.result, results.first()) {
            (Some(ty), Some(value)) => ty.payload_of(value).map_err(|e| format!("`{id}`: {e}")),
            _ => Ok(Payload::Nil),
        }
    }
}
