//! The one registry of workloads, keyed by `kind`. Adding a workload adds one variant to [`WorkloadConfig`],
//! one arm to each of its two accessors and to its `Deserialize`, and one entry to [`KINDS`] (see
//! ARCHITECTURE.md, "Adding a workload"); nothing else in the runner, the run directory, `baton run`,
//! `baton report` or `baton bench` names a workload.

use serde::{Deserialize, Serialize};

use crate::workload::{Kind, WorkloadSpec};

/// The `[workload]` table, by `kind`. (Deserialized by hand, see [`WorkloadConfig::deserialize`], so that a
/// type error inside the table names its field.)
#[derive(Clone, Debug, PartialEq, Serialize)]
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

// serde buffers an internally tagged table before it knows its type and forgets where a field error occurred, so
// the table is read here, its `kind` first, and the rest deserialized with its path tracked; the inner path
// travels in the error's message (`baton_core::tagged`) and [`crate::ExperimentConfig::from_toml`] joins it to
// the table's. (The workload tables are told apart by their own types, not by a mirror enum, hence by hand.)
use baton_core::tagged::{at_path, split_inner_path as split};

/// The inner path and message of an error raised inside a tagged table (see `baton_core::tagged`).
pub(crate) fn split_inner_path(message: &str) -> Option<(&str, &str)> {
    split(message)
}

impl<'de> Deserialize<'de> for WorkloadConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        fn part<T: serde::de::DeserializeOwned, E: serde::de::Error>(table: toml::Table) -> Result<T, E> {
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                at_path(&path, e.into_inner().message())
            })
        }
        let kinds = || KINDS.iter().map(|k| k.kind());
        let mut table = toml::Table::deserialize(deserializer)?;
        let kind = match table.remove("kind") {
            Some(toml::Value::String(kind)) => kind,
            Some(other) => {
                return Err(at_path(
                    "kind",
                    format!("expected a string, one of {}, got {other}", kinds().collect::<Vec<_>>().join(", ")),
                ))
            }
            None => return Err(D::Error::missing_field("kind")),
        };
        match kind.as_str() {
            "synthetic" => part(table).map(WorkloadConfig::Synthetic),
            "routing" => part(table).map(WorkloadConfig::Routing),
            "math" => part(table).map(WorkloadConfig::Math),
            "cpu" => part(table).map(WorkloadConfig::Cpu),
            "finite" => part(table).map(WorkloadConfig::Finite),
            other => Err(at_path(
                "kind",
                format!(
                    "unknown variant `{other}`, expected one of {}",
                    kinds().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::{WorkloadConfig, KINDS};

    #[test]
    fn every_registered_kind_is_read_by_the_hand_written_deserializer() {
        for k in KINDS {
            if let Err(e) = toml::from_str::<WorkloadConfig>(&format!("kind = \"{}\"", k.kind())) {
                assert!(!e.to_string().contains("unknown variant"), "{}: {e}", k.kind());
            }
        }
        let e = toml::from_str::<WorkloadConfig>("kind = \"teleport\"").expect_err("an unknown kind").to_string();
        assert!(KINDS.iter().all(|k| e.contains(&format!("`{}`", k.kind()))), "{e}");
    }
}
