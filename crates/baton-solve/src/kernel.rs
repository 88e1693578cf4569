//! The discounted kernel of a [`FiniteModel`] in flat form (model.md section 1).
//!
//! For each pair `p = (s, a)`: the expected option reward `rbar(s, a)` and the list of non-terminal
//! successors with weight `prob * gamma^tau`. Terminal outcomes are dropped, because `V(TERMINAL) = 0`.
//! Every exact solver of this crate reads the model through this table, so the `gamma^tau` factors are
//! computed once.

use baton_core::{FiniteModel, TERMINAL};

/// `gamma^tau` for a duration `tau >= 1` (durations beyond `i32::MAX` saturate, giving 0 for `gamma < 1`).
#[inline]
pub(crate) fn discount_pow(gamma: f64, duration: u32) -> f64 {
    gamma.powi(i32::try_from(duration).unwrap_or(i32::MAX))
}

/// `rbar` and the discounted successor lists of every pair.
#[derive(Clone, Debug)]
pub(crate) struct Kernel {
    /// `rbar(s, a)` per pair.
    pub rbar: Vec<f64>,
    /// Pair `p`'s successors are `succ[off[p]..off[p + 1]]`.
    off: Vec<usize>,
    /// `(next state, prob * gamma^tau)`, non-terminal outcomes only.
    succ: Vec<(u32, f64)>,
}

impl Kernel {
    /// Flatten `model`'s outcomes.
    pub fn new(model: &FiniteModel) -> Self {
        let gamma = model.discount();
        let n_pairs = model.n_pairs();
        let mut rbar = Vec::with_capacity(n_pairs);
        let mut off = Vec::with_capacity(n_pairs + 1);
        let mut succ = Vec::new();
        off.push(0);
        for p in 0..n_pairs {
            let mut r = 0.0;
            for o in model.outcomes(p) {
                r += o.prob * o.reward;
                if o.next != TERMINAL {
                    succ.push((o.next, o.prob * discount_pow(gamma, o.duration)));
                }
            }
            rbar.push(r);
            off.push(succ.len());
        }
        Kernel { rbar, off, succ }
    }

    /// The discounted non-terminal successors of pair `p`.
    #[inline]
    pub fn succ(&self, p: usize) -> &[(u32, f64)] {
        &self.succ[self.off[p]..self.off[p + 1]]
    }

    /// One-step lookahead `rbar(p) + sum prob gamma^tau v(next)`; `v` must have one entry per state.
    #[inline]
    pub fn lookahead(&self, p: usize, v: &[f64]) -> f64 {
        let mut q = self.rbar[p];
        for &(s, w) in self.succ(p) {
            q += w * v[s as usize];
        }
        q
    }
}
