//! `baton agent ...` and `baton workflow ...`: agents as HTTP services (crates/baton-service, docs/service.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use baton::experiment::bench::Figure;
use baton::service::{bench, Agent, AgentConfig, Client};
use clap::Subcommand;

/// The `agent` subcommands.
#[derive(Subcommand)]
pub enum AgentCommand {
    /// Run one agent as an HTTP service until ctrl-c or SIGTERM (it checkpoints, then exits).
    Serve {
        /// The agent's config (TOML), e.g. examples/service/agent-0.toml.
        #[arg(long)]
        config: PathBuf,
    },
    /// Show an agent's counts and health (JSON).
    Status {
        /// The agent's base URL, e.g. http://127.0.0.1:7400.
        #[arg(long)]
        url: String,
        /// Your id at that agent (a peer or client in its config).
        #[arg(long, default_value = "client")]
        from: String,
        /// Your bearer token at that agent (or set BATON_TOKEN).
        #[arg(long)]
        token: Option<String>,
    },
}

/// The `workflow` subcommands.
#[derive(Subcommand)]
pub enum WorkflowCommand {
    /// Submit workflows to the entry agent and wait for their results.
    Start {
        /// The entry agent's base URL, e.g. http://127.0.0.1:7400.
        #[arg(long)]
        url: String,
        /// Your client id at the entry agent.
        #[arg(long, default_value = "client")]
        from: String,
        /// Your bearer token at the entry agent (or set BATON_TOKEN).
        #[arg(long)]
        token: Option<String>,
        /// How many workflows.
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// How many in flight at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Deadline of each workflow, in seconds.
        #[arg(long, default_value_t = 120.0)]
        timeout: f64,
    },
}

fn token_or_env(token: Option<String>) -> Result<String> {
    match token {
        Some(t) => Ok(t),
        None => std::env::var("BATON_TOKEN").context("no --token given and BATON_TOKEN is not set"),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// Run an `agent` subcommand.
pub fn agent_main(command: AgentCommand) -> Result<ExitCode> {
    match command {
        AgentCommand::Serve { config } => {
            let settings = AgentConfig::load(&config)?;
            let listen = settings.config.listen;
            let agent = Agent::new(settings)?;
            runtime()?.block_on(async move {
                let shutdown = baton::service::shutdown_signal();
                let listener =
                    tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
                eprintln!("agent {} listening on http://{listen}", agent.status().id);
                agent.run(listener, shutdown).await?;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::Status { url, from, token } => {
            let token = token_or_env(token)?;
            let client = Client::new(&url, &token, &from, Duration::from_secs(10))?;
            let status = runtime()?.block_on(client.status())?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Run a `workflow` subcommand.
pub fn workflow_main(command: WorkflowCommand) -> Result<ExitCode> {
    match command {
        WorkflowCommand::Start { url, from, token, count, concurrency, timeout } => {
            if !(timeout.is_finite() && timeout > 0.0) {
                bail!("--timeout {timeout}: must be positive");
            }
            let token = token_or_env(token)?;
            if count == 0 || concurrency == 0 {
                bail!("--count and --concurrency must be positive");
            }
            let client = Client::new(&url, &token, &from, Duration::from_secs_f64(timeout))?;
            let report = runtime()?.block_on(client.run(count, concurrency));
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

/// `baton bench`'s figure for handoffs through three agent services on loopback (real HTTP, one process).
pub fn service_bench(seconds: f64, filter: &str) -> Result<Vec<Figure>> {
    let name = "service/loopback/handoffs_per_sec";
    if !name.contains(filter) {
        return Ok(Vec::new());
    }
    // The agents and the client share a multi-threaded runtime: the CPU time is the whole process's over the call
    // (start-up of the three agents included, so the per-CPU-second rate is if anything low).
    let cpu_start = baton::experiment::bench::process_cpu_seconds();
    let per_sec = bench::loopback_handoffs_per_sec(seconds)?;
    let cpu_seconds = cpu_start.and_then(|a| Some(baton::experiment::bench::process_cpu_seconds()? - a));
    Ok(vec![Figure { name: name.into(), per_sec, ops: (per_sec * seconds) as u64, seconds, cpu_seconds }])
}
