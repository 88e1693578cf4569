//! The `baton` command line: run experiments, measure hot loops.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use baton::experiment::routing::RoutingSummary;
use baton::experiment::{self, runner::Progress, Outcome, Summary};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

mod agent;
mod cpu;
mod math;

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
        Command::Run { config, out, seeds, threads, force, quiet, quick } => {
            run(config, out, seeds, threads, force, quiet, quick).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench { json, seconds, filter } => bench(json, seconds, &filter).map(|()| ExitCode::SUCCESS),
        Command::Report { dirs, out } => report(&dirs, out.as_deref()).map(|()| ExitCode::SUCCESS),
        Command::Cpu { command } => cpu::main(command),
        Command::Math { command } => math::main(command),
        Command::Agent { command } => agent::agent_main(command),
        Command::Workflow { command } => agent::workflow_main(command),
    }
}

fn run(
    config: PathBuf,
    out: PathBuf,
    seeds: Option<u32>,
    threads: Option<usize>,
    force: bool,
    quiet: bool,
    quick: bool,
) -> Result<()> {
    let cfg = experiment::read_config(&config)?;
    let options = experiment::launch::RunOptions { seeds, threads, force, quick };
    let launch = match experiment::launch::launch(cfg, &config.display().to_string(), &out, &options) {
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
    let (dir, results, wall) = (finished.dir, finished.outcome, finished.wall_seconds);
    match &results {
        Outcome::Synthetic(r) => print_summary(&r.summary),
        Outcome::Routing(r) => print_routing(&r.summary),
        Outcome::Sweep(r) => print_sweep(&r.summary),
        Outcome::Math(r) => print_math(&r.summary),
        Outcome::Cpu(r) => cpu::print_summary(&r.summary),
    }
    println!("\nwrote {} in {wall:.1}s", dir.display());
    Ok(())
}

fn print_math(s: &experiment::math::MathSummary) {
    println!(
        "{} on {} ({} seeds, {} training episodes, {} held-out questions of {}); critic: {}\n",
        s.experiment,
        s.workload,
        s.seeds,
        s.episodes,
        s.heldout_questions,
        s.dataset,
        match s.critic {
            baton::envs::math::CriticKind::None => "none (every signal is computed from the recorded text)",
            baton::envs::math::CriticKind::LabelSimulated => "label-simulated (drawn from the correctness label)",
            baton::envs::math::CriticKind::Backend => "the simulated backend's verifier",
        }
    );
    println!(
        "{:<12} {:>7} {:>9} {:>17} {:>10} {:>12} {:>9} {:>8} {:>7} {:>16}",
        "method", "lambda", "accuracy", "95% CI", "routellm", "USD per 1k", "return", "strong%", "PGR", "critic"
    );
    let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
    for r in &s.rows {
        println!(
            "{:<12} {:>7} {:>9.4} {:>17} {:>10} {:>12.3} {:>9} {:>8.2} {:>7.3} {:>16}",
            r.method.name(),
            opt(r.lambda, 0),
            r.accuracy,
            format!("[{:.3}, {:.3}]", r.accuracy_ci95[0], r.accuracy_ci95[1]),
            opt(r.accuracy_routellm, 4),
            r.cost_per_1k_usd,
            opt(r.mean_return, 4),
            100.0 * r.strong_share,
            r.pgr,
            r.critic
        );
    }
    for c in &s.front_checks {
        println!(
            "front vs {:<12} at ${:.3}/1k: {:.4} vs {:.4} ({})",
            c.method.name(),
            c.cost_per_1k_usd,
            c.front_accuracy.unwrap_or(f64::NAN),
            c.accuracy,
            if c.holds { "holds" } else { "does not hold" }
        );
    }
    print_routellm(&s.routellm, s.seeds);
    for c in &s.oracle_checks {
        println!(
            "ic-q vs oracle at lambda {}: {:.4} vs {:.4} ({:+.4}, {}); return {:+.4}; \
             ic-q's front at the oracle's ${:.3}/1k: {:.4} ({:+.4}, {})",
            c.lambda,
            c.ic_q,
            c.oracle,
            c.difference,
            if c.holds { "holds" } else { "does not hold" },
            c.return_difference,
            c.oracle_cost_per_1k_usd,
            c.front_accuracy.unwrap_or(f64::NAN),
            c.front_difference.unwrap_or(f64::NAN),
            if c.front_holds { "holds" } else { "does not hold" }
        );
    }
}

fn print_routellm(r: &experiment::math::metrics::RouteLlmSection, seeds: u32) {
    use experiment::routellm::RouterMetrics;
    let ci = |v: f64, c: [f64; 2], pct: bool| {
        let k = if pct { 100.0 } else { 1.0 };
        let d = if pct { 1 } else { 3 };
        format!("{:.d$} [{:.d$}, {:.d$}]", k * v, k * c[0], k * c[1])
    };
    let cols = |m: &RouterMetrics| {
        format!(
            "{:>21} {:>19} {:>19}",
            ci(m.apgr, m.apgr_ci95, false),
            ci(m.cpt50, m.cpt50_ci95, true),
            ci(m.cpt80, m.cpt80_ci95, true)
        )
    };
    for reference in &r.references {
        println!(
            "\nRouteLLM's metrics on the {} {} questions{} (mean of {seeds} seeds [95% CI]; PGR against cheap-only {:.4} \
             and strong-only {:.4} on the same questions)",
            reference.questions,
            reference.subset.name(),
            if reference.excluded > 0 {
                format!(" ({} of RouteLLM's contaminated prompts left out)", reference.excluded)
            } else {
                String::new()
            },
            reference.cheap_accuracy,
            reference.strong_accuracy
        );
        println!(
            "{:<12} {:>15} | {:^61} | {:^61}",
            "", "", "x = share of questions sent to the strong solver", "x = USD relative to strong-only's"
        );
        println!(
            "{:<12} {:>15} | {:>21} {:>19} {:>19} | {:>21} {:>19} {:>19}",
            "method", "critic", "APGR", "CPT(50%) %", "CPT(80%) %", "APGR", "CPT(50%) (x100)", "CPT(80%) (x100)"
        );
        for f in r.fronts.iter().filter(|f| f.subset == reference.subset) {
            println!("{:<12} {:>15} | {} | {}", f.method.name(), f.critic, cols(&f.calls), cols(&f.cost));
        }
    }
    if !r.published.is_empty() {
        println!("\nRouteLLM's published GSM8K rows (arXiv 2406.18665, Table 3; 1,307 questions):");
        for p in &r.published {
            println!(
                "{:<48} APGR {:.3}  CPT(50%) {:.2}%  CPT(80%) {:.2}%",
                p.router,
                p.apgr,
                100.0 * p.cpt50,
                100.0 * p.cpt80
            );
        }
    }
    println!();
}

fn print_routing(s: &RoutingSummary) {
    println!("{} on {} ({} seeds): {}", s.experiment, s.workload, s.seeds, s.network.description);
    println!("mean delivery time of packets delivered after t = {}, median over seeds\n", s.warmup);
    let skills = s.rows.iter().any(|r| r.routing_accuracy.is_some());
    let last = if skills { "accuracy" } else { "published" };
    println!(
        "{:<14} {:>6} {:>12} {:>19} {:>10} {:>10} {:>9} {:>10}",
        "method", "load", "delivery", "IQR", "hops", "delivered", "dropped", last
    );
    for r in &s.rows {
        let iqr = format!("[{:.2}, {:.2}]", r.mean_delivery_time_iqr[0], r.mean_delivery_time_iqr[1]);
        let extra = match (r.routing_accuracy, r.published) {
            (Some(a), _) => format!("{:.2}%", 100.0 * a),
            (None, Some(v)) => format!("{v:.2}"),
            (None, None) => "-".to_string(),
        };
        println!(
            "{:<14} {:>6} {:>12.3} {:>19} {:>10.2} {:>10.0} {:>9.0} {:>10}",
            r.method.name(),
            r.load,
            r.mean_delivery_time,
            iqr,
            r.mean_hops,
            r.delivered,
            r.dropped,
            extra
        );
    }
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

fn print_sweep(s: &experiment::sweep::SweepSummary) {
    println!(
        "{} on {} ({} seeds, {} handoffs): {} against {} (predicted: {})\n",
        s.experiment,
        s.workload,
        s.seeds,
        s.handoffs,
        s.error,
        s.axis.name(),
        s.predicted
    );
    println!(
        "{:<10} {:>9} {:>12} {:>25} {:>11} {:>11} {:>11}",
        "method", "level", "error", "95% CI", "predicted", "q_err_inf", "policy loss"
    );
    for r in &s.rows {
        let ci = format!("[{:.4}, {:.4}]", r.error_ci95[0], r.error_ci95[1]);
        let predicted = r.predicted.map_or_else(|| "-".to_string(), |p| format!("{p:.4}"));
        println!(
            "{:<10} {:>9} {:>12.4} {:>25} {:>11} {:>11.4} {:>11.4}",
            r.method.name(),
            r.level,
            r.error,
            ci,
            predicted,
            r.q_error_inf,
            r.policy_loss
        );
    }
    match &s.fit {
        Some(f) => println!(
            "\nfit of {} ({} on {}, levels {:?}): slope {:.4}, R^2 {:.4}",
            f.method.name(),
            f.y,
            f.x,
            f.levels,
            f.slope,
            f.r2
        ),
        None => println!("\nno fit (too few levels with a finite measurement)"),
    }
}

fn print_summary(s: &Summary) {
    let m = &s.model;
    println!("{} on {} ({} seeds): {}", s.experiment, s.workload, s.seeds, m.description);
    println!(
        "interface gap: eps_IF = {:.3e}, delta_IF = {:.3e}, alpha_IF = {:.3e} (gamma_bar = {:.4})",
        m.eps_if, m.delta_if, m.alpha_if, m.gamma_bar
    );
    let t_mix = m.t_mix.map_or_else(|| "not computed".to_string(), |t| t.to_string());
    println!("behaviour chain: t_mix = {t_mix} handoffs, min xi = {:.3e}\n", m.coverage_min);
    println!(
        "{:<11} {:>10} {:>23} {:>9} {:>12} {:>12} {:>9}",
        "method", "value", "95% CI", "gap", "q_err_inf", "q_err_xi", "scalars"
    );
    for r in &s.rows {
        let ci = format!("[{:.4}, {:.4}]", r.value_ci95[0], r.value_ci95[1]);
        println!(
            "{:<11} {:>10.4} {:>23} {:>8.2}% {:>12.4} {:>12.4} {:>9}",
            r.method.name(),
            r.value,
            ci,
            100.0 * r.gap,
            r.q_error_inf,
            r.q_error_xi,
            format!("{:.0}/xfer", r.scalars_per_transfer)
        );
    }
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
