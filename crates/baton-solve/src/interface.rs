//! The interface fixed point `Q_bar` and the interface gap (model.md section 5).
//!
//! Fix per-pair weights `xi(s, a)` (the stationary distribution of a behaviour chain, see [`crate::chain`]).
//! Each agent `i` only sees `o = sigma(s)` in the states it holds, so tabular IC-Q (model.md section 2) averages
//! over the states behind each of its table entries `(o, a)` with weights `xi(s | o, a) = xi(s, a) / xi(o, a)`,
//! `xi(o, a) = sum_{s : h(s) = i, sigma(s) = o} xi(s, a)`. Its fixed point is
//!
//! ```text
//! Q_bar_i(o, a) = rhat(o, a) + sum_{o'} Mbar(o' | o, a) Vbar(o'),   Vbar_j(o') = max_{a' visited} Q_bar_j(o', a')
//! rhat(o, a)     = sum_s xi(s | o, a) rbar(s, a)
//! M(o' | s, a)   = sum_{s', tau} K(s', tau | s, a) gamma^tau 1{(h(s'), sigma(s')) = o'}   (terminal: nothing)
//! Mbar(o' | o, a) = sum_s xi(s | o, a) M(o' | s, a)
//! ```
//!
//! where `o'` ranges over receiver keys (agent, observation) and the max uses the receiver's own table.
//! The map contracts with factor `max_{o,a} sum_{o'} Mbar(o' | o, a) <= gamma_bar`; [`interface_q`] iterates it
//! to a certified error below [`INTERFACE_TOL`]. Entries with `xi(o, a) = 0` are unvisited: they hold NaN and
//! are ignored by the max (a receiver with no visited action contributes 0 and is counted).
//!
//! The interface gap ([`interface_gap`]) measures how far `sigma` is from an information state:
//!
//! ```text
//! eps_IF   = max_{(s,a): xi > 0} | rbar(s, a) - rhat(sigma(s), a) |
//! delta_IF = max_{(s,a): xi > 0} || M(. | s, a) - Mbar(. | sigma(s), a) ||_1
//! alpha_IF = (eps_IF + delta_IF ||Vbar||_inf) / (1 - gamma_bar)      claim: ||Q* - Q_bar o sigma||_inf <= alpha_IF
//! ```

use serde::Serialize;

use baton_core::{ActionId, AgentId, FiniteModel, ObsId, TERMINAL};

use crate::error::{check_len, SolveError};
use crate::kernel::discount_pow;

/// Error target of [`interface_q`]: certified `||Q - Q_bar||_inf < INTERFACE_TOL * max(1, ||Q||_inf)`.
pub const INTERFACE_TOL: f64 = 1e-12;

/// Iteration budget of [`interface_q`]; reaching it returns [`SolveError::NotConverged`].
pub const MAX_INTERFACE_ITERATIONS: usize = 1_000_000;

/// The interface fixed point `Q_bar`: one dense table per agent, indexed `obs * n_actions + action`.
#[derive(Clone, Debug, PartialEq)]
pub struct InterfaceQ {
    tables: Vec<Vec<f64>>,
    n_actions: Vec<u16>,
    /// Fixed-point iterations performed.
    pub iterations: usize,
    /// Certified bound on `||Q - Q_bar||_inf` of the returned tables.
    pub residual_bound: f64,
    /// Receivers `(agent, obs)` reached from a visited pair that have no visited action (their value was taken
    /// as 0). Always 0 when the weights are a behaviour chain's stationary distribution.
    pub unvisited_receivers: usize,
}

impl InterfaceQ {
    /// Number of agents.
    pub fn n_agents(&self) -> usize {
        self.tables.len()
    }

    /// Agent `agent`'s table, indexed `obs * n_actions + action` (NaN where unvisited); empty if no such agent.
    pub fn table(&self, agent: AgentId) -> &[f64] {
        self.tables.get(agent.index()).map_or(&[], |t| t.as_slice())
    }

    fn index(&self, agent: AgentId, obs: ObsId, action: ActionId) -> Option<(usize, usize)> {
        let n_actions = *self.n_actions.get(agent.index())?;
        if action.0 >= n_actions {
            return None;
        }
        let k = obs.index().checked_mul(n_actions as usize)? + action.index();
        (k < self.tables[agent.index()].len()).then_some((agent.index(), k))
    }

    /// `Q_bar_agent(obs, action)`; NaN if unvisited or out of range.
    pub fn get(&self, agent: AgentId, obs: ObsId, action: ActionId) -> f64 {
        self.index(agent, obs, action).map_or(f64::NAN, |(i, k)| self.tables[i][k])
    }

