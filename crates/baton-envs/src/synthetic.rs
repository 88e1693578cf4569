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

/// Configuration of the synthetic IC-SMDP. Every field has a default ([`SyntheticConfig::default`]), so an empty
/// TOML table is the default model; unknown fields are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticConfig {
    /// Number of agents `n`, in `2..=10`. Default 3.
    pub agents: u32,
    /// Number of artifact components `L`, at least `agents` (every agent owns at least one); component `c` is
    /// owned by agent `c % n`. Bounded above only by the model size limit. Default 3.
    pub components: u32,
    /// Number of quality levels `K` of each component (levels `0..K`), in `2..=8`. Default 4.
    pub levels: u32,
    /// Number of private states `P` of each agent, in `1..=4`: 0 = busy .. `P-1` = focused (with `P = 1` the
    /// only state is focused). Default 2.
    pub private_states: u32,
    /// Discount factor `gamma` per primitive step, in `[0, 1)`. Default 0.95.
    pub discount: f64,
    /// Cost `c` per primitive step of any option (work or submit), in `[0, 1e6]`. Default 0.1.
    pub step_cost: f64,
    /// Scale `R_sub` of the SUBMIT payoff `R_sub * (mean level / (K-1))^2`, in `[0, 1e6]`. Default 10.0.
    pub submit_reward: f64,
    /// Duration pmfs of the two work efforts (`durations.low`, `durations.high`).
    pub durations: DurationPmfs,
    /// Success probabilities of the work options (`success.low`, `success.high_focused`, `success.high_busy`).
    pub success: SuccessProbabilities,
    /// Aliasing `lambda`, in `[0, 1e6]`: when positive, a hidden uniform bit `b` that no agent observes shifts
    /// every SUBMIT reward by `(b - 1/2) * lambda` and doubles the state count. 0 = no bit (interface gap zero).
    /// Default 0.
    pub aliasing: f64,
    /// The agent holding control at the start of every episode, in `0..agents`. Default 0.
    pub start_agent: u32,
}

/// Duration pmfs of the work options: entry `k` is the probability that the option lasts `tau = k + 1` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DurationPmfs {
    /// Pmf of the duration `tau` of a low-effort option over `1..=len`: `len` in `1..=64`, entries in `[0, 1]`
    /// summing to 1 within 1e-9. Default `[0.7, 0.3]`.
    pub low: Vec<f64>,
    /// Pmf of the duration `tau` of a high-effort option over `1..=len`: `len` in `1..=64`, entries in `[0, 1]`
    /// summing to 1 within 1e-9. Default `[0.0, 0.5, 0.5]`.
    pub high: Vec<f64>,
}

/// Success probabilities of the work options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuccessProbabilities {
    /// Probability that a low-effort option raises the owned components (gain 1), in `[0, 1]`, whatever the
    /// private state. Default 0.8.
    pub low: f64,
    /// Probability that a high-effort option succeeds (gain 2) when the agent is focused (private state
    /// `P - 1`), in `[0, 1]`. Default 0.9.
    pub high_focused: f64,
    /// Probability that a high-effort option succeeds (gain 2) when the agent is busy (private state 0), in
    /// `[0, 1]`; states in between interpolate linearly. Unused when `P = 1`. Default 0.2.
    pub high_busy: f64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            agents: 3,
            components: 3,
            levels: 4,
            private_states: 2,
            discount: 0.95,
            step_cost: 0.1,
            submit_reward: 10.0,
            durations: DurationPmfs { low: vec![0.7, 0.3], high: vec![0.0, 0.5, 0.5] },
            success: SuccessProbabilities { low: 0.8, high_focused: 0.9, high_busy: 0.2 },
            aliasing: 0.0,
            start_agent: 0,
        }
    }
}

impl Default for DurationPmfs {
    /// The durations of [`SyntheticConfig::default`].
    fn default() -> Self {
        SyntheticConfig::default().durations
    }
}

impl Default for SuccessProbabilities {
    /// The success probabilities of [`SyntheticConfig::default`].
    fn default() -> Self {
        SyntheticConfig::default().success
    }
}

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

fn check_count(field: &str, value: u32, lo: u32, hi: u32) -> Result<(), EnvError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(EnvError::invalid(field, format!("must be in {lo}..={hi}, got {value}")))
    }
}

/// Largest step cost, submit reward or aliasing accepted: rewards far beyond this scale only overflow the
/// solver's and learners' sums (the defaults are 0.1 and 10).
pub const MAX_REWARD_SCALE: f64 = 1e6;

fn check_nonneg(field: &str, value: f64) -> Result<(), EnvError> {
    if value.is_finite() && (0.0..=MAX_REWARD_SCALE).contains(&value) {
        Ok(())
    } else {
        Err(EnvError::invalid(field, format!("must be finite, in [0, {MAX_REWARD_SCALE:e}], got {value:?}")))
    }
}

fn check_prob(field: &str, value: f64) -> Result<(), EnvError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(EnvError::invalid(field, format!("must be a probability in [0, 1], got {value}")))
    }
}

