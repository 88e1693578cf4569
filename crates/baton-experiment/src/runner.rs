//! Run an [`Experiment`]: one dispatch to its workload (see [`crate::workload`]).
//!
//! Jobs are independent (one method, one seed, its own random streams) and their results are collected
//! in job order, so the output is byte-identical whatever the number of threads.

use crate::config::Experiment;
pub use crate::progress::{NoProgress, Progress};
pub use crate::synthetic::{CurvePoint, JobResult, ModelFacts, Reported, RunResults, Summary, SummaryRow};
pub use crate::workload::Outcome;
use crate::workload::Workload;
use crate::ExperimentError;

impl Experiment {
    /// Total work the run will do, in [`Experiment::work_unit`]s (for a progress bar).
    pub fn total_work(&self) -> u64 {
        self.workload.total_work(self)
    }

    /// What [`Progress::advance`] counts: `handoffs`, simulated `time units` or `episodes`.
    pub fn work_unit(&self) -> &'static str {
        self.workload.work_unit()
    }

    /// The seeds of the run: `base_seed + k`.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..u64::from(self.config.seeds)).map(|k| self.config.base_seed + k).collect()
    }

    /// Run every method over every seed on the current rayon pool.
    pub fn run(&self, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        self.workload.run(self, progress)
    }

    /// The built workload, if it is a `T` (e.g. `MathWorkload`, `baton_envs::Routing`).
    pub fn workload_as<T: Workload>(&self) -> Option<&T> {
        self.workload.as_any().downcast_ref()
    }
}
