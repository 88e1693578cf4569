//! # baton
//!
//! Learn how specialised agents should hand work to each other. baton implements IC-Q: decentralized,
//! asynchronous Q-learning over an interface-constrained semi-Markov decision process, in which the only
//! coordination at a handoff is one number sent back by the receiver.
//!
//! This facade re-exports the workspace's crates:
//! - [`core`], the IC-SMDP vocabulary and the environment contract;
//! - [`learn`], IC-Q learners (start with [`learn::icq`]);
//! - [`solve`], the exact solver for finite models;
//! - [`envs`], workloads;
//! - [`experiment`], configs, the runner, run directories;
//! - [`tinycpu`], the 8-bit machine and task set of the CPU-programming workload;
//! - [`llm`], the math workload's data sets, model backends, grading and prices (model.md 6.4);
//! - [`service`], agents as HTTP services across trust boundaries (model.md 7).
//!
//! ```
//! use baton::envs::SyntheticConfig;
//! use baton::solve::{initial_value, value_iteration};
//!
//! let model = SyntheticConfig::default().validate()?.build_model()?;
//! let optimum = value_iteration(&model, 1e-9)?;
//! assert!(initial_value(&model, &optimum.v)? > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use baton_core as core;
pub use baton_envs as envs;
pub use baton_experiment as experiment;
pub use baton_learn as learn;
pub use baton_llm as llm;
pub use baton_service as service;
pub use baton_solve as solve;
pub use baton_tinycpu as tinycpu;

/// The README's code blocks, compiled and run as doctests so the first screen stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