    /// Whether `(obs, action)` of `agent` has positive weight `xi(o, a)`.
    pub fn visited(&self, agent: AgentId, obs: ObsId, action: ActionId) -> bool {
        !self.get(agent, obs, action).is_nan()
    }

    /// `Vbar_agent(obs) = max` over visited actions of `Q_bar_agent(obs, .)`; `None` if none is visited.
    pub fn vbar(&self, agent: AgentId, obs: ObsId) -> Option<f64> {
        let n_actions = *self.n_actions.get(agent.index())? as usize;
        let start = obs.index().checked_mul(n_actions)?;
        self.tables[agent.index()]
            .get(start..start + n_actions)?
            .iter()
            .copied()
            .filter(|x| !x.is_nan())
            .max_by(f64::total_cmp)
    }

    /// `Q_bar(sigma(s), a)` per global pair index of `model` (NaN where unvisited).
    pub fn lift(&self, model: &FiniteModel) -> Vec<f64> {
        let mut out = Vec::with_capacity(model.n_pairs());
        for s in 0..model.n_states() as u32 {
            let (agent, obs) = (model.holder(s), model.obs(s));
            out.extend(model.pairs(s).map(|p| self.get(agent, obs, model.pair_action(p))));
        }
        out
    }
}

/// The interface gap terms of model.md section 5.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct InterfaceGap {
    /// `eps_IF`: largest reward mismatch between a state and the average over its observation.
    pub eps_if: f64,
    /// `delta_IF`: largest L1 mismatch of the discounted receiver-observation kernel.
    pub delta_if: f64,
    /// `alpha_IF = (eps_IF + delta_IF ||Vbar||_inf) / (1 - gamma_bar)`.
    pub alpha_if: f64,
    /// `gamma_bar = max_{s,a} E[gamma^tau | s, a]` of the model.
    pub gamma_bar: f64,
    /// `||Vbar||_inf` over observations with at least one visited action.
    pub vbar_inf: f64,
}

/// Flat indexing of the agents' tables and the `xi`-averaged model on visited keys.
struct Aggregates {
    /// Per agent, offset of its keys `(obs, action)` in the global key space.
    key_off: Vec<usize>,
    /// Per agent, offset of its observations in the global receiver space.
    obs_off: Vec<usize>,
    n_actions: Vec<u16>,
    /// Global key of each pair.
    key_of_pair: Vec<usize>,
    /// Visited keys, increasing.
    keys: Vec<usize>,
    /// Global receiver (agent, obs) of each visited key.
    key_recv: Vec<usize>,
    /// `rhat` per visited key.
    rhat: Vec<f64>,
    /// `Mbar(. | key)` of visited key `j` is `mbar[mbar_off[j]..mbar_off[j + 1]]`: (receiver, weight), sorted.
    mbar_off: Vec<usize>,
    mbar: Vec<(usize, f64)>,
}

fn check_weights(model: &FiniteModel, xi: &[f64]) -> Result<(), SolveError> {
    check_len("xi per pair", xi, model.n_pairs())?;
    if let Some(index) = xi.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
        return Err(SolveError::InvalidWeight { what: "xi per pair", index, value: xi[index] });
    }
    if !xi.iter().any(|&x| x > 0.0) {
        return Err(SolveError::ZeroMass { what: "xi per pair" });
    }
    Ok(())
}

/// `M(. | s, a)` of pair `p`: (global receiver, prob * gamma^tau), sorted and merged, terminal outcomes dropped.
fn receiver_kernel(model: &FiniteModel, obs_off: &[usize], p: usize, out: &mut Vec<(usize, f64)>) {
    let gamma = model.discount();
    out.clear();
    for o in model.outcomes(p) {
        if o.next == TERMINAL {
            continue;
        }
        let r = obs_off[model.holder(o.next).index()] + model.obs(o.next).index();
        out.push((r, o.prob * discount_pow(gamma, o.duration)));
    }
    merge(out);
}

fn merge(v: &mut Vec<(usize, f64)>) {
    v.sort_by_key(|&(r, _)| r);
    let mut w = 0;
    for i in 0..v.len() {
        if w > 0 && v[w - 1].0 == v[i].0 {
            v[w - 1].1 += v[i].1;
        } else {
            v[w] = v[i];
            w += 1;
        }
    }
    v.truncate(w);
}

