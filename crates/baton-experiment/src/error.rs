//! The runner's one error type.

/// Errors of the runner.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The config file could not be parsed (syntax, unknown field, wrong type).
    #[error("{origin}: {message}")]
    Parse {
        /// The file.
        origin: String,
        /// The parser's message (it names the field and line).
        message: String,
    },
    /// A config field is out of range.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The field, dotted as in TOML.
        field: String,
        /// Why.
        reason: String,
    },
    /// The workload could not be built.
    #[error("workload: {0}")]
    Workload(String),
    /// A spec or model was refused by the core vocabulary.
    #[error("{0}")]
    Core(#[from] baton_core::CoreError),
    /// A routing topology (the built-in benchmark grid) could not be parsed.
    #[error(transparent)]
    Topology(#[from] baton_envs::routing::topology::TopologyError),
    /// The learner settings were refused.
    #[error("learner: {0}")]
    Learn(#[source] baton_learn::LearnError),
    /// The exact solver failed.
    #[error("solver: {0}")]
    Solve(#[from] baton_solve::SolveError),
    /// A learner's table became non-finite.
    #[error("{method} (seed {seed}) diverged: non-finite Q-value after {handoffs} handoffs")]
    Diverged {
        /// Method.
        method: String,
        /// Seed.
        seed: u64,
        /// When.
        handoffs: u64,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A result could not be serialised (JSON).
    #[error("serialising: {0}")]
    Serialise(#[source] serde_json::Error),
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    /// Sharding or merging a run failed (a bad `--shard`, shards that are not one run's).
    #[error("{0}")]
    Shard(String),
    /// A shard stopped after its share of the jobs, before summarising (not an error to the user: the
    /// launcher writes the shard directory).
    #[error("internal error: a shard stopped after its jobs")]
    ShardStopped,
    /// A bug: something that should not fail did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ExperimentError {
    pub(crate) fn from_env(e: baton_envs::EnvError) -> Self {
        match e {
            baton_envs::EnvError::InvalidConfig { field, reason } => {
                ExperimentError::InvalidConfig { field: format!("workload.{field}"), reason }
            }
            other => ExperimentError::Workload(other.to_string()),
        }
    }
}

impl From<baton_envs::EnvError> for ExperimentError {
    fn from(e: baton_envs::EnvError) -> Self {
        ExperimentError::from_env(e)
    }
}
