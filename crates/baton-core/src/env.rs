//! The environment contract, in the style of PettingZoo's agent-environment cycle: one decision at a time.
//!
//! An environment emits a stream of [`Event`]s. A [`Event::Decide`] asks the agent holding an artifact to
//! act on what it observes; the runner answers with [`Env::act`]. Later (immediately, for a one-artifact
//! episode; when the packet reaches the next router, for routing) the environment emits the matching
//! [`Event::Handoff`]: the sender's own reward `R` and duration `tau`, and who holds the artifact next and
//! what that agent observes at receipt. The receiver's one scalar is computed from that observation.
//!
//! The same contract serves one artifact per episode (always `ArtifactId(0)`, [`Event::EpisodeEnd`] after
//! the terminal handoff) and many artifacts in flight (artifact ids reused up to `EnvSpec::max_in_flight`).
//! Environments take the RNG as an argument and never own an entropy source.

use crate::ids::{ActionId, AgentId, ArtifactId, ObsId};
use crate::rng::Rng;
use crate::spec::EnvSpec;

/// An agent must act on an artifact it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The artifact being worked on.
    pub artifact: ArtifactId,
    /// The agent holding control.
    pub agent: AgentId,
    /// What that agent observes: its interface to the artifact and its own private state.
    pub obs: ObsId,
}

/// Where control goes after a handoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Control passes to `agent`, which observes `obs` at receipt.
    To {
        /// The receiver.
        agent: AgentId,
        /// The receiver's observation at receipt.
        obs: ObsId,
    },
    /// The artifact's episode ended (submitted, delivered): the continuation value is 0.
    Terminated,
    /// The run stopped the episode from outside (time limit); the continuation value is unknown.
    Truncated,
}

/// The outcome of one option, reported to the sender only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Handoff {
    /// The artifact that was handed on.
    pub artifact: ArtifactId,
    /// The agent that ran the option.
    pub sender: AgentId,
    /// `R = sum_{u < tau} gamma^u r_u`, the discounted reward of the option, as the sender saw it.
    pub reward: f64,
    /// `tau >= 1`, the option's duration in primitive steps.
    pub duration: u32,
    /// Who holds control next, or how the episode ended.
    pub next: Next,
}

/// What the environment emits next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// An agent must act ([`Env::act`]) on this artifact.
    Decide(Decision),
    /// An option finished: the sender's outcome and the next holder.
    Handoff(Handoff),
    /// A one-artifact episode is over; the next [`Env::next_event`] starts a new one from `nu_0`.
    EpisodeEnd,
}

/// An IC-SMDP environment.
pub trait Env {
    /// The agents' interfaces and the discount.
    fn spec(&self) -> &EnvSpec;
    /// Start afresh (a new episode from `nu_0`, or an empty network).
    fn reset(&mut self, rng: &mut Rng);
    /// The next event. After a [`Event::Decide`] the caller must call [`Env::act`] for that artifact before
    /// asking for another event.
    fn next_event(&mut self, rng: &mut Rng) -> Event;
    /// The holder of `artifact` takes `action` (which must be legal for its observation).
    fn act(&mut self, artifact: ArtifactId, action: ActionId, rng: &mut Rng);
}

/// An environment whose full joint state is available to a centralized learner (the oracle).
/// Decentralized learners never receive it.
pub trait JointState {
    /// Number of joint states.
    fn n_joint_states(&self) -> u32;
    /// The current joint state of `artifact`, as an observation of the centralized learner.
    fn joint_state(&self, artifact: ArtifactId) -> ObsId;
}
