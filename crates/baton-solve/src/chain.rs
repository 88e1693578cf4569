//! The behaviour chain on pairs and its stationary distribution `xi` (model.md section 5).
//!
//! Under a behaviour policy the joint handoff process on pairs `(s, a)` is a Markov chain: from pair
//! `p = (s, a)` an outcome is drawn; if it is terminal the chain restarts from `nu_0` (no previous action),
//! otherwise the holder of the next state `s'` picks `a'` with the sticky behaviour of model.md section 5's mixing
//! axis,
//!
//! ```text
//! beta_kappa(a' | sigma(s'), a) = kappa 1{a' = a} + (1 - kappa) beta_0(a' | sigma(s'))   if a is legal in s'
//!                               = beta_0(a' | sigma(s'))                                 otherwise
//! ```
//!
//! where `a` (the previous handoff's action) is compared by its index. `kappa = 0` is the plain behaviour
//! `beta_0`. The chain is stored as a sparse CSR matrix of the non-terminal transitions plus a rank-one
//! restart part (per-pair terminal probability times the start distribution over pairs), so that models whose
//! `nu_0` is spread over many states do not blow up the matrix.
//!
//! [`stationary_of`] computes `xi` restricted to the pairs reachable from `nu_0`. Transient pairs are found
//! structurally (strongly connected components) and get exactly 0. When one closed class is reachable and it
//! has at most [`DENSE_STATIONARY_LIMIT`] pairs, `xi` comes from a dense linear solve; otherwise (or when the
//! dense solve is rejected) from power iteration on the lazy chain `(I + P) / 2` (same `xi`, aperiodic).
//!
//! [`mixing_time`] is the `t_mix` of model.md section 5, by exact sparse propagation of every start pair.

use nalgebra::{DMatrix, DVector};

use baton_core::{FiniteModel, TERMINAL};

use crate::error::{check_len, SolveError};
use crate::policy::Policy;

/// Largest closed class whose stationary distribution is computed by a dense solve (about 0.4 s at 1000 pairs).
pub const DENSE_STATIONARY_LIMIT: usize = 1000;

/// Target of the power iteration: `||xi P - xi||_1 <= STATIONARY_TOL`.
pub const STATIONARY_TOL: f64 = 1e-12;

/// A dense solution is accepted when `||xi P - xi||_1 <= DENSE_ACCEPT_TOL` (room for rounding in the LU);
/// otherwise the power iteration takes over.
pub const DENSE_ACCEPT_TOL: f64 = 1e-10;

/// Iteration budget of the power iteration; reaching it returns [`SolveError::NotConverged`].
pub const MAX_POWER_ITERATIONS: usize = 1_000_000;

/// A behaviour policy for the chain: an observation-measurable base policy `beta_0` and a stickiness
/// `kappa in [0, 1)` (model.md section 5, mixing axis).
#[derive(Clone, Debug, PartialEq)]
pub struct Behaviour {
    /// The base policy `beta_0(a | o)`; must be observation-measurable.
    pub base: Policy,
    /// Stickiness `kappa in [0, 1)`: the probability of repeating the previous handoff's action when legal.
    pub kappa: f64,
}

impl Behaviour {
    /// A validated behaviour (see [`Behaviour::validate`]).
    pub fn new(model: &FiniteModel, base: Policy, kappa: f64) -> Result<Behaviour, SolveError> {
        let b = Behaviour { base, kappa };
        b.validate(model)?;
        Ok(b)
    }

    /// The uniform behaviour over legal actions, not sticky (`kappa = 0`).
    pub fn uniform(model: &FiniteModel) -> Behaviour {
        Behaviour { base: Policy::uniform(model), kappa: 0.0 }
    }

    /// Check that `kappa in [0, 1)` and that the base policy fits `model` and is observation-measurable.
    pub fn validate(&self, model: &FiniteModel) -> Result<(), SolveError> {
        if !(self.kappa.is_finite() && (0.0..1.0).contains(&self.kappa)) {
            return Err(SolveError::InvalidParameter { name: "kappa", value: self.kappa, reason: "must be in [0, 1)" });
        }
        self.base.check_observation_measurable(model)
    }
}

