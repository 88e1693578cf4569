//! The one error type of `baton-solve`.
//!
//! Every variant carries enough context (agent, observation, action, state, sizes, residuals) to say what
//! went wrong without a debugger. Solvers never panic on bad input: they return one of these.

use thiserror::Error;

/// Everything that can go wrong while solving a finite IC-SMDP (model.md sections 1, 4 and 5).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SolveError {
    /// A vector passed in does not have the length the model requires.
    #[error("{what}: expected {expected} entries, got {got}")]
    LengthMismatch {
        /// What the vector is (e.g. "V per state", "xi per pair").
        what: &'static str,
        /// The length the model requires.
        expected: usize,
        /// The length that was passed.
        got: usize,
    },
    /// A scalar parameter is out of its domain.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name (e.g. "tol", "kappa").
        name: &'static str,
        /// The offending value.
        value: f64,
        /// The domain it must lie in.
        reason: &'static str,
    },
    /// A per-agent policy chose an action that is not legal in the observation it was asked about.
    #[error("agent {agent} chose action {action} in observation {obs}, where it is not legal")]
    IllegalAction {
        /// The agent.
        agent: u16,
        /// The agent's observation.
        obs: u32,
        /// The action it chose.
        action: u16,
    },
    /// A probability is negative or not finite.
    #[error("state {state}, pair {pair}: probability {prob} is not a finite number in [0, 1]")]
    InvalidProbability {
        /// The state the pair belongs to.
        state: u32,
        /// The global pair index.
        pair: usize,
        /// The offending value.
        prob: f64,
    },
    /// The action probabilities of one state do not sum to 1.
    #[error("state {state}: action probabilities sum to {sum}, not 1")]
    ProbabilitiesDoNotSumToOne {
        /// The state.
        state: u32,
        /// Their sum.
        sum: f64,
    },
    /// A behaviour's base policy differs between two states that its holder cannot tell apart.
    #[error(
        "the base policy is not observation-measurable: agent {agent} sees observation {obs} in states \
         {state_a} and {state_b} but acts differently"
    )]
    NotObservationMeasurable {
        /// The agent holding both states.
        agent: u16,
        /// The observation it sees in both.
        obs: u32,
        /// The first state.
        state_a: u32,
        /// The second state.
        state_b: u32,
    },
    /// A vector that must hold non-negative finite weights does not.
    #[error("{what}: entry {index} is {value}, not a finite non-negative number")]
    InvalidWeight {
        /// What the vector is.
        what: &'static str,
        /// The offending index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A weight vector that must carry mass is all zero.
    #[error("{what}: all weights are zero")]
    ZeroMass {
        /// What the vector is.
        what: &'static str,
    },
    /// An iterative method did not reach its tolerance within its iteration budget.
    #[error("{what} did not converge: {iterations} iterations, last residual {residual:e}")]
    NotConverged {
        /// The method (e.g. "value iteration").
        what: &'static str,
        /// Iterations performed.
        iterations: usize,
        /// The last residual (or error bound) reached.
        residual: f64,
    },
    /// A linear system that must be non-singular turned out singular.
    #[error("{what}: the linear system is singular")]
    Singular {
        /// The system (e.g. "policy evaluation").
        what: &'static str,
    },
    /// A computation produced a non-finite number.
    #[error("{what} produced a non-finite value at index {index}")]
    NonFinite {
        /// The quantity.
        what: &'static str,
        /// Where.
        index: usize,
    },
}

/// Check that `v` has `expected` entries.
pub(crate) fn check_len<T>(what: &'static str, v: &[T], expected: usize) -> Result<(), SolveError> {
    if v.len() == expected {
        Ok(())
    } else {
        Err(SolveError::LengthMismatch { what, expected, got: v.len() })
    }
}

/// Check that every entry of `v` is finite.
pub(crate) fn check_finite(what: &'static str, v: &[f64]) -> Result<(), SolveError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(SolveError::NonFinite { what, index }),
    }
}
