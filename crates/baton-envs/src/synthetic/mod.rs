//! # `synthetic-v0`: the synthetic IC-SMDP generator (model.md 6.1)
//!
//! A family of small interface-constrained SMDPs with exact ground truth: every model is enumerated into a
//! [`FiniteModel`], so `baton-solve` can compute `Q*`, the interface gap, the stationary distribution and the
//! mixing time exactly. With the aliasing knob off, the interface gap is **exactly zero** by construction;
//! the aliasing knob `lambda` adds a hidden bit that shifts SUBMIT rewards and nothing else, so the gap grows
//! linearly in `lambda` while every observable transition stays the same.
//!
//! Configure with [`SyntheticConfig`] (serde, unknown fields rejected), check it with
//! [`SyntheticConfig::validate`] into a [`Synthetic`], then [`Synthetic::build_model`].
//!
//! ## Properties
//!
//! Symbols: `n` = `agents`, `L` = `components`, `K` = `levels`, `P` = `private_states`, `gamma` = `discount`,
//! `c` = `step_cost`, `R_sub` = `submit_reward`, `lambda` = `aliasing`, `L_i` = the number of components agent `i`
//! owns (component `c` is owned by agent `c % n`, so `L_i` is `ceil(L/n)` or `floor(L/n)`).
//!
//! | property | value |
//! |---|---|
//! | id | `synthetic-v0` |
//! | agents | `n` in `2..=10` (default 3), named `agent-0` .. `agent-{n-1}` |
//! | observation of agent `i` | the levels of the `L - L_i` components it does **not** own (mixed radix over `K`) and its own private state: `K^(L - L_i) * P` values (default: 32); never its own components, never another agent's private state, never the hidden bit |
//! | actions | `2(n-1) + 1`, all legal in every observation: `low->j` and `high->j` for each target `j != i`, then `submit` |
//! | reward | work: `-c * sum_{u<tau} gamma^u`; submit: `-c + R_sub * (mean level / (K-1))^2 + (b - 1/2) * lambda` |
//! | durations | work: `tau ~ durations.low` or `durations.high` (pmfs on `1..=len`); submit: 1 |
//! | joint states | `K^L * n * P * B`, with `B = 2` if `lambda > 0` else `1` (default: 384) |
//! | state-action pairs | `states * (2n - 1)` (default: 1,920) |
//! | start `nu_0` | all components 0, holder `start_agent`, its private state uniform, `b` uniform |
//! | episodes | end at SUBMIT |
//! | exactly solvable | yes |
//! | interface gap | exactly zero when `lambda = 0`; with `lambda > 0` only SUBMIT rewards differ within an observation, by `lambda` |
//!
//! ## Dynamics
//!
//! The artifact is a vector `x` of `L` components, each a quality level in `0..K`. The joint state is
//! `(x, h, p_h, b)`: the artifact, the holder `h` (the agent in control), the holder's private state `p_h`
//! (`0` = busy .. `P-1` = focused; with `P = 1` the only private state is focused) and, only when
//! `lambda > 0`, a hidden bit `b` drawn uniformly at the start and never changed. The private states of the
//! agents not holding control are not part of the state: a receiver's private state is drawn fresh, uniformly,
//! when it receives control, so it carries no information from earlier visits.
//!
//! The holder `i` sees only the components it does not own and its own private state. Let `m` be the largest
//! level it sees. A work option with effort `e` and target `j` succeeds with probability `success.low` (low
//! effort) or, for high effort, a linear interpolation in the private state index between `success.high_busy`
//! (`p = 0`) and `success.high_focused` (`p = P - 1`). On success every component `i` owns becomes
//! `min(K - 1, m + gain)` with gain 1 (low) or 2 (high); on failure they become `m`. The new value therefore
//! depends only on what `i` observes and on noise, and every component the receiver sees was either seen or
//! written by the sender: that is what keeps the interface gap at zero. The option lasts `tau` primitive steps,
//! drawn from the effort's duration pmf independently of success, costs `c` per step (`R = -c * sum_{u<tau}
//! gamma^u`), and hands control to `j`, whose private state is drawn uniformly.
//!
//! SUBMIT finalises the holder's own components to `m`, lasts one step and ends the episode with reward
//! `-c + R_sub * (mean of the final levels / (K-1))^2 + (b - 1/2) * lambda` (the last term only when the bit
//! exists). Rewards are paid at the start of the step, so the payoff is not discounted within the option.
//!
//! Identical outcomes (same next state, duration and reward) are merged by summing their probabilities.
//!
//! An agent that runs as its own process holds only the artifact and its own private state. It samples the same
//! kernel through [`Synthetic::run_option`], [`Synthetic::draw_private`] and [`Synthetic::agent_observation`]
//! (tested against the joint model's outcome probabilities). These need `aliasing = 0`, because the hidden bit
//! belongs to no agent.
//!
//! ## Numbering
//!
//! - Artifact index `xi = sum_c x_c * K^c` (component 0 least significant).
//! - State index `((xi * n + h) * P + p) * B + b` ([`Synthetic::state_index`], [`Synthetic::decode_state`]).
//! - Observation of agent `i`: `view * P + p` with `view = sum_k x_{c_k} * K^k` over the components
//!   `c_0 < c_1 < ...` that `i` does not own ([`Synthetic::observation`]).
//! - Action of agent `i`: `2k + e` for the `k`-th other agent in increasing order and effort `e` (0 low, 1
//!   high); `submit` is the last action `2(n-1)` ([`Synthetic::action_id`], [`Synthetic::decode_action`]).
//!
//! ## Version history
//!
//! - `synthetic-v0`: first version. The dynamics above; generalises the 3-agent prototype of model.md 6.1
//!   (`L = 3`, `K = 4`, `P = 2`) to `n` agents, `L` components, `K` levels, `P` private states, configurable
//!   duration pmfs and success probabilities, and the aliasing bit of model.md section 5.

