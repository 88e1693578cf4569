//! Small models for the tests: helpers for hand-written ones and a seeded random generator.

use baton_core::rng::{stream, Stream};
use baton_core::{ActionId, AgentId, AgentSpec, EnvSpec, FiniteModel, Legal, ModelBuilder, ObsId, Outcome, TERMINAL};
use rand::Rng as _;

/// An agent with `n_obs` observations and `n_actions` actions, all legal everywhere.
pub fn agent(name: &str, n_obs: u32, n_actions: u16) -> AgentSpec {
    AgentSpec {
        name: name.into(),
        n_obs,
        n_actions,
        legal: Legal::all(n_actions),
        action_names: (0..n_actions).map(|a| format!("a{a}")).collect(),
    }
}

/// A spec with the given agents and discount.
pub fn spec(agents: Vec<AgentSpec>, discount: f64) -> EnvSpec {
    EnvSpec { id: "test-v0".into(), agents, discount, max_in_flight: 1 }
}

/// An outcome.
pub fn out(prob: f64, next: u32, duration: u32, reward: f64) -> Outcome {
    Outcome { prob, next, duration, reward }
}

/// Knobs of [`random_model`].
#[derive(Clone, Copy, Debug)]
pub struct RandomOpts {
    pub n_states: usize,
    pub n_actions: u16,
    pub n_agents: u16,
    pub gamma: f64,
    /// Probability that an outcome is terminal.
    pub p_terminal: f64,
    /// Observations per agent: `None` makes `sigma` injective (state `s` is observation `s`), `Some(k)` draws
    /// the observation of each state from `0..k` (aliasing).
    pub aliased_obs: Option<u32>,
    /// Draw random non-empty legal sets per observation instead of "all legal".
    pub random_legal: bool,
    /// Give every pair an extra terminal outcome (probability 0.05..0.3), so that every episode ends, the
    /// behaviour chain has one closed class and (with the full-support `nu_0`) every pair is visited.
    pub ensure_termination: bool,
}

impl RandomOpts {
    /// One agent, all actions legal, injective observations.
    pub fn simple(n_states: usize, n_actions: u16, gamma: f64) -> Self {
        RandomOpts {
            n_states,
            n_actions,
            n_agents: 1,
            gamma,
            p_terminal: 0.2,
            aliased_obs: None,
            random_legal: false,
            ensure_termination: true,
        }
    }
}

/// A random model: random holders, 1..=3 outcomes per pair with durations 1..=3 and rewards in [-1, 1], and a
/// start distribution with full support (so every state is reachable).
pub fn random_model(seed: u64, o: RandomOpts) -> FiniteModel {
    let mut rng = stream(seed, Stream::Other(0));
    let n_obs = o.aliased_obs.unwrap_or(o.n_states as u32).max(1);
    let agents: Vec<AgentSpec> = (0..o.n_agents)
        .map(|i| {
            let mut a = agent(&format!("agent-{i}"), n_obs, o.n_actions);
            if o.random_legal {
                let sets: Vec<Vec<ActionId>> = (0..n_obs)
                    .map(|_| {
                        let mut set: Vec<ActionId> =
                            (0..o.n_actions).filter(|_| rng.random_bool(0.6)).map(ActionId).collect();
                        if set.is_empty() {
                            set.push(ActionId(rng.random_range(0..o.n_actions)));
                        }
                        set
                    })
                    .collect();
                a.legal = Legal::per_obs(&sets, o.n_actions).expect("valid legal sets");
            }
            a
        })
        .collect();
    let spec = spec(agents, o.gamma);
    let mut b = ModelBuilder::new(spec.clone());
    let mut n_legal = Vec::with_capacity(o.n_states);
    for s in 0..o.n_states {
        let h = AgentId(rng.random_range(0..o.n_agents));
        let obs = match o.aliased_obs {
            None => ObsId(s as u32),
            Some(k) => ObsId(rng.random_range(0..k.max(1))),
        };
        n_legal.push(spec.agents[h.index()].legal.of(obs).len());
        b.add_state(h, obs, format!("s{s}"));
    }
    for (s, &k) in n_legal.iter().enumerate() {
        let per_action = (0..k)
            .map(|_| {
                let n_out = rng.random_range(1..=3usize);
                let raw: Vec<f64> = (0..n_out).map(|_| 0.1 + rng.random::<f64>()).collect();
                let total: f64 = raw.iter().sum();
                let stop = if o.ensure_termination { rng.random_range(0.05..0.3) } else { 0.0 };
                let mut outs: Vec<Outcome> = raw
                    .iter()
                    .map(|&w| {
                        let next = if rng.random_bool(o.p_terminal) {
                            TERMINAL
                        } else {
                            rng.random_range(0..o.n_states as u32)
                        };
                        out((1.0 - stop) * w / total, next, rng.random_range(1..=3), rng.random_range(-1.0..=1.0))
                    })
                    .collect();
                if o.ensure_termination {
                    outs.push(out(stop, TERMINAL, rng.random_range(1..=3), rng.random_range(-1.0..=1.0)));
                }
                outs
            })
            .collect();
        b.set_outcomes(s as u32, per_action);
    }
    let raw: Vec<f64> = (0..o.n_states).map(|_| 0.1 + rng.random::<f64>()).collect();
    let total: f64 = raw.iter().sum();
    b.set_initial(raw.iter().enumerate().map(|(s, &w)| (s as u32, w / total)).collect());
    b.build().expect("random model is valid")
}
