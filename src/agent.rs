//! `baton agent ...` and `baton workflow ...`: agents as HTTP services (crates/baton-service, docs/service.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use baton::experiment::bench::Figure;
use baton::service::{bench, Agent, AgentConfig, Client, HttpVersion};
use clap::{Args, Subcommand};

/// TLS options of a client (`agent status`, `workflow start`) calling an `https://` agent.
#[derive(Args, Clone, Debug, Default)]
pub struct ClientTls {
    /// The CA certificate (PEM) that signed the agent's certificate; needed for an https:// URL.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Your client certificate (PEM), for an agent that requires mutual TLS (with --key).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
}

impl ClientTls {
    fn config(&self, url: &str) -> Result<Option<baton::service::tls::ClientConfig>> {
        use baton::service::tls;
        let Some(ca) = &self.ca else {
            if url.starts_with("https://") {
                bail!("--url {url} is https://: give the agent's CA with --ca (and --cert/--key for mutual TLS)");
            }
            if self.cert.is_some() {
                bail!("--cert needs --ca and an https:// --url");
            }
            return Ok(None);
        };
        let ca = tls::load_certs(ca).map_err(anyhow::Error::msg).context("--ca")?;
        let identity = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some((
                tls::load_certs(c).map_err(anyhow::Error::msg).context("--cert")?,
                tls::load_key(k).map_err(anyhow::Error::msg).context("--key")?,
            )),
            _ => None,
        };
        let config = tls::client_config(&ca, identity.as_ref().map(|(c, k)| (c, k)))
            .map_err(anyhow::Error::msg)
            .context("--cert/--key/--ca")?;
        Ok(Some(config))
    }
}

/// The longest `--timeout` accepted, in seconds (one day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

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
        /// Your bearer token at that agent (or set BATON_TOKEN; not needed with a client certificate).
        #[arg(long)]
        token: Option<String>,
        #[command(flatten)]
        tls: ClientTls,
    },
    /// Make a demo CA and a certificate for each agent and client (for mutual TLS; docs/service.md).
    Certs {
        /// Directory to write `ca.pem`, `<id>.pem` and `<id>.key` into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The ids to make certificates for, comma-separated (each names its holder: an agent's `id`, or a
        /// client's id as its agents know it).
        #[arg(long, value_delimiter = ',', default_value = "agent-0,agent-1,agent-2,client")]
        ids: Vec<String>,
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
        /// Your bearer token at the entry agent (or set BATON_TOKEN; not needed with a client certificate).
        #[arg(long)]
        token: Option<String>,
        #[command(flatten)]
        tls: ClientTls,
        /// How many workflows.
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// How many in flight at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Deadline of each workflow, in seconds, in (0, 86400]: a start that cannot connect, or that the
        /// entry agent refuses as busy, is retried with backoff until then.
        #[arg(long, default_value_t = 120.0)]
        timeout: f64,
        /// Send the starts over HTTP/1.1 (one connection per workflow in flight) instead of HTTP/2 (a connection
        /// per 128 workflows in flight). Over http:// HTTP/2 is spoken without negotiation, which a proxy that
        /// only speaks HTTP/1.1 refuses; over https:// the server chooses, and this is never needed.
        #[arg(long)]
        http1: bool,
    },
}

