//! Step 1 of SPEC section 2: how the agent holding control picks its action.

use baton_core::rng::{replace_on_tie, uniform_index};
use baton_core::{ActionId, ObsId, Rng};
use rand::Rng as _;

use crate::icq::QFunction;

/// A validated behaviour policy. Each agent draws from its own random stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behaviour {
    /// Uniform over the legal actions (off-policy learning under `beta_0`).
    Uniform,
    /// With probability `epsilon` uniform, otherwise greedy on the agent's own Q (ties: lowest index).
    EpsilonGreedy {
        /// Exploration probability in `[0, 1]`.
        epsilon: f64,
    },
    /// Greedy on the agent's own Q with ties broken uniformly at random, no exploration (Q-routing).
    Greedy,
    /// SPEC 5's sticky behaviour `beta_kappa(a | o, a_prev) = kappa 1{a = a_prev} + (1 - kappa) uniform`;
    /// `a_prev` is the previous handoff's action when it is legal here.
    Sticky {
        /// Stickiness kappa in `[0, 1)`.
        kappa: f64,
    },
}

impl Behaviour {
    /// Pick an action at `obs`. `previous` is the action of the previous handoff of this artifact, if any.
    #[inline(always)]
    pub fn act<Q: QFunction>(&self, q: &Q, obs: ObsId, previous: Option<ActionId>, rng: &mut Rng) -> ActionId {
        let legal = q.legal(obs);
        match *self {
            Behaviour::Uniform => legal[uniform_index(rng, legal.len())],
            Behaviour::EpsilonGreedy { epsilon } => {
                if rng.random::<f64>() < epsilon {
                    legal[uniform_index(rng, legal.len())]
                } else {
                    q.greedy(obs)
                }
            }
            Behaviour::Greedy => {
                // One pass: keep the best so far; on the k-th tie replace it with probability 1/k.
                let mut best = legal[0];
                let mut best_q = q.value(obs, best);
                let mut ties = 1usize;
                for &a in &legal[1..] {
                    let v = q.value(obs, a);
                    if v > best_q {
                        best = a;
                        best_q = v;
                        ties = 1;
                    } else if v == best_q && replace_on_tie(rng, &mut ties) {
                        best = a;
                    }
                }
                best
            }
            Behaviour::Sticky { kappa } => {
                if let Some(prev) = previous {
                    if rng.random::<f64>() < kappa && legal.binary_search(&prev).is_ok() {
                        return prev;
                    }
                }
                legal[uniform_index(rng, legal.len())]
            }
        }
    }
}
