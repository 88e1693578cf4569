//! Experiment configuration (TOML), validated into [`Experiment`] before anything runs.
//!
//! ```toml
//! name = "synthetic-default"
//! seeds = 10
//! methods = ["optimal", "ic-q", "oracle", "no-scalar", "random"]
//!
//! [workload]
//! kind = "synthetic"
//! agents = 3
//!
//! [training]
//! handoffs = 1000000
//! eval_points = 20
//!
//! [learner]
//! step_exponent = 0.8
//! behaviour = { kind = "uniform" }
//! ```

use baton_learn::{LearnerConfig, LearnerParams};
use serde::{Deserialize, Serialize};

pub use crate::data::{data_dir_help, resolve_data_path, DATA_DIR_VAR};
pub use crate::method::Method;
pub use crate::registry::WorkloadConfig;
use crate::workload::Checked;
pub use crate::workload::Workload;
use crate::ExperimentError;

/// A whole experiment: one workload, the methods to compare, how long to train, over how many seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name of the experiment, copied into `summary.json`.
    pub name: String,
    /// Number of independent seeds per learning method (`--seeds` overrides), `1..=1000`.
    #[serde(default = "default_seeds")]
    pub seeds: u32,
    /// Base seed: seed k of the run uses `base_seed + k` (which must fit in 64 bits).
    #[serde(default)]
    pub base_seed: u64,
    /// Methods to run, by stable kebab-case name: `optimal`, `ic-q`, `oracle`, `no-scalar`, `random`,
    /// `round-robin` (synthetic), `shortest-path` (routing), `cheap-only`, `strong-only`, `cascade`,
    /// `both-tie` (math), `fixed-pipeline` (cpu).
    pub methods: Vec<Method>,
    /// The workload and its knobs, by `kind`.
    pub workload: WorkloadConfig,
    /// Training budget and evaluation schedule (synthetic workloads; a routing run's length is
    /// `workload.duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingConfig>,
    /// Learner settings shared by every learning method.
    #[serde(default)]
    pub learner: LearnerConfig,
    /// A term-by-term bound sweep (model.md 5): run the synthetic experiment once per level of one axis. TOML
    /// table `[sweep]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::sweep::SweepConfig>,
}

fn default_seeds() -> u32 {
    10
}

/// Most seeds per learning method.
pub const MAX_SEEDS: u32 = 1000;
/// Most training handoffs per seed and method (10^10 take hours even on the fast loops).
pub const MAX_HANDOFFS: u64 = 10_000_000_000;

/// How long each learning method trains, and how often it is evaluated. TOML table `[training]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Handoffs (option completions, i.e. Q-updates) per seed per method, `1..=10^10`.
    pub handoffs: u64,
    /// Number of points on the learning curve (exact evaluations of the greedy policy), 1..=1000.
    pub eval_points: u32,
    /// Where the points go: `log` (geometric from handoffs/1000 to handoffs, shows early learning) or
    /// `linear` (evenly spaced).
    pub eval_spacing: EvalSpacing,
}

/// Spacing of learning-curve points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalSpacing {
    /// Geometric from `handoffs / 1000` to `handoffs`.
    Log,
    /// Evenly spaced up to `handoffs`.
    Linear,
}

impl TrainingConfig {
    /// The handoff counts at which the greedy policy is evaluated: strictly increasing, ending at `handoffs`.
    pub fn eval_schedule(&self) -> Vec<u64> {
        let total = self.handoffs;
        let points = u64::from(self.eval_points.max(1));
        let mut at: Vec<u64> = match self.eval_spacing {
            EvalSpacing::Linear => (1..=points).map(|k| total * k / points).collect(),
            EvalSpacing::Log => {
                let lo = (total as f64 / 1000.0).max(1.0);
                let ratio = total as f64 / lo;
                (0..points)
                    .map(|k| {
                        let f = if points == 1 { 1.0 } else { k as f64 / (points - 1) as f64 };
                        (lo * ratio.powf(f)).round() as u64
                    })
                    .collect()
            }
        };
        at.retain(|&h| h >= 1);
        if let Some(last) = at.last_mut() {
            *last = total;
        }
        at.dedup();
        at
    }
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig { handoffs: 1_000_000, eval_points: 20, eval_spacing: EvalSpacing::Log }
    }
}

