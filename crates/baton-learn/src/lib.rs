//! # baton-learn: IC-Q learners
//!
//! Start with [`icq`]: the whole update of model.md section 2 in one short pure file. Around it:
//! [`TabularQ`] (one agent's dense table), [`IcqAgent`] (an agent that owns its Q-function and talks to
//! others only through a [`Scalar`]), [`Behaviour`] (step 1), [`StepSize`] and the validated
//! [`LearnerConfig`]. [`NeuralQ`] is model.md section 3's two-layer ReLU network, a drop-in [`QFunction`].
//!
//! Learners consume per-agent transition records and the receiver's scalar, nothing else: this crate
//! does not depend on any environment.

pub mod agent;
pub mod behaviour;
pub mod config;
pub mod icq;
pub mod neural;
pub mod step;
pub mod tabular;

pub use agent::IcqAgent;
pub use behaviour::Behaviour;
pub use config::{BehaviourConfig, FeaturesConfig, LearnerConfig, LearnerParams, NetworkConfig};
pub use icq::{QFunction, Scalar, Transition};
pub use neural::{CheckpointMeta, Features, NeuralParams, NeuralQ};
pub use step::StepSize;
pub use tabular::TabularQ;

/// Errors of the learners.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum LearnError {
    /// A configuration field is out of range.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The field, dotted as in TOML.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A Q-value or TD target became non-finite.
    #[error("non-finite value in agent {agent}'s table at observation {obs}, action {action}: {value}")]
    NonFinite {
        /// The agent.
        agent: u16,
        /// The observation.
        obs: u32,
        /// The action.
        action: u16,
        /// The offending value.
        value: f64,
    },
    /// A neural checkpoint is damaged or does not fit the network reading it.
    #[error("checkpoint: {reason}")]
    Checkpoint {
        /// What is wrong.
        reason: String,
    },
}