/// The behaviour chain on pairs: `P = inner + restart (x) start` (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// Row `p` of the non-terminal part is `entries[offsets[p]..offsets[p + 1]]`.
    offsets: Vec<usize>,
    /// `(next pair, probability)`, sorted by next pair within a row, no duplicates.
    entries: Vec<(u32, f64)>,
    /// Probability that pair `p`'s outcome is terminal (then the next pair is drawn from `start`).
    restart: Vec<f64>,
    /// The start distribution over pairs, `nu_0(s) beta_0(a | sigma(s))`, sorted, no duplicates.
    start: Vec<(u32, f64)>,
}

impl Chain {
    /// Number of pairs (states of the chain).
    pub fn n_pairs(&self) -> usize {
        self.restart.len()
    }

    /// The non-terminal transitions out of pair `p`: `(p', probability)` sorted by `p'`.
    pub fn row(&self, p: usize) -> &[(u32, f64)] {
        match (self.offsets.get(p), self.offsets.get(p + 1)) {
            (Some(&a), Some(&b)) => &self.entries[a..b],
            _ => &[],
        }
    }

    /// Probability that pair `p` ends the episode (the chain then restarts from [`Chain::start`]).
    pub fn restart_prob(&self, p: usize) -> f64 {
        self.restart.get(p).copied().unwrap_or(0.0)
    }

    /// The start distribution over pairs, `nu_0(s) beta_0(a | sigma(s))`, as sorted `(pair, probability)`.
    pub fn start(&self) -> &[(u32, f64)] {
        &self.start
    }

    /// Number of stored non-terminal transitions.
    pub fn nnz(&self) -> usize {
        self.entries.len()
    }

    /// The full row `P(p, .)` (non-terminal and restart parts merged), sorted by next pair.
    pub fn full_row(&self, p: usize) -> Vec<(u32, f64)> {
        let r = self.restart_prob(p);
        let mut row: Vec<(u32, f64)> = self.row(p).to_vec();
        if r > 0.0 {
            row.extend(self.start.iter().map(|&(q, w)| (q, r * w)));
        }
        merge_sorted(&mut row);
        row
    }

    /// One step of the chain on a distribution (row vector): `out = x P`. Both have one entry per pair.
    pub fn step(&self, x: &[f64], out: &mut [f64]) -> Result<(), SolveError> {
        check_len("distribution over pairs", x, self.n_pairs())?;
        check_len("distribution over pairs", out, self.n_pairs())?;
        self.step_unchecked(x, out);
        Ok(())
    }

    fn step_unchecked(&self, x: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let mut mass = 0.0;
        for (p, &xp) in x.iter().enumerate() {
            if xp == 0.0 {
                continue;
            }
            for &(q, w) in self.row(p) {
                out[q as usize] += xp * w;
            }
            mass += xp * self.restart[p];
        }
        if mass != 0.0 {
            for &(q, w) in &self.start {
                out[q as usize] += mass * w;
            }
        }
    }

    /// `||x P - x||_1`.
    fn residual(&self, x: &[f64], scratch: &mut [f64]) -> f64 {
        self.step_unchecked(x, scratch);
        scratch.iter().zip(x).map(|(a, b)| (a - b).abs()).sum()
    }

    /// The pairs reachable from the start distribution. (Restart edges lead back to the start pairs, which
    /// are reachable by definition, so only the non-terminal part needs to be followed.)
    pub fn reachable(&self) -> Vec<bool> {
        let n = self.n_pairs();
        let mut seen = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        for &(q, w) in &self.start {
            if w > 0.0 && !seen[q as usize] {
                seen[q as usize] = true;
                stack.push(q);
            }
        }
        while let Some(p) = stack.pop() {
            for &(q, w) in self.row(p as usize) {
                if w > 0.0 && !seen[q as usize] {
                    seen[q as usize] = true;
                    stack.push(q);
                }
            }
        }
        seen
    }
}

impl Chain {
    /// The `k`-th successor of node `v` in the chain's graph, where node `n_pairs` is a virtual restart node:
    /// a pair's successors are its non-terminal next pairs, then the restart node if it can terminate; the
    /// restart node's successors are the start pairs.
    fn successor(&self, v: usize, k: usize) -> Option<usize> {
        let n = self.n_pairs();
        if v == n {
            return self.start.get(k).map(|&(q, _)| q as usize);
        }
        let row = self.row(v);
        match row.get(k) {
            Some(&(q, _)) => Some(q as usize),
            None if k == row.len() && self.restart[v] > 0.0 => Some(n),
            None => None,
        }
    }

