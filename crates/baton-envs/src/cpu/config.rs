//! The `[workload]` table of a CPU-programming experiment (`kind = "cpu"`), validated into [`Cpu`].
//!
//! ```toml
//! [workload]
//! kind = "cpu"
//! tester_k = 64
//! episodes = 30000
//! ```

use serde::{Deserialize, Serialize};

use super::env::Interfaces;
use crate::EnvError;

/// Cost and duration of one call of a role. TOML tables `[workload.writer]`, `[workload.tester]`, ...
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCost {
    /// Cost of one call, in reward units, in `[0, 1e6]`.
    pub cost: f64,
    /// Smallest duration of a call, in time steps, `1..=10^6`.
    pub min_duration: u32,
    /// Largest random extra duration: a call lasts `min_duration + U{0..=jitter}` (plus, for the debugger and
    /// optimizer, one step per `proposals_per_step` proposals it evaluated).
    pub jitter: u32,
}

/// A CPU-programming workload: the tasks, the roles' knobs, the reward, the training and evaluation budgets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuConfig {
    /// Task set: `builtin` (Hacker's Delight p01-p25 and the register sorts), `hackers-delight`, `sorts`, or a
    /// task file path (TOML, read by the runner).
    #[serde(default = "default_tasks")]
    pub tasks: String,
    /// Tester sample size k: inputs per tester call (the interface knob), 1..=4096.
    #[serde(default = "default_k")]
    pub tester_k: u32,
    /// Further values of k to run every method at (a k sweep; may be empty), each 1..=4096, none equal to
    /// `tester_k`.
    #[serde(default)]
    pub k_sweep: Vec<u32>,
    /// Distinct tester samples per task: each tester call draws one of them (so role results can be cached),
    /// 1..=64.
    #[serde(default = "default_samples")]
    pub tester_samples: u32,
    /// Distinct seeds per (program, tests) for the debugger and optimizer MCMC: each call draws one, 1..=64.
    #[serde(default = "default_variants")]
    pub role_variants: u32,
    /// Distinct drafts per task the writer draws from, 1..=256.
    #[serde(default = "default_drafts")]
    pub drafts: u32,
    /// The writer's skill in (0, 1]: its draft is the unbroken reference with probability
    /// `skill^(reference length / 2)`, else the reference broken by one or two random edits.
    #[serde(default = "default_skill")]
    pub writer_skill: f64,
    /// Debugger budget: MCMC proposals per call (the duration knob), 1..=100000.
    #[serde(default = "default_debug_budget")]
    pub debugger_budget: u32,
    /// Optimizer budget: cycle-cost MCMC proposals per call, 0..=100000.
    #[serde(default = "default_opt_budget")]
    pub optimizer_budget: u32,
    /// Proposals per time step of a debugger or optimizer call's duration, `1..=100000`.
    #[serde(default = "default_per_step")]
    pub proposals_per_step: u32,
    /// Speed bonus of a correct submission: `speed_bonus * min(1, reference cycles / cycles)`; in `[0, 1e6]`.
    #[serde(default = "default_bonus")]
    pub speed_bonus: f64,
    /// Handoffs per episode before the deadline ends it unsubmitted (reward 0 for the artifact), 2..=64.
    #[serde(default = "default_max_handoffs")]
    pub max_handoffs: u32,
    /// What the roles see: `verdicts` (default: the desk also sees whether an untested draft passes the task's
    /// visible examples, a verdict the writer writes on it) or `spec` (the original interfaces).
    #[serde(default)]
    pub interfaces: Interfaces,
    /// Discount per time step, in (0, 1].
    #[serde(default = "default_discount")]
    pub discount: f64,
    /// Training episodes per learning method, k and seed, `1..=10^9`.
    #[serde(default = "default_episodes")]
    pub episodes: u64,
    /// Evaluation episodes per task per job (greedy policies, fixed strategies), >= 1.
    #[serde(default = "default_eval")]
    pub eval_episodes_per_task: u32,
    /// Seed of the world: drafts, tester samples, role seeds. The same for every run seed.
    #[serde(default)]
    pub world_seed: u64,
    /// The writer's call.
    #[serde(default = "default_writer")]
    pub writer: RoleCost,
    /// The tester's call (its cost is `cost` plus `cost_per_test * k`).
    #[serde(default = "default_tester")]
    pub tester: RoleCost,
    /// Extra tester cost per input run, in `[0, 1e6]`.
    #[serde(default = "default_cost_per_test")]
    pub cost_per_test: f64,
    /// The debugger's call.
    #[serde(default = "default_debugger")]
    pub debugger: RoleCost,
    /// The optimizer's call.
    #[serde(default = "default_optimizer")]
    pub optimizer: RoleCost,
}