/// Validate a duration pmf and return it normalised to sum to exactly 1 (up to rounding).
fn check_pmf(field: &str, pmf: &[f64]) -> Result<Vec<f64>, EnvError> {
    if pmf.is_empty() || pmf.len() > MAX_DURATION {
        return Err(EnvError::invalid(
            field,
            format!("needs 1..={MAX_DURATION} entries (probabilities of tau = 1, 2, ...), got {}", pmf.len()),
        ));
    }
    for (k, &q) in pmf.iter().enumerate() {
        if !(q.is_finite() && (0.0..=1.0).contains(&q)) {
            return Err(EnvError::invalid(
                field,
                format!("entry {k} (tau = {}) must be a probability in [0, 1], got {q}", k + 1),
            ));
        }
    }
    let total: f64 = pmf.iter().sum();
    if (total - 1.0).abs() > PMF_TOL {
        return Err(EnvError::invalid(field, format!("probabilities must sum to 1 (within {PMF_TOL}), got {total}")));
    }
    Ok(pmf.iter().map(|q| q / total).collect())
}

impl SyntheticConfig {
    /// Check every field and the model size; on success, the checked [`Synthetic`].
    ///
    /// Errors: [`EnvError::InvalidConfig`] naming the first offending field (dotted as in TOML), or
    /// [`EnvError::TooLarge`] when the model would exceed [`MAX_PAIRS`] state-action pairs or [`MAX_OUTCOMES`]
    /// outcomes.
    pub fn validate(&self) -> Result<Synthetic, EnvError> {
        let c = self;
        check_count("agents", c.agents, 2, MAX_AGENTS)?;
        if c.components < c.agents {
            return Err(EnvError::invalid(
                "components",
                format!("must be at least agents = {} (every agent owns a component), got {}", c.agents, c.components),
            ));
        }
        check_count("levels", c.levels, 2, MAX_LEVELS)?;
        check_count("private_states", c.private_states, 1, MAX_PRIVATE_STATES)?;
        if !(c.discount.is_finite() && (0.0..1.0).contains(&c.discount)) {
            return Err(EnvError::invalid("discount", format!("gamma must be in [0, 1), got {}", c.discount)));
        }
        check_nonneg("step_cost", c.step_cost)?;
        check_nonneg("submit_reward", c.submit_reward)?;
        let low_pmf = check_pmf("durations.low", &c.durations.low)?;
        let high_pmf = check_pmf("durations.high", &c.durations.high)?;
        check_prob("success.low", c.success.low)?;
        check_prob("success.high_focused", c.success.high_focused)?;
        check_prob("success.high_busy", c.success.high_busy)?;
        check_nonneg("aliasing", c.aliasing)?;
        if c.start_agent >= c.agents {
            return Err(EnvError::invalid(
                "start_agent",
                format!("must be in 0..{} (an agent), got {}", c.agents, c.start_agent),
            ));
        }

        // Size, with saturating arithmetic so that absurd configurations are reported, not overflowed.
        let n = c.agents as u128;
        let nb: u128 = if c.aliasing > 0.0 { 2 } else { 1 };
        let p = u128::from(c.private_states);
        let states =
            u128::from(c.levels).saturating_pow(c.components).saturating_mul(n).saturating_mul(p).saturating_mul(nb);
        let actions = 2 * (n - 1) + 1;
        let pairs = states.saturating_mul(actions);
        if pairs > u128::from(MAX_PAIRS) {
            return Err(EnvError::TooLarge {
                what: "state-action pairs".into(),
                count: pairs,
                limit: MAX_PAIRS,
                reduce: "`components`, `levels`, `agents` or `private_states`, or set `aliasing` = 0 \
                         (a positive aliasing doubles the states)"
                    .into(),
            });
        }
        let nnz = |pmf: &[f64]| pmf.iter().filter(|&&q| q > 0.0).count() as u128;
        // Before merging: per state, (n-1) targets x 2 success branches x P receiver states x durations, + submit.
        let per_state = (n - 1) * 2 * p * (nnz(&low_pmf) + nnz(&high_pmf)) + 1;
        let outcomes = states.saturating_mul(per_state);
        if outcomes > u128::from(MAX_OUTCOMES) {
            return Err(EnvError::TooLarge {
                what: "outcomes".into(),
                count: outcomes,
                limit: MAX_OUTCOMES,
                reduce: "the number of positive entries of `durations.low` and `durations.high`, or \
                         `private_states`, `components`, `levels` or `agents`"
                    .into(),
            });
        }

        let (n, l, k, p, nb) =
            (c.agents as usize, c.components as usize, c.levels as usize, c.private_states as usize, nb as usize);
        let pow_k: Vec<usize> = (0..l).map(|comp| k.pow(comp as u32)).collect();
        let own: Vec<Vec<usize>> = (0..n).map(|i| (0..l).filter(|comp| comp % n == i).collect()).collect();
        let seen: Vec<Vec<usize>> = (0..n).map(|i| (0..l).filter(|comp| comp % n != i).collect()).collect();
        let own_weight = own.iter().map(|cs| cs.iter().map(|&comp| pow_k[comp]).sum()).collect();
        let n_obs = seen.iter().map(|cs| (k.pow(cs.len() as u32) * p) as u32).collect();
        let high_success = (0..p)
            .map(|q| {
                if p == 1 {
                    c.success.high_focused
                } else {
                    let t = q as f64 / (p - 1) as f64;
                    c.success.high_busy + t * (c.success.high_focused - c.success.high_busy)
                }
            })
            .collect();
        let gamma = c.discount;
        let work_of = |pmf: &[f64]| -> Vec<(u32, f64, f64)> {
            let mut discounted = 0.0; // sum_{u<tau} gamma^u, accumulated
            let mut g = 1.0;
            let mut out = Vec::new();
            for (idx, &q) in pmf.iter().enumerate() {
                discounted += g;
                g *= gamma;
                if q > 0.0 {
                    out.push((idx as u32 + 1, q, -c.step_cost * discounted));
                }
            }
            out
        };
        let n_states = states as usize;
        Ok(Synthetic {
            config: c.clone(),
            n,
            l,
            k,
            p,
            nb,
            pow_k,
            own,
            seen,
            own_weight,
            n_obs,
            n_states,
            n_pairs: pairs as usize,
            high_success,
            work: [work_of(&low_pmf), work_of(&high_pmf)],
        })
    }
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