/// A validated experiment: every field checked, ready to run.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The config as given (after overrides), written back as the resolved `config.toml`.
    pub config: ExperimentConfig,
    /// The workload, its world built.
    pub workload: std::sync::Arc<dyn Workload>,
    /// The learner settings.
    pub learner: LearnerParams,
    /// The training budget (synthetic workloads; defaults when the config has no `[training]`).
    pub training: TrainingConfig,
    /// How the jobs run: all here, a shard's share, or replayed from shards ([`crate::shard`]).
    pub jobs: crate::shard::JobMode,
}

/// A checked experiment: every field valid, no data read and no world built yet ([`CheckedExperiment::build`]
/// does that).
#[derive(Debug)]
pub struct CheckedExperiment {
    /// The config as given (after overrides).
    pub config: ExperimentConfig,
    /// The checked workload.
    pub workload: Box<dyn Checked>,
    /// The learner settings.
    pub learner: LearnerParams,
    /// The training budget.
    pub training: TrainingConfig,
}

impl CheckedExperiment {
    /// Read the workload's data and build its world.
    pub fn build(self) -> Result<Experiment, ExperimentError> {
        let workload = self.workload.build()?;
        Ok(Experiment {
            config: self.config,
            workload: workload.into(),
            learner: self.learner,
            training: self.training,
            jobs: crate::shard::JobMode::All,
        })
    }
}