fn default_tasks() -> String {
    "builtin".into()
}
fn default_k() -> u32 {
    64
}
fn default_samples() -> u32 {
    8
}
fn default_variants() -> u32 {
    4
}
fn default_drafts() -> u32 {
    16
}
fn default_skill() -> f64 {
    0.8
}
fn default_debug_budget() -> u32 {
    400
}
fn default_opt_budget() -> u32 {
    300
}
fn default_per_step() -> u32 {
    100
}
fn default_bonus() -> f64 {
    0.2
}
fn default_max_handoffs() -> u32 {
    14
}
fn default_discount() -> f64 {
    1.0
}
fn default_episodes() -> u64 {
    30_000
}
fn default_eval() -> u32 {
    40
}
fn default_writer() -> RoleCost {
    RoleCost { cost: 0.05, min_duration: 2, jitter: 2 }
}
fn default_tester() -> RoleCost {
    RoleCost { cost: 0.01, min_duration: 1, jitter: 1 }
}
fn default_cost_per_test() -> f64 {
    0.0001
}
fn default_debugger() -> RoleCost {
    RoleCost { cost: 0.03, min_duration: 1, jitter: 1 }
}
fn default_optimizer() -> RoleCost {
    RoleCost { cost: 0.02, min_duration: 1, jitter: 1 }
}

impl Default for CpuConfig {
    fn default() -> Self {
        toml_default()
    }
}

fn toml_default() -> CpuConfig {
    CpuConfig {
        tasks: default_tasks(),
        tester_k: default_k(),
        k_sweep: Vec::new(),
        tester_samples: default_samples(),
        role_variants: default_variants(),
        drafts: default_drafts(),
        writer_skill: default_skill(),
        debugger_budget: default_debug_budget(),
        optimizer_budget: default_opt_budget(),
        proposals_per_step: default_per_step(),
        speed_bonus: default_bonus(),
        max_handoffs: default_max_handoffs(),
        interfaces: Interfaces::default(),
        discount: default_discount(),
        episodes: default_episodes(),
        eval_episodes_per_task: default_eval(),
        world_seed: 0,
        writer: default_writer(),
        tester: default_tester(),
        cost_per_test: default_cost_per_test(),
        debugger: default_debugger(),
        optimizer: default_optimizer(),
    }
}

/// Most training episodes per learning method, k and seed (the shipped runs use 6 * 10^4).
pub const MAX_EPISODES: u64 = 1_000_000_000;
/// Largest cost of a call, per test or speed bonus, in reward units (a solved task is worth 1).
pub const MAX_COST: f64 = 1e6;
/// Largest `min_duration` of a call, in time steps (durations of a whole episode must fit in 32 bits).
pub const MAX_CALL_DURATION: u64 = 1_000_000;

/// A validated CPU workload (the runner loads the task set and builds the worlds; this crate reads no files).
#[derive(Clone, Debug, PartialEq)]
pub struct Cpu {
    /// The config as given.
    pub config: CpuConfig,
}

impl Cpu {
    /// Every k the run uses: `tester_k` first, then the sweep's levels.
    pub fn ks(&self) -> Vec<u32> {
        let mut ks = vec![self.config.tester_k];
        ks.extend(self.config.k_sweep.iter().copied());
        ks
    }
}

