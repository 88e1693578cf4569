//! # baton-envs: the IC-SMDP workloads
//!
//! Environments that produce the types of `baton-core`. So far:
//! - [`synthetic`]: the synthetic IC-SMDP generator of model.md section 6.1 (`synthetic-v0`), a finite model with
//!   exact ground truth ([`baton_core::FiniteModel`]) whose interface gap is exactly zero unless a hidden bit
//!   (the aliasing knob) is switched on.
//! - [`routing`]: packet routing (model.md 6.2), many artifacts in flight.
//! - [`math`]: the multi-LLM math workflow (model.md 6.4), one question per episode, over a precomputed table of
//!   LLM calls (`baton-llm` without its network stack).
//! - [`cpu`]: CPU programming with TinyCPU (model.md 6.3): five roles (writer, tester, debugger, optimizer,
//!   submit desk) as real program transformers on `baton-tinycpu` programs.
//!
//! Every environment is configured by a serde struct that rejects unknown fields and validates into a checked
//! type; errors are [`EnvError`] and name the offending configuration field as it is spelled in TOML.
//! This crate depends on no learner: environments know nothing of how agents learn.

pub mod cpu;
pub mod error;
pub mod math;
pub mod routing;
pub mod synthetic;

pub use error::EnvError;
pub use synthetic::{OptionStep, Synthetic, SyntheticConfig};
