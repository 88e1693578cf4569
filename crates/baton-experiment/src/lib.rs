//! # baton-experiment: the runner
//!
//! Validated experiment configs ([`ExperimentConfig`] -> [`Experiment`]), the training loops that turn an
//! environment's event stream into per-agent transition records ([`train`]), exact evaluation against a
//! solved model ([`eval`]), the parallel, deterministic runner ([`runner`]), and the run directory
//! ([`output`], [`plot`]). With the binary, this is the only crate that writes files.

pub mod bench;
pub mod config;
pub mod cpu;
pub mod data;
pub mod error;
pub mod eval;
pub mod launch;
pub mod math;
pub mod method;
pub mod output;
pub mod plot;
pub mod progress;
pub mod report;
pub mod routellm;
pub mod routing;
pub mod runner;
pub mod stats;
pub mod sweep;
pub mod synthetic;
pub mod train;

pub use config::{Experiment, ExperimentConfig, Method, TrainingConfig, WorkloadConfig};
pub use error::ExperimentError;
pub use math::ask;
pub use routing::qrouting;
pub use runner::{NoProgress, Outcome, Progress, RunResults, Summary, SummaryRow};

use std::path::Path;

/// Read and parse an experiment config file (at most [`data::MAX_CONFIG_BYTES`]); errors name the file.
pub fn read_config(path: &Path) -> Result<ExperimentConfig, ExperimentError> {
    let text = data::read_capped(path, data::MAX_CONFIG_BYTES, "config")?;
    ExperimentConfig::from_toml(&text, &path.display().to_string())
}

/// Read and validate an experiment config file.
pub fn load_experiment(path: &Path) -> Result<Experiment, ExperimentError> {
    let origin = path.display().to_string();
    read_config(path)?.validate().map_err(|e| match e {
        ExperimentError::InvalidConfig { field, reason } => {
            ExperimentError::InvalidConfig { field: format!("{origin}: {field}"), reason }
        }
        other => other,
    })
}

/// Prepare the run directory `out` before running, so that a refused output path costs no training.
pub fn prepare_run_dir(out: &Path, overwrite: bool) -> Result<output::RunDir, ExperimentError> {
    output::RunDir::create(out, overwrite)
}

/// Write a finished run into a prepared directory, atomically (see [`output`]): the resolved `config.toml`,
/// `metrics.jsonl`, `summary.json`, `meta.json` and the plots (synthetic: `learning_curves.svg`; routing:
/// `delivery_vs_load.svg`, and `time_series.svg` when the run has one load; math: `front.svg` and IC-Q's
/// learned tables for the first seed under `policy/`, see [`ask`]; cpu: `success_vs_difficulty.svg`, and
/// `success_vs_k.svg` with a k sweep).
pub fn write_run(
    dir: output::RunDir,
    experiment: &Experiment,
    outcome: &Outcome,
    meta: &serde_json::Value,
) -> Result<std::path::PathBuf, ExperimentError> {
    let ser = |e: serde_json::Error| ExperimentError::Internal(format!("serialising: {e}"));
    fn lines<T: serde::Serialize>(items: impl Iterator<Item = T>) -> Result<String, serde_json::Error> {
        let mut out = String::new();
        for item in items {
            out.push_str(&serde_json::to_string(&item)?);
            out.push('\n');
        }
        Ok(out)
    }
    fn pretty<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(value).map(|mut s| {
            s.push('\n');
            s
        })
    }
    dir.write("config.toml", experiment.config.to_toml()?.as_bytes())?;
    dir.write("meta.json", pretty(meta).map_err(ser)?.as_bytes())?;
    match outcome {
        Outcome::Synthetic(results) => {
            let metrics = lines(results.jobs.iter().flat_map(|j| j.curve.iter())).map_err(ser)?;
            dir.write("metrics.jsonl", metrics.as_bytes())?;
            dir.write("summary.json", pretty(&results.summary).map_err(ser)?.as_bytes())?;
            let svg = plot::learning_curves_svg(&results.summary, &results.jobs).map_err(ExperimentError::Internal)?;
            dir.write("learning_curves.svg", svg.as_bytes())?;
        }
        Outcome::Routing(results) => {
            let config::Workload::Routing(routing) = &experiment.workload else {
                return Err(ExperimentError::Internal("routing results of a non-routing workload".into()));
            };
            let points = routing::bin_points(results, routing.config.bin);
            dir.write("metrics.jsonl", lines(points.iter()).map_err(ser)?.as_bytes())?;
            dir.write("summary.json", pretty(&results.summary).map_err(ser)?.as_bytes())?;
            let svg = plot::delivery_vs_load_svg(&results.summary, routing.config.published.as_ref())
                .map_err(ExperimentError::Internal)?;
            dir.write("delivery_vs_load.svg", svg.as_bytes())?;
            if routing.config.loads.len() == 1 {
                let svg = plot::time_series_svg(&results.summary, &points, &routing.config)
                    .map_err(ExperimentError::Internal)?;
                dir.write("time_series.svg", svg.as_bytes())?;
            }
        }
        Outcome::Math(results) => {
            let config::Workload::Math(math) = &experiment.workload else {
                return Err(ExperimentError::Internal("math results of a non-math workload".into()));
            };
            let points = math::points(results, math.has_routellm());
            dir.write("metrics.jsonl", lines(points.iter()).map_err(ser)?.as_bytes())?;
            dir.write("summary.json", pretty(&results.summary).map_err(ser)?.as_bytes())?;
            let svg = plot::front_svg(&results.summary).map_err(ExperimentError::Internal)?;
            dir.write("front.svg", svg.as_bytes())?;
            if let Some(seed) = results.jobs.iter().find(|j| j.policy.is_some()).map(|j| j.seed) {
                for (name, text) in ask::policy_files(&results.jobs, &math.table, &math.spec, &math.dataset, seed)? {
                    dir.write(&name, text.as_bytes())?;
                }
            }
        }
        Outcome::Cpu(results) => {
            dir.write("metrics.jsonl", lines(cpu::points(results).iter()).map_err(ser)?.as_bytes())?;
            dir.write("summary.json", pretty(&results.summary).map_err(ser)?.as_bytes())?;
            let svg = plot::success_vs_difficulty_svg(&results.summary).map_err(ExperimentError::Internal)?;
            dir.write("success_vs_difficulty.svg", svg.as_bytes())?;
            if results.summary.k_sweep.iter().any(|r| r.k != results.summary.tester_k) {
                let svg = plot::success_vs_k_svg(&results.summary).map_err(ExperimentError::Internal)?;
                dir.write("success_vs_k.svg", svg.as_bytes())?;
            }
        }
        Outcome::Sweep(results) => {
            dir.write("metrics.jsonl", lines(results.points()).map_err(ser)?.as_bytes())?;
            dir.write("summary.json", pretty(&results.summary).map_err(ser)?.as_bytes())?;
            let svg = plot::sweep_svg(&results.summary).map_err(ExperimentError::Internal)?;
            dir.write("sweep.svg", svg.as_bytes())?;
        }
    }
    dir.commit()
}
