//! The one registry of workloads, keyed by `kind`. Adding a workload adds one variant to [`WorkloadConfig`],
//! one arm to each of its two accessors, and one entry to [`KINDS`] (see ARCHITECTURE.md, "Adding a
//! workload"); nothing else in the runner, the run directory, `baton run`, `baton report` or `baton bench`
//! names a workload.

use serde::{Deserialize, Serialize};

use crate::workload::{Kind, WorkloadSpec};

/// The `[workload]` table, by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WorkloadConfig {
    /// The synthetic IC-SMDP of model.md 6.1 (exact ground truth).
    Synthetic(baton_envs::synthetic::SyntheticConfig),
    /// Packet routing of model.md 6.2 (Boyan & Littman's simulator).
    Routing(baton_envs::routing::RoutingConfig),
    /// The multi-LLM math workflow of model.md 6.4.
    Math(baton_envs::math::MathConfig),
    /// CPU programming with TinyCPU roles (model.md 6.3).
    Cpu(baton_envs::cpu::CpuConfig),
    /// An explicit finite IC-SMDP read from a file (docs/finite.md; exact ground truth).
    Finite(crate::finite::FiniteConfig),
}

impl WorkloadConfig {
    /// The workload's own checks and budget.
    pub fn spec(&self) -> &dyn WorkloadSpec {
        match self {
            WorkloadConfig::Synthetic(c) => c,
            WorkloadConfig::Routing(c) => c,
            WorkloadConfig::Math(c) => c,
            WorkloadConfig::Cpu(c) => c,
            WorkloadConfig::Finite(c) => c,
        }
    }

    /// The same, to change (`--quick`).
    pub fn spec_mut(&mut self) -> &mut dyn WorkloadSpec {
        match self {
            WorkloadConfig::Synthetic(c) => c,
            WorkloadConfig::Routing(c) => c,
            WorkloadConfig::Math(c) => c,
            WorkloadConfig::Cpu(c) => c,
            WorkloadConfig::Finite(c) => c,
        }
    }
}

/// Every workload, in the order `baton bench` runs their loops.
pub static KINDS: &[&dyn Kind] =
    &[&crate::synthetic::KIND, &crate::routing::KIND, &crate::math::KIND, &crate::cpu::KIND, &crate::finite::KIND];

/// The workload whose runs write `id` to `summary.json`.
pub fn by_id(id: &str) -> Option<&'static dyn Kind> {
    KINDS.iter().copied().find(|k| k.id() == id)
}

/// The ids of every workload, for messages.
pub fn ids() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.id()).collect()
}