use std::fmt::Write as _;

use baton_core::rng::uniform_index;
use baton_core::{
    ActionId, AgentId, AgentSpec, EnvSpec, FiniteModel, Legal, ModelBuilder, ObsId, Outcome, Rng, TERMINAL,
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::error::EnvError;

mod config;

pub use config::{DurationPmfs, SuccessProbabilities, SyntheticConfig, MAX_REWARD_SCALE};

/// The versioned environment id.
pub const ENV_ID: &str = "synthetic-v0";
/// The largest number of state-action pairs a configuration may describe.
pub const MAX_PAIRS: u64 = 2_000_000;
/// The largest number of outcomes (summed over all pairs, before merging) a configuration may describe.
pub const MAX_OUTCOMES: u64 = 32_000_000;
/// The longest duration pmf accepted (`tau_max`).
pub const MAX_DURATION: usize = 64;
/// Largest number of agents.
pub const MAX_AGENTS: u32 = 10;
/// Largest number of quality levels per component.
pub const MAX_LEVELS: u32 = 8;
/// Largest number of private states.
pub const MAX_PRIVATE_STATES: u32 = 4;

/// Tolerance on a pmf summing to 1.
const PMF_TOL: f64 = 1e-9;

/// The effort of a work option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effort {
    /// Gain 1 on success, success probability `success.low`, duration `durations.low`.
    Low,
    /// Gain 2 on success, success probability by private state, duration `durations.high`.
    High,
}

impl Effort {
    /// Levels gained on success.
    pub fn gain(self) -> u32 {
        match self {
            Effort::Low => 1,
            Effort::High => 2,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::High => "high",
        }
    }
}

/// What an action of the synthetic model does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyntheticAction {
    /// Work on the owned components with `effort`, then hand control to `target`.
    Work {
        /// Low or high effort.
        effort: Effort,
        /// The receiver (never the acting agent).
        target: AgentId,
    },
    /// Finalise the owned components and end the episode.
    Submit,
}

