//! # baton-solve: exact solvers for finite IC-SMDPs
//!
//! Ground truth for the learners, on a [`baton_core::FiniteModel`] (an explicit finite IC-SMDP, model.md
//! section 1):
//!
//! - [`value_iteration`]: the centralized optimum `Q*`, `V*` (model.md sections 1 and 4, "optimal" baseline);
//! - [`Policy`] and [`evaluate`]: exact policy evaluation `V^pi` by a linear solve (model.md section 4);
//! - [`Behaviour`], [`behaviour_chain`], [`stationary`]: the behaviour chain on pairs `(s, a)`, with sticky
//!   behaviour `beta_kappa`, and its stationary distribution `xi` (model.md section 5);
//! - [`interface_q`]: the fixed point `Q_bar` tabular IC-Q converges to under `xi` (model.md sections 2 and 5);
//! - [`interface_gap`]: `eps_IF`, `delta_IF`, `alpha_IF` (model.md section 5);
//! - [`mixing_time`]: `t_mix` of the behaviour chain (model.md section 5);
//! - [`report`]: reachability, masked max-norm and xi-weighted errors, coverage.
//!
//! Conventions: pairs are the model's global pair indices (state-major, actions increasing); `V(TERMINAL) = 0`;
//! the continuation after an outcome of duration `tau` is discounted by `gamma^tau`. No I/O, no logging, no
//! panics on bad input: every failure is a [`SolveError`].

#![warn(missing_docs)]

pub mod chain;
pub mod error;
pub mod evaluation;
pub mod interface;
mod kernel;
pub mod policy;
pub mod report;
pub mod value;

pub use chain::{
    behaviour_chain, mixing_time, relaxation_time, stationary, stationary_of, stationary_with, Behaviour, Chain,
    Stationary, StationaryMethod, StationarySolver,
};
pub use error::SolveError;
pub use evaluation::{evaluate, evaluate_with, EvalMethod};
pub use interface::{interface_gap, interface_q, InterfaceGap, InterfaceQ};
pub use policy::Policy;
pub use report::{coverage_min, max_abs_diff_on, reachable_pairs, reachable_states, weighted_rms};
pub use value::{bellman_optimality, initial_value, q_from_v, v_from_q, value_iteration, Solution};
