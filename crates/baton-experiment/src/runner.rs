//! Run an [`Experiment`]: dispatch to its workload's runner.
//!
//! Jobs are independent (one method, one seed, its own random streams) and their results are collected
//! in job order, so the output is byte-identical whatever the number of threads.

use crate::config::{Experiment, Workload};
pub use crate::progress::{NoProgress, Progress};
pub use crate::synthetic::{CurvePoint, JobResult, ModelFacts, Reported, RunResults, Summary, SummaryRow};
use crate::ExperimentError;

/// What a run produced, by workload.
#[derive(Debug)]
pub enum Outcome {
    /// A synthetic run: exact scores and learning curves.
    Synthetic(RunResults),
    /// A routing run: delivery times by method and load, time series.
    Routing(crate::routing::RoutingResults),
    /// A bound sweep: one synthetic run per level of one axis.
    Sweep(crate::sweep::SweepResults),
    /// A math workflow run: accuracy and cost by method and lambda.
    Math(crate::math::MathResults),
    /// A CPU-programming run: success, cycles, cost and return by method and k.
    Cpu(crate::cpu::CpuResults),
}

impl Experiment {
    /// Total work the run will do, in [`Experiment::work_unit`]s (for a progress bar).
    pub fn total_work(&self) -> u64 {
        if let Some(sweep) = &self.sweep {
            return sweep.total_work(self);
        }
        match &self.workload {
            Workload::Synthetic(_) => {
                let learning = self.config.methods.iter().filter(|m| m.learns()).count() as u64;
                learning * u64::from(self.config.seeds) * self.training.handoffs
            }
            Workload::Routing(r) => {
                let jobs = (self.config.methods.len() * r.config.loads.len()) as u64 * u64::from(self.config.seeds);
                let step = (r.config.duration / 50.0).round() as u64;
                jobs * 50 * step
            }
            Workload::Math(m) => {
                let learning = self.config.methods.iter().filter(|x| x.learns()).count() as u64;
                learning * m.math.config.lambdas.len() as u64 * u64::from(self.config.seeds) * m.math.config.episodes
            }
            Workload::Cpu(c) => {
                let learning = self.config.methods.iter().filter(|x| x.learns()).count() as u64;
                learning * c.worlds.len() as u64 * u64::from(self.config.seeds) * c.cpu.config.episodes
            }
        }
    }

    /// What [`Progress::advance`] counts: `handoffs` or simulated `time units`.
    pub fn work_unit(&self) -> &'static str {
        match &self.workload {
            Workload::Synthetic(_) => "handoffs",
            Workload::Routing(_) => "time units",
            Workload::Math(_) | Workload::Cpu(_) => "episodes",
        }
    }

    /// The seeds of the run: `base_seed + k`.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..u64::from(self.config.seeds)).map(|k| self.config.base_seed + k).collect()
    }

    /// Run every method over every seed on the current rayon pool.
    pub fn run(&self, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        if let Some(sweep) = &self.sweep {
            return crate::sweep::run(self, sweep, progress).map(Outcome::Sweep);
        }
        match &self.workload {
            Workload::Synthetic(synthetic) => self.run_synthetic(synthetic, progress).map(Outcome::Synthetic),
            Workload::Routing(routing) => crate::routing::run(
                &self.config.name,
                routing,
                &self.config.methods,
                &self.seed_list(),
                &self.learner,
                progress,
            )
            .map(Outcome::Routing),
            Workload::Math(math) => crate::math::run(
                &self.config.name,
                math,
                &self.config.methods,
                &self.seed_list(),
                &self.learner,
                progress,
            )
            .map(Outcome::Math),
            Workload::Cpu(cpu) => crate::cpu::run(
                &self.config.name,
                cpu,
                &self.config.methods,
                &self.seed_list(),
                &self.learner,
                progress,
            )
            .map(Outcome::Cpu),
        }
    }
}