/// A decoded joint state `(x, h, p_h, b)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyntheticState {
    /// The level of every component, each in `0..K` (`L` entries).
    pub levels: Vec<u32>,
    /// The holder `h`.
    pub holder: AgentId,
    /// The holder's private state `p_h` in `0..P`.
    pub private: u32,
    /// The hidden bit `b` (0 or 1) when `aliasing > 0`, else `None`.
    pub bit: Option<u8>,
}

/// A validated synthetic configuration, ready to build its [`FiniteModel`].
#[derive(Clone, Debug)]
pub struct Synthetic {
    config: SyntheticConfig,
    n: usize,
    l: usize,
    k: usize,
    p: usize,
    /// 2 with the hidden bit, else 1.
    nb: usize,
    /// `K^c` per component.
    pow_k: Vec<usize>,
    /// The components each agent owns, increasing.
    own: Vec<Vec<usize>>,
    /// The components each agent sees (does not own), increasing.
    seen: Vec<Vec<usize>>,
    /// `sum_{c owned by i} K^c` per agent `i`.
    own_weight: Vec<usize>,
    n_obs: Vec<u32>,
    n_states: usize,
    n_pairs: usize,
    /// High-effort success probability per private state.
    high_success: Vec<f64>,
    /// Per effort (low, high): the `(tau, probability, reward)` of every duration of positive probability.
    work: [Vec<(u32, f64, f64)>; 2],
}

impl Synthetic {
    /// The configuration this model was validated from.
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// Number of joint states, `K^L * n * P * B`.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// Number of state-action pairs, `n_states * (2n - 1)`.
    pub fn n_pairs(&self) -> usize {
        self.n_pairs
    }

    /// Number of actions of every agent, `2(n - 1) + 1`.
    pub fn n_actions(&self) -> u16 {
        (2 * (self.n - 1) + 1) as u16
    }

    /// Number of observations of each agent, `K^(L - L_i) * P` where `L_i` is the number
    /// of components agent `i` owns, indexed by agent.
    pub fn obs_counts(&self) -> &[u32] {
        &self.n_obs
    }

    /// The agent owning `component` (`component % n`).
    pub fn owner(&self, component: usize) -> AgentId {
        AgentId((component % self.n) as u16)
    }

    /// Whether the hidden aliasing bit is part of the state.
    pub fn has_hidden_bit(&self) -> bool {
        self.nb == 2
    }

    /// A one-line summary: size, agents, observations per agent.
    pub fn describe(&self) -> String {
        format!(
            "{ENV_ID}: {} agents, {} components x {} levels, {} private states, {}; {} states, {} state-action \
             pairs, {} actions per agent, observations per agent {:?}",
            self.n,
            self.l,
            self.k,
            self.p,
            if self.has_hidden_bit() {
                format!("hidden bit (aliasing {})", self.config.aliasing)
            } else {
                "no hidden bit".to_string()
            },
            self.n_states,
            self.n_pairs,
            self.n_actions(),
            self.n_obs,
        )
    }

    /// The interfaces of the agents and the discount (what [`Synthetic::build_model`] puts in its model).
    pub fn spec(&self) -> EnvSpec {
        let n_actions = self.n_actions();
        let agents = (0..self.n)
            .map(|i| AgentSpec {
                name: format!("agent-{i}"),
                n_obs: self.n_obs[i],
                n_actions,
                legal: Legal::all(n_actions),
                action_names: (0..n_actions).map(|a| self.action_name(i, a)).collect(),
            })
            .collect();
        EnvSpec { id: ENV_ID.to_string(), agents, discount: self.config.discount, max_in_flight: 1 }
    }

    fn action_name(&self, agent: usize, a: u16) -> String {
        match self.decode_action(AgentId(agent as u16), ActionId(a)) {
            Some(SyntheticAction::Work { effort, target }) => {
                format!("{}->{}", effort.name(), target.0)
            }
            _ => "submit".to_string(),
        }
    }