impl Aggregates {
    fn new(model: &FiniteModel, xi: &[f64]) -> Result<Self, SolveError> {
        check_weights(model, xi)?;
        let agents = &model.spec().agents;
        let mut key_off = Vec::with_capacity(agents.len() + 1);
        let mut obs_off = Vec::with_capacity(agents.len() + 1);
        let (mut k, mut g) = (0usize, 0usize);
        for a in agents {
            key_off.push(k);
            obs_off.push(g);
            k += a.n_obs as usize * a.n_actions as usize;
            g += a.n_obs as usize;
        }
        key_off.push(k);
        obs_off.push(g);
        let n_actions: Vec<u16> = agents.iter().map(|a| a.n_actions).collect();
        let n_keys = k;

        let mut key_of_pair = Vec::with_capacity(model.n_pairs());
        for s in 0..model.n_states() as u32 {
            let (i, o) = (model.holder(s).index(), model.obs(s).index());
            for p in model.pairs(s) {
                key_of_pair.push(key_off[i] + o * n_actions[i] as usize + model.pair_action(p).index());
            }
        }

        // xi(o, a) per key, then the visited keys and their compact positions.
        let mut wkey = vec![0.0; n_keys];
        for (p, &x) in xi.iter().enumerate() {
            wkey[key_of_pair[p]] += x;
        }
        let keys: Vec<usize> = (0..n_keys).filter(|&k| wkey[k] > 0.0).collect();
        let mut key_recv = Vec::with_capacity(keys.len());
        for &k in &keys {
            // The agent owning key k: the last agent whose key offset is <= k.
            let i = key_off.partition_point(|&off| off <= k).saturating_sub(1);
            let o = (k - key_off[i]) / n_actions[i].max(1) as usize;
            key_recv.push(obs_off[i] + o);
        }

        // rhat and Mbar by accumulating triplets (position, receiver, weight).
        let mut rhat = vec![0.0; keys.len()];
        let mut triplets: Vec<(usize, usize, f64)> = Vec::new();
        let mut mk = Vec::new();
        for (p, &x) in xi.iter().enumerate() {
            if x <= 0.0 {
                continue;
            }
            let key = key_of_pair[p];
            let Ok(j) = keys.binary_search(&key) else {
                continue;
            };
            let w = x / wkey[key];
            rhat[j] += w * model.expected_reward(p);
            receiver_kernel(model, &obs_off, p, &mut mk);
            triplets.extend(mk.iter().map(|&(r, m)| (j, r, w * m)));
        }
        triplets.sort_by_key(|&(j, r, _)| (j, r));
        let mut mbar_off = Vec::with_capacity(keys.len() + 1);
        let mut mbar: Vec<(usize, f64)> = Vec::with_capacity(triplets.len());
        mbar_off.push(0);
        let mut t = 0;
        for j in 0..keys.len() {
            let start = mbar.len();
            while t < triplets.len() && triplets[t].0 == j {
                let (_, r, w) = triplets[t];
                match mbar[start..].last_mut() {
                    Some(last) if last.0 == r => last.1 += w,
                    _ => mbar.push((r, w)),
                }
                t += 1;
            }
            mbar_off.push(mbar.len());
        }
        Ok(Aggregates { key_off, obs_off, n_actions, key_of_pair, keys, key_recv, rhat, mbar_off, mbar })
    }

    fn mbar_row(&self, j: usize) -> &[(usize, f64)] {
        &self.mbar[self.mbar_off[j]..self.mbar_off[j + 1]]
    }

    fn n_receivers(&self) -> usize {
        self.obs_off.last().copied().unwrap_or(0)
    }

    /// `Vbar` per global receiver from compact per-visited-key values `q`; NaN where no action is visited.
    fn vbar(&self, q: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|v| *v = f64::NAN);
        for (j, &r) in self.key_recv.iter().enumerate() {
            let v = &mut out[r];
            if v.is_nan() || q[j].total_cmp(v).is_gt() {
                *v = q[j];
            }
        }
    }
}

