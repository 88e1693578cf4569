//! [`IcqAgent`]: one agent's learner. It owns its Q-function and nothing else.

use baton_core::{ActionId, AgentSpec, ObsId};

use crate::icq::{self, QFunction, Scalar, Transition};
use crate::step::StepSize;
use crate::tabular::TabularQ;

const POW_TABLE: usize = 32;

/// One agent running IC-Q. Its methods take only the agent's own observations and transitions and the
/// receiver's [`Scalar`]; it is never handed an environment, an artifact, or another agent.
#[derive(Clone, Debug)]
pub struct IcqAgent<Q> {
    q: Q,
    discount: f64,
    /// `gamma^tau` for short durations.
    discount_pow: [f64; POW_TABLE],
}

impl IcqAgent<TabularQ> {
    /// A tabular IC-Q agent with a zero table over its own interface `spec`.
    pub fn tabular(spec: &AgentSpec, discount: f64, step: StepSize) -> Self {
        IcqAgent::new(TabularQ::new(spec, step), discount)
    }
}

impl<Q: QFunction> IcqAgent<Q> {
    /// An agent around an existing Q-function; `discount` is gamma per primitive step.
    pub fn new(q: Q, discount: f64) -> Self {
        let mut discount_pow = [1.0; POW_TABLE];
        for t in 1..POW_TABLE {
            discount_pow[t] = discount_pow[t - 1] * discount;
        }
        IcqAgent { q, discount, discount_pow }
    }

    /// model.md 2 step 3, as the receiver: the one scalar `v = max_a' Q(o', a')` sent back to the sender.
    #[inline(always)]
    pub fn reply(&self, obs: ObsId) -> Scalar {
        icq::reply(&self.q, obs)
    }

    /// model.md 2 step 4, as the sender: update `Q(o, a)` from its own transition and the receiver's scalar.
    /// Returns the TD error.
    #[inline(always)]
    pub fn learn(&mut self, t: &Transition, v: Scalar) -> f64 {
        let discount_tau = self.discount_pow(t.duration);
        icq::learn(&mut self.q, t, discount_tau, v)
    }

    /// `gamma^tau`.
    #[inline(always)]
    pub fn discount_pow(&self, duration: u32) -> f64 {
        match self.discount_pow.get(duration as usize) {
            Some(&d) => d,
            None => self.discount.powi(duration as i32),
        }
    }

    /// The greedy action at `obs` (ties: lowest index).
    #[inline(always)]
    pub fn greedy(&self, obs: ObsId) -> ActionId {
        self.q.greedy(obs)
    }

    /// The agent's own Q-function.
    pub fn q(&self) -> &Q {
        &self.q
    }
}