    /// The id of `action` for `agent`; `None` if the agent or target is out of range or the target is the agent.
    pub fn action_id(&self, agent: AgentId, action: SyntheticAction) -> Option<ActionId> {
        let i = agent.index();
        if i >= self.n {
            return None;
        }
        match action {
            SyntheticAction::Submit => Some(ActionId((2 * (self.n - 1)) as u16)),
            SyntheticAction::Work { effort, target } => {
                let j = target.index();
                if j >= self.n || j == i {
                    return None;
                }
                let k = if j < i { j } else { j - 1 };
                let e = match effort {
                    Effort::Low => 0,
                    Effort::High => 1,
                };
                Some(ActionId((2 * k + e) as u16))
            }
        }
    }

    /// What action `a` of `agent` does; `None` if either is out of range.
    pub fn decode_action(&self, agent: AgentId, a: ActionId) -> Option<SyntheticAction> {
        let i = agent.index();
        let a = a.index();
        if i >= self.n || a > 2 * (self.n - 1) {
            return None;
        }
        if a == 2 * (self.n - 1) {
            return Some(SyntheticAction::Submit);
        }
        let k = a / 2;
        let j = if k < i { k } else { k + 1 };
        let effort = if a % 2 == 0 { Effort::Low } else { Effort::High };
        Some(SyntheticAction::Work { effort, target: AgentId(j as u16) })
    }

    /// The index of a joint state in the model, or `None` if any part is out of range (or the bit is present
    /// exactly when `aliasing == 0`).
    pub fn state_index(&self, s: &SyntheticState) -> Option<u32> {
        if s.levels.len() != self.l || s.levels.iter().any(|&x| x as usize >= self.k) {
            return None;
        }
        let h = s.holder.index();
        let p = s.private as usize;
        if h >= self.n || p >= self.p {
            return None;
        }
        let b = match (s.bit, self.has_hidden_bit()) {
            (None, false) => 0,
            (Some(b @ (0 | 1)), true) => b as usize,
            _ => return None,
        };
        let xi: usize = s.levels.iter().zip(&self.pow_k).map(|(&x, &w)| x as usize * w).sum();
        Some(self.index_of(xi, h, p, b))
    }

    #[inline]
    fn index_of(&self, xi: usize, h: usize, p: usize, b: usize) -> u32 {
        (((xi * self.n + h) * self.p + p) * self.nb + b) as u32
    }

    /// The joint state of index `s` (`s < n_states`).
    ///
    /// # Panics
    /// If `s` is out of range.
    pub fn decode_state(&self, s: u32) -> SyntheticState {
        assert!((s as usize) < self.n_states, "state {s} out of range 0..{}", self.n_states);
        let mut r = s as usize;
        let b = r % self.nb;
        r /= self.nb;
        let p = r % self.p;
        r /= self.p;
        let h = r % self.n;
        let mut xi = r / self.n;
        let levels = (0..self.l)
            .map(|_| {
                let x = xi % self.k;
                xi /= self.k;
                x as u32
            })
            .collect();
        SyntheticState {
            levels,
            holder: AgentId(h as u16),
            private: p as u32,
            bit: self.has_hidden_bit().then_some(b as u8),
        }
    }

    /// The hand-written fixed pipeline (model.md 4's round-robin heuristic), as a function of what the holder
    /// observes: if every component it sees is at the top level, submit; otherwise work (high effort when its
    /// private state is the most focused one, low effort otherwise) and hand to the next agent, `(i + 1) mod n`.
    /// It uses only the holder's own observation, so it is a valid decentralized policy.
    pub fn round_robin_action(&self, s: &SyntheticState) -> SyntheticAction {
        let i = s.holder.index();
        let top = (self.k - 1) as u32;
        if self.seen[i].iter().all(|&c| s.levels[c] == top) {
            return SyntheticAction::Submit;
        }
        let effort = if s.private as usize + 1 == self.p { Effort::High } else { Effort::Low };
        SyntheticAction::Work { effort, target: AgentId(((i + 1) % self.n) as u16) }
    }

