//! Errors of environment configuration and construction.

use baton_core::CoreError;
use thiserror::Error;

/// Everything that can go wrong when configuring or building an environment.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EnvError {
    /// A configuration value is out of range or inconsistent. `field` is the dotted name as written in TOML
    /// (`agents`, `durations.low`, `success.high_busy`).
    #[error("invalid config field `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field, dotted as in TOML.
        field: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// The configuration is valid but the model it describes is too large to enumerate and solve exactly.
    #[error("model too large: {count} {what} exceeds the limit of {limit}; reduce {reduce}")]
    TooLarge {
        /// What was counted ("state-action pairs", "outcomes").
        what: String,
        /// How many there would be (saturating at `u128::MAX`).
        count: u128,
        /// The largest number accepted.
        limit: u64,
        /// The configuration fields that shrink the count.
        reduce: String,
    },
    /// An LLM backend could not answer while the math workload's table was built (unknown model, question
    /// out of range).
    #[error("backend: {0}")]
    Backend(String),
    /// The core rejected the constructed model or spec (a bug in the generator if it ever happens).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl EnvError {
    /// An [`EnvError::InvalidConfig`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        EnvError::InvalidConfig { field: field.into(), reason: reason.into() }
    }

    /// The offending field of an [`EnvError::InvalidConfig`], if this is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            EnvError::InvalidConfig { field, .. } => Some(field),
            _ => None,
        }
    }
}