    /// The recurrent pairs reachable from the start distribution (members of a closed communicating class),
    /// and the number of such closed classes. Transient pairs have stationary mass 0.
    pub fn recurrent_classes(&self) -> (Vec<bool>, usize) {
        const UNSET: usize = usize::MAX;
        let n = self.n_pairs();
        let total = n + 1;
        let mut index = vec![UNSET; total];
        let mut low = vec![0usize; total];
        let mut on_stack = vec![false; total];
        let mut comp = vec![UNSET; total];
        let mut stack: Vec<usize> = Vec::new();
        let mut n_comp = 0usize;
        // Iterative Tarjan from the restart node, which leads to every start pair.
        let root = n;
        index[root] = 0;
        low[root] = 0;
        let mut next_index = 1usize;
        stack.push(root);
        on_stack[root] = true;
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&(v, k)) = call.last() {
            if let Some(u) = self.successor(v, k) {
                if let Some(top) = call.last_mut() {
                    top.1 += 1;
                }
                if index[u] == UNSET {
                    index[u] = next_index;
                    low[u] = next_index;
                    next_index += 1;
                    stack.push(u);
                    on_stack[u] = true;
                    call.push((u, 0));
                } else if on_stack[u] {
                    low[v] = low[v].min(index[u]);
                }
            } else {
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp[w] = n_comp;
                        if w == v {
                            break;
                        }
                    }
                    n_comp += 1;
                }
            }
        }
        // A component is closed when no edge leaves it.
        let mut closed = vec![true; n_comp];
        for v in 0..total {
            if comp[v] == UNSET {
                continue;
            }
            let mut k = 0;
            while let Some(u) = self.successor(v, k) {
                if comp[u] != comp[v] {
                    closed[comp[v]] = false;
                }
                k += 1;
            }
        }
        let recurrent: Vec<bool> = (0..n).map(|p| comp[p] != UNSET && closed[comp[p]]).collect();
        let mut has_pair = vec![false; n_comp];
        for p in (0..n).filter(|&p| recurrent[p]) {
            has_pair[comp[p]] = true;
        }
        (recurrent, has_pair.iter().filter(|&&h| h).count())
    }
}

/// Sort by index and merge duplicate indices, dropping zero weights.
fn merge_sorted(row: &mut Vec<(u32, f64)>) {
    row.sort_by_key(|&(q, _)| q);
    let mut out: Vec<(u32, f64)> = Vec::with_capacity(row.len());
    for &(q, w) in row.iter() {
        match out.last_mut() {
            Some(last) if last.0 == q => last.1 += w,
            _ => out.push((q, w)),
        }
    }
    out.retain(|&(_, w)| w != 0.0);
    *row = out;
}

/// Build the behaviour chain of `behaviour` on `model`'s pairs (see the module doc).
pub fn behaviour_chain(model: &FiniteModel, behaviour: &Behaviour) -> Result<Chain, SolveError> {
    behaviour.validate(model)?;
    let base = behaviour.base.probs();
    let kappa = behaviour.kappa;
    let n_pairs = model.n_pairs();
    let mut offsets = Vec::with_capacity(n_pairs + 1);
    let mut entries = Vec::new();
    let mut restart = Vec::with_capacity(n_pairs);
    let mut row: Vec<(u32, f64)> = Vec::new();
    offsets.push(0);
    for s in 0..model.n_states() as u32 {
        for p in model.pairs(s) {
            let a = model.pair_action(p);
            let mut terminal = 0.0;
            row.clear();
            for o in model.outcomes(p) {
                if o.next == TERMINAL {
                    terminal += o.prob;
                    continue;
                }
                let sticky = if kappa > 0.0 { model.pair_of(o.next, a) } else { None };
                let keep = if sticky.is_some() { 1.0 - kappa } else { 1.0 };
                for q in model.pairs(o.next) {
                    let mut w = keep * base[q];
                    if sticky == Some(q) {
                        w += kappa;
                    }
                    if w > 0.0 {
                        row.push((q as u32, o.prob * w));
                    }
                }
            }
            merge_sorted(&mut row);
            entries.extend_from_slice(&row);
            offsets.push(entries.len());
            restart.push(terminal);
        }
    }
    let mut start: Vec<(u32, f64)> = Vec::new();
    for &(s, nu) in model.initial() {
        for q in model.pairs(s) {
            let w = nu * base[q];
            if w > 0.0 {
                start.push((q as u32, w));
            }
        }
    }
    merge_sorted(&mut start);
    Ok(Chain { offsets, entries, restart, start })
}