    /// The holder's observation of state `s`: the components it does not own and its private state. Nothing
    /// else of `s` is read (not the holder's own components, not the hidden bit).
    ///
    /// # Panics
    /// If the holder or a level is out of range.
    pub fn observation(&self, s: &SyntheticState) -> ObsId {
        self.obs_of(s.holder.index(), &s.levels, s.private as usize)
    }

    #[inline]
    fn obs_of(&self, agent: usize, levels: &[u32], private: usize) -> ObsId {
        let mut view = 0usize;
        let mut w = 1usize;
        for &comp in &self.seen[agent] {
            let x = levels[comp] as usize;
            assert!(x < self.k, "level {x} of component {comp} out of range 0..{}", self.k);
            view += x * w;
            w *= self.k;
        }
        ObsId((view * self.p + private) as u32)
    }

    /// The name of private state `p`: `busy`, `mid1`.., `focused`.
    pub fn private_state_name(&self, p: u32) -> String {
        let p = p as usize;
        if p + 1 == self.p {
            "focused".into()
        } else if p == 0 {
            "busy".into()
        } else {
            format!("mid{p}")
        }
    }

    /// A readable label, e.g. `x=[1,3,0] h=1 p=focused b=0`.
    pub fn state_label(&self, s: &SyntheticState) -> String {
        let mut label = String::from("x=[");
        for (c, x) in s.levels.iter().enumerate() {
            if c > 0 {
                label.push(',');
            }
            let _ = write!(label, "{x}");
        }
        let _ = write!(label, "] h={} p={}", s.holder.0, self.private_state_name(s.private));
        if let Some(b) = s.bit {
            let _ = write!(label, " b={b}");
        }
        label
    }

    /// The largest level agent `i` sees in `levels`.
    #[inline]
    fn seen_max(&self, agent: usize, levels: &[u32]) -> u32 {
        self.seen[agent].iter().map(|&c| levels[c]).max().unwrap_or(0)
    }

