//! `kind = "finite"`: bring your own IC-SMDP. An explicit finite model is read from a file (docs/finite.md)
//! and every method runs on it against its exact ground truth, with the interface-gap terms, as on the
//! synthetic workload (the same runner, summary and plots).
//!
//! ```toml
//! [workload]
//! kind = "finite"
//! model = "finite/finite-example.toml"
//! ```

use serde::{Deserialize, Serialize};

use crate::config::{Experiment, ExperimentConfig, Method};
use crate::progress::Progress;
use crate::workload::{Checked, Kind, Outcome, Workload, WorkloadSpec};
use crate::ExperimentError;

pub mod model_file;

pub use model_file::ENV_ID;

/// The methods a finite run can compare.
pub const METHODS: [Method; 5] = [Method::Optimal, Method::IcQ, Method::Oracle, Method::NoScalar, Method::Random];

/// `[workload]` of `kind = "finite"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiniteConfig {
    /// The model file (TOML, docs/finite.md). A relative path is taken from the working directory if it
    /// exists there, else under the data directory (`BATON_DATA_DIR`).
    pub model: String,
}

/// The finite workload in the registry.
pub static KIND: FiniteKind = FiniteKind;

/// The finite workload's [`Kind`]: the synthetic workload's report section (the same summary).
pub struct FiniteKind;

impl Kind for FiniteKind {
    fn kind(&self) -> &'static str {
        "finite"
    }
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn read_summary(&self, json: &str) -> Result<Box<dyn crate::workload::RunSummary>, String> {
        Ok(Box::new(crate::table::parse::<crate::synthetic::Summary>(json)?))
    }
}

/// A checked finite config: the model file is read by [`Checked::build`].
#[derive(Clone, Debug)]
struct CheckedFinite(FiniteConfig);

impl WorkloadSpec for FiniteConfig {
    fn uses_training(&self) -> bool {
        true
    }

    fn check(&self, experiment: &ExperimentConfig) -> Result<Box<dyn Checked>, ExperimentError> {
        let bad = |field: &str, reason: String| ExperimentError::InvalidConfig { field: field.into(), reason };
        experiment.check_methods("finite", &METHODS, "; [learner.network] makes every learner neural")?;
        if self.model.trim().is_empty() {
            return Err(bad("workload.model", "name the model file".into()));
        }
        experiment.check_no_sweep()?;
        Ok(Box::new(CheckedFinite(self.clone())))
    }
}

impl Checked for CheckedFinite {
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError> {
        let path = crate::data::resolve_data_path(&self.0.model);
        let model = model_file::load(&path).map_err(|e| match e {
            ExperimentError::Io { path, message } => ExperimentError::Io {
                path,
                message: format!(
                    "{message} (workload.model: a relative path is tried from the working directory, then under the \
                     data folder: {})",
                    crate::data::data_dir_help()
                ),
            },
            other => other,
        })?;
        let description = format!(
            "{ENV_ID} from {}: {} agents, {} states, {} state-action pairs, discount {}",
            self.0.model,
            model.spec().agents.len(),
            model.n_states(),
            model.n_pairs(),
            model.discount()
        );
        Ok(Box::new(FiniteWorkload { model, description }))
    }
}

/// A finite workload, its model read and checked.
#[derive(Clone, Debug)]
pub struct FiniteWorkload {
    /// The model.
    pub model: baton_core::FiniteModel,
    /// One line on the model (the summary's `model.description`).
    pub description: String,
}

impl Workload for FiniteWorkload {
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn work_unit(&self) -> &'static str {
        "handoffs"
    }
    fn total_work(&self, experiment: &Experiment) -> u64 {
        let learning = experiment.config.methods.iter().filter(|m| m.learns()).count() as u64;
        learning * u64::from(experiment.config.seeds) * experiment.training.handoffs
    }
    fn run(&self, experiment: &Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        let (results, _) = experiment.run_exact(self.model.clone(), self.description.clone(), None, progress)?;
        Ok(Outcome::new(results))
    }
    fn check_env(&self) -> Result<(), ExperimentError> {
        Ok(baton_core::check_env(|| baton_core::FiniteEnv::new(&self.model), baton_core::CheckOptions::default())?)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
