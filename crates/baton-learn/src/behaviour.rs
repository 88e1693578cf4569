//! Step 1 of model.md section 2: how the agent holding control picks its action.

use baton_core::rng::{replace_on_tie, uniform_index};
use baton_core::{ActionId, ObsId};
use rand::{Rng as _, RngCore};

use crate::icq::{QFunction, Scalar};

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
    /// model.md 5's sticky behaviour `beta_kappa(a | o, a_prev) = kappa 1{a = a_prev} + (1 - kappa) uniform`;
    /// `a_prev` is the previous handoff's action when it is legal here.
    Sticky {
        /// Stickiness kappa in `[0, 1)`.
        kappa: f64,
    },
}

impl Behaviour {
    /// Pick an action at `obs`. `previous` is the action of the previous handoff of this artifact, if any.
    /// `rng` is the agent's own stream (a [`baton_core::Rng`], or a view of one that buffers its next words).
    #[inline(always)]
    pub fn act<Q: QFunction, R: RngCore + ?Sized>(
        &self,
        q: &Q,
        obs: ObsId,
        previous: Option<ActionId>,
        rng: &mut R,
    ) -> ActionId {
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
            Behaviour::Greedy => greedy_and_max(q, obs, rng).0,
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

    /// [`Behaviour::act`] and the maximum of `q` at `obs` together, for an agent that replies to a handoff
    /// (model.md 2 step 3) and then acts on the same observation with nothing changed in its table between:
    /// the same action from the same draws as `act`. Greedy behaviour finds both in one pass over the
    /// legal actions; its maximum is the first of the largest values in legal order (the same bits as a
    /// `max_value` that starts from the first legal entry and keeps strictly greater ones, as
    /// [`crate::TabularQ`]'s does over uniform legal sets). The others pick, then call `max_value`.
    #[inline(always)]
    pub fn act_and_max<Q: QFunction, R: RngCore + ?Sized>(
        &self,
        q: &Q,
        obs: ObsId,
        previous: Option<ActionId>,
        rng: &mut R,
    ) -> (ActionId, f64) {
        match *self {
            Behaviour::Greedy => greedy_and_max(q, obs, rng),
            _ => (self.act(q, obs, previous, rng), q.max_value(obs)),
        }
    }

    /// Step 3 on the receiver `j` ([`crate::icq::reply`]), then its own step 1 on the same observation: the
    /// scalar `v = max_{a'} Q_j(o', a')` and the action this behaviour picks at `o'`, in one pass for greedy
    /// behaviour ([`Behaviour::act_and_max`]). For a receiver that decides at once on what it received, when
    /// nothing changes its table in between: the same scalar as `reply` and the same action, from the same
    /// draws, as [`Behaviour::act`]. (The routing fast path.)
    #[inline(always)]
    pub fn reply_and_act<Q: QFunction, R: RngCore + ?Sized>(
        &self,
        q_j: &Q,
        o_next: ObsId,
        rng: &mut R,
    ) -> (Scalar, ActionId) {
        let (action, v) = self.act_and_max(q_j, o_next, None, rng);
        (Scalar::of_max(v), action)
    }
}

/// Greedy with ties broken uniformly at random, in one pass: keep the best so far; on the k-th tie replace
/// it with probability 1/k. Returns the action and the best value (the maximum, compared as `max_value`
/// compares: first entry, then strictly greater).
#[inline(always)]
fn greedy_and_max<Q: QFunction, R: RngCore + ?Sized>(q: &Q, obs: ObsId, rng: &mut R) -> (ActionId, f64) {
    let legal = q.legal(obs);
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
    (best, best_q)
}

#[cfg(test)]
mod tests {
    use baton_core::rng::{stream, Stream};
    use baton_core::{AgentSpec, Legal};
    use rand::RngCore;

    use super::*;
    use crate::{StepSize, TabularQ};

    #[test]
    fn act_and_max_gives_act_and_max_value_from_the_same_draws() {
        // Rows of small integers: many ties, and ties with a running best that is later beaten.
        let (n_obs, n_actions) = (64u32, 9u16);
        let spec = AgentSpec {
            name: "a".into(),
            n_obs,
            n_actions,
            legal: Legal::all(n_actions),
            action_names: (0..n_actions).map(|a| a.to_string()).collect(),
        };
        let mut values_rng = stream(1, Stream::Other(0));
        let values =
            (0..n_obs as usize * usize::from(n_actions)).map(|_| -f64::from(values_rng.next_u32() % 3)).collect();
        let q = TabularQ::with_values(&spec, StepSize::Constant(0.5), values).unwrap();
        for behaviour in [Behaviour::Greedy, Behaviour::Uniform, Behaviour::EpsilonGreedy { epsilon: 0.3 }] {
            let (mut a, mut b) = (stream(2, Stream::Agent(0)), stream(2, Stream::Agent(0)));
            for o in 0..n_obs {
                let obs = ObsId(o);
                let (action, max) = behaviour.act_and_max(&q, obs, None, &mut b);
                assert_eq!(action, behaviour.act(&q, obs, None, &mut a), "{behaviour:?} at {o}");
                assert_eq!(max.to_bits(), q.max_value(obs).to_bits(), "{behaviour:?} at {o}");
            }
            assert_eq!(a.next_u64(), b.next_u64(), "{behaviour:?}: the streams moved alike");
        }
    }
}