    /// Enumerate the model: every joint state, every action's merged outcomes, and `nu_0`.
    pub fn build_model(&self) -> Result<FiniteModel, EnvError> {
        let mut builder = ModelBuilder::new(self.spec());
        let n_actions = self.n_actions() as usize;
        let n_xi = self.n_states / (self.n * self.p * self.nb);
        let top = (self.k - 1) as u32;
        let uniform_p = 1.0 / self.p as f64;
        let cfg = &self.config;
        let mut levels = vec![0u32; self.l];
        for xi in 0..n_xi {
            // Decode the artifact (component 0 least significant).
            let mut r = xi;
            for x in levels.iter_mut() {
                *x = (r % self.k) as u32;
                r /= self.k;
            }
            let mean_base: u32 = levels.iter().sum();
            for h in 0..self.n {
                let m = self.seen_max(h, &levels);
                let own_sum: usize = self.own[h].iter().map(|&c| levels[c] as usize * self.pow_k[c]).sum();
                let base_xi = xi - own_sum;
                let own_levels: u32 = self.own[h].iter().map(|&c| levels[c]).sum();
                // SUBMIT: own components become m.
                let final_sum = mean_base - own_levels + m * self.own[h].len() as u32;
                let quality = f64::from(final_sum) / self.l as f64 / f64::from(top);
                let submit_base = -cfg.step_cost + cfg.submit_reward * quality * quality;
                for p in 0..self.p {
                    for b in 0..self.nb {
                        let state = SyntheticState {
                            levels: levels.clone(),
                            holder: AgentId(h as u16),
                            private: p as u32,
                            bit: self.has_hidden_bit().then_some(b as u8),
                        };
                        let obs = self.obs_of(h, &levels, p);
                        let s = builder.add_state(AgentId(h as u16), obs, self.state_label(&state));
                        debug_assert_eq!(s, self.index_of(xi, h, p, b));
                        let mut per_action = Vec::with_capacity(n_actions);
                        for a in 0..n_actions {
                            let action = self.decode_action(AgentId(h as u16), ActionId(a as u16));
                            let outs = match action {
                                Some(SyntheticAction::Work { effort, target }) => {
                                    let (succ, pmf) = match effort {
                                        Effort::Low => (cfg.success.low, &self.work[0]),
                                        Effort::High => (self.high_success[p], &self.work[1]),
                                    };
                                    let gained = (m + effort.gain()).min(top);
                                    let mut outs: Vec<Outcome> = Vec::new();
                                    for (q_branch, v) in [(succ, gained), (1.0 - succ, m)] {
                                        if q_branch <= 0.0 {
                                            continue;
                                        }
                                        let next_xi = base_xi + v as usize * self.own_weight[h];
                                        for &(tau, q_tau, reward) in pmf {
                                            for p_next in 0..self.p {
                                                let next = self.index_of(next_xi, target.index(), p_next, b);
                                                push_merged(
                                                    &mut outs,
                                                    Outcome {
                                                        prob: q_branch * q_tau * uniform_p,
                                                        next,
                                                        duration: tau,
                                                        reward,
                                                    },
                                                );
                                            }
                                        }
                                    }
                                    outs
                                }
                                _ => {
                                    let alias =
                                        if self.has_hidden_bit() { (b as f64 - 0.5) * cfg.aliasing } else { 0.0 };
                                    vec![Outcome {
                                        prob: 1.0,
                                        next: TERMINAL,
                                        duration: 1,
                                        reward: submit_base + alias,
                                    }]
                                }
                            };
                            per_action.push(outs);
                        }
                        builder.set_outcomes(s, per_action);
                    }
                }
            }
        }
        let h0 = cfg.start_agent as usize;
        let q0 = 1.0 / (self.p * self.nb) as f64;
        let initial = (0..self.p)
            .flat_map(|p| (0..self.nb).map(move |b| (p, b)))
            .map(|(p, b)| (self.index_of(0, h0, p, b), q0))
            .collect();
        builder.set_initial(initial);
        Ok(builder.build()?)
    }
}

/// What one agent's own option did to the artifact it holds ([`Synthetic::run_option`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptionStep {
    /// The option's duration `tau >= 1`.
    pub duration: u32,
    /// The option's discounted reward `R = sum_{u<tau} gamma^u r_u`, as the acting agent sees it.
    pub reward: f64,
    /// The receiver of the handoff, or `None` if the agent submitted (the episode ended).
    pub next: Option<AgentId>,
}

/// The per-agent view of the kernel, for an agent that runs as its own process and holds only the artifact
/// `x` (the component levels) and its own private state. Sampling from these functions gives the same
/// distribution as the joint model's kernel ([`Synthetic::build_model`]): the receiver's private state is drawn
/// fresh by the receiver itself ([`Synthetic::draw_private`]) when it receives control.
impl Synthetic {
    /// Number of artifact components `L`.
    pub fn n_components(&self) -> usize {
        self.l
    }

    /// Number of agents `n`.
    pub fn n_agents(&self) -> usize {
        self.n
    }

    /// A fresh private state, uniform over `0..P`: what an agent draws for itself when it receives control.
    pub fn draw_private(&self, rng: &mut Rng) -> u32 {
        uniform_index(rng, self.p) as u32
    }

    /// Check that `levels` is an artifact of this model: `L` components, each in `0..K`.
    pub fn check_artifact(&self, levels: &[u32]) -> Result<(), EnvError> {
        if levels.len() != self.l {
            return Err(EnvError::invalid(
                "artifact.levels",
                format!("expected {} components, got {}", self.l, levels.len()),
            ));
        }
        if let Some((c, &x)) = levels.iter().enumerate().find(|(_, &x)| x as usize >= self.k) {
            return Err(EnvError::invalid(
                "artifact.levels",
                format!("component {c} has level {x}, outside 0..{}", self.k),
            ));
        }
        Ok(())
    }

