//! Typed identifiers. Each is a thin newtype so that an observation index can never be passed where an
//! action or an agent is expected.

use serde::{Deserialize, Serialize};

/// An agent (a role, a router, a model): `0..n_agents`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgentId(pub u16);

/// An index into one agent's own observation space `Z_i x P_i`: `0..n_obs` of that agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObsId(pub u32);

/// An index into one agent's own action set `A_i`: `0..n_actions` of that agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActionId(pub u16);

/// One artifact in flight. A one-artifact episode always uses `ArtifactId(0)`; a many-artifact stream
/// (routing: every packet) numbers its artifacts in `0..EnvSpec::max_in_flight`, reusing slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArtifactId(pub u32);

impl AgentId {
    /// The index as `usize`, for indexing per-agent vectors.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl ObsId {
    /// The index as `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl ActionId {
    /// The index as `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl ArtifactId {
    /// The index as `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
