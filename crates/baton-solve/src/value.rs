//! SMDP value iteration for the centralized optimum (model.md sections 1 and 4).
//!
//! The Bellman optimality operator of the SMDP on the joint state:
//!
//! ```text
//! Q*(s, a) = rbar(s, a) + sum_{s', tau} K(s', tau | s, a) gamma^tau max_{a'} Q*(s', a')      V(TERMINAL) = 0
//! ```
//!
//! contracts in the sup norm with factor `gamma_bar = max_{s,a} E[gamma^tau | s, a] < 1`. Value iteration here
//! is plain Jacobi on `V`: `V_{k+1} = T V_k`. It stops as soon as
//! `||V_{k+1} - V_k||_inf * gamma_bar / (1 - gamma_bar) < tol`, which bounds `||V_{k+1} - V*||_inf`.

use baton_core::FiniteModel;

use crate::error::{check_finite, check_len, SolveError};
use crate::kernel::Kernel;

/// Iteration budget of [`value_iteration`]; reaching it returns [`SolveError::NotConverged`].
pub const MAX_VALUE_ITERATIONS: usize = 1_000_000;

/// The result of [`value_iteration`].
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// `Q*(s, a)` per global pair index.
    pub q: Vec<f64>,
    /// `V*(s) = max_a Q*(s, a)` per state.
    pub v: Vec<f64>,
    /// Number of Bellman backups performed.
    pub iterations: usize,
    /// Guaranteed bound on `||v - V*||_inf` (the stopping quantity, `< tol`).
    pub residual_bound: f64,
}

/// Solve for `Q*` and `V*` by SMDP value iteration (Jacobi), to a sup-norm error bound below `tol > 0`.
///
/// Stops when `||V_{k+1} - V_k||_inf * gamma_bar / (1 - gamma_bar) < tol`. The returned `q` is the one-step
/// lookahead of the returned `v`, so its error is at most `gamma_bar * tol`.
pub fn value_iteration(model: &FiniteModel, tol: f64) -> Result<Solution, SolveError> {
    if !(tol.is_finite() && tol > 0.0) {
        return Err(SolveError::InvalidParameter { name: "tol", value: tol, reason: "must be a finite number > 0" });
    }
    let kernel = Kernel::new(model);
    let gamma_bar = model.gamma_bar();
    let factor = gamma_bar / (1.0 - gamma_bar);
    let n = model.n_states();
    let mut v = vec![0.0; n];
    let mut next = vec![0.0; n];
    let mut bound = f64::INFINITY;
    for iteration in 1..=MAX_VALUE_ITERATIONS {
        let mut change: f64 = 0.0;
        for (s, slot) in next.iter_mut().enumerate() {
            let best = max_lookahead(model, &kernel, s as u32, &v);
            change = change.max((best - v[s]).abs());
            *slot = best;
        }
        std::mem::swap(&mut v, &mut next);
        bound = change * factor;
        if !bound.is_finite() {
            return Err(SolveError::NonFinite {
                what: "value iteration",
                index: v.iter().position(|x| !x.is_finite()).unwrap_or(0),
            });
        }
        if bound < tol {
            let q = (0..model.n_pairs()).map(|p| kernel.lookahead(p, &v)).collect();
            return Ok(Solution { q, v, iterations: iteration, residual_bound: bound });
        }
    }
    Err(SolveError::NotConverged { what: "value iteration", iterations: MAX_VALUE_ITERATIONS, residual: bound })
}

/// `max_{a legal in s} [rbar(s, a) + sum prob gamma^tau v(s')]`.
#[inline]
fn max_lookahead(model: &FiniteModel, kernel: &Kernel, s: u32, v: &[f64]) -> f64 {
    model.pairs(s).map(|p| kernel.lookahead(p, v)).fold(f64::NEG_INFINITY, f64::max)
}

/// `sum_s nu_0(s) v(s)`: the value of the start distribution. `v` has one entry per state.
pub fn initial_value(model: &FiniteModel, v: &[f64]) -> Result<f64, SolveError> {
    check_len("V per state", v, model.n_states())?;
    Ok(model.initial().iter().map(|&(s, p)| p * v[s as usize]).sum())
}

/// One-step lookahead per pair: `Q(s, a) = rbar(s, a) + sum_{outcomes} prob gamma^tau v(s')`, with
/// `v(TERMINAL) = 0`. `v` has one entry per state and must be finite.
pub fn q_from_v(model: &FiniteModel, v: &[f64]) -> Result<Vec<f64>, SolveError> {
    check_len("V per state", v, model.n_states())?;
    check_finite("V per state", v)?;
    let kernel = Kernel::new(model);
    Ok((0..model.n_pairs()).map(|p| kernel.lookahead(p, v)).collect())
}

/// The Bellman optimality operator on values: `(T v)(s) = max_a [rbar(s, a) + sum prob gamma^tau v(s')]`.
pub fn bellman_optimality(model: &FiniteModel, v: &[f64]) -> Result<Vec<f64>, SolveError> {
    check_len("V per state", v, model.n_states())?;
    check_finite("V per state", v)?;
    let kernel = Kernel::new(model);
    Ok((0..model.n_states() as u32).map(|s| max_lookahead(model, &kernel, s, v)).collect())
}

/// `V(s) = max_a q(s, a)` per state, from a per-pair table (NaN entries are ignored; a state whose entries
/// are all NaN gets NaN).
pub fn v_from_q(model: &FiniteModel, q: &[f64]) -> Result<Vec<f64>, SolveError> {
    check_len("Q per pair", q, model.n_pairs())?;
    Ok((0..model.n_states() as u32)
        .map(|s| model.pairs(s).map(|p| q[p]).filter(|x| !x.is_nan()).max_by(f64::total_cmp).unwrap_or(f64::NAN))
        .collect())
}