    fn check_agent_view(&self, agent: AgentId, levels: &[u32], private: u32) -> Result<(), EnvError> {
        if self.has_hidden_bit() {
            return Err(EnvError::invalid(
                "aliasing",
                "the per-agent kernel needs aliasing = 0 (the hidden bit belongs to no agent)",
            ));
        }
        if agent.index() >= self.n {
            return Err(EnvError::invalid("agent", format!("agent {} is not in 0..{}", agent.0, self.n)));
        }
        if private as usize >= self.p {
            return Err(EnvError::invalid("private", format!("private state {private} is not in 0..{}", self.p)));
        }
        self.check_artifact(levels)
    }

    /// Agent `agent`'s observation of the artifact `levels` with its own private state `private`: the
    /// components it does not own and `private` (the same numbering as the joint model).
    pub fn agent_observation(&self, agent: AgentId, levels: &[u32], private: u32) -> Result<ObsId, EnvError> {
        self.check_agent_view(agent, levels, private)?;
        Ok(self.obs_of(agent.index(), levels, private as usize))
    }

    /// Run agent `agent`'s option `action` on the artifact `levels` (rewritten in place) with its own private
    /// state `private`, drawing success and duration from `rng`: the kernel of the joint model, seen from the
    /// acting agent. SUBMIT finalises the owned components and ends the episode (`next = None`).
    pub fn run_option(
        &self,
        agent: AgentId,
        levels: &mut [u32],
        private: u32,
        action: ActionId,
        rng: &mut Rng,
    ) -> Result<OptionStep, EnvError> {
        self.check_agent_view(agent, levels, private)?;
        let i = agent.index();
        let decoded = self.decode_action(agent, action).ok_or_else(|| {
            EnvError::invalid("action", format!("action {} is not in 0..{}", action.0, self.n_actions()))
        })?;
        let m = self.seen_max(i, levels);
        let top = (self.k - 1) as u32;
        match decoded {
            SyntheticAction::Submit => {
                for &c in &self.own[i] {
                    levels[c] = m;
                }
                let total: u32 = levels.iter().sum();
                let quality = f64::from(total) / self.l as f64 / f64::from(top);
                let cfg = &self.config;
                Ok(OptionStep {
                    duration: 1,
                    reward: -cfg.step_cost + cfg.submit_reward * quality * quality,
                    next: None,
                })
            }
            SyntheticAction::Work { effort, target } => {
                let (succ, pmf) = match effort {
                    Effort::Low => (self.config.success.low, &self.work[0]),
                    Effort::High => (self.high_success[private as usize], &self.work[1]),
                };
                let u: f64 = rng.random();
                let v = if u < succ { (m + effort.gain()).min(top) } else { m };
                for &c in &self.own[i] {
                    levels[c] = v;
                }
                let w: f64 = rng.random();
                let mut acc = 0.0;
                let mut chosen = pmf[pmf.len() - 1];
                for &entry in pmf.iter() {
                    acc += entry.1;
                    if w < acc {
                        chosen = entry;
                        break;
                    }
                }
                Ok(OptionStep { duration: chosen.0, reward: chosen.2, next: Some(target) })
            }
        }
    }
}

/// Add `o` to `outs`, summing its probability into an identical outcome (same next, duration and reward).
fn push_merged(outs: &mut Vec<Outcome>, o: Outcome) {
    if let Some(e) = outs
        .iter_mut()
        .find(|e| e.next == o.next && e.duration == o.duration && e.reward.to_bits() == o.reward.to_bits())
    {
        e.prob += o.prob;
    } else {
        outs.push(o);
    }
}

#[cfg(test)]
mod tests;
