//! Stationary joint policies on a [`FiniteModel`] (model.md sections 4 and 5).
//!
//! A [`Policy`] gives every pair `(s, a)` a probability `pi(a | s)`; within each state they sum to 1. The
//! policies agents can actually run depend on the state only through the holder's observation `sigma(s)`
//! ("observation-measurable"); [`Policy::from_agents`] builds those, [`Policy::greedy`] builds the greedy
//! policy of any per-pair table (e.g. `Q*` for the optimal policy, or `Q_bar o sigma` for the policy IC-Q
//! converges to).

use baton_core::{ActionId, AgentId, FiniteModel, ObsId};

use crate::error::{check_len, SolveError};

/// Tolerance on `|sum_a pi(a | s) - 1|`.
pub const PROB_SUM_TOL: f64 = 1e-9;

/// Tolerance on probability differences when checking observation-measurability.
pub const MEASURABILITY_TOL: f64 = 1e-12;

/// A stationary joint policy: `pi(a | s)` per global pair index, summing to 1 within each state.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    probs: Vec<f64>,
}

impl Policy {
    /// A per-agent deterministic policy: in state `s` the holder `h(s)` plays `choose(h(s), sigma(s))`.
    ///
    /// Errors with [`SolveError::IllegalAction`] (naming agent, observation and action) if the chosen action
    /// is not legal in that observation. `choose` is called once per state.
    pub fn from_agents(
        model: &FiniteModel,
        mut choose: impl FnMut(AgentId, ObsId) -> ActionId,
    ) -> Result<Policy, SolveError> {
        let mut probs = vec![0.0; model.n_pairs()];
        for s in 0..model.n_states() as u32 {
            let (agent, obs) = (model.holder(s), model.obs(s));
            let action = choose(agent, obs);
            let p = model.pair_of(s, action).ok_or(SolveError::IllegalAction {
                agent: agent.0,
                obs: obs.0,
                action: action.0,
            })?;
            probs[p] = 1.0;
        }
        Ok(Policy { probs })
    }

    /// Uniform over the legal actions of every state.
    pub fn uniform(model: &FiniteModel) -> Policy {
        let mut probs = vec![0.0; model.n_pairs()];
        for s in 0..model.n_states() as u32 {
            let range = model.pairs(s);
            let w = 1.0 / range.len() as f64;
            for p in range {
                probs[p] = w;
            }
        }
        Policy { probs }
    }

    /// The deterministic greedy policy of a per-pair table `q`: in each state the action with the largest
    /// `q` (compared with [`f64::total_cmp`]), ties going to the lowest action index.
    ///
    /// NaN entries (e.g. unvisited entries of a lifted `Q_bar`) are treated as unavailable; a state whose
    /// entries are all NaN plays its lowest legal action.
    pub fn greedy(model: &FiniteModel, q: &[f64]) -> Result<Policy, SolveError> {
        check_len("Q per pair", q, model.n_pairs())?;
        let mut probs = vec![0.0; model.n_pairs()];
        for s in 0..model.n_states() as u32 {
            let range = model.pairs(s);
            let mut best = range.start;
            let mut best_q = f64::NAN;
            for p in range {
                let x = q[p];
                if x.is_nan() {
                    continue;
                }
                // Strictly greater only: pairs are in increasing action order, so ties keep the lowest action.
                if best_q.is_nan() || x.total_cmp(&best_q).is_gt() {
                    best = p;
                    best_q = x;
                }
            }
            probs[best] = 1.0;
        }
        Ok(Policy { probs })
    }

    /// A general stochastic policy from per-pair probabilities: each must be finite and `>= 0`, and they must
    /// sum to 1 (within [`PROB_SUM_TOL`]) in every state.
    pub fn from_probs(model: &FiniteModel, probs: Vec<f64>) -> Result<Policy, SolveError> {
        check_len("policy probabilities per pair", &probs, model.n_pairs())?;
        for s in 0..model.n_states() as u32 {
            let mut sum = 0.0;
            for p in model.pairs(s) {
                let x = probs[p];
                if !(x.is_finite() && (0.0..=1.0 + PROB_SUM_TOL).contains(&x)) {
                    return Err(SolveError::InvalidProbability { state: s, pair: p, prob: x });
                }
                sum += x;
            }
            if (sum - 1.0).abs() > PROB_SUM_TOL {
                return Err(SolveError::ProbabilitiesDoNotSumToOne { state: s, sum });
            }
        }
        Ok(Policy { probs })
    }

    /// `pi(a | s)` per global pair index.
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }

    /// `pi(a | s)` of pair `p` (0 if `p` is out of range).
    pub fn prob(&self, p: usize) -> f64 {
        self.probs.get(p).copied().unwrap_or(0.0)
    }

    /// Whether this policy was built for a model with `model.n_pairs()` pairs.
    pub(crate) fn check_model(&self, model: &FiniteModel) -> Result<(), SolveError> {
        check_len("policy probabilities per pair", &self.probs, model.n_pairs())
    }

    /// Check that the policy depends on the state only through `(h(s), sigma(s))`: states that the same agent
    /// observes identically get the same action distribution (within [`MEASURABILITY_TOL`]).
    pub fn check_observation_measurable(&self, model: &FiniteModel) -> Result<(), SolveError> {
        self.check_model(model)?;
        // First state seen per (agent, observation); u32::MAX = none yet.
        let mut first: Vec<Vec<u32>> = model.spec().agents.iter().map(|a| vec![u32::MAX; a.n_obs as usize]).collect();
        for s in 0..model.n_states() as u32 {
            let (agent, obs) = (model.holder(s), model.obs(s));
            let Some(slot) = first.get_mut(agent.index()).and_then(|t| t.get_mut(obs.index())) else {
                continue;
            };
            if *slot == u32::MAX {
                *slot = s;
                continue;
            }
            let r = *slot;
            let (ps, pr) = (model.pairs(s), model.pairs(r));
            let same = ps.len() == pr.len()
                && ps.zip(pr).all(|(a, b)| (self.probs[a] - self.probs[b]).abs() <= MEASURABILITY_TOL);
            if !same {
                return Err(SolveError::NotObservationMeasurable {
                    agent: agent.0,
                    obs: obs.0,
                    state_a: r,
                    state_b: s,
                });
            }
        }
        Ok(())
    }
}
