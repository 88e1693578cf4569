//! Errors of the core vocabulary.

use thiserror::Error;

/// Everything that can be wrong with a model or an environment's behaviour.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A model or spec failed validation; `what` names the offending item.
    #[error("invalid model: {what}: {reason}")]
    InvalidModel {
        /// The item (state, pair, agent, field) that is wrong.
        what: String,
        /// Why it is wrong.
        reason: String,
    },
    /// An environment broke the contract checked by [`crate::check_env`].
    #[error("environment check failed: {0}")]
    Check(String),
}

impl CoreError {
    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::InvalidModel { what: what.into(), reason: reason.into() }
    }
}