impl ExperimentConfig {
    /// Parse TOML text; `origin` (a file path) is named in errors.
    ///
    /// A type error, an unknown or a missing field names the dotted field (`workload.agents: invalid value:
    /// integer `-1`, expected u32`), inside `[workload]` too; a syntax error gives TOML's line and column.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ExperimentError> {
        let parse = |message: String| ExperimentError::Parse { origin: origin.to_string(), message };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| parse(e.to_string()))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let error = e.into_inner();
            let line = error.span().map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let (path, message) = match crate::registry::split_inner_path(error.message()) {
                Some((inner, message)) if path != "." => (baton_core::tagged::join(&path, inner), message.to_string()),
                Some((inner, message)) => (inner.to_string(), message.to_string()),
                None => (path, error.message().to_string()),
            };
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            if path == "." {
                // A missing top-level field: the file as a whole.
                return parse(format!("{message}{at}"));
            }
            parse(format!("{path}: {message}{at}"))
        })
    }

    /// A reduced version for a quick look or a test: a tenth of the handoffs (at least 1000, and at least
    /// the evaluation points), of the math and cpu episodes and of routing's simulated time, at most 3 seeds,
    /// and a tenth of a sweep's `e_approx` samples (at least 1000).
    pub fn quick(mut self) -> Self {
        self.seeds = self.seeds.min(3);
        if let Some(t) = self.training.as_mut() {
            t.handoffs = (t.handoffs / 10).max(1000).max(u64::from(t.eval_points));
        } else if self.workload.spec().uses_training() {
            let mut t = TrainingConfig::default();
            t.handoffs /= 10;
            self.training = Some(t);
        }
        self.workload.spec_mut().quick();
        if let Some(s) = self.sweep.as_mut() {
            s.approx_samples = (s.approx_samples / 10).max(1000);
            s.approx_seeds = s.approx_seeds.min(self.seeds);
        }
        self
    }

    /// The resolved config as TOML.
    pub fn to_toml(&self) -> Result<String, ExperimentError> {
        toml::to_string_pretty(self).map_err(|e| ExperimentError::Internal(format!("serialising config: {e}")))
    }

    /// Every listed method is one of the workload's `allowed` methods; the error names the first that is not and
    /// lists `allowed` in order (followed by `hint`), so the list in the message cannot drift from the code.
    pub(crate) fn check_methods(&self, kind: &str, allowed: &[Method], hint: &str) -> Result<(), ExperimentError> {
        match self.methods.iter().find(|m| !allowed.contains(m)) {
            None => Ok(()),
            Some(m) => {
                let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
                Err(ExperimentError::InvalidConfig {
                    field: "methods".into(),
                    reason: format!("`{m}` is not a {kind} method (use {}{hint})", names.join(", ")),
                })
            }
        }
    }

    /// Bound sweeps (`[sweep]`) run on the synthetic workload only: every other workload refuses the table.
    pub(crate) fn check_no_sweep(&self) -> Result<(), ExperimentError> {
        match self.sweep {
            None => Ok(()),
            Some(_) => Err(ExperimentError::InvalidConfig {
                field: "sweep".into(),
                reason: "bound sweeps run on the synthetic workload only".into(),
            }),
        }
    }

    /// Routing and cpu runs: `[learner.network]` configures the `ic-q-neural` method and nothing else, so each
    /// needs the other.
    pub(crate) fn check_neural_method(&self) -> Result<(), ExperimentError> {
        let listed = self.methods.contains(&Method::IcQNeural);
        match (listed, self.learner.network.is_some()) {
            (true, false) => Err(ExperimentError::InvalidConfig {
                field: "learner.network".into(),
                reason: "method `ic-q-neural` is listed but [learner.network] is missing (width, eta, ...)".into(),
            }),
            (false, true) => Err(ExperimentError::InvalidConfig {
                field: "learner.network".into(),
                reason: "is used only by the `ic-q-neural` method here, which `methods` does not list".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Check every field and build the experiment: [`ExperimentConfig::check`], then
    /// [`CheckedExperiment::build`] (which reads the workload's data, see [`resolve_data_path`]).
    pub fn validate(self) -> Result<Experiment, ExperimentError> {
        self.check()?.build()
    }

    /// Check every field, reading no file. Errors name the field and the reason.
    pub fn check(self) -> Result<CheckedExperiment, ExperimentError> {
        let bad = |field: &str, reason: &str| ExperimentError::InvalidConfig {
            field: field.to_string(),
            reason: reason.to_string(),
        };
        if self.name.trim().is_empty() {
            return Err(bad("name", "must not be empty"));
        }
        if self.seeds == 0 {
            return Err(bad("seeds", "must be at least 1"));
        }
        if self.seeds > MAX_SEEDS {
            return Err(bad("seeds", &format!("at most {MAX_SEEDS}, got {}", self.seeds)));
        }
        if self.base_seed.checked_add(u64::from(self.seeds)).is_none() {
            return Err(bad("base_seed", &format!("base_seed + seeds must fit in 64 bits, got {}", self.base_seed)));
        }
        if self.methods.is_empty() {
            return Err(bad("methods", "name at least one method"));
        }
        let mut seen = self.methods.clone();
        seen.sort();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            return Err(bad("methods", "a method is listed twice"));
        }
        let training = self.training.clone().unwrap_or_default();
        if training.handoffs == 0 {
            return Err(bad("training.handoffs", "must be at least 1"));
        }
        if training.handoffs > MAX_HANDOFFS {
            return Err(bad("training.handoffs", &format!("at most {MAX_HANDOFFS}, got {}", training.handoffs)));
        }
        if !(1..=1000).contains(&training.eval_points) {
            return Err(bad("training.eval_points", "must be in 1..=1000"));
        }
        if u64::from(training.eval_points) > training.handoffs {
            return Err(bad("training.eval_points", "must not exceed training.handoffs"));
        }
        let learner = self.learner.validate().map_err(|e| match e {
            baton_learn::LearnError::InvalidConfig { field, reason } => {
                ExperimentError::InvalidConfig { field, reason }
            }
            other => ExperimentError::Learn(other),
        })?;
        let workload = self.workload.spec().check(&self)?;
        Ok(CheckedExperiment { config: self, workload, learner, training })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_schedules_increase_and_end_at_the_budget() {
        for spacing in [EvalSpacing::Log, EvalSpacing::Linear] {
            for (handoffs, points) in [(1u64, 1u32), (10, 10), (1000, 20), (1_000_000, 20), (7, 1000)] {
                let t = TrainingConfig { handoffs, eval_points: points.min(handoffs as u32), eval_spacing: spacing };
                let s = t.eval_schedule();
                assert_eq!(*s.last().unwrap(), handoffs);
                assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
                assert!(s[0] >= 1);
            }
        }
    }
}