/// How [`Stationary::xi`] was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StationaryMethod {
    /// Dense LU on the closed class of `xi (I - P) = 0, sum xi = 1`.
    DenseSolve,
    /// Power iteration on the lazy chain `(I + P) / 2` from the start distribution.
    PowerIteration,
}

/// The stationary distribution of a behaviour chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Stationary {
    /// `xi(s, a)` per global pair index; exactly 0 on pairs that are unreachable from `nu_0` or transient.
    pub xi: Vec<f64>,
    /// The solver used.
    pub method: StationaryMethod,
    /// Power iterations performed (0 for the dense solve).
    pub iterations: usize,
    /// `||xi P - xi||_1` of the returned `xi`.
    pub residual: f64,
    /// Number of closed communicating classes reachable from `nu_0` (1 unless the chain can be trapped).
    pub closed_classes: usize,
}

impl Stationary {
    /// Whether pair `p` has positive stationary mass (is visited by the behaviour in the long run).
    pub fn visited(&self, p: usize) -> bool {
        self.xi.get(p).is_some_and(|&x| x > 0.0)
    }
}

/// The stationary distribution of `behaviour`'s chain on `model` (builds the chain, then [`stationary_of`]).
pub fn stationary(model: &FiniteModel, behaviour: &Behaviour) -> Result<Stationary, SolveError> {
    stationary_of(&behaviour_chain(model, behaviour)?)
}

/// Which solver [`stationary_with`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StationarySolver {
    /// Dense solve when the reachable pairs hold one closed class of at most [`DENSE_STATIONARY_LIMIT`] pairs
    /// and the solution is accepted, power iteration otherwise.
    #[default]
    Auto,
    /// Dense solve only (any size; memory `8 m^2` bytes for `m` recurrent pairs); an error if several closed
    /// classes are reachable or the solution is rejected.
    Dense,
    /// Power iteration only.
    Power,
}

/// The stationary distribution of `chain`, restricted to the pairs reachable from its start distribution
/// ([`StationarySolver::Auto`]).
///
/// Transient pairs are found structurally (strongly connected components) and get exactly 0. If several
/// closed classes are reachable the stationary distribution is not unique; the power iteration then returns
/// the limit reached from the start distribution (the long-run visit frequencies of a run started at `nu_0`).
pub fn stationary_of(chain: &Chain) -> Result<Stationary, SolveError> {
    stationary_with(chain, StationarySolver::Auto)
}

