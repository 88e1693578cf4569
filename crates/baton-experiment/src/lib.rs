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
pub(crate) mod episodic;
pub mod error;
pub mod eval;
pub mod finite;
pub mod launch;
pub mod math;
pub mod method;
pub mod output;
pub mod plot;
pub mod progress;
pub mod registry;
pub mod report;
pub mod routellm;
pub mod routing;
pub mod runner;
pub mod shard;
pub mod stats;
pub mod sweep;
pub mod synthetic;
pub mod table;
pub mod train;
pub mod workload;

pub use config::{Experiment, ExperimentConfig, Method, TrainingConfig, WorkloadConfig};
pub use error::ExperimentError;
pub use math::ask;
pub use routing::qrouting;
pub use runner::{NoProgress, Outcome, Progress, RunResults, Summary, SummaryRow};
pub use workload::Workload;

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

/// Write a finished run into a directory prepared by [`output::RunDir::create`] (before the run, so that a
/// refused output path costs no training), atomically (see [`output`]): the resolved `config.toml`,
/// `meta.json`, and from the workload's results `metrics.jsonl`, `summary.json` and its other files (plots;
/// a math run's saved policy under `policy/`, see [`ask`]).
pub fn write_run(
    dir: output::RunDir,
    experiment: &Experiment,
    outcome: &Outcome,
    meta: &serde_json::Value,
) -> Result<std::path::PathBuf, ExperimentError> {
    dir.write("config.toml", experiment.config.to_toml()?.as_bytes())?;
    dir.write("meta.json", workload::pretty(meta)?.as_bytes())?;
    dir.write("metrics.jsonl", outcome.metrics_jsonl()?.as_bytes())?;
    dir.write("summary.json", outcome.summary_json()?.as_bytes())?;
    for (name, bytes) in outcome.files()? {
        dir.write(&name, &bytes)?;
    }
    dir.commit()
}
