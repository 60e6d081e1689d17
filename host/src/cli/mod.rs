//! The `wippy` command line: a thin layer over the library.

mod app;
mod check;
mod inspect;
mod logging;
mod new;
mod open_files;
mod reload;
mod run;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::cluster::{Cluster, ClusterConfig};
use crate::engine::{ArtifactCache, Runtime};
use crate::guest::RuntimeOutput;
use crate::lua::LuaScripts;
use crate::process::Node;
use crate::registry::Registry;

#[derive(Parser)]
#[command(
    name = "wippy",
    version,
    about = "Runs WebAssembly components as supervised processes declared in a YAML registry"
)]
struct Cli {
    /// The project folder (default: the current directory).
    #[arg(short = 'C', long = "project", value_name = "DIR", global = true)]
    project: Option<PathBuf>,
    /// Say more on stderr: -v for what is loaded, compiled and cached, -vv for more.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// The level of wippy's log lines (overrides -v and RUST_LOG; RUST_LOG takes full
    /// `tracing` filters, other crates too).
    #[arg(long, value_enum, value_name = "LEVEL", global = true)]
    log_level: Option<logging::LogLevel>,
    /// Log lines for people (`text`) or one JSON object per line (`json`).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        global = true
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Subcommand)]
enum CliCommand {
    /// Run the app until Ctrl-C (`wippy run`), a command (`wippy run greet World`), list the
    /// commands (`wippy run list`), or run any process entry by ID (`wippy run --exec
    /// app:worker 6 7`).
    Run(run::RunArgs),
    /// Load and verify everything (hashes, methods, signatures) without running anything.
    Check(check::CheckArgs),
    /// Show what the registry holds.
    #[command(subcommand)]
    Registry(inspect::RegistryCommand),
    /// Print the wippy and wasmtime versions.
    Version,
    /// The nodes of a cluster (`wippy cluster nodes --cluster nats://127.0.0.1:4222`).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Write a new app into DIR: a registry, a Rust guest with its build script, a Lua command
    /// that spawns it.
    New {
        /// The folder to create (it must be empty or missing).
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// The nodes that answer a roll call, one per line.
    Nodes {
        /// The cluster's NATS server.
        #[arg(long, value_name = "URL")]
        cluster: String,
    },
}

fn cluster_nodes(url: &str) -> Result<ExitCode, Failure> {
    let nodes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(crate::cluster::roll_call(
            url,
            std::time::Duration::from_millis(500),
        ))?;
    for node in nodes {
        println!("{node}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A failure to report: the message, and the exit code that goes with it.
pub(crate) struct Failure {
    pub(crate) message: String,
    code: u8,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            message: error.to_string(),
            code: 1,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A running app says what it does (start, stop, restarts) without -v.
    let app = matches!(&cli.command, CliCommand::Run(args) if args.runs_app());
    logging::init(
        cli.verbose.max(u8::from(app)),
        cli.log_level,
        cli.log_format,
    );
    let result = match cli.command {
        CliCommand::Version => {
            println!(
                "wippy {} (wasmtime {})",
                env!("CARGO_PKG_VERSION"),
                env!("WIPPY_WASMTIME_VERSION")
            );
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Run(args) => run::run(cli.project, args),
        CliCommand::Check(args) => check::check(cli.project, args, cli.verbose > 0),
        CliCommand::New { dir } => new::new(&dir),
        CliCommand::Cluster(ClusterCommand::Nodes { cluster }) => cluster_nodes(&cluster),
        CliCommand::Registry(command) => inspect::registry(cli.project, command),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            let _ = std::io::stdout().flush();
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

pub(crate) fn load_registry(project: Option<PathBuf>) -> Result<Registry, Failure> {
    let root = project.unwrap_or_else(|| PathBuf::from("."));
    Ok(Registry::load(&root)?)
}

/// A node for the registry's processes, every WebAssembly entry verified and compiled (or
/// loaded from the cache) before anything runs: a bad entry fails here, all of them named.
/// Call it in the tokio runtime that will run the node.
pub(crate) async fn new_node(registry: Registry, runtime: Arc<Runtime>) -> Result<Node, Failure> {
    let node = Node::new(
        Arc::new(registry),
        runtime,
        Arc::new(RuntimeOutput),
        Arc::new(LuaScripts),
    );
    node.prepare_all()
        .await
        .map_err(|errors| Failure::from(errors.join("\n\n")))?;
    Ok(node)
}

/// Joins the cluster `config` names, if any, as the node's membership (its pids name it from
/// then on).
pub(crate) async fn join_cluster(
    node: &Node,
    config: Option<&ClusterConfig>,
) -> Result<Option<Arc<Cluster>>, Failure> {
    let Some(config) = config else {
        return Ok(None);
    };
    Ok(Some(Cluster::join(config, node).await?))
}

pub(crate) fn new_runtime() -> Result<Runtime, Failure> {
    open_files::raise_soft_limit();
    Runtime::new(ArtifactCache::from_env())
        .map_err(|e| Failure::from(format!("cannot start the WebAssembly engine: {e}")))
}