    /// Number of quality levels `K` per component.
    pub fn n_levels(&self) -> u32 {
        self.k as u32
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
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use baton_core::{check_env, CheckOptions, FiniteEnv};
    use proptest::prelude::*;

    use super::*;

    /// The per-agent kernel (an agent holding the artifact and its own private state, the receiver drawing
    /// its own private state) samples the joint model's outcome distribution, pair by pair.
    #[test]
    fn per_agent_option_samples_the_joint_kernel() {
        let (syn, model) = default_model();
        let mut rng = baton_core::rng::stream(7, baton_core::rng::Stream::Other(0));
        let draws = 40_000;
        // A spread of states (every holder, both private states, several artifacts), every action.
        for s in (0..model.n_states() as u32).step_by(37) {
            let state = syn.decode_state(s);
            for p in model.pairs(s) {
                let action = model.pair_action(p);
                let mut counts: HashMap<(u32, u32), u32> = HashMap::new();
                for _ in 0..draws {
                    let mut levels = state.levels.clone();
                    let step = syn.run_option(state.holder, &mut levels, state.private, action, &mut rng).unwrap();
                    let next = match step.next {
                        None => TERMINAL,
                        Some(j) => {
                            let private = syn.draw_private(&mut rng);
                            let next_state = SyntheticState { levels, holder: j, private, bit: None };
                            assert_eq!(
                                syn.agent_observation(j, &next_state.levels, private).unwrap(),
                                syn.observation(&next_state)
                            );
                            syn.state_index(&next_state).unwrap()
                        }
                    };
                    let expected_reward = model
                        .outcomes(p)
                        .iter()
                        .find(|o| o.next == next && o.duration == step.duration)
                        .map(|o| o.reward)
                        .unwrap_or_else(|| panic!("state {s} action {}: outcome not in the model", action.0));
                    assert!((expected_reward - step.reward).abs() < 1e-12);
                    *counts.entry((next, step.duration)).or_insert(0) += 1;
                }
                for o in model.outcomes(p) {
                    let freq = f64::from(counts.get(&(o.next, o.duration)).copied().unwrap_or(0)) / draws as f64;
                    // 5 standard errors of a binomial frequency at 40,000 draws is at most 0.0125.
                    assert!((freq - o.prob).abs() < 0.0125, "state {s} action {}: {freq} vs {}", action.0, o.prob);
                }
            }
        }
    }

    #[test]
    fn per_agent_api_rejects_bad_artifacts_and_the_hidden_bit() {
        let (syn, _) = default_model();
        let mut rng = baton_core::rng::stream(1, baton_core::rng::Stream::Other(0));
        let err = syn.run_option(AgentId(0), &mut [0, 9, 0], 0, ActionId(0), &mut rng).unwrap_err();
        assert!(err.to_string().contains("component 1 has level 9"), "{err}");
        let err = syn.agent_observation(AgentId(0), &[0, 0], 0).unwrap_err();
        assert!(err.to_string().contains("expected 3 components"), "{err}");
        assert!(syn.run_option(AgentId(3), &mut [0, 0, 0], 0, ActionId(0), &mut rng).is_err());
        assert!(syn.run_option(AgentId(0), &mut [0, 0, 0], 0, ActionId(5), &mut rng).is_err());
        let aliased = SyntheticConfig { aliasing: 1.0, ..SyntheticConfig::default() }.validate().unwrap();
        assert!(aliased.agent_observation(AgentId(0), &[0, 0, 0], 0).is_err());
    }

    fn default_model() -> (Synthetic, FiniteModel) {
        let syn = SyntheticConfig::default().validate().expect("default config is valid");
        let model = syn.build_model().expect("default model builds");
        (syn, model)
    }

    fn parse(text: &str) -> Result<SyntheticConfig, String> {
        toml::from_str::<SyntheticConfig>(text).map_err(|e| e.to_string())
    }

    fn invalid_field(cfg: &SyntheticConfig) -> String {
        match cfg.validate() {
            Err(EnvError::InvalidConfig { field, reason }) => {
                let msg = EnvError::invalid(field.clone(), reason).to_string();
                assert!(msg.contains(&field), "message {msg:?} does not name {field}");
                field
            }
            Err(e) => panic!("expected InvalidConfig, got {e}"),
            Ok(_) => panic!("expected InvalidConfig, got a valid config"),
        }
    }

    fn assert_probabilities_sum_to_one(model: &FiniteModel) {
        for p in 0..model.n_pairs() {
            let outs = model.outcomes(p);
            assert!(!outs.is_empty());
            let total: f64 = outs.iter().map(|o| o.prob).sum();
            assert!((total - 1.0).abs() < 1e-12, "pair {p} sums to {total}");
            assert!(outs.iter().all(|o| o.prob > 0.0 && o.duration >= 1 && o.reward.is_finite()));
        }
        let total: f64 = model.initial().iter().map(|&(_, q)| q).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    fn expected_counts(cfg: &SyntheticConfig) -> (usize, usize) {
        let nb = if cfg.aliasing > 0.0 { 2 } else { 1 };
        let states = (cfg.levels as usize).pow(cfg.components) * cfg.agents as usize * cfg.private_states as usize * nb;
        (states, states * (2 * cfg.agents as usize - 1))
    }

    /// Within every class of states sharing (holder, observation), for every action: the largest difference
    /// of expected rewards and the largest L1 difference of the discounted next-observation measures
    /// `M(o'|s,a) = sum K(s',tau|s,a) gamma^tau 1{(h(s'), sigma(s')) = o'}` (termination as its own key).
    /// Both zero means `eps_IF = delta_IF = 0` for any behaviour distribution.
    fn interface_discrepancy(model: &FiniteModel) -> (f64, f64) {
        type Measure = BTreeMap<Option<(u16, u32)>, f64>;
        let gamma = model.discount();
        let mut first: HashMap<(u16, u32, u16), (f64, Measure)> = HashMap::new();
        let (mut eps, mut delta) = (0.0f64, 0.0f64);
        for s in 0..model.n_states() as u32 {
            for p in model.pairs(s) {
                let mut m = Measure::new();
                for o in model.outcomes(p) {
                    let key = (o.next != TERMINAL).then(|| (model.holder(o.next).0, model.obs(o.next).0));
                    *m.entry(key).or_insert(0.0) += o.prob * gamma.powi(o.duration as i32);
                }
                let r = model.expected_reward(p);
                let key = (model.holder(s).0, model.obs(s).0, model.pair_action(p).0);
                match first.get(&key) {
                    None => {
                        first.insert(key, (r, m));
                    }
                    Some((r0, m0)) => {
                        eps = eps.max((r - r0).abs());
                        let keys: BTreeSet<_> = m.keys().chain(m0.keys()).collect();
                        let l1: f64 = keys
                            .into_iter()
                            .map(|k| (m.get(k).copied().unwrap_or(0.0) - m0.get(k).copied().unwrap_or(0.0)).abs())
                            .sum();
                        delta = delta.max(l1);
                    }
                }
            }
        }
        (eps, delta)
    }

    #[test]
    fn the_default_config_builds_with_the_formula_counts() {
        let cfg = SyntheticConfig::default();
        let (syn, model) = default_model();
        let (states, pairs) = expected_counts(&cfg);
        assert_eq!((states, pairs), (384, 1920));
        assert_eq!(syn.n_states(), states);
        assert_eq!(syn.n_pairs(), pairs);
        assert_eq!(model.n_states(), states);
        assert_eq!(model.n_pairs(), pairs);
        assert_eq!(syn.obs_counts(), &[32, 32, 32]);
        assert_eq!(model.spec().id, "synthetic-v0");
        assert_eq!(model.spec().agents[0].action_names, ["low->1", "high->1", "low->2", "high->2", "submit"]);
        assert_eq!(model.spec().agents[1].action_names, ["low->0", "high->0", "low->2", "high->2", "submit"]);
        assert_eq!(model.state_label(0), "x=[0,0,0] h=0 p=busy");
        assert!(syn.describe().contains("384 states"), "{}", syn.describe());
        assert!(syn.describe().contains("1920 state-action pairs"), "{}", syn.describe());
    }

    #[test]
    fn every_outcome_list_of_the_default_model_sums_to_one() {
        let (_, model) = default_model();
        assert_probabilities_sum_to_one(&model);
    }

    #[test]
    fn the_default_model_passes_check_env() {
        let (_, model) = default_model();
        check_env(|| FiniteEnv::new(&model), CheckOptions::default()).expect("check_env passes");
    }

    #[test]
    fn the_start_distribution_is_all_zero_levels_at_the_start_agent_with_uniform_private_state() {
        let cfg = SyntheticConfig { start_agent: 2, aliasing: 1.0, ..SyntheticConfig::default() };
        let syn = cfg.validate().expect("valid");
        let model = syn.build_model().expect("builds");
        assert_eq!(model.initial().len(), 4);
        for &(s, q) in model.initial() {
            let st = syn.decode_state(s);
            assert_eq!(st.levels, [0, 0, 0]);
            assert_eq!(st.holder, AgentId(2));
            assert!((q - 0.25).abs() < 1e-15);
        }
    }

    #[test]
    fn state_indices_labels_and_observations_agree_with_the_model() {
        let syn =
            SyntheticConfig { aliasing: 0.5, components: 4, ..SyntheticConfig::default() }.validate().expect("valid");
        let model = syn.build_model().expect("builds");
        for s in 0..model.n_states() as u32 {
            let st = syn.decode_state(s);
            assert_eq!(syn.state_index(&st), Some(s));
            assert_eq!(model.holder(s), st.holder);
            assert_eq!(model.obs(s), syn.observation(&st));
            assert_eq!(model.state_label(s), syn.state_label(&st));
        }
        let st = SyntheticState { levels: vec![1, 3, 0, 2], holder: AgentId(1), private: 1, bit: Some(0) };
        assert_eq!(syn.state_label(&st), "x=[1,3,0,2] h=1 p=focused b=0");
        assert_eq!(syn.state_index(&SyntheticState { bit: None, ..st.clone() }), None);
        assert_eq!(syn.state_index(&SyntheticState { private: 2, ..st }), None);
    }

    #[test]
    fn actions_encode_and_decode_consistently() {
        let syn = SyntheticConfig { agents: 4, components: 4, ..SyntheticConfig::default() }.validate().expect("valid");
        for i in 0..4u16 {
            for a in 0..syn.n_actions() {
                let act = syn.decode_action(AgentId(i), ActionId(a)).expect("in range");
                assert_eq!(syn.action_id(AgentId(i), act), Some(ActionId(a)));
                if let SyntheticAction::Work { target, .. } = act {
                    assert_ne!(target, AgentId(i));
                }
            }
            assert_eq!(syn.decode_action(AgentId(i), ActionId(syn.n_actions())), None);
            let to_self = SyntheticAction::Work { effort: Effort::Low, target: AgentId(i) };
            assert_eq!(syn.action_id(AgentId(i), to_self), None);
        }
    }

    #[test]
    fn an_observation_never_depends_on_own_components_other_private_states_or_the_hidden_bit() {
        let syn = SyntheticConfig {
            agents: 3,
            components: 5,
            levels: 3,
            private_states: 3,
            aliasing: 1.0,
            ..SyntheticConfig::default()
        }
        .validate()
        .expect("valid");
        let model = syn.build_model().expect("builds");
        // A full model.md section 1 joint state (x, p_1..p_n, h, b) projects to the model's state, which keeps only
        // the holder's private state (the others are redrawn at receipt). Vary everything the holder must not
        // see: its own components (0 and 3 for agent 0), the other agents' private states, and b.
        let observe = |x: &[u32], privates: &[u32], h: u16, b: u8| {
            let st =
                SyntheticState { levels: x.to_vec(), holder: AgentId(h), private: privates[h as usize], bit: Some(b) };
            let s = syn.state_index(&st).expect("in range");
            assert_eq!(model.obs(s), syn.observation(&st));
            model.obs(s)
        };
        let base = observe(&[0, 1, 2, 0, 1], &[2, 0, 1], 0, 0);
        assert_eq!(base, observe(&[2, 1, 2, 1, 1], &[2, 0, 1], 0, 0), "own components leak");
        assert_eq!(base, observe(&[0, 1, 2, 0, 1], &[2, 2, 0], 0, 0), "other private states leak");
        assert_eq!(base, observe(&[0, 1, 2, 0, 1], &[2, 0, 1], 0, 1), "hidden bit leaks");
        assert_eq!(base, observe(&[1, 1, 2, 2, 1], &[2, 1, 2], 0, 1), "a combination leaks");
        // And it does see what it should: another agent's component and its own private state.
        assert_ne!(base, observe(&[0, 2, 2, 0, 1], &[2, 0, 1], 0, 0));
        assert_ne!(base, observe(&[0, 1, 2, 0, 1], &[1, 0, 1], 0, 0));

        // Exhaustively: within one holder, the observation is exactly (components not owned, private state).
        let mut seen: HashMap<(AgentId, ObsId), (Vec<u32>, u32)> = HashMap::new();
        for s in 0..model.n_states() as u32 {
            let st = syn.decode_state(s);
            let visible: Vec<u32> =
                (0..st.levels.len()).filter(|&c| syn.owner(c) != st.holder).map(|c| st.levels[c]).collect();
            let key = (st.holder, model.obs(s));
            let value = (visible, st.private);
            let prev = seen.entry(key).or_insert_with(|| value.clone());
            assert_eq!(*prev, value, "observation {key:?} merges different views");
        }
        let n_obs: usize = syn.obs_counts().iter().map(|&o| o as usize).sum();
        assert_eq!(seen.len(), n_obs, "every observation occurs");
    }

    #[test]
    fn the_receivers_observation_does_not_reveal_the_senders_private_state() {
        // After a low-effort handoff (whose success does not depend on the private state), the receiver's
        // observation has the same distribution whatever the sender's private state was.
        let syn = SyntheticConfig { private_states: 3, ..SyntheticConfig::default() }.validate().expect("valid");
        let model = syn.build_model().expect("builds");
        let dist = |s: u32, a: ActionId| {
            let p = model.pair_of(s, a).expect("legal");
            let mut d: BTreeMap<(u16, u32, u32), f64> = BTreeMap::new();
            for o in model.outcomes(p) {
                *d.entry((model.holder(o.next).0, model.obs(o.next).0, o.duration)).or_insert(0.0) += o.prob;
            }
            d.into_iter().collect::<Vec<_>>()
        };
        for s in 0..model.n_states() as u32 {
            let st = syn.decode_state(s);
            if st.private == 0 {
                continue;
            }
            let s0 = syn.state_index(&SyntheticState { private: 0, ..st.clone() }).expect("in range");
            for a in 0..syn.n_actions() {
                if let Some(SyntheticAction::Work { effort: Effort::Low, .. }) =
                    syn.decode_action(st.holder, ActionId(a))
                {
                    let (d, d0) = (dist(s, ActionId(a)), dist(s0, ActionId(a)));
                    assert_eq!(d.len(), d0.len());
                    for (x, y) in d.iter().zip(&d0) {
                        assert_eq!(x.0, y.0);
                        assert!((x.1 - y.1).abs() < 1e-15);
                    }
                }
            }
        }
    }

    #[test]
    fn the_interface_gap_is_exactly_zero_without_aliasing() {
        for cfg in [
            SyntheticConfig::default(),
            SyntheticConfig { agents: 3, components: 5, levels: 3, private_states: 3, ..SyntheticConfig::default() },
            SyntheticConfig {
                agents: 2,
                components: 4,
                private_states: 1,
                durations: DurationPmfs { low: vec![0.2, 0.3, 0.5], high: vec![0.0, 0.0, 0.25, 0.75] },
                ..SyntheticConfig::default()
            },
        ] {
            let model = cfg.validate().expect("valid").build_model().expect("builds");
            let (eps, delta) = interface_discrepancy(&model);
            assert!(eps < 1e-12 && delta < 1e-12, "eps {eps} delta {delta} for {cfg:?}");
        }
    }

    #[test]
    fn aliasing_doubles_the_states_and_shifts_only_submit_rewards_by_lambda() {
        let lambda = 0.7;
        let cfg = SyntheticConfig { aliasing: lambda, ..SyntheticConfig::default() };
        let syn = cfg.validate().expect("valid");
        let model = syn.build_model().expect("builds");
        assert_eq!(model.n_states(), 2 * 384);
        assert_eq!(model.n_pairs(), 2 * 1920);
        assert_eq!(expected_counts(&cfg), (768, 3840));
        assert_probabilities_sum_to_one(&model);
        let mut checked = 0;
        for s in 0..model.n_states() as u32 {
            let st = syn.decode_state(s);
            if st.bit != Some(0) {
                continue;
            }
            let s1 = syn.state_index(&SyntheticState { bit: Some(1), ..st.clone() }).expect("in range");
            assert_eq!(model.obs(s), model.obs(s1));
            let submit = syn.action_id(st.holder, SyntheticAction::Submit).expect("submit");
            let r0 = model.expected_reward(model.pair_of(s, submit).expect("legal"));
            let r1 = model.expected_reward(model.pair_of(s1, submit).expect("legal"));
            assert!((r1 - r0 - lambda).abs() < 1e-12, "r1 - r0 = {}", r1 - r0);
            checked += 1;
        }
        assert_eq!(checked, 384);
        // Observable transitions stay identical; only rewards within an observation class differ, by lambda.
        let (eps, delta) = interface_discrepancy(&model);
        assert!((eps - lambda).abs() < 1e-12, "eps {eps}");
        assert!(delta < 1e-12, "delta {delta}");
    }

    #[test]
    fn work_and_submit_follow_the_dynamics() {
        let (syn, model) = default_model();
        let gamma: f64 = 0.95;
        // Agent 0 holds x = [3, 1, 2] focused; it sees max(1, 2) = 2.
        let st = SyntheticState { levels: vec![3, 1, 2], holder: AgentId(0), private: 1, bit: None };
        let s = syn.state_index(&st).expect("in range");
        let high_to_2 = syn
            .action_id(AgentId(0), SyntheticAction::Work { effort: Effort::High, target: AgentId(2) })
            .expect("action");
        let mut by_level: BTreeMap<u32, f64> = BTreeMap::new();
        for o in model.outcomes(model.pair_of(s, high_to_2).expect("legal")) {
            let next = syn.decode_state(o.next);
            assert_eq!(next.holder, AgentId(2));
            assert_eq!(&next.levels[1..], &[1, 2]);
            assert!(o.duration == 2 || o.duration == 3);
            let expect_r = -0.1 * (0..o.duration).map(|u| gamma.powi(u as i32)).sum::<f64>();
            assert!((o.reward - expect_r).abs() < 1e-12);
            *by_level.entry(next.levels[0]).or_insert(0.0) += o.prob;
        }
        // Success (0.9, focused): min(3, 2 + 2) = 3; failure: 2.
        assert_eq!(by_level.len(), 2);
        assert!((by_level[&3] - 0.9).abs() < 1e-12 && (by_level[&2] - 0.1).abs() < 1e-12);
        // SUBMIT: own component finalised to 2, mean level 5/3, reward -0.1 + 10 (5/9)^2.
        let submit = syn.action_id(AgentId(0), SyntheticAction::Submit).expect("submit");
        let outs = model.outcomes(model.pair_of(s, submit).expect("legal"));
        assert_eq!(outs.len(), 1);
        assert_eq!((outs[0].next, outs[0].duration), (TERMINAL, 1));
        let q = 5.0 / 9.0;
        assert!((outs[0].reward - (-0.1 + 10.0 * q * q)).abs() < 1e-12);
        // At the top level success and failure coincide and are merged: 2 durations x 2 receiver states.
        let top = SyntheticState { levels: vec![0, 3, 3], ..st };
        let s = syn.state_index(&top).expect("in range");
        assert_eq!(model.outcomes(model.pair_of(s, high_to_2).expect("legal")).len(), 4);
    }

    #[test]
    fn the_default_problem_is_not_trivial_the_optimal_action_depends_on_the_private_state() {
        let (syn, model) = default_model();
        let q = baton_solve::value_iteration(&model, 1e-10).expect("solves").q;
        let greedy = |s: u32| {
            let r = model.pairs(s);
            let best = r.clone().max_by(|&a, &b| q[a].total_cmp(&q[b])).expect("a pair");
            model.pair_action(best)
        };
        let (mut views, mut differ) = (0, 0);
        let mut efforts = BTreeSet::new();
        for s in 0..model.n_states() as u32 {
            let st = syn.decode_state(s);
            if let Some(SyntheticAction::Work { effort, .. }) = syn.decode_action(st.holder, greedy(s)) {
                efforts.insert(format!("{effort:?}"));
            }
            if st.private != 0 {
                continue;
            }
            let focused = SyntheticState { private: 1, ..st.clone() };
            let s1 = syn.state_index(&focused).expect("in range");
            views += 1;
            if greedy(s) != greedy(s1) {
                differ += 1;
            }
        }
        // Some (holder, view) situations call for a different action when busy than when focused, and both
        // efforts are used somewhere: private information matters and no effort is dominated.
        eprintln!("optimal action depends on the private state in {differ} of {views} (holder, view) states");
        assert!(differ > 0, "the optimal action never depends on the private state");
        assert_eq!(efforts.len(), 2, "only {efforts:?} is ever optimal");
    }

    #[test]
    fn high_effort_success_interpolates_over_private_states() {
        let syn = SyntheticConfig { private_states: 4, ..SyntheticConfig::default() }.validate().expect("valid");
        let expected = [0.2, 0.2 + 0.7 / 3.0, 0.2 + 1.4 / 3.0, 0.9];
        for (got, want) in syn.high_success.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12);
        }
        assert_eq!(syn.private_state_name(0), "busy");
        assert_eq!(syn.private_state_name(1), "mid1");
        assert_eq!(syn.private_state_name(3), "focused");
    }

