//! IC-Q, the update of model.md section 2. Read this file first.
//!
//! Each agent `i` keeps its own table `Q_i(o, a)` (init 0) and visit counts `n_i(o, a)`. At every handoff
//! `i -> j`:
//!
//! 1. `i`, holding observation `o`, picks `a` (epsilon-greedy on `Q_i`, or the workload's behaviour policy);
//! 2. `i` runs the option and observes its own `R` and `tau`;
//! 3. `j` observes `o'` and sends back ONE scalar `v = max_{a'} Q_j(o', a')` (`v = 0` if the episode ended);
//! 4. `i` updates only its own entry:
//!    `n = n_i(o,a) += 1;  alpha = 1/(n+1)^omega;  Q_i(o,a) <- (1 - alpha) Q_i(o,a) + alpha (R + gamma^tau v)`.
//!
//! The functions here are pure: no I/O, no logging, no randomness. Step 1 lives in [`crate::behaviour`]
//! (it needs the agent's own random stream); step 2 is the environment's. Steps 3 and 4 are below, generic
//! over any [`QFunction`] (the tabular table here, a neural network later).
//!
//! The information constraint is in the signatures: [`reply`] is given the receiver's own Q-function and
//! its own observation; [`learn`] is given the sender's own Q-function, its own transition and the one
//! [`Scalar`]. Nothing else (no artifact, no other agent's private state or table, no joint trajectory)
//! can reach an update.

use baton_core::{ActionId, ObsId};

/// The one number that crosses from the receiver back to the sender at a handoff.
///
/// Only [`reply`] (the receiver's side of step 3, or [`crate::Behaviour::reply_and_act`], which computes the same
/// maximum beside the receiver's own action) can make one that carries information; the episode's end is
/// [`Scalar::TERMINAL`]. A runner counts the scalars it carries: exactly one per non-terminal handoff.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scalar(f64);

impl Scalar {
    /// `v = 0`: the episode ended at this handoff, no receiver replies.
    pub const TERMINAL: Scalar = Scalar(0.0);

    /// The number carried.
    #[inline]
    pub fn value(self) -> f64 {
        self.0
    }

    /// A scalar received over a wire (from an agent running as a separate service). The caller vouches
    /// that it was produced by the receiver's [`reply`].
    pub fn from_wire(v: f64) -> Scalar {
        Scalar(v)
    }

    /// The scalar of a receiver's maximum computed beside its own action
    /// ([`crate::Behaviour::reply_and_act`]): the same number as [`reply`].
    #[inline(always)]
    pub(crate) fn of_max(v: f64) -> Scalar {
        Scalar(v)
    }
}

/// One agent's own Q-function: everything an IC-Q update may read or write.
pub trait QFunction {
    /// The legal actions at `o` (part of the agent's own interface).
    fn legal(&self, obs: ObsId) -> &[ActionId];
    /// `max_{a legal at o} Q(o, a)`.
    fn max_value(&self, obs: ObsId) -> f64;
    /// `argmax_{a legal at o} Q(o, a)`, ties broken towards the lowest action index.
    fn greedy(&self, obs: ObsId) -> ActionId;
    /// `Q(o, a)`.
    fn value(&self, obs: ObsId, action: ActionId) -> f64;
    /// Step 4: move `Q(o, a)` towards `target` by the function's own step size; returns the TD error
    /// `target - Q(o, a)` before the move.
    fn update_towards(&mut self, obs: ObsId, action: ActionId, target: f64) -> f64;
}

/// What the sender itself saw of its option (step 2): its observation and action, its own `R` and `tau`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    /// `o`, the sender's observation when it acted.
    pub obs: ObsId,
    /// `a`, the action it took.
    pub action: ActionId,
    /// `R = sum_{u<tau} gamma^u r_u`, its own discounted option reward.
    pub reward: f64,
    /// `tau >= 1`, the option's duration.
    pub duration: u32,
}

/// Step 3, on the receiver `j`: `v = max_{a'} Q_j(o', a')`.
#[inline(always)]
pub fn reply<Q: QFunction>(q_j: &Q, o_next: ObsId) -> Scalar {
    Scalar(q_j.max_value(o_next))
}

/// Step 4, on the sender `i`: the TD target `R + gamma^tau v` and the move of `Q_i(o, a)` towards it.
/// `discount_tau` is `gamma^tau` for the transition's duration. Returns the TD error.
#[inline(always)]
pub fn learn<Q: QFunction>(q_i: &mut Q, t: &Transition, discount_tau: f64, v: Scalar) -> f64 {
    let td_target = t.reward + discount_tau * v.0;
    q_i.update_towards(t.obs, t.action, td_target)
}

/// Step 4 for one tabular entry: `n += 1; Q <- (1 - alpha) Q + alpha target` with `alpha` the step size
/// for the new count `n`. Returns the TD error `target - Q` before the move.
#[inline(always)]
pub fn tabular_step(q: &mut f64, n: &mut u32, alpha_of: impl Fn(u32) -> f64, td_target: f64) -> f64 {
    *n = n.saturating_add(1);
    let alpha = alpha_of(*n);
    let td_error = td_target - *q;
    *q += alpha * td_error;
    td_error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_one_sets_q_to_target() {
        let mut q = 3.0;
        let mut n = 0;
        tabular_step(&mut q, &mut n, |_| 1.0, -2.5);
        assert_eq!(q, -2.5);
        assert_eq!(n, 1);
    }

    #[test]
    fn terminal_scalar_is_zero() {
        assert_eq!(Scalar::TERMINAL.value(), 0.0);
    }
}
