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

use baton_envs::cpu::CpuConfig;
use baton_envs::math::MathConfig;
use baton_envs::routing::config::TopologyConfig;
use baton_envs::routing::{Routing, RoutingConfig};
use baton_envs::synthetic::{Synthetic, SyntheticConfig};
use baton_learn::{LearnerConfig, LearnerParams};
use serde::{Deserialize, Serialize};

pub use crate::data::{data_dir_help, resolve_data_path, DATA_DIR_VAR};
pub use crate::method::Method;
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

/// The workload, by `kind`. (Deserialized by hand, `kind` first, so that a type error inside the table names
/// its field.)
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WorkloadConfig {
    /// The synthetic IC-SMDP of model.md 6.1 (exact ground truth).
    Synthetic(SyntheticConfig),
    /// Packet routing of model.md 6.2 (Boyan & Littman's simulator).
    Routing(RoutingConfig),
    /// The multi-LLM math workflow of model.md 6.4.
    Math(MathConfig),
    /// CPU programming with TinyCPU roles (model.md 6.3).
    Cpu(CpuConfig),
}

/// Most seeds per learning method.
pub const MAX_SEEDS: u32 = 1000;
/// Most training handoffs per seed and method (10^10 take hours even on the fast loops).
pub const MAX_HANDOFFS: u64 = 10_000_000_000;

/// The `kind`s of [`WorkloadConfig`], as spelled in TOML.
const WORKLOAD_KINDS: &[&str] = &["synthetic", "routing", "math", "cpu"];

/// Marks the path of an error inside an internally tagged table in the error's message: serde buffers such a
/// table before it knows its type and forgets where a field error occurred, so the table is read here, its
/// `kind` first, and the rest deserialized with its path tracked; [`ExperimentConfig::from_toml`] joins the
/// inner path to the table's.
const INNER_PATH: char = '\u{1f}';

/// The inner path and message of an error raised inside a tagged table (see [`INNER_PATH`]).
fn split_inner_path(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix(INNER_PATH)?.split_once(INNER_PATH)
}

