//! Exact evaluation of learned policies on a finite model (the synthetic workload's ground truth).

use baton_core::{FiniteModel, ObsId};
use baton_learn::{IcqAgent, QFunction};
use baton_solve::{
    behaviour_chain, coverage_min, evaluate_with, initial_value, interface_gap, interface_q, mixing_time,
    relaxation_time, stationary_of, value_iteration, Behaviour, EvalMethod, InterfaceGap, Policy, Solution,
};
use serde::Serialize;

use crate::ExperimentError;

/// Value-iteration tolerance for the ground truth.
const VI_TOL: f64 = 1e-10;
/// Policy evaluation by Gauss-Seidel to a guaranteed relative error below 1e-10: as exact as the dense LU
/// for reporting, and about 20x faster at a few hundred states (a run evaluates hundreds of policies).
const EVAL: EvalMethod = EvalMethod::GaussSeidel;

/// Everything exact about one finite model, computed once per run and shared by every seed and method.
#[derive(Debug)]
pub struct GroundTruth {
    /// The model.
    pub model: FiniteModel,
    /// `Q*` and `V*`.
    pub optimal: Solution,
    /// `V*` from `nu_0`.
    pub optimal_value: f64,
    /// Value of the uniformly random policy from `nu_0`.
    pub random_value: f64,
    /// Stationary distribution `xi` of the behaviour chain, per pair.
    pub xi: Vec<f64>,
    /// `Q_bar(sigma(s), a)` per pair (NaN where unvisited).
    pub q_bar: Vec<f64>,
    /// The interface gap terms.
    pub gap: InterfaceGap,
    /// Mixing time of the behaviour chain (`None` if not computed or above the cap).
    pub t_mix: Option<u32>,
    /// Smallest positive stationary mass `min xi` (coverage of the rarest visited pair).
    pub coverage_min: f64,
    /// Relaxation time `1 / (1 - |lambda_2|)` of the behaviour chain (`None` if not computed, or periodic).
    pub relaxation_time: Option<f64>,
    /// Stationary distribution of the plain uniform behaviour (`kappa = 0`), per pair: the fixed weights of
    /// [`Scores::q_error_xi0`], the same for every stickiness (equal to `xi` when `kappa = 0`).
    pub xi0: Vec<f64>,
    /// The exact interface gap `max |Q* - Q_bar o sigma|` over the pairs the behaviour visits (model.md 5 claims
    /// it is at most `alpha_IF`).
    pub exact_gap_inf: f64,
    /// `V* - V^{greedy Q_bar}` from `nu_0` (model.md 5 claims it is at most `2 alpha_IF`).
    pub q_bar_policy_loss: f64,
}

/// Mixing times are computed exactly for chains up to this many pairs (the cost grows with pairs^2).
const MIXING_MAX_PAIRS: usize = 5_000;

/// Scores of one learned Q (lifted to pairs) against the ground truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Scores {
    /// Exact value from `nu_0` of the greedy policy.
    pub value: f64,
    /// `(V* - value) / |V*|`.
    pub gap: f64,
    /// `max |Q - target|` over pairs the behaviour visits (target: `Q*` for the oracle, `Q* o sigma` for
    /// decentralized learners, i.e. `Q*(s, a)` against `Q_i(sigma(s), a)`).
    pub q_error_inf: f64,
    /// Root-mean-square error against the same target, weighted by `xi`.
    pub q_error_xi: f64,
    /// `max |Q - Q_bar o sigma|` over visited pairs: distance to IC-Q's own fixed point.
    pub q_bar_error_inf: f64,
    /// Root-mean-square distance to `Q_bar o sigma`, weighted by `xi`.
    pub q_bar_error_xi: f64,
    /// Root-mean-square error against the target of `q_error_xi`, weighted by the fixed `xi0` of the plain
    /// uniform behaviour (comparable across stickiness levels; equal to `q_error_xi` when `kappa = 0`).
    pub q_error_xi0: f64,
}