    #[test]
    fn an_empty_toml_is_the_default_and_the_default_round_trips() {
        assert_eq!(parse("").expect("parses"), SyntheticConfig::default());
        let text = toml::to_string(&SyntheticConfig::default()).expect("serialises");
        assert_eq!(parse(&text).expect("parses"), SyntheticConfig::default());
        let partial = parse("agents = 4\ncomponents = 4\n[durations]\nlow = [1.0]\n").expect("parses");
        assert_eq!(partial.durations.high, vec![0.0, 0.5, 0.5]);
        assert_eq!(partial.durations.low, vec![1.0]);
        assert!(partial.validate().is_ok());
    }

    #[test]
    fn parsing_toml_with_an_unknown_field_fails_naming_the_field() {
        let err = parse("agents = 3\nagnets = 2\n").expect_err("unknown field");
        assert!(err.contains("agnets"), "{err}");
        let err = parse("[durations]\nmedium = [1.0]\n").expect_err("unknown nested field");
        assert!(err.contains("medium"), "{err}");
        let err = parse("[success]\nhigh = 0.5\n").expect_err("unknown nested field");
        assert!(err.contains("high"), "{err}");
    }

    #[test]
    fn a_discount_of_one_fails_naming_discount() {
        let cfg = parse("discount = 1.0").expect("parses");
        assert_eq!(invalid_field(&cfg), "discount");
        let cfg = SyntheticConfig { discount: -0.1, ..SyntheticConfig::default() };
        assert_eq!(invalid_field(&cfg), "discount");
    }

