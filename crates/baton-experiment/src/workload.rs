//! What a workload is to the runner: four small traits, implemented once per workload in its own folder and
//! listed once in [`crate::registry`].
//!
//! A run goes through them in order:
//! 1. [`WorkloadSpec`] (the `[workload]` table, by `kind`): [`WorkloadSpec::check`] checks every field against
//!    the rest of the experiment (methods, learner, training) and reads nothing from disk;
//! 2. [`Checked`] (the checked config): [`Checked::build`] reads the data and builds the world;
//! 3. [`Workload`] (the built world): its jobs, and [`Workload::run`] runs them all into one [`Outcome`];
//! 4. [`Results`] (inside the [`Outcome`]): one typed summary ([`RunSummary`]), and from it `summary.json`,
//!    the rows of `metrics.jsonl`, the plots and the terminal table.
//!
//! [`Kind`] is what is known of a workload without a config: the `kind` and summary id, how `baton report`
//! reads a `summary.json` back into the typed summary, and its hot loops for `baton bench`. The summary makes
//! its result tables once ([`crate::table::Table`]); `baton run` prints them as text, `baton report` as Markdown.

use std::any::Any;
use std::fmt::Debug;
use std::time::Duration;

use crate::bench::Figure;
use crate::config::{Experiment, ExperimentConfig};
use crate::progress::Progress;
use crate::ExperimentError;

/// What is known of a workload without a config, for `baton report` and `baton bench`.
pub trait Kind: Sync {
    /// The config's `kind`, e.g. `synthetic`.
    fn kind(&self) -> &'static str;
    /// The id its runs write to `summary.json`'s `workload`, e.g. `synthetic-v0`.
    fn id(&self) -> &'static str;
    /// Read the text of a `summary.json` this workload wrote back into its typed summary (for `baton report`).
    /// The error names the field that is missing or mistyped (see [`crate::table::parse`]).
    fn read_summary(&self, json: &str) -> Result<Box<dyn RunSummary>, String>;
    /// Its hot loops for `baton bench`, those whose name contains `filter`, about `budget` each.
    fn benches(&self, _budget: Duration, _filter: &str, _figures: &mut Vec<Figure>) -> Result<(), ExperimentError> {
        Ok(())
    }
}

/// A run's typed summary (what `summary.json` holds), as a run made it or as `baton report` read it back: the one
/// source of the run's result tables, printed by `baton run` and written to Markdown by `baton report`.
pub trait RunSummary: Debug + Send + Sync {
    /// The experiment's name, the workload id it was written with (`summary.json`'s `workload`), and the seeds
    /// per method.
    fn head(&self) -> (&str, &str, u32);
    /// What `baton run` prints: a line or two on the run, then its tables as aligned text.
    fn terminal(&self) -> String;
    /// The run's section of `baton report`: the same tables in Markdown, then sentences computed from the
    /// summary that say what the figures show and what they do not.
    fn markdown(&self, out: &mut String);
}

/// A `[workload]` table (the registry's config enum holds one per `kind`).
pub trait WorkloadSpec {
    /// Whether the run is budgeted by `[training]` (handoffs and evaluation points).
    fn uses_training(&self) -> bool {
        false
    }
    /// Reduce the workload's own budget for `--quick` (the `[training]` budget is reduced by the caller).
    fn quick(&mut self) {}
    /// Check every field against the experiment (methods, learner, training, sweep); reads no file. Errors
    /// name the dotted field and the reason.
    fn check(&self, experiment: &ExperimentConfig) -> Result<Box<dyn Checked>, ExperimentError>;
    /// Why `baton run --shard` cannot split this run, if it cannot (`None`: every workload's jobs go through
    /// `Experiment::map_jobs`, which shards them and replays them in `baton merge`, [`crate::shard`]). Asked
    /// before the world is built, so a refusal costs nothing.
    fn unshardable(&self) -> Option<&'static str> {
        None
    }
}

/// A checked workload config: every field valid, no data read yet.
pub trait Checked: Debug + Send + Sync {
    /// Read the data (data sets, topology and task files) and build the world.
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError>;
}

/// A built workload, ready to run.
pub trait Workload: Debug + Send + Sync + Any {
    /// The id written to `summary.json`.
    fn id(&self) -> &'static str;
    /// What [`Progress::advance`] counts, e.g. `handoffs`.
    fn work_unit(&self) -> &'static str;
    /// The total work of the run in [`Workload::work_unit`]s (for a progress bar).
    fn total_work(&self, experiment: &Experiment) -> u64;
    /// Run every job (method x seed x the workload's own axes) on the current rayon pool, collected in job
    /// order, and summarise.
    fn run(&self, experiment: &Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError>;
    /// Run [`baton_core::check_env`] (the environment contract under a uniformly random policy) on every
    /// environment the workload's jobs train and score on.
    fn check_env(&self) -> Result<(), ExperimentError>;
    /// For callers that need the concrete world (tests, examples).
    fn as_any(&self) -> &dyn Any;
}

/// What a run produced: one typed summary and its jobs, and everything written or printed from them.
pub trait Results: Debug + Send + Any {
    /// `summary.json`.
    fn summary_json(&self) -> Result<String, ExperimentError>;
    /// `metrics.jsonl`: one JSON object per line.
    fn metrics_jsonl(&self) -> Result<String, ExperimentError>;
    /// The other files of the run directory (plots, saved policies), by relative path.
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ExperimentError>;
    /// The typed summary (`summary.json` is it, serialised).
    fn summary(&self) -> &dyn RunSummary;
    /// The result tables `baton run` prints.
    fn terminal(&self) -> String {
        self.summary().terminal()
    }
    /// For callers that need the concrete results (tests).
    fn as_any(&self) -> &dyn Any;
    /// The same, by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// What a run produced, whatever the workload.
#[derive(Debug)]
pub struct Outcome(Box<dyn Results>);

impl Outcome {
    /// Wrap a workload's results.
    pub fn new(results: impl Results) -> Self {
        Outcome(Box::new(results))
    }
    /// The concrete results, if they are `T`'s.
    pub fn downcast_ref<T: Results>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
    /// The concrete results by value, if they are `T`'s.
    pub fn downcast<T: Results>(self) -> Option<T> {
        self.0.into_any().downcast::<T>().ok().map(|b| *b)
    }
}

impl std::ops::Deref for Outcome {
    type Target = dyn Results;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// `value` as pretty JSON with a final newline (`summary.json`).
pub fn pretty<T: serde::Serialize>(value: &T) -> Result<String, ExperimentError> {
    serde_json::to_string_pretty(value)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(ExperimentError::Serialise)
}

/// One compact JSON object per line (`metrics.jsonl`).
pub fn lines<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> Result<String, ExperimentError> {
    let mut out = String::new();
    for item in items {
        out.push_str(&serde_json::to_string(&item).map_err(ExperimentError::Serialise)?);
        out.push('\n');
    }
    Ok(out)
}

/// Implements [`Results::as_any`] and [`Results::into_any`].
#[macro_export]
#[doc(hidden)]
macro_rules! results_any {
    () => {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
            self
        }
    };
}
