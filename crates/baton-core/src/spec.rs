//! What each agent's interface looks like: the sizes of its observation and action spaces and which
//! actions are legal in which observation. An agent's learner is built from its own [`AgentSpec`] only.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::ids::{ActionId, ObsId};

/// The legal actions of one agent, by observation. Legality may depend only on what the agent observes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Legal {
    /// `None`: every action `0..n_actions` is legal in every observation (`actions` holds them).
    /// `Some(offsets)`: the legal actions of observation `o` are `actions[offsets[o]..offsets[o + 1]]`.
    offsets: Option<Vec<u32>>,
    actions: Vec<ActionId>,
}

impl Legal {
    /// Every action legal in every observation.
    pub fn all(n_actions: u16) -> Self {
        Legal { offsets: None, actions: (0..n_actions).map(ActionId).collect() }
    }

    /// Per-observation legal sets; each must be non-empty, sorted, without duplicates and `< n_actions`.
    pub fn per_obs(sets: &[Vec<ActionId>], n_actions: u16) -> Result<Self, CoreError> {
        let mut offsets = Vec::with_capacity(sets.len() + 1);
        let mut actions = Vec::new();
        offsets.push(0u32);
        for (o, set) in sets.iter().enumerate() {
            if set.is_empty() {
                return Err(CoreError::invalid(format!("legal actions of observation {o}"), "empty"));
            }
            for w in set.windows(2) {
                if w[0] >= w[1] {
                    return Err(CoreError::invalid(
                        format!("legal actions of observation {o}"),
                        "must be strictly increasing",
                    ));
                }
            }
            if let Some(a) = set.iter().find(|a| a.0 >= n_actions) {
                return Err(CoreError::invalid(
                    format!("legal actions of observation {o}"),
                    format!("action {} out of range 0..{n_actions}", a.0),
                ));
            }
            actions.extend_from_slice(set);
            offsets.push(actions.len() as u32);
        }
        Ok(Legal { offsets: Some(offsets), actions })
    }

    /// The legal actions of observation `obs`, in increasing order.
    #[inline]
    pub fn of(&self, obs: ObsId) -> &[ActionId] {
        match &self.offsets {
            None => &self.actions,
            Some(off) => {
                let o = obs.index();
                &self.actions[off[o] as usize..off[o + 1] as usize]
            }
        }
    }

    /// Whether the legal set is the same for every observation.
    pub fn is_uniform(&self) -> bool {
        self.offsets.is_none()
    }

    /// Number of observations covered by a per-observation table (`None` when uniform).
    pub fn n_obs(&self) -> Option<usize> {
        self.offsets.as_ref().map(|o| o.len() - 1)
    }
}

/// One agent's interface: everything its learner is allowed to know about the problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// Human-readable name of the role ("agent-0", "router-12", "verifier").
    pub name: String,
    /// Size of the agent's observation space (interface view times private state).
    pub n_obs: u32,
    /// Size of the agent's action set (work options times handoff targets, plus submit).
    pub n_actions: u16,
    /// Which actions are legal in which observation.
    pub legal: Legal,
    /// Names of the actions, for reports (`len == n_actions`).
    pub action_names: Vec<String>,
}

/// The whole problem's shape: the agents' interfaces and the discount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvSpec {
    /// Versioned environment id, e.g. `synthetic-v0`.
    pub id: String,
    /// Per-agent interfaces, indexed by `AgentId`.
    pub agents: Vec<AgentSpec>,
    /// Discount factor gamma per primitive step, in `[0, 1]`. `1` (undiscounted) only for problems where every
    /// artifact's episode ends with probability one under any policy (routing: every packet is delivered);
    /// the exact solver and the synthetic workload require `gamma < 1`.
    pub discount: f64,
    /// Largest number of artifacts in flight at once (1 for an episode, e.g. 1000 for routing).
    pub max_in_flight: u32,
}

impl EnvSpec {
    /// Check internal consistency: at least one agent, gamma in `[0, 1]`, sizes and legal tables agree.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.agents.is_empty() {
            return Err(CoreError::invalid("agents", "at least one agent is required"));
        }
        if !(self.discount.is_finite() && (0.0..=1.0).contains(&self.discount)) {
            return Err(CoreError::invalid("discount", format!("gamma must be in [0, 1], got {}", self.discount)));
        }
        if self.max_in_flight == 0 {
            return Err(CoreError::invalid("max_in_flight", "must be at least 1"));
        }
        for (i, a) in self.agents.iter().enumerate() {
            if a.n_obs == 0 || a.n_actions == 0 {
                return Err(CoreError::invalid(
                    format!("agent {i} ({})", a.name),
                    "needs at least one observation and one action",
                ));
            }
            if a.action_names.len() != a.n_actions as usize {
                return Err(CoreError::invalid(
                    format!("agent {i} ({})", a.name),
                    "action_names must have one name per action",
                ));
            }
            if let Some(n) = a.legal.n_obs() {
                if n != a.n_obs as usize {
                    return Err(CoreError::invalid(
                        format!("agent {i} ({}) legal table", a.name),
                        format!("covers {n} observations, agent has {}", a.n_obs),
                    ));
                }
            } else if a.legal.of(ObsId(0)).len() != a.n_actions as usize {
                return Err(CoreError::invalid(
                    format!("agent {i} ({}) legal table", a.name),
                    "uniform legal set must list every action",
                ));
            }
        }
        Ok(())
    }
}
