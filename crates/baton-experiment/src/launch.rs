//! One `baton run`, as a library call: apply the overrides, validate, prepare the run directory, run on a
//! worker pool, write the directory. The command line and the Python bindings both call [`launch`], so a
//! run started from either writes the same files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{Experiment, ExperimentConfig, ExperimentError, Outcome, Progress};

/// Largest worker pool a run may ask for.
pub const MAX_THREADS: usize = 1024;

/// The knobs of one run besides its config.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Seeds per learning method (overrides the config's `seeds`).
    pub seeds: Option<u32>,
    /// Worker threads (`None` or 0: all cores). Results do not depend on it.
    pub threads: Option<usize>,
    /// Replace an existing non-empty output directory (only after the new run succeeded).
    pub force: bool,
    /// The reduced run of [`ExperimentConfig::quick`].
    pub quick: bool,
    /// Run only this shard's share of the jobs and write a shard directory instead of a run directory
    /// ([`crate::shard`]; `baton merge` joins the shards).
    pub shard: Option<crate::shard::ShardSpec>,
}

/// A run that passed validation and whose output directory was accepted: nothing has been trained yet.
pub struct Launch {
    /// The validated experiment (after `quick` and `seeds`).
    pub experiment: Experiment,
    pool: rayon::ThreadPool,
    dir: crate::output::RunDir,
    config_file: String,
}

/// What a finished run wrote.
pub struct Finished {
    /// The committed run directory (a shard's: its shard directory).
    pub dir: PathBuf,
    /// The results, as written to `summary.json` and `metrics.jsonl` (`None` for a shard, which stops before
    /// summarising).
    pub outcome: Option<Outcome>,
    /// Wall-clock seconds of the training (as in `meta.json`).
    pub wall_seconds: f64,
}

/// Apply `options` to `config`, validate it and prepare `out`, before any work: a bad config or a refused
/// output path costs no training. `config_file` names the config in errors and in `meta.json`.
pub fn launch(
    mut config: ExperimentConfig,
    config_file: &str,
    out: &Path,
    options: &RunOptions,
) -> Result<Launch, ExperimentError> {
    if options.quick {
        config = config.quick();
    }
    if let Some(s) = options.seeds {
        config.seeds = s;
    }
    // Refused before the world is built (a live backend would ask its server there).
    let jobs = match options.shard {
        Some(spec) => match config.workload.spec().unshardable() {
            Some(why) => return Err(ExperimentError::Shard(format!("--shard {spec}: {why}"))),
            None => crate::shard::JobMode::Shard(spec, Default::default()),
        },
        None => crate::shard::JobMode::All,
    };
    let mut experiment = config.validate()?;
    experiment.jobs = jobs;
    let pool = worker_pool(options.threads)?;
    let dir = crate::output::RunDir::create(out, options.force)?;
    Ok(Launch { experiment, pool, dir, config_file: config_file.to_string() })
}

/// The rayon pool a run's jobs go through: `threads` workers (0 or `None`: one per core), at most
/// [`MAX_THREADS`].
pub(crate) fn worker_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, ExperimentError> {
    let threads = threads.unwrap_or(0);
    if threads > MAX_THREADS {
        return Err(ExperimentError::InvalidConfig {
            field: "threads".into(),
            reason: format!("{threads}: at most {MAX_THREADS}"),
        });
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ExperimentError::Internal(format!("cannot start the worker threads: {e}")))
}

impl Launch {
    /// Units of work the progress reporter will be told about in total.
    pub fn total_work(&self) -> u64 {
        self.experiment.total_work()
    }

    /// Worker threads of the pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Train every method over every seed, then write the run directory atomically.
    pub fn run(self, progress: &dyn Progress) -> Result<Finished, ExperimentError> {
        let Launch { experiment, pool, dir, config_file } = self;
        let started = Instant::now();
        let outcome = pool.install(|| experiment.run(progress));
        let wall_seconds = started.elapsed().as_secs_f64();
        if let crate::shard::JobMode::Shard(spec, store) = &experiment.jobs {
            return match outcome {
                Err(ExperimentError::ShardStopped) => {
                    let dir = crate::shard::write_shard(dir, &experiment, *spec, store)?;
                    Ok(Finished { dir, outcome: None, wall_seconds })
                }
                Err(e) => Err(e),
                Ok(_) => Err(ExperimentError::Internal("a shard ran past its jobs".into())),
            };
        }
        let outcome = outcome?;
        let meta = serde_json::json!({
            "baton_version": env!("CARGO_PKG_VERSION"),
            "config_file": config_file,
            "threads": pool.current_num_threads(),
            "wall_seconds": wall_seconds,
            "work": experiment.total_work(),
            "work_unit": experiment.work_unit(),
            "host": std::env::var("HOSTNAME").unwrap_or_default(),
        });
        let dir = crate::write_run(dir, &experiment, &outcome, &meta)?;
        Ok(Finished { dir, outcome: Some(outcome), wall_seconds })
    }
}