/// The stationary distribution of `chain` with an explicit choice of solver (see [`stationary_of`]).
pub fn stationary_with(chain: &Chain, solver: StationarySolver) -> Result<Stationary, SolveError> {
    let n = chain.n_pairs();
    if chain.start.is_empty() {
        return Err(SolveError::ZeroMass { what: "start distribution over pairs" });
    }
    let (recurrent, closed_classes) = chain.recurrent_classes();
    let m = recurrent.iter().filter(|&&r| r).count();
    let mut scratch = vec![0.0; n];
    let try_dense = match solver {
        StationarySolver::Auto => closed_classes == 1 && m <= DENSE_STATIONARY_LIMIT,
        StationarySolver::Dense => true,
        StationarySolver::Power => false,
    };
    if try_dense {
        let mut residual = f64::INFINITY;
        if closed_classes == 1 {
            if let Some(mut xi) = dense_stationary(chain, &recurrent, m) {
                normalise(&mut xi);
                residual = chain.residual(&xi, &mut scratch);
                if residual <= DENSE_ACCEPT_TOL {
                    return Ok(Stationary {
                        xi,
                        method: StationaryMethod::DenseSolve,
                        iterations: 0,
                        residual,
                        closed_classes,
                    });
                }
            }
        }
        if solver == StationarySolver::Dense {
            return Err(SolveError::NotConverged {
                what: if closed_classes == 1 {
                    "stationary distribution (dense solve)"
                } else {
                    "stationary distribution (dense solve; several closed classes are reachable)"
                },
                iterations: 0,
                residual,
            });
        }
    }
    let mut x = vec![0.0; n];
    for &(q, w) in &chain.start {
        x[q as usize] = w;
    }
    let mut residual = f64::INFINITY;
    for iteration in 0..MAX_POWER_ITERATIONS {
        chain.step_unchecked(&x, &mut scratch);
        residual = scratch.iter().zip(&x).map(|(a, b)| (a - b).abs()).sum();
        if !residual.is_finite() {
            return Err(SolveError::NonFinite { what: "stationary distribution (power iteration)", index: iteration });
        }
        if residual <= STATIONARY_TOL {
            // Mass still draining out of transient pairs is residue: drop it.
            for (xp, &r) in x.iter_mut().zip(&recurrent) {
                if !r {
                    *xp = 0.0;
                }
            }
            normalise(&mut x);
            let residual = chain.residual(&x, &mut scratch);
            return Ok(Stationary {
                xi: x,
                method: StationaryMethod::PowerIteration,
                iterations: iteration,
                residual,
                closed_classes,
            });
        }
        for (xp, yp) in x.iter_mut().zip(&scratch) {
            *xp = 0.5 * (*xp + yp);
        }
    }
    Err(SolveError::NotConverged {
        what: "stationary distribution (power iteration)",
        iterations: MAX_POWER_ITERATIONS,
        residual,
    })
}

/// Solve `xi (I - P) = 0, sum xi = 1` on the `m` pairs of the single closed class by dense LU. `None` if
/// singular, if an edge leaves the class, or if the solution has clearly negative entries.
fn dense_stationary(chain: &Chain, members: &[bool], m: usize) -> Option<Vec<f64>> {
    if m == 0 {
        return None;
    }
    let mut index = vec![usize::MAX; members.len()];
    let mut pairs = Vec::with_capacity(m);
    for (p, _) in members.iter().enumerate().filter(|(_, &r)| r) {
        index[p] = pairs.len();
        pairs.push(p);
    }
    let position = |q: u32| index.get(q as usize).copied().filter(|&j| j != usize::MAX);
    // A = (I - P)^T on the class; column i holds row i of I - P.
    let mut a = DMatrix::<f64>::identity(m, m);
    for (i, &p) in pairs.iter().enumerate() {
        for &(q, w) in chain.row(p) {
            a[(position(q)?, i)] -= w;
        }
        let r = chain.restart[p];
        if r > 0.0 {
            for &(q, w) in &chain.start {
                a[(position(q)?, i)] -= r * w;
            }
        }
    }
    // One balance equation is redundant: replace the last by the normalisation sum xi = 1.
    for i in 0..m {
        a[(m - 1, i)] = 1.0;
    }
    let mut b = DVector::<f64>::zeros(m);
    b[m - 1] = 1.0;
    let x = a.lu().solve(&b)?;
    if x.iter().any(|v| !v.is_finite() || *v < -1e-9) {
        return None;
    }
    let mut xi = vec![0.0; members.len()];
    for (i, &p) in pairs.iter().enumerate() {
        xi[p] = x[i].max(0.0);
    }
    Some(xi)
}

/// Rescale to total mass 1 (no-op on an all-zero vector).
fn normalise(xi: &mut [f64]) {
    let total: f64 = xi.iter().sum();
    if total > 0.0 {
        xi.iter_mut().for_each(|x| *x /= total);
    }
}

/// Check that `xi` has one finite, non-negative weight per pair of `chain` and positive total mass; returns the total.
fn check_xi(chain: &Chain, xi: &[f64]) -> Result<f64, SolveError> {
    check_len("xi per pair", xi, chain.n_pairs())?;
    if let Some(index) = xi.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
        return Err(SolveError::InvalidWeight { what: "xi per pair", index, value: xi[index] });
    }
    let total: f64 = xi.iter().sum();
    if total <= 0.0 {
        return Err(SolveError::ZeroMass { what: "xi per pair" });
    }
    Ok(total)
}