fn token_or_env(token: Option<String>, tls: &ClientTls) -> Result<Option<String>> {
    match token {
        Some(t) => Ok(Some(t)),
        None => match std::env::var("BATON_TOKEN") {
            Ok(t) => Ok(Some(t)),
            Err(_) if tls.cert.is_some() => Ok(None),
            Err(_) => bail!("no --token given and BATON_TOKEN is not set (or give a client certificate)"),
        },
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
            let tls = settings.tls.is_some();
            let agent = Agent::new(settings)?;
            runtime()?.block_on(async move {
                let shutdown = baton::service::shutdown_signal();
                let listener =
                    tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
                let scheme = if tls { "https" } else { "http" };
                eprintln!("agent {} listening on {scheme}://{listen}", agent.status().id);
                agent.run(listener, shutdown).await?;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::Status { url, from, token, tls } => {
            let token = token_or_env(token, &tls)?;
            let client = Client::with_tls(&url, token.as_deref(), &from, Duration::from_secs(10), tls.config(&url)?)?;
            let status = runtime()?.block_on(client.status())?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::Certs { out, ids } => {
            for id in &ids {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')) {
                    bail!("--ids: {id:?} must be a non-empty name of A-Z a-z 0-9 - . (a DNS name in the certificate)");
                }
            }
            let made = baton::service::tls::make_demo_certs(&out, &ids)?;
            println!("CA certificate: {}", made.ca.display());
            for (id, cert, key) in &made.holders {
                println!("{id}: {} (key {})", cert.display(), key.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Run a `workflow` subcommand.
pub fn workflow_main(command: WorkflowCommand) -> Result<ExitCode> {
    match command {
        WorkflowCommand::Start { url, from, token, tls, count, concurrency, timeout, http1 } => {
            if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_TIMEOUT_SECS) {
                bail!("--timeout {timeout}: must be a number of seconds in (0, {MAX_TIMEOUT_SECS}]");
            }
            let timeout = Duration::try_from_secs_f64(timeout).with_context(|| format!("--timeout {timeout}"))?;
            let token = token_or_env(token, &tls)?;
            if count == 0 || concurrency == 0 || concurrency > 100_000 {
                bail!("--count must be positive and --concurrency in 1..=100000");
            }
            let version = if http1 { HttpVersion::Http1 } else { HttpVersion::Http2 };
            let client = Client::with_version(&url, token.as_deref(), &from, timeout, tls.config(&url)?, version)?;
            let report = runtime()?.block_on(client.run(count, concurrency));
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

/// Rounds of the service headline in one `baton bench` run: handoffs and echo round trips take turns in one
/// process (each window right after the other's, the first of the two alternating), and each figure is the
/// median window. On a shared machine the speed of the same loop swings by a third between spells of a few
/// seconds (measured: 34,000 or 49,000 handoffs/s); windows a second apart mostly share a spell, so the bench
/// also prints each round's ratio of handoffs to echo round trips and their median.
pub const SERVICE_ROUNDS: usize = 15;

/// `baton bench`'s figures for agent services on loopback (real HTTP, one process, two worker threads):
/// handoffs per second through three agents with 32 workflows in flight and, in the same run, round trips per
/// second of a minimal axum JSON echo of the same payload through the same HTTP client settings, taking turns
/// over [`SERVICE_ROUNDS`] rounds of `seconds` each. With a filter containing `sweep`, also handoffs per second
/// at 32, 128, 512 and 1024 workflows in flight. Each window's CPU seconds are the whole process's within the
/// window, and each figure is its median window.
pub fn service_bench(seconds: f64, filter: &str) -> Result<Vec<Figure>> {
    use baton::experiment::bench::process_cpu_seconds;
    let handoffs = "service/loopback/handoffs_per_sec";
    let echo = "service/loopback/echo_round_trips_per_sec";
    let chosen = (handoffs.contains(filter), echo.contains(filter));
    let mut figures = Vec::new();
    if chosen.0 || chosen.1 {
        let (h, e) = bench::loopback_handoffs_and_echo(seconds, 32, SERVICE_ROUNDS, chosen, process_cpu_seconds)?;
        // Each round's ratio of handoffs to echo round trips (the two windows measured one after the other).
        if chosen.0 && chosen.1 {
            print_ratios("service: handoffs over echo round trips", &h, &e);
        }
        for (name, ws) in [(handoffs, h), (echo, e)] {
            if !ws.is_empty() {
                figures.push(median(name.into(), ws));
            }
        }
    }
    if filter.contains("sweep") {
        let name = |n: usize| format!("service/sweep/handoffs_per_sec/in_flight_{n}");
        let levels: Vec<usize> = SWEEP_LEVELS.into_iter().filter(|&n| name(n).contains(filter)).collect();
        let per_level = bench::loopback_sweep(seconds, &levels, SWEEP_ROUNDS, process_cpu_seconds)?;
        // Each round's ratio of the most to the fewest in flight (their windows measured one after the other),
        // per second and per CPU second.
        if let (true, Some(lo), Some(hi)) = (levels.len() > 1, per_level.first(), per_level.last()) {
            let (a, b) = (levels[0], levels[levels.len() - 1]);
            print_ratios(&format!("service sweep: {b} over {a} in flight"), hi, lo);
        }
        for (&n, ws) in levels.iter().zip(per_level) {
            figures.push(median(name(n), ws));
        }
    }
    Ok(figures)
}

/// The numbers of workflows in flight the service sweep measures, and its rounds.
pub const SWEEP_LEVELS: [usize; 4] = [32, 128, 512, 1024];
pub const SWEEP_ROUNDS: usize = 15;

/// Print `label`'s per-round ratios of `num` to `den` (windows measured one after the other), per second and per
/// CPU second, each sorted with its median.
fn print_ratios(label: &str, num: &[bench::Window], den: &[bench::Window]) {
    eprintln!("{label}, per round: {}", sorted_with_median(per_round_ratios(num, den, |w| Some(w.per_sec))));
    let per_cpu = per_round_ratios(num, den, bench::Window::per_cpu_second);
    if !per_cpu.is_empty() {
        eprintln!("{label}, per CPU second: {}", sorted_with_median(per_cpu));
    }
}

/// Round by round, `rate(num) / rate(den)` (rounds where either has no rate are left out).
fn per_round_ratios(
    num: &[bench::Window],
    den: &[bench::Window],
    rate: impl Fn(&bench::Window) -> Option<f64>,
) -> Vec<f64> {
    num.iter().zip(den).filter_map(|(n, d)| Some(rate(n)? / rate(d)?)).collect()
}

/// `xs` sorted, printed to three places, and their median (`xs` is not empty).
fn sorted_with_median(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    let all = xs.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(" ");
    format!("{all} (median {:.3})", xs[xs.len() / 2])
}

/// The figure of the median window (by rate).
fn median(name: String, mut ws: Vec<bench::Window>) -> Figure {
    ws.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
    let w = ws[ws.len() / 2];
    Figure { name, per_sec: w.per_sec, ops: w.ops, seconds: w.seconds, cpu_seconds: w.cpu_seconds }
}
