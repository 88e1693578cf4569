//! [`TabularQ`]: one agent's dense Q-table over its own observations and actions.

use baton_core::{ActionId, AgentSpec, Legal, ObsId};

use crate::icq::{tabular_step, QFunction};
use crate::step::StepSize;

/// A dense table `Q(o, a)` with visit counts `n(o, a)`, row-major by observation. Only the entries of
/// legal actions are ever read or written. Ties in the argmax go to the lowest action index.
#[derive(Clone, Debug)]
pub struct TabularQ {
    n_actions: usize,
    q: Vec<f64>,
    visits: Vec<u32>,
    legal: Legal,
    step: StepSize,
}

impl TabularQ {
    /// A zero-initialised table for the agent described by `spec`.
    pub fn new(spec: &AgentSpec, step: StepSize) -> Self {
        let n = spec.n_obs as usize * spec.n_actions as usize;
        TabularQ {
            n_actions: spec.n_actions as usize,
            q: vec![0.0; n],
            visits: vec![0; n],
            legal: spec.legal.clone(),
            step,
        }
    }

    /// A table with given initial values (row-major, `n_obs * n_actions`), e.g. a workload's prior
    /// estimates; `None` if the length does not match the spec.
    pub fn with_values(spec: &AgentSpec, step: StepSize, values: Vec<f64>) -> Option<Self> {
        let n = spec.n_obs as usize * spec.n_actions as usize;
        (values.len() == n).then(|| TabularQ {
            n_actions: spec.n_actions as usize,
            q: values,
            visits: vec![0; n],
            legal: spec.legal.clone(),
            step,
        })
    }

    /// A table restored from a checkpoint: values and visit counts (row-major, `n_obs * n_actions` each);
    /// `None` if either length does not match the spec.
    pub fn from_parts(spec: &AgentSpec, step: StepSize, values: Vec<f64>, visits: Vec<u32>) -> Option<Self> {
        let n = spec.n_obs as usize * spec.n_actions as usize;
        (values.len() == n && visits.len() == n).then(|| TabularQ {
            n_actions: spec.n_actions as usize,
            q: values,
            visits,
            legal: spec.legal.clone(),
            step,
        })
    }

    /// The raw visit counts, row-major (`obs * n_actions + action`).
    pub fn visits_slice(&self) -> &[u32] {
        &self.visits
    }

    /// Visit count `n(o, a)`.
    pub fn visits(&self, obs: ObsId, action: ActionId) -> u32 {
        self.visits[self.index(obs, action)]
    }

    /// Number of observations.
    pub fn n_obs(&self) -> usize {
        self.q.len() / self.n_actions.max(1)
    }

    /// Number of actions per observation.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// The raw table, row-major (`obs * n_actions + action`).
    pub fn as_slice(&self) -> &[f64] {
        &self.q
    }

    /// Whether any entry is not finite (a diverging learner).
    pub fn has_non_finite(&self) -> bool {
        self.q.iter().any(|v| !v.is_finite())
    }

    #[inline(always)]
    fn index(&self, obs: ObsId, action: ActionId) -> usize {
        obs.index() * self.n_actions + action.index()
    }

    #[inline(always)]
    fn row(&self, obs: ObsId) -> &[f64] {
        let start = obs.index() * self.n_actions;
        &self.q[start..start + self.n_actions]
    }
}

impl QFunction for TabularQ {
    #[inline(always)]
    fn legal(&self, obs: ObsId) -> &[ActionId] {
        self.legal.of(obs)
    }

    #[inline(always)]
    fn max_value(&self, obs: ObsId) -> f64 {
        let row = self.row(obs);
        if self.legal.is_uniform() {
            let mut m = row[0];
            for &x in &row[1..] {
                if x > m {
                    m = x;
                }
            }
            m
        } else {
            self.legal.of(obs).iter().map(|a| row[a.index()]).fold(f64::NEG_INFINITY, f64::max)
        }
    }

    #[inline(always)]
    fn greedy(&self, obs: ObsId) -> ActionId {
        let row = self.row(obs);
        let legal = self.legal.of(obs);
        let mut best = legal[0];
        let mut best_q = row[best.index()];
        for &a in &legal[1..] {
            // Strictly greater: ties keep the lowest index.
            if row[a.index()].total_cmp(&best_q).is_gt() {
                best = a;
                best_q = row[a.index()];
            }
        }
        best
    }

    #[inline(always)]
    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.q[self.index(obs, action)]
    }

    #[inline(always)]
    fn update_towards(&mut self, obs: ObsId, action: ActionId, target: f64) -> f64 {
        let i = self.index(obs, action);
        let step = &self.step;
        tabular_step(&mut self.q[i], &mut self.visits[i], |n| step.alpha(n), target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AgentSpec {
        AgentSpec {
            name: "a".into(),
            n_obs: 2,
            n_actions: 3,
            legal: Legal::all(3),
            action_names: vec!["x".into(), "y".into(), "z".into()],
        }
    }

    #[test]
    fn a_table_restored_from_its_parts_continues_where_it_stopped() {
        let step = StepSize::polynomial(0.8);
        let mut q = TabularQ::new(&spec(), step.clone());
        q.update_towards(ObsId(1), ActionId(2), 4.0);
        q.update_towards(ObsId(1), ActionId(2), 4.0);
        let mut restored =
            TabularQ::from_parts(&spec(), step.clone(), q.as_slice().to_vec(), q.visits_slice().to_vec()).unwrap();
        assert_eq!(restored.visits(ObsId(1), ActionId(2)), 2);
        assert_eq!(restored.update_towards(ObsId(1), ActionId(2), 1.0), q.update_towards(ObsId(1), ActionId(2), 1.0));
        assert_eq!(restored.as_slice(), q.as_slice());
        assert!(TabularQ::from_parts(&spec(), step, vec![0.0; 6], vec![0; 5]).is_none());
    }
}