/// The mixing time `t_mix = min{t : max_z ||e_z P^t - xi||_TV <= 1/4}` of `chain` (model.md section 5), with `z`
/// ranging over the pairs with `xi(z) > 0`, by exact sparse propagation of each `e_z`.
///
/// `Ok(None)` if some start pair is still farther than 1/4 from `xi` after `max_t` steps (e.g. a periodic
/// chain). The cost is `O(sum_z t_z * nnz)`: meant for models of up to a few thousand pairs.
pub fn mixing_time(chain: &Chain, xi: &[f64], max_t: u32) -> Result<Option<u32>, SolveError> {
    let n = chain.n_pairs();
    let total_xi = check_xi(chain, xi)?;
    let mut cur = vec![0.0; n];
    let mut next = vec![0.0; n];
    let mut in_next = vec![false; n];
    let mut support: Vec<u32> = Vec::new();
    let mut next_support: Vec<u32> = Vec::new();
    let mut t_mix = 0u32;
    for z in (0..n).filter(|&z| xi[z] > 0.0) {
        // Reset to e_z.
        for &i in &support {
            cur[i as usize] = 0.0;
        }
        support.clear();
        cur[z] = 1.0;
        support.push(z as u32);
        let tv = |cur: &[f64], support: &[u32]| -> f64 {
            let (mut diff, mut covered) = (0.0, 0.0);
            for &i in support {
                let i = i as usize;
                diff += (cur[i] - xi[i] / total_xi).abs();
                covered += xi[i] / total_xi;
            }
            0.5 * (diff + (1.0 - covered).max(0.0))
        };
        let mut t = 0u32;
        while tv(&cur, &support) > 0.25 {
            if t >= max_t {
                return Ok(None);
            }
            t += 1;
            let mut mass = 0.0;
            for &i in &support {
                let i = i as usize;
                let ci = cur[i];
                for &(q, w) in chain.row(i) {
                    let q = q as usize;
                    if !in_next[q] {
                        in_next[q] = true;
                        next_support.push(q as u32);
                    }
                    next[q] += ci * w;
                }
                mass += ci * chain.restart[i];
            }
            if mass > 0.0 {
                for &(q, w) in &chain.start {
                    let q = q as usize;
                    if !in_next[q] {
                        in_next[q] = true;
                        next_support.push(q as u32);
                    }
                    next[q] += mass * w;
                }
            }
            for &i in &support {
                cur[i as usize] = 0.0;
            }
            for &i in &next_support {
                in_next[i as usize] = false;
            }
            std::mem::swap(&mut cur, &mut next);
            std::mem::swap(&mut support, &mut next_support);
            next_support.clear();
        }
        t_mix = t_mix.max(t);
    }
    Ok(Some(t_mix))
}

