//! `wasi:cli`: environment (args, env, cwd), exit, stdio and the terminal interfaces.
//! Owns `wasi.args`, `wasi.env` and `wasi.cwd` of an entry and the process's stdio.

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::p2::bindings::cli;

use super::Interface;
use crate::guest::Stdio;
use crate::registry::{EntryId, EntryKind, EnvVariable, Registry, WasmEntry};

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:cli/environment",
        link: |l| cli::environment::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/exit",
        link: |l| cli::exit::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/stdin",
        link: |l| cli::stdin::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/stdout",
        link: |l| cli::stdout::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/stderr",
        link: |l| cli::stderr::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/terminal-input",
        link: |l| cli::terminal_input::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/terminal-output",
        link: |l| cli::terminal_output::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/terminal-stdin",
        link: |l| cli::terminal_stdin::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/terminal-stdout",
        link: |l| cli::terminal_stdout::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
    Interface {
        name: "wasi:cli/terminal-stderr",
        link: |l| cli::terminal_stderr::add_to_linker::<_, WasiCli>(l, |t| t.cli()),
    },
];

/// The `wasi:cli` slice of an entry, resolved against the registry once.
#[derive(Debug, Clone)]
pub struct CliSetup {
    args: Option<Vec<String>>,
    cwd: Option<String>,
    env: Vec<EnvBinding>,
}

/// One `wasi.env` item: where its value comes from when a process starts.
#[derive(Debug, Clone)]
struct EnvBinding {
    /// The name the guest sees.
    name: String,
    variable_entry: EntryId,
    source: EnvSource,
    default: Option<String>,
    required: bool,
}

#[derive(Debug, Clone)]
enum EnvSource {
    /// Read from the runtime's environment when the process starts.
    Os { variable: String },
    /// Fixed in the registry (`env.storage.static`).
    Static { value: Option<String> },
}

impl CliSetup {
    pub fn resolve(registry: &Registry, wasm: &WasmEntry) -> Self {
        let env = (wasm.wasi.env.iter())
            .map(|binding| {
                let Some(EntryKind::EnvVariable(variable)) =
                    registry.get(&binding.id).map(|e| &e.kind)
                else {
                    panic!("wasi.env reference `{}` was not validated", binding.id)
                };
                let EnvVariable {
                    storage,
                    variable: key,
                    default,
                } = variable;
                let source = match registry.get(storage).map(|e| &e.kind) {
                    Some(EntryKind::EnvStorageStatic(values)) => EnvSource::Static {
                        value: values.get(key).cloned(),
                    },
                    _ => EnvSource::Os {
                        variable: key.clone(),
                    },
                };
                EnvBinding {
                    name: binding.name.clone().unwrap_or_else(|| key.clone()),
                    variable_entry: binding.id.clone(),
                    source,
                    default: default.clone(),
                    required: binding.required,
                }
            })
            .collect();
        Self {
            args: wasm.wasi.args.clone(),
            cwd: wasm.wasi.cwd.clone(),
            env,
        }
    }

    /// Sets up arguments, environment, cwd and stdio for a new process. `program` is
    /// argv[0]; `cli_args` are the command line's arguments, used when the entry sets no
    /// `wasi.args`. Fails when a required variable has no value.
    pub fn configure(
        &self,
        builder: &mut WasiCtxBuilder,
        program: &str,
        cli_args: &[String],
        stdio: &Stdio,
    ) -> Result<(), String> {
        builder.arg(program);
        builder.args(self.args.as_deref().unwrap_or(cli_args));
        if let Some(cwd) = &self.cwd {
            builder.initial_cwd(cwd);
        }
        for binding in &self.env {
            let value = match &binding.source {
                EnvSource::Os { variable } => std::env::var(variable).ok(),
                EnvSource::Static { value } => value.clone(),
            };
            match value.or_else(|| binding.default.clone()) {
                Some(value) => {
                    builder.env(&binding.name, value);
                }
                None if binding.required => {
                    let (place, fix) = match &binding.source {
                        EnvSource::Os { variable } => (
                            format!("`{variable}` is not set in the runtime's environment"),
                            format!(
                                "set {variable}, or give `{}` a `default`",
                                binding.variable_entry
                            ),
                        ),
                        EnvSource::Static { .. } => (
                            "its static storage has no value for it".to_string(),
                            format!(
                                "add the value to the storage, or give `{}` a `default`",
                                binding.variable_entry
                            ),
                        ),
                    };
                    return Err(format!(
                        "required environment variable `{}` (from `{}`) has no value: {place}. Fix: {fix}",
                        binding.name, binding.variable_entry
                    ));
                }
                None => {}
            }
        }
        stdio.configure(builder);
        Ok(())
    }
}
