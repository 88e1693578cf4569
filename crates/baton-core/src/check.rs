//! [`check_env`]: the contract every environment must pass (in the spirit of Gymnasium's `check_env` and
//! PettingZoo's `api_test` / `seed_test`).

use crate::env::{Env, Event, Next};
use crate::error::CoreError;
use crate::rng::{stream, uniform_index, Stream};

/// How much of the environment [`check_env`] exercises.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Events to run per pass.
    pub events: usize,
    /// An episode (or an artifact's life) longer than this many handoffs fails the check.
    pub max_episode_handoffs: usize,
    /// Seed of the two identical passes.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { events: 20_000, max_episode_handoffs: 100_000, seed: 12345 }
    }
}

/// Check that `make()` builds an environment that honours the contract under a uniformly random policy:
/// the spec validates; the same seed gives the same event trace (twice, and again after `reset`);
/// every decision names a valid agent and observation with a non-empty legal set; every handoff has a
/// finite reward, a duration of at least 1 and a valid receiver; every artifact's episode ends.
pub fn check_env<E: Env>(mut make: impl FnMut() -> E, opts: CheckOptions) -> Result<(), CoreError> {
    let mut env = make();
    env.spec().validate()?;
    let first = trace(&mut env, opts)?;
    let second = trace(&mut make(), opts)?;
    if first != second {
        return Err(CoreError::Check("the same seed gave two different event traces".into()));
    }
    // Reset really resets: the used environment reproduces the fresh one's trace.
    let third = trace(&mut env, opts)?;
    if first != third {
        return Err(CoreError::Check("after reset, the same seed gave a different event trace".into()));
    }
    Ok(())
}

fn trace<E: Env>(env: &mut E, opts: CheckOptions) -> Result<Vec<String>, CoreError> {
    let mut env_rng = stream(opts.seed, Stream::Env);
    let mut pol_rng = stream(opts.seed, Stream::Agent(0));
    env.reset(&mut env_rng);
    let spec = env.spec().clone();
    let max_in_flight = spec.max_in_flight as usize;
    let mut handoffs_of: Vec<usize> = vec![0; max_in_flight];
    let mut awaiting: Vec<bool> = vec![false; max_in_flight];
    let mut out = Vec::with_capacity(opts.events);
    let fail = |m: String| Err(CoreError::Check(m));
    for _ in 0..opts.events {
        let ev = env.next_event(&mut env_rng);
        match ev {
            Event::Decide(d) => {
                let Some(agent) = spec.agents.get(d.agent.index()) else {
                    return fail(format!("decision for unknown agent {}", d.agent.0));
                };
                if d.obs.0 >= agent.n_obs {
                    return fail(format!("agent {} observation {} out of range", d.agent.0, d.obs.0));
                }
                if d.artifact.index() >= max_in_flight {
                    return fail(format!("artifact {} beyond max_in_flight {max_in_flight}", d.artifact.0));
                }
                let legal = agent.legal.of(d.obs);
                if legal.is_empty() {
                    return fail(format!("agent {} has no legal action at observation {}", d.agent.0, d.obs.0));
                }
                let a = legal[uniform_index(&mut pol_rng, legal.len())];
                awaiting[d.artifact.index()] = true;
                env.act(d.artifact, a, &mut env_rng);
                out.push(format!("D{} {} {} {}", d.artifact.0, d.agent.0, d.obs.0, a.0));
            }
            Event::Handoff(h) => {
                let k = h.artifact.index();
                if k >= max_in_flight || !awaiting[k] {
                    return fail(format!("handoff of artifact {} that no agent acted on", h.artifact.0));
                }
                awaiting[k] = false;
                if !h.reward.is_finite() {
                    return fail(format!("non-finite reward {} from agent {}", h.reward, h.sender.0));
                }
                if h.duration == 0 {
                    return fail(format!("zero duration from agent {}", h.sender.0));
                }
                handoffs_of[k] += 1;
                match h.next {
                    Next::To { agent, obs } => {
                        let Some(spec_a) = spec.agents.get(agent.index()) else {
                            return fail(format!("handoff to unknown agent {}", agent.0));
                        };
                        if obs.0 >= spec_a.n_obs {
                            return fail(format!("receiver {} observation {} out of range", agent.0, obs.0));
                        }
                        if handoffs_of[k] > opts.max_episode_handoffs {
                            return fail(format!(
                                "artifact {} still in play after {} handoffs",
                                h.artifact.0, opts.max_episode_handoffs
                            ));
                        }
                    }
                    Next::Terminated | Next::Truncated => handoffs_of[k] = 0,
                }
                out.push(format!("H{} {} {:?} {} {:?}", h.artifact.0, h.sender.0, h.reward, h.duration, h.next));
            }
            Event::EpisodeEnd => {
                if awaiting.iter().any(|&w| w) {
                    return fail("episode ended while an action was outstanding".into());
                }
                out.push("E".into());
            }
        }
    }
    Ok(out)
}
