//! `wippy run`: a command, the command list, or any process entry by ID.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use wasmtime::component::Val;

use super::{Failure, join_cluster, load_registry, new_node, new_runtime};
use crate::cluster::ClusterConfig;
use crate::engine::PreparedEntry;
use crate::guest::Stdio;
use crate::process::{self, Exit, ProcessConfig};
use crate::process::{SpawnRequest, terminal_host};
use crate::registry::LockCluster;
use crate::registry::{Entry, EntryId, EntryKind, Registry, closest};
use crate::values::{self, Payload};

#[derive(Args)]
pub struct RunArgs {
    /// Run this process entry (`namespace:name`) instead of a command; no `meta.command` needed.
    #[arg(short = 'x', long, value_name = "ENTRY-ID")]
    exec: Option<String>,
    /// The command and its arguments; `list` shows the commands.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND [ARGS]"
    )]
    words: Vec<String>,
    /// Without a command: how long processes have to finish after SIGINT or SIGTERM before
    /// they are terminated (`10s`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = values::parse_duration)]
    grace: std::time::Duration,
    /// Without a command: join the cluster whose NATS server is at URL
    /// (`nats://127.0.0.1:4222`), as `--node` (default: `wippy.lock`'s `cluster:`).
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
    /// This node's name in the cluster (letters, digits, `-`, `_`).
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Without a command: reload the registry when its files, scripts or components change
    /// (default: `wippy.lock`'s `watch:`, else on when run from a terminal).
    #[arg(long, overrides_with = "no_watch")]
    watch: bool,
    /// Without a command: never reload; the registry is the one read at start.
    #[arg(long, overrides_with = "watch")]
    no_watch: bool,
}

impl RunArgs {
    /// Whether this runs the app as a node (no command, no entry).
    pub fn runs_app(&self) -> bool {
        self.exec.is_none() && self.words.is_empty()
    }
}

pub fn run(project: Option<PathBuf>, args: RunArgs) -> Result<ExitCode, Failure> {
    let registry = load_registry(project)?;
    let (entry, guest_args) = match &args.exec {
        Some(id) => (find_entry(&registry, id)?, args.words.as_slice()),
        None => match args.words.split_first() {
            None => {
                let lock = &registry.project.cluster;
                let cluster = cluster_config(args.cluster.clone(), args.node.clone(), Some(lock))?;
                let watch = match (args.watch, args.no_watch) {
                    (true, _) => true,
                    (_, true) => false,
                    _ => (registry.project.watch)
                        .unwrap_or_else(|| std::io::IsTerminal::is_terminal(&std::io::stdin())),
                };
                return super::app::run_app(registry, args.grace, cluster, watch);
            }
            Some((name, _)) if name == "list" => {
                print_commands(&registry);
                return Ok(ExitCode::SUCCESS);
            }
            Some((name, rest)) => (find_command(&registry, name)?, rest),
        },
    };
    crate::engine::takes_payloads(entry)?;
    // Lua commands, and WASM commands that act as processes, run on a node.
    let is_actor = entry
        .kind
        .wasm()
        .is_some_and(|w| w.grants.allows("wippy:process/host"));
    if matches!(entry.kind, EntryKind::ProcessLua(_)) || is_actor {
        let id = entry.id.clone();
        let values = guest_args.iter().cloned().map(Payload::String).collect();
        // A command joins a cluster only when told on the command line: the lock file's node
        // name is the app's.
        let cluster = cluster_config(args.cluster.clone(), args.node.clone(), None)?;
        return run_on_node(registry, id, values, cluster);
    }
    hide_logs_if_asked(&registry);
    let runtime = new_runtime()?;
    if let Some(core) = runtime.core_function(&registry, entry) {
        let args = guest_args
            .iter()
            .map(|text| Payload::from_cli_text(text))
            .collect::<Vec<_>>();
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                core?
                    .call(&args, &Stdio::Terminal)
                    .await
                    .map_err(Failure::from)
            })?;
        print_value(outcome);
        return Ok(ExitCode::SUCCESS);
    }
    let prepared = PreparedEntry::prepare(&runtime, &registry, entry)?;
    // A command component reads its arguments from wasi:cli; other exports take them typed.
    let typed_args: &[String] = if prepared.export.is_cli_run() {
        &[]
    } else {
        guest_args
    };
    let json = prepared.export.takes_json();
    let call_args = match json {
        // A published world's entry point: the words as one JSON array of strings, as a
        // Lua command gets them.
        true => {
            let words: Vec<Payload> = typed_args.iter().cloned().map(Payload::String).collect();
            vec![Val::String(process::json_arguments(&words)?)]
        }
        false => values::parse_cli_args(&prepared.export.name, &prepared.export.ty, typed_args)
            .map_err(|problem| format!("`{}`: {problem}", entry.id))?,
    };
    let config = ProcessConfig {
        cli_args: guest_args.to_vec(),
        stdio: Stdio::Terminal,
        actor: None,
    };
    // One process, so one thread: starting a worker per core was 0.2–0.4 ms of a 4 ms run
    // (`perf stat -r 150 wippy run greet World`, once).
    let exit = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(process::run(&prepared, config, &call_args))?;
    let code = match (exit, json) {
        (Exit::Returned(results), true) => {
            print_value(process::json_result(&entry.id.to_string(), results)?);
            Ok(ExitCode::SUCCESS)
        }
        (exit, _) => report(&entry.id, exit),
    };
    // The program ends here: unmapping the component's code and memory pools and stopping
    // the epoch thread one by one is work the kernel does at exit anyway (0.2 ms of a 5 ms
    // run).
    std::mem::forget((prepared, runtime, registry));
    code
}