impl CpuConfig {
    /// Check every field. Errors name the field as spelled in TOML.
    pub fn validate(&self) -> Result<Cpu, EnvError> {
        let range = |field: &str, v: u64, lo: u64, hi: u64| {
            if v < lo || v > hi {
                Err(EnvError::invalid(field, format!("{v} is not in {lo}..={hi}")))
            } else {
                Ok(())
            }
        };
        if self.tasks.trim().is_empty() {
            return Err(EnvError::invalid("tasks", "name a task set or a task file"));
        }
        range("tester_k", self.tester_k.into(), 1, 4096)?;
        for &k in &self.k_sweep {
            range("k_sweep", k.into(), 1, 4096)?;
        }
        let mut ks = self.k_sweep.clone();
        ks.push(self.tester_k);
        ks.sort_unstable();
        if ks.windows(2).any(|w| w[0] == w[1]) {
            return Err(EnvError::invalid("k_sweep", "a k is listed twice (or equals tester_k)"));
        }
        range("tester_samples", self.tester_samples.into(), 1, 64)?;
        range("role_variants", self.role_variants.into(), 1, 64)?;
        range("drafts", self.drafts.into(), 1, 256)?;
        range("debugger_budget", self.debugger_budget.into(), 1, 100_000)?;
        range("optimizer_budget", self.optimizer_budget.into(), 0, 100_000)?;
        range("proposals_per_step", self.proposals_per_step.into(), 1, 100_000)?;
        range("max_handoffs", self.max_handoffs.into(), 2, 64)?;
        range("eval_episodes_per_task", self.eval_episodes_per_task.into(), 1, 100_000)?;
        if !(self.writer_skill > 0.0 && self.writer_skill <= 1.0) {
            return Err(EnvError::invalid("writer_skill", format!("{} is not in (0, 1]", self.writer_skill)));
        }
        if !(self.discount > 0.0 && self.discount <= 1.0) {
            return Err(EnvError::invalid("discount", format!("{} is not in (0, 1]", self.discount)));
        }
        range("episodes", self.episodes, 1, MAX_EPISODES)?;
        if self.k_sweep.len() > 64 {
            return Err(EnvError::invalid("k_sweep", format!("at most 64 levels, got {}", self.k_sweep.len())));
        }
        for (field, v) in [("speed_bonus", self.speed_bonus), ("cost_per_test", self.cost_per_test)] {
            if !(v.is_finite() && (0.0..=MAX_COST).contains(&v)) {
                return Err(EnvError::invalid(field, format!("{v:?} is not a finite value in [0, {MAX_COST:e}]")));
            }
        }
        for (name, r) in [
            ("writer", &self.writer),
            ("tester", &self.tester),
            ("debugger", &self.debugger),
            ("optimizer", &self.optimizer),
        ] {
            if !(r.cost.is_finite() && (0.0..=MAX_COST).contains(&r.cost)) {
                return Err(EnvError::invalid(
                    format!("{name}.cost"),
                    format!("{:?} is not a finite cost in [0, {MAX_COST:e}]", r.cost),
                ));
            }
            range(&format!("{name}.min_duration"), r.min_duration.into(), 1, MAX_CALL_DURATION)?;
            if r.jitter > 1000 {
                return Err(EnvError::invalid(format!("{name}.jitter"), format!("{} is above 1000", r.jitter)));
            }
        }
        Ok(Cpu { config: self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_fields_are_named() {
        assert!(CpuConfig::default().validate().is_ok());
        let cases: Vec<(&str, CpuConfig)> = vec![
            ("tester_k", CpuConfig { tester_k: 0, ..CpuConfig::default() }),
            ("k_sweep", CpuConfig { k_sweep: vec![64], ..CpuConfig::default() }),
            ("writer_skill", CpuConfig { writer_skill: 1.5, ..CpuConfig::default() }),
            ("debugger_budget", CpuConfig { debugger_budget: 0, ..CpuConfig::default() }),
            ("max_handoffs", CpuConfig { max_handoffs: 1, ..CpuConfig::default() }),
            ("discount", CpuConfig { discount: 0.0, ..CpuConfig::default() }),
            (
                "tester.cost",
                CpuConfig { tester: RoleCost { cost: -1.0, min_duration: 1, jitter: 0 }, ..CpuConfig::default() },
            ),
            (
                "debugger.min_duration",
                CpuConfig { debugger: RoleCost { cost: 0.0, min_duration: 0, jitter: 0 }, ..CpuConfig::default() },
            ),
        ];
        for (field, c) in cases {
            assert_eq!(c.validate().unwrap_err().field(), Some(field), "{field}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = toml::from_str::<CpuConfig>("tester_k = 8\nbudget = 3\n").unwrap_err().to_string();
        assert!(err.contains("budget"), "{err}");
    }
}