    #[test]
    fn durations_not_summing_to_one_fail_naming_the_pmf() {
        let cfg = parse("[durations]\nlow = [0.5, 0.4]\n").expect("parses");
        assert_eq!(invalid_field(&cfg), "durations.low");
        let msg = cfg.validate().expect_err("invalid").to_string();
        assert!(msg.contains("durations.low") && msg.contains("sum to 1"), "{msg}");
        let cfg = parse("[durations]\nhigh = [1.5, -0.5]\n").expect("parses");
        assert_eq!(invalid_field(&cfg), "durations.high");
        let cfg = parse("[durations]\nhigh = []\n").expect("parses");
        assert_eq!(invalid_field(&cfg), "durations.high");
        // Within tolerance is accepted.
        let cfg = parse("[durations]\nlow = [0.7, 0.3000000000001]\n").expect("parses");
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn zero_or_eleven_agents_fail_naming_agents() {
        for text in ["agents = 0", "agents = 1", "agents = 11\ncomponents = 11"] {
            let cfg = parse(text).expect("parses");
            assert_eq!(invalid_field(&cfg), "agents", "{text}");
        }
        assert!(parse("agents = -1").is_err());
    }

    #[test]
    fn other_out_of_range_values_fail_naming_their_field() {
        let d = SyntheticConfig::default;
        let cases = [
            (SyntheticConfig { components: 2, ..d() }, "components"),
            (SyntheticConfig { levels: 1, ..d() }, "levels"),
            (SyntheticConfig { levels: 9, ..d() }, "levels"),
            (SyntheticConfig { private_states: 0, ..d() }, "private_states"),
            (SyntheticConfig { private_states: 5, ..d() }, "private_states"),
            (SyntheticConfig { step_cost: -1.0, ..d() }, "step_cost"),
            (SyntheticConfig { submit_reward: f64::NAN, ..d() }, "submit_reward"),
            (SyntheticConfig { aliasing: -0.5, ..d() }, "aliasing"),
            (SyntheticConfig { start_agent: 3, ..d() }, "start_agent"),
            (
                SyntheticConfig {
                    success: SuccessProbabilities { low: 1.2, ..SuccessProbabilities::default() },
                    ..d()
                },
                "success.low",
            ),
            (
                SyntheticConfig {
                    success: SuccessProbabilities { high_busy: -0.1, ..SuccessProbabilities::default() },
                    ..d()
                },
                "success.high_busy",
            ),
            (
                SyntheticConfig {
                    success: SuccessProbabilities { high_focused: f64::INFINITY, ..SuccessProbabilities::default() },
                    ..d()
                },
                "success.high_focused",
            ),
        ];
        for (cfg, field) in cases {
            assert_eq!(invalid_field(&cfg), field);
        }
    }

    #[test]
    fn a_huge_config_fails_with_too_large() {
        let cfg = parse("agents = 10\ncomponents = 40\nlevels = 8\nprivate_states = 4").expect("parses");
        match cfg.validate() {
            Err(e @ EnvError::TooLarge { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("components") && msg.contains("levels"), "{msg}");
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // Just over the pair limit: 8^6 * 3 * 2 * 5 = 7,864,320 pairs.
        let cfg = SyntheticConfig { components: 6, levels: 8, ..SyntheticConfig::default() };
        assert!(matches!(cfg.validate(), Err(EnvError::TooLarge { .. })));
        // Within the pair limit but with long duration pmfs: too many outcomes.
        let long: Vec<f64> = vec![1.0 / 64.0; 64];
        let cfg = SyntheticConfig {
            components: 5,
            levels: 8,
            durations: DurationPmfs { low: long.clone(), high: long },
            ..SyntheticConfig::default()
        };
        match cfg.validate() {
            Err(EnvError::TooLarge { what, reduce, .. }) => {
                assert_eq!(what, "outcomes");
                assert!(reduce.contains("durations.low"));
            }
            other => panic!("expected TooLarge outcomes, got {other:?}"),
        }
    }

    fn pmf_strategy() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(0.0f64..1.0, 1..=4).prop_map(|w| {
            let total: f64 = w.iter().sum();
            if total <= 1e-6 {
                let mut v = vec![0.0; w.len()];
                v[0] = 1.0;
                v
            } else {
                w.iter().map(|x| x / total).collect()
            }
        })
    }

    fn config_strategy() -> impl Strategy<Value = SyntheticConfig> {
        (2u32..=4, 0u32..=1, 2u32..=4, 1u32..=3)
            .prop_flat_map(|(agents, extra, levels, private_states)| {
                (
                    Just((agents, agents + extra, levels, private_states)),
                    0.0f64..0.99,
                    0.0f64..1.0,
                    0.0f64..20.0,
                    (pmf_strategy(), pmf_strategy()),
                    (0.0f64..=1.0, 0.0f64..=1.0, 0.0f64..=1.0),
                    prop_oneof![Just(0.0), 0.0f64..2.0],
                    0..agents,
                )
            })
            .prop_map(
                |(
                    (agents, components, levels, private_states),
                    discount,
                    step_cost,
                    submit_reward,
                    (low, high),
                    (sl, shf, shb),
                    aliasing,
                    start_agent,
                )| {
                    SyntheticConfig {
                        agents,
                        components,
                        levels,
                        private_states,
                        discount,
                        step_cost,
                        submit_reward,
                        durations: DurationPmfs { low, high },
                        success: SuccessProbabilities { low: sl, high_focused: shf, high_busy: shb },
                        aliasing,
                        start_agent,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn random_small_valid_configs_build_with_probabilities_summing_to_one(cfg in config_strategy()) {
            let syn = cfg.validate().expect("a small config is valid");
            let model = syn.build_model().expect("builds");
            let (states, pairs) = expected_counts(&cfg);
            prop_assert_eq!(model.n_states(), states);
            prop_assert_eq!(model.n_pairs(), pairs);
            assert_probabilities_sum_to_one(&model);
            if cfg.aliasing == 0.0 {
                let (eps, delta) = interface_discrepancy(&model);
                prop_assert!(eps < 1e-9 && delta < 1e-12, "eps {} delta {}", eps, delta);
            }
        }
    }

    #[test]
    fn the_round_robin_pipeline_depends_only_on_the_holders_observation() {
        let syn = SyntheticConfig::default().validate().unwrap();
        let mut chosen: std::collections::HashMap<(AgentId, ObsId), SyntheticAction> = Default::default();
        for s in 0..syn.n_states() as u32 {
            let state = syn.decode_state(s);
            let key = (state.holder, syn.observation(&state));
            let a = syn.round_robin_action(&state);
            assert_eq!(*chosen.entry(key).or_insert(a), a, "state {s}: {}", syn.state_label(&state));
            assert!(syn.action_id(state.holder, a).is_some());
        }
    }
}