/// The relaxation time `1 / (1 - |lambda_2|)` of `chain` (model.md section 5), where `|lambda_2|` is the largest
/// modulus among the eigenvalues of `P` other than the stationary 1, on the closed class that carries `xi`.
///
/// Computed by deflated power iteration: a fixed, deterministic start vector on the support of `xi` with zero
/// total mass is propagated by `v <- v P - (v P . 1) xi`, and `|lambda_2|` is the geometric mean of the
/// per-step growth of `||v||_2` over a window of steps (Gelfand's formula; a complex pair of eigenvalues makes
/// single steps oscillate, a window average does not). The estimate stops when two consecutive windows agree
/// to 0.1% in `ln |lambda_2|`. Sparse: `O(steps * nnz)`, usable on any model `xi` can be computed for.
///
/// `Ok(None)` when `|lambda_2|` is 1 to within 1e-9 (a periodic or reducible class) or when `max_steps` pass
/// without agreement.
pub fn relaxation_time(chain: &Chain, xi: &[f64], max_steps: usize) -> Result<Option<f64>, SolveError> {
    let n = chain.n_pairs();
    let total = check_xi(chain, xi)?;
    let xi: Vec<f64> = xi.iter().map(|x| x / total).collect();
    let support = xi.iter().filter(|&&x| x > 0.0).count();
    if support <= 1 {
        return Ok(Some(1.0));
    }
    // A fixed pattern (no random generator needed): a Weyl sequence in [-1/2, 1/2) on the support.
    let mut v: Vec<f64> = (0..n)
        .map(|p| if xi[p] > 0.0 { ((p as f64 + 1.0) * 0.618_033_988_749_895).fract() - 0.5 } else { 0.0 })
        .collect();
    let mut next = vec![0.0; n];
    let deflate = |v: &mut [f64]| {
        let mass: f64 = v.iter().sum();
        v.iter_mut().zip(&xi).for_each(|(a, x)| *a -= mass * x);
        v.iter().map(|a| a * a).sum::<f64>().sqrt()
    };
    let norm = deflate(&mut v);
    if norm == 0.0 {
        return Ok(Some(1.0));
    }
    v.iter_mut().for_each(|a| *a /= norm);
    const WINDOW: usize = 200;
    let mut previous: Option<f64> = None;
    let mut steps = 0usize;
    while steps < max_steps {
        let mut log_growth = 0.0;
        for _ in 0..WINDOW {
            chain.step_unchecked(&v, &mut next);
            let norm = deflate(&mut next);
            steps += 1;
            if norm <= 1e-300 {
                // The deflated part vanished: every other eigenvalue is 0 on this vector.
                return Ok(Some(1.0));
            }
            log_growth += norm.ln();
            next.iter_mut().for_each(|a| *a /= norm);
            std::mem::swap(&mut v, &mut next);
        }
        let estimate = log_growth / WINDOW as f64;
        if let Some(prev) = previous {
            if (estimate - prev).abs() <= 1e-3 * estimate.abs().max(1e-12) {
                let modulus = estimate.exp().min(1.0);
                if 1.0 - modulus < 1e-9 {
                    return Ok(None);
                }
                return Ok(Some(1.0 / (1.0 - modulus)));
            }
        }
        previous = Some(estimate);
    }
    Ok(None)
}

#[cfg(test)]
mod relaxation_tests {
    use super::*;

    /// A chain given by a dense row-stochastic matrix, with no restarts.
    fn dense_chain(p: &[Vec<f64>]) -> Chain {
        let mut offsets = vec![0];
        let mut entries = Vec::new();
        for row in p {
            entries.extend(row.iter().enumerate().filter(|(_, w)| **w > 0.0).map(|(q, w)| (q as u32, *w)));
            offsets.push(entries.len());
        }
        Chain { offsets, entries, restart: vec![0.0; p.len()], start: vec![(0, 1.0)] }
    }

    #[test]
    fn two_state_chain_has_the_textbook_relaxation_time() {
        // P = [[1-a, a], [b, 1-b]] has eigenvalues 1 and 1 - a - b.
        let (a, b) = (0.1, 0.3);
        let chain = dense_chain(&[vec![1.0 - a, a], vec![b, 1.0 - b]]);
        let xi = [b / (a + b), a / (a + b)];
        let t = relaxation_time(&chain, &xi, 100_000).unwrap().unwrap();
        assert!((t - 1.0 / (a + b)).abs() < 1e-6, "{t}");
    }

    #[test]
    fn rotation_with_complex_eigenvalues_matches_their_modulus() {
        // A lazy cycle on 5 states: eigenvalues (1 - c) + c * exp(2 pi i k / 5); the second largest modulus is
        // that of k = 1.
        let c = 0.4;
        let n = 5;
        let p: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        if j == i {
                            1.0 - c
                        } else if j == (i + 1) % n {
                            c
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let chain = dense_chain(&p);
        let xi = vec![1.0 / n as f64; n];
        let theta = 2.0 * std::f64::consts::PI / n as f64;
        let modulus = ((1.0 - c + c * theta.cos()).powi(2) + (c * theta.sin()).powi(2)).sqrt();
        let t = relaxation_time(&chain, &xi, 100_000).unwrap().unwrap();
        let expected = 1.0 / (1.0 - modulus);
        assert!((t - expected).abs() / expected < 5e-3, "{t} vs {expected}");
    }

    #[test]
    fn periodic_chain_has_no_relaxation_time() {
        let chain = dense_chain(&[vec![0.0, 1.0], vec![1.0, 0.0]]);
        assert_eq!(relaxation_time(&chain, &[0.5, 0.5], 10_000).unwrap(), None);
    }
}
