//! The `baton` command line: run experiments, measure hot loops.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use baton::experiment::{self, runner::Progress};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

mod agent;
mod cpu;
mod math;

// glibc's allocator took 22% of the agents' CPU at 1,024 workflows in flight (10.6% at 32), a third of it
// waiting on its arena lock as the two worker threads free each other's buffers (`perf record` on `baton
// bench --filter sweep`); mimalloc keeps per-thread free lists. Results do not depend on the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// baton: learn how agents should hand work to each other (IC-Q, one scalar per handoff).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every method an experiment config names, over its seeds, and write a run directory.
    Run {
        /// The experiment config (TOML), e.g. experiments/synthetic.toml.
        config: PathBuf,
        /// Output directory: config.toml, metrics.jsonl, summary.json, meta.json, learning_curves.svg.
        #[arg(long)]
        out: PathBuf,
        /// Seeds per learning method (overrides the config's `seeds`).
        #[arg(long)]
        seeds: Option<u32>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Replace an existing non-empty output directory (only after the new run succeeded).
        #[arg(long)]
        force: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// A reduced run for a quick look or a test: a tenth of the handoffs (at least 1000), of the math and cpu
        /// episodes and of routing's simulated time, at most 3 seeds, and for a sweep a tenth of the e_approx
        /// samples. The resolved config.toml records what ran.
        #[arg(long)]
        quick: bool,
        /// Run only shard I of N of the run's jobs (`I/N`, I from 0) and write a shard directory to --out;
        /// `baton merge` joins the N shards into the run directory this command writes without --shard
        /// (synthetic, finite and [sweep] runs).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Join the shard directories of one run (`baton run --shard I/N`, every I of 0..N) into its run
    /// directory, byte for byte what the unsharded `baton run` writes (meta.json aside).
    Merge {
        /// The run directory to write.
        out: PathBuf,
        /// The shard directories, in any order.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Worker threads for what the merge recomputes (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Replace an existing non-empty output directory.
        #[arg(long)]
        force: bool,
    },
    /// Turn run directories into one Markdown page: tables, plots, and what the figures do and do not show.
    Report {
        /// Run directories written by `baton run`.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Write the page here (atomically) instead of printing it; image links are relative to its directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure the throughput of the hot loops (about one second each, one thread).
    Bench {
        /// Print one JSON object of named figures instead of a table.
        #[arg(long)]
        json: bool,
        /// Seconds per loop.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Only the loops whose name contains this text.
        #[arg(long, default_value = "")]
        filter: String,
    },
    /// TinyCPU: list tasks, run a program, check it on every input.
    Cpu {
        #[command(subcommand)]
        command: cpu::CpuCommand,
    },
    /// Multi-LLM math: run a math run's learned policy on one question.
    Math {
        #[command(subcommand)]
        command: math::MathCommand,
    },
    /// One IC-Q agent as an HTTP service (docs/service.md): serve, status.
    Agent {
        #[command(subcommand)]
        command: agent::AgentCommand,
    },
    /// Workflows through agent services: start.
    Workflow {
        #[command(subcommand)]
        command: agent::WorkflowCommand,
    },
}

struct Bar(ProgressBar);
impl Progress for Bar {
    fn advance(&self, handoffs: u64) {
        self.0.inc(handoffs);
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Run { config, out, seeds, threads, force, quiet, quick, shard } => {
            let shard = shard.map(|s| s.parse::<experiment::shard::ShardSpec>()).transpose()?;
            let options = experiment::launch::RunOptions { seeds, threads, force, quick, shard };
            run(config, out, &options, quiet).map(|()| ExitCode::SUCCESS)
        }
        Command::Merge { out, shards, threads, force } => {
            let options = experiment::shard::MergeOptions { threads, force };
            let finished = experiment::shard::merge(&out, &shards, &options, &experiment::NoProgress)?;
            if let Some(results) = &finished.outcome {
                print!("{}", results.terminal());
            }
            println!(
                "\nmerged {} shards into {} in {:.1}s",
                shards.len(),
                finished.dir.display(),
                finished.wall_seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { json, seconds, filter } => bench(json, seconds, &filter).map(|()| ExitCode::SUCCESS),
        Command::Report { dirs, out } => report(&dirs, out.as_deref()).map(|()| ExitCode::SUCCESS),
        Command::Cpu { command } => cpu::main(command),
        Command::Math { command } => math::main(command),
        Command::Agent { command } => agent::agent_main(command),
        Command::Workflow { command } => agent::workflow_main(command),
    }
}

fn run(config: PathBuf, out: PathBuf, options: &experiment::launch::RunOptions, quiet: bool) -> Result<()> {
    let cfg = experiment::read_config(&config)?;
    let launch = match experiment::launch::launch(cfg, &config.display().to_string(), &out, options) {
        Ok(launch) => launch,
        Err(e @ experiment::ExperimentError::InvalidConfig { .. }) => {
            return Err(anyhow::Error::new(e).context(format!("config {} is not valid", config.display())))
        }
        Err(e) => return Err(e.into()),
    };
    let exp = &launch.experiment;
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(exp.total_work()) };
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {} ({{per_sec}}, eta {{eta}})",
            exp.work_unit()
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Bar(bar);
    let finished = launch.run(&progress)?;
    progress.0.finish_and_clear();
    let (dir, wall) = (finished.dir, finished.wall_seconds);
    match (finished.outcome, options.shard) {
        (Some(results), _) => {
            print!("{}", results.terminal());
            println!("\nwrote {} in {wall:.1}s", dir.display());
        }
        (None, Some(shard)) => {
            println!("wrote shard {shard} to {} in {wall:.1}s (join the shards with `baton merge`)", dir.display())
        }
        (None, None) => anyhow::bail!("internal error: a run without results"),
    }
    Ok(())
}

fn report(dirs: &[PathBuf], out: Option<&std::path::Path>) -> Result<()> {
    let runs = dirs.iter().map(|d| experiment::report::read_run(d)).collect::<Result<Vec<_>, _>>()?;
    let base = match out {
        Some(path) => path.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
        None => PathBuf::from("."),
    };
    let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
    let page = experiment::report::render(&runs, &base);
    match out {
        None => print!("{page}"),
        Some(path) => {
            experiment::output::write_file_atomically(path, page.as_bytes())?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn bench(json: bool, seconds: f64, filter: &str) -> Result<()> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 600.0) {
        anyhow::bail!("--seconds {seconds}: must be in (0, 600]");
    }
    let mut figures = experiment::bench::run_benches(Duration::from_secs_f64(seconds), filter)?;
    figures.extend(agent::service_bench(seconds, filter)?);
    if figures.is_empty() {
        anyhow::bail!("--filter {filter:?} matches no benchmark");
    }
    if json {
        // Each figure: its rate per wall second and per CPU second received (the one to quote on a loaded
        // machine), and what was timed.
        let obj: serde_json::Map<String, serde_json::Value> = figures
            .iter()
            .map(|f| {
                let v = serde_json::json!({
                    "per_sec": f.per_sec,
                    "per_cpu_sec": f.per_cpu_sec(),
                    "ops": f.ops,
                    "seconds": f.seconds,
                    "cpu_seconds": f.cpu_seconds,
                });
                (f.name.clone(), v)
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&obj)?);
    } else {
        println!("{:<48} {:>16} {:>16} {:>14}", "loop", "per second", "per CPU second", "ops timed");
        for f in &figures {
            let cpu = f.per_cpu_sec().map_or("-".to_string(), |c| format!("{c:.3e}"));
            println!("{:<48} {:>16.3e} {:>16} {:>14}", f.name, f.per_sec, cpu, f.ops);
        }
    }
    Ok(())
}