/// Runs a Lua command as a process on the terminal host of a node, with the registry's
/// auto-start services running beside it.
fn run_on_node(
    registry: Registry,
    id: EntryId,
    args: Vec<Payload>,
    cluster: Option<ClusterConfig>,
) -> Result<ExitCode, Failure> {
    let host = registry
        .entries()
        .find(|e| matches!(e.kind, EntryKind::TerminalHost(_)))
        .map(|e| e.id.clone())
        .unwrap_or_else(terminal_host);
    hide_logs_if_asked(&registry);
    let runtime = Arc::new(new_runtime()?);
    let tokio = process::node_runtime()?;
    let outcome = tokio.block_on(async {
        let node = new_node(registry, runtime).await?;
        let cluster = join_cluster(&node, cluster.as_ref()).await?;
        let _services = crate::process::start_services(&node, std::time::Duration::ZERO);
        let outcome = node
            .exec(SpawnRequest {
                stdio: Some(Stdio::Terminal),
                ..SpawnRequest::new(id, host, args)
            })
            .await
            .map_err(Failure::from);
        if let Some(cluster) = &cluster {
            cluster.leave().await;
        }
        outcome
    });
    tokio.shutdown_background();
    print_value(outcome?);
    Ok(ExitCode::SUCCESS)
}

/// The cluster to join: the command line's `--cluster` and `--node`, each else the lock
/// file's `cluster:` section when given; none when neither names a cluster.
fn cluster_config(
    url: Option<String>,
    node: Option<String>,
    lock: Option<&LockCluster>,
) -> Result<Option<ClusterConfig>, Failure> {
    let url = url.or_else(|| lock.and_then(|l| l.url.clone()));
    let node = node.or_else(|| lock.and_then(|l| l.node.clone()));
    match (url, node) {
        (None, None) => Ok(None),
        (Some(url), Some(node)) => Ok(Some(ClusterConfig { url, node })),
        (Some(url), None) => Err(Failure::from(format!(
            "joining the cluster at {url} needs this node's name: `--node NAME`, or `node:` in wippy.lock's `cluster:`"
        ))),
        (None, Some(node)) => Err(Failure::from(format!(
            "node `{node}` has no cluster to join: `--cluster nats://HOST:PORT`, or `url:` in wippy.lock's `cluster:`"
        ))),
    }
}

fn print_value(value: Payload) {
    match value {
        Payload::Nil => {}
        Payload::String(text) => println!("{text}"),
        other => println!("{other}"),
    }
}

/// `terminal.host` with `hide_logs: true`: wippy's own log lines stay off the terminal while
/// the command runs, as in Wippy.
fn hide_logs_if_asked(registry: &Registry) {
    let hide = registry
        .entries()
        .any(|e| matches!(&e.kind, EntryKind::TerminalHost(host) if host.hide_logs));
    if hide {
        log::set_max_level(log::LevelFilter::Off);
    }
}

/// Prints the result per the CLI contract: strings as they are, other values in WAVE; the
/// `ok` arm of a `result` is unwrapped, the `err` arm is a failure.
fn report(id: &EntryId, exit: Exit) -> Result<ExitCode, Failure> {
    let results = match exit {
        Exit::Exited(code) => return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        Exit::Returned(results) => results,
    };
    for value in results {
        match value {
            Val::Result(Ok(payload)) => {
                if let Some(payload) = payload {
                    println!("{}", values::render(&payload));
                }
            }
            Val::Result(Err(payload)) => {
                let detail = payload.map(|p| values::render(&p));
                return Err(Failure::from(match detail {
                    Some(detail) => format!("`{id}` returned an error: {detail}"),
                    None => format!("`{id}` returned an error (with no details)"),
                }));
            }
            other => println!("{}", values::render(&other)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_commands(registry: &Registry) {
    let commands = registry.commands();
    if commands.is_empty() {
        println!(
            "no commands; give a process entry `meta.command: {{name: ..., short: ...}}` to add one"
        );
        return;
    }
    let name_width = commands
        .iter()
        .map(|(c, _)| c.name.len())
        .max()
        .unwrap_or(0);
    let short_width = commands
        .iter()
        .map(|(c, _)| c.short.len())
        .max()
        .unwrap_or(0);
    for (command, entry) in commands {
        println!(
            "{:name_width$}  {:short_width$}  {}",
            command.name, command.short, entry.id
        );
    }
}

fn find_command<'r>(registry: &'r Registry, name: &str) -> Result<&'r Entry, Failure> {
    registry.command(name).ok_or_else(|| {
        let commands = registry.commands();
        let names: Vec<&str> = commands.iter().map(|(c, _)| c.name.as_str()).collect();
        let hint = match closest(name, &names) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        let available = if names.is_empty() {
            "this project registers no commands".to_string()
        } else {
            format!("the commands are: {}", names.join(", "))
        };
        Failure::from(format!(
            "unknown command `{name}`; {hint}{available} (`wippy run list` shows them with their entries)"
        ))
    })
}

fn find_entry<'r>(registry: &'r Registry, id: &str) -> Result<&'r Entry, Failure> {
    let parsed = EntryId::parse_full(id).ok_or_else(|| {
        Failure::from(format!(
            "`{id}` is not an entry ID; write it as `namespace:name`"
        ))
    })?;
    registry.get(&parsed).ok_or_else(|| {
        let ids: Vec<String> = registry
            .entries()
            .filter(|e| e.kind.wasm().is_some())
            .map(|e| e.id.to_string())
            .collect();
        Failure::from(format!(
            "no entry `{id}` in the registry; the WebAssembly entries are: {}",
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        ))
    })
}