/// Solve the interface fixed point `Q_bar` for per-pair weights `xi` (normally [`crate::Stationary::xi`]).
///
/// `xi` must be finite, non-negative and not all zero; only ratios within each `(agent, obs, action)` matter.
pub fn interface_q(model: &FiniteModel, xi: &[f64]) -> Result<InterfaceQ, SolveError> {
    let agg = Aggregates::new(model, xi)?;
    let n = agg.keys.len();
    let rho = (0..n).map(|j| agg.mbar_row(j).iter().map(|&(_, w)| w).sum::<f64>()).fold(0.0, f64::max);
    if rho >= 1.0 {
        return Err(SolveError::InvalidParameter {
            name: "contraction factor of the interface operator",
            value: rho,
            reason: "must be < 1",
        });
    }
    let factor = rho / (1.0 - rho);
    let mut q = vec![0.0; n];
    let mut next = vec![0.0; n];
    let mut vbar = vec![f64::NAN; agg.n_receivers()];
    let mut bound = f64::INFINITY;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < MAX_INTERFACE_ITERATIONS {
        iterations += 1;
        agg.vbar(&q, &mut vbar);
        let mut change: f64 = 0.0;
        let mut norm: f64 = 0.0;
        for (j, slot) in next.iter_mut().enumerate() {
            let mut x = agg.rhat[j];
            for &(r, w) in agg.mbar_row(j) {
                let v = vbar[r];
                if !v.is_nan() {
                    x += w * v;
                }
            }
            change = change.max((x - q[j]).abs());
            norm = norm.max(x.abs());
            *slot = x;
        }
        std::mem::swap(&mut q, &mut next);
        bound = change * factor;
        if !bound.is_finite() {
            return Err(SolveError::NonFinite { what: "interface fixed point", index: iterations });
        }
        if bound < INTERFACE_TOL * norm.max(1.0) {
            converged = true;
            break;
        }
    }
    if !converged {
        return Err(SolveError::NotConverged { what: "interface fixed point", iterations, residual: bound });
    }
    // Receivers reached from visited keys with no visited action of their own.
    agg.vbar(&q, &mut vbar);
    let mut hit = vec![false; vbar.len()];
    for &(r, _) in &agg.mbar {
        hit[r] = true;
    }
    let unvisited_receivers = hit.iter().zip(&vbar).filter(|(&h, v)| h && v.is_nan()).count();

    let agents = &model.spec().agents;
    let mut tables: Vec<Vec<f64>> =
        agents.iter().map(|a| vec![f64::NAN; a.n_obs as usize * a.n_actions as usize]).collect();
    for (j, &k) in agg.keys.iter().enumerate() {
        let i = agg.key_off.partition_point(|&off| off <= k).saturating_sub(1);
        tables[i][k - agg.key_off[i]] = q[j];
    }
    Ok(InterfaceQ { tables, n_actions: agg.n_actions, iterations, residual_bound: bound, unvisited_receivers })
}

/// The interface gap `eps_IF`, `delta_IF`, `alpha_IF` of model.md section 5 for weights `xi` and the fixed point
/// `qbar` computed from the same weights (by [`interface_q`]).
pub fn interface_gap(model: &FiniteModel, xi: &[f64], qbar: &InterfaceQ) -> Result<InterfaceGap, SolveError> {
    let agg = Aggregates::new(model, xi)?;
    let mut eps: f64 = 0.0;
    let mut delta: f64 = 0.0;
    let mut mk = Vec::new();
    for (p, &x) in xi.iter().enumerate() {
        if x <= 0.0 {
            continue;
        }
        let Ok(j) = agg.keys.binary_search(&agg.key_of_pair[p]) else {
            continue;
        };
        eps = eps.max((model.expected_reward(p) - agg.rhat[j]).abs());
        receiver_kernel(model, &agg.obs_off, p, &mut mk);
        delta = delta.max(l1_sparse(&mk, agg.mbar_row(j)));
    }
    let mut vbar_inf: f64 = 0.0;
    for (i, a) in model.spec().agents.iter().enumerate() {
        for o in 0..a.n_obs {
            if let Some(v) = qbar.vbar(AgentId(i as u16), ObsId(o)) {
                vbar_inf = vbar_inf.max(v.abs());
            }
        }
    }
    let gamma_bar = model.gamma_bar();
    Ok(InterfaceGap {
        eps_if: eps,
        delta_if: delta,
        alpha_if: (eps + delta * vbar_inf) / (1.0 - gamma_bar),
        gamma_bar,
        vbar_inf,
    })
}

/// `||a - b||_1` of two sparse vectors sorted by index.
fn l1_sparse(a: &[(usize, f64)], b: &[(usize, f64)]) -> f64 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                s += (x.1 - y.1).abs();
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                s += x.1.abs();
                i += 1;
            }
            (Some(x), None) => {
                s += x.1.abs();
                i += 1;
            }
            (_, Some(y)) => {
                s += y.1.abs();
                j += 1;
            }
            (None, None) => break,
        }
    }
    s
}
