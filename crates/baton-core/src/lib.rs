//! # baton-core: the IC-SMDP vocabulary
//!
//! An interface-constrained semi-Markov decision process (model.md section 1): agents pass control of a shared
//! artifact; the agent holding control sees only its own observation `(phi_i(x), p_i)`, picks an action
//! (work option plus handoff target, or submit), the option runs for a random duration `tau` and earns a
//! discounted reward `R`, then control passes to the next holder.
//!
//! This crate holds only the shared vocabulary:
//! - [`ids`]: typed identifiers ([`AgentId`], [`ObsId`], [`ActionId`], [`ArtifactId`]);
//! - [`spec`]: what each agent's interface looks like ([`EnvSpec`], [`AgentSpec`], [`Legal`]);
//! - [`env`](mod@env): the environment contract ([`Env`], [`Event`], [`Decision`], [`Handoff`]) that serves both the
//!   one-artifact episode and the many-artifact stream, and [`check_env`];
//! - [`episode`]: the one-artifact episode cycle, written once ([`EpisodeEnv`] around a workload's [`Episodic`]
//!   part), and [`Order`]/[`Picker`] for choosing each episode's item;
//! - [`model`]: [`FiniteModel`], an explicit finite IC-SMDP (states, kernel, rewards) that can be both simulated
//!   ([`FiniteEnv`], an [`EpisodeEnv`]) and solved exactly (crate `baton-solve`);
//! - [`tagged`]: config tables tagged by `kind` whose errors name the field inside them;
//! - [`rng`]: the one portable generator ([`Rng`] = ChaCha8) and its per-component streams.
//!
//! No file I/O, no network, no logging side effects.

pub mod check;
pub mod env;
pub mod episode;
pub mod error;
pub mod ids;
pub mod model;
pub mod rng;
pub mod spec;
pub mod tagged;

pub use check::{check_env, CheckOptions};
pub use env::{Decision, Env, Event, Handoff, JointState, Next};
pub use episode::{EpisodeEnv, Episodic, Order, Picker, Step};
pub use error::CoreError;
pub use ids::{ActionId, AgentId, ArtifactId, ObsId};
pub use model::{FiniteEnv, FiniteEpisodes, FiniteModel, ModelBuilder, Outcome, TERMINAL};
pub use rng::{Rng, Stream};
pub use spec::{AgentSpec, EnvSpec, Legal};