impl GroundTruth {
    /// Solve `model` exactly: `Q*`, `V*`, the random policy's value, `xi` under the (sticky) uniform behaviour, `Q_bar`
    /// and the interface gap.
    /// `kappa` is the stickiness of the behaviour whose chain defines `xi`, `Q_bar` and the gap (0: uniform).
    pub fn new(model: FiniteModel, kappa: f64) -> Result<Self, ExperimentError> {
        let optimal = value_iteration(&model, VI_TOL)?;
        let optimal_value = initial_value(&model, &optimal.v)?;
        let random_value = initial_value(&model, &evaluate_with(&model, &Policy::uniform(&model), EVAL)?)?;
        let behaviour = Behaviour::new(&model, Policy::uniform(&model), kappa)?;
        let chain = behaviour_chain(&model, &behaviour)?;
        let xi = stationary_of(&chain)?.xi;
        let t_mix = if model.n_pairs() <= MIXING_MAX_PAIRS { mixing_time(&chain, &xi, 10_000)? } else { None };
        let relaxation_time = relaxation_time(&chain, &xi, 2_000_000)?;
        let coverage_min = coverage_min(&xi);
        let xi0 = if kappa == 0.0 {
            xi.clone()
        } else {
            stationary_of(&behaviour_chain(&model, &Behaviour::uniform(&model))?)?.xi
        };
        let qbar = interface_q(&model, &xi)?;
        let gap = interface_gap(&model, &xi, &qbar)?;
        let q_bar = qbar.lift(&model);
        let exact_gap_inf = xi
            .iter()
            .zip(q_bar.iter().zip(&optimal.q))
            .filter(|(x, (b, _))| **x > 0.0 && b.is_finite())
            .fold(0.0f64, |acc, (_, (b, q))| acc.max((b - q).abs()));
        // Greedy on Q_bar o sigma (unvisited pairs, NaN in the lift, are never preferred).
        let q_bar_greedy: Vec<f64> = q_bar.iter().map(|&b| if b.is_finite() { b } else { f64::MIN }).collect();
        let q_bar_value =
            initial_value(&model, &evaluate_with(&model, &Policy::greedy(&model, &q_bar_greedy)?, EVAL)?)?;
        Ok(GroundTruth {
            q_bar_policy_loss: optimal_value - q_bar_value,
            model,
            optimal,
            optimal_value,
            random_value,
            xi,
            q_bar,
            gap,
            t_mix,
            coverage_min,
            relaxation_time,
            xi0,
            exact_gap_inf,
        })
    }

    /// Lift decentralized agents' tables to pairs: `Q_{h(s)}(sigma(s), a)`.
    pub fn lift_agents<Q: QFunction>(&self, agents: &[IcqAgent<Q>]) -> Vec<f64> {
        let m = &self.model;
        let mut q = Vec::with_capacity(m.n_pairs());
        for s in 0..m.n_states() as u32 {
            let agent = &agents[m.holder(s).index()];
            let o = m.obs(s);
            q.extend(m.pairs(s).map(|p| agent.q().value(o, m.pair_action(p))));
        }
        q
    }

    /// Lift a centralized learner's table (observation = joint state) to pairs.
    pub fn lift_joint<Q: QFunction>(&self, learner: &IcqAgent<Q>) -> Vec<f64> {
        let m = &self.model;
        let mut q = Vec::with_capacity(m.n_pairs());
        for s in 0..m.n_states() as u32 {
            q.extend(m.pairs(s).map(|p| learner.q().value(ObsId(s), m.pair_action(p))));
        }
        q
    }

    /// Exact value from `nu_0` of a fixed policy.
    pub fn policy_value(&self, policy: &Policy) -> Result<f64, ExperimentError> {
        Ok(initial_value(&self.model, &evaluate_with(&self.model, policy, EVAL)?)?)
    }

    /// Score a learned Q given per pair.
    pub fn score(&self, q: &[f64]) -> Result<Scores, ExperimentError> {
        let policy = Policy::greedy(&self.model, q)?;
        let value = initial_value(&self.model, &evaluate_with(&self.model, &policy, EVAL)?)?;
        let mut inf: f64 = 0.0;
        let mut bar_inf: f64 = 0.0;
        let mut sq = 0.0;
        let mut bar_sq = 0.0;
        let mut w = 0.0;
        let (mut sq0, mut w0) = (0.0, 0.0);
        for (p, &x0) in self.xi0.iter().enumerate() {
            if x0 > 0.0 {
                let e = q[p] - self.optimal.q[p];
                sq0 += x0 * e * e;
                w0 += x0;
            }
        }
        for (p, &x) in self.xi.iter().enumerate() {
            if x <= 0.0 {
                continue;
            }
            let e = (q[p] - self.optimal.q[p]).abs();
            inf = inf.max(e);
            sq += x * e * e;
            w += x;
            if self.q_bar[p].is_finite() {
                let d = (q[p] - self.q_bar[p]).abs();
                bar_inf = bar_inf.max(d);
                bar_sq += x * d * d;
            }
        }
        Ok(Scores {
            value,
            gap: self.relative_gap(value),
            q_error_inf: inf,
            q_error_xi: if w > 0.0 { (sq / w).sqrt() } else { 0.0 },
            q_bar_error_inf: bar_inf,
            q_bar_error_xi: if w > 0.0 { (bar_sq / w).sqrt() } else { 0.0 },
            q_error_xi0: if w0 > 0.0 { (sq0 / w0).sqrt() } else { 0.0 },
        })
    }

    /// `(V* - value) / |V*|`.
    pub fn relative_gap(&self, value: f64) -> f64 {
        (self.optimal_value - value) / self.optimal_value.abs().max(f64::MIN_POSITIVE)
    }
}