impl<'de> Deserialize<'de> for WorkloadConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        fn part<T: serde::de::DeserializeOwned, E: serde::de::Error>(table: toml::Table) -> Result<T, E> {
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().message().to_string();
                match split_inner_path(&message) {
                    Some((inner, rest)) if path != "." => {
                        E::custom(format!("{INNER_PATH}{path}.{inner}{INNER_PATH}{rest}"))
                    }
                    Some(_) => E::custom(message),
                    None if path == "." => E::custom(message),
                    None => E::custom(format!("{INNER_PATH}{path}{INNER_PATH}{message}")),
                }
            })
        }
        let mut table = toml::Table::deserialize(deserializer)?;
        let kind = match table.remove("kind") {
            Some(toml::Value::String(kind)) => kind,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "{INNER_PATH}kind{INNER_PATH}expected a string, one of {}, got {other}",
                    WORKLOAD_KINDS.join(", ")
                )))
            }
            None => return Err(D::Error::missing_field("kind")),
        };
        match kind.as_str() {
            "synthetic" => part(table).map(WorkloadConfig::Synthetic),
            "routing" => part(table).map(WorkloadConfig::Routing),
            "math" => part(table).map(WorkloadConfig::Math),
            "cpu" => part(table).map(WorkloadConfig::Cpu),
            other => Err(D::Error::custom(format!(
                "{INNER_PATH}kind{INNER_PATH}unknown variant `{other}`, expected one of {}",
                WORKLOAD_KINDS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

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

/// A validated workload.
#[derive(Clone, Debug)]
pub enum Workload {
    /// The synthetic IC-SMDP.
    Synthetic(Synthetic),
    /// Packet routing.
    Routing(Routing),
    /// The math workflow, its table of calls built.
    Math(Box<crate::math::MathWorkload>),
    /// CPU programming, its task set loaded and its worlds built.
    Cpu(Box<crate::cpu::CpuWorkload>),
}

/// A validated experiment: every field checked, ready to run.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The config as given (after overrides), written back as the resolved `config.toml`.
    pub config: ExperimentConfig,
    /// The workload.
    pub workload: Workload,
    /// The learner settings.
    pub learner: LearnerParams,
    /// The training budget (synthetic workloads; defaults when the config has no `[training]`).
    pub training: TrainingConfig,
    /// The bound sweep, when the config has one.
    pub sweep: Option<crate::sweep::Sweep>,
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
            let (path, message) = match split_inner_path(error.message()) {
                Some((inner, message)) if path != "." => (format!("{path}.{inner}"), message.to_string()),
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
        } else if matches!(self.workload, WorkloadConfig::Synthetic(_)) {
            let mut t = TrainingConfig::default();
            t.handoffs /= 10;
            self.training = Some(t);
        }
        if let WorkloadConfig::Math(m) = &mut self.workload {
            m.episodes = (m.episodes / 10).max(100);
        }
        if let WorkloadConfig::Routing(r) = &mut self.workload {
            r.shorten(10.0);
        }
        if let WorkloadConfig::Cpu(c) = &mut self.workload {
            c.episodes = (c.episodes / 10).max(100);
            c.eval_episodes_per_task = (c.eval_episodes_per_task / 4).max(1);
        }
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

    /// Routing and cpu runs: `[learner.network]` configures the `ic-q-neural` method and nothing else, so each
    /// needs the other.
    fn check_neural_method(&self) -> Result<(), ExperimentError> {
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

    /// Check every field and build the checked types. Errors name the field and the reason. A routing
    /// topology file is read from disk here (see [`resolve_data_path`]).
    pub fn validate(self) -> Result<Experiment, ExperimentError> {
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
            other => ExperimentError::Internal(other.to_string()),
        })?;
        let workload = match &self.workload {
            WorkloadConfig::Synthetic(c) => {
                if let Some(m) = self.methods.iter().find(|m| **m == Method::ShortestPath) {
                    return Err(bad("methods", &format!("`{m}` is a routing method, not a synthetic one")));
                }
                if let Some(m) = self.methods.iter().find(|m| m.math_only()) {
                    return Err(bad("methods", &format!("`{m}` is a math-workflow method, not a synthetic one")));
                }
                if let Some(m) = self.methods.iter().find(|m| **m == Method::FixedPipeline) {
                    return Err(bad("methods", &format!("`{m}` is a cpu method, not a synthetic one")));
                }
                if self.methods.contains(&Method::IcQNeural) {
                    return Err(bad(
                        "methods",
                        "`ic-q-neural` is for routing and cpu runs; a synthetic run makes every learner neural \
                         with [learner.network] (list `ic-q`)",
                    ));
                }
                Workload::Synthetic(c.validate().map_err(ExperimentError::from_env)?)
            }
            WorkloadConfig::Routing(c) => {
                if self.training.is_some() {
                    return Err(bad("training", "not used by routing: a run lasts workload.duration time units"));
                }
                self.check_neural_method()?;
                if let Some(m) = self.methods.iter().find(|m| !crate::routing::METHODS.contains(m)) {
                    return Err(bad(
                        "methods",
                        &format!(
                            "`{m}` is not a routing method (use ic-q, ic-q-neural, no-scalar, shortest-path, oracle, \
                             random)"
                        ),
                    ));
                }
                let file = match &c.topology {
                    TopologyConfig::File { path } => {
                        let resolved = resolve_data_path(path);
                        let what = format!("the topology file of workload.topology.path = {path:?}");
                        let text = crate::data::read_capped(&resolved, crate::data::MAX_DATA_BYTES, &what).map_err(
                            |e| match e {
                                ExperimentError::Io { path, message } => ExperimentError::Io {
                                    path,
                                    message: format!(
                                        "{message} (a relative path is tried from the working directory, then under \
                                         the data folder: {}; the small topologies are also built in: topology = \
                                         {{ kind = \"builtin\", name = \"irregular-6x6\" }})",
                                        data_dir_help()
                                    ),
                                },
                                other => other,
                            },
                        )?;
                        Some((resolved.display().to_string(), text))
                    }
                    _ => None,
                };
                let file = file.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
                Workload::Routing(c.validate(file).map_err(ExperimentError::from_env)?)
            }
            WorkloadConfig::Math(c) => {
                if self.training.is_some() {
                    return Err(bad("training", "not used by math runs: the budget is workload.episodes"));
                }
                if self.learner.network.is_some() {
                    return Err(bad(
                        "learner.network",
                        "neural IC-Q is not available for math runs yet (tabular only)",
                    ));
                }
                if let Some(m) = self.methods.iter().find(|m| !crate::math::METHODS.contains(m)) {
                    return Err(bad(
                        "methods",
                        &format!(
                            "`{m}` is not a math method (use ic-q, oracle, no-scalar, cheap-only, strong-only, \
                             cascade, both-tie, random)"
                        ),
                    ));
                }
                let math = c.validate().map_err(ExperimentError::from_env)?;
                Workload::Math(Box::new(crate::math::MathWorkload::load(math)?))
            }
            WorkloadConfig::Cpu(c) => {
                if self.training.is_some() {
                    return Err(bad("training", "not used by cpu runs: the budget is workload.episodes"));
                }
                self.check_neural_method()?;
                if let Some(m) = self.methods.iter().find(|m| !crate::cpu::METHODS.contains(m)) {
                    return Err(bad(
                        "methods",
                        &format!(
                            "`{m}` is not a cpu method (use ic-q, ic-q-neural, oracle, no-scalar, fixed-pipeline, \
                             random)"
                        ),
                    ));
                }
                let cpu = c.validate().map_err(ExperimentError::from_env)?;
                Workload::Cpu(Box::new(crate::cpu::CpuWorkload::load(cpu)?))
            }
        };
        let sweep = match &self.sweep {
            None => None,
            Some(sweep) => {
                if !matches!(self.workload, WorkloadConfig::Synthetic(_)) {
                    return Err(bad("sweep", "bound sweeps run on the synthetic workload only"));
                }
                Some(sweep.validate(&self)?)
            }
        };
        Ok(Experiment { config: self, workload, learner, training, sweep })
    }
}

impl Workload {
    /// The stable workload name written to `summary.json`.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::Synthetic(_) => "synthetic-v0",
            Workload::Routing(_) => baton_envs::routing::network::ENV_ID,
            Workload::Math(_) => baton_envs::math::env::ENV_ID,
            Workload::Cpu(_) => baton_envs::cpu::env::ENV_ID,
        }
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
