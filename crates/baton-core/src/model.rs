//! [`FiniteModel`]: an explicit finite IC-SMDP.
//!
//! States are numbered `0..n_states`. Each state names its holder `h(s)` and the holder's observation
//! `sigma(s)`. The pairs of a state are its holder's legal actions at `sigma(s)`, numbered globally
//! `0..n_pairs` (state-major, actions in increasing order). Each pair has a finite list of [`Outcome`]s:
//! a probability, the next state (or [`TERMINAL`]), the duration `tau` and the discounted option reward `R`.
//! Terminal outcomes reset to `nu_0` in the behaviour chain.
//!
//! The same model is simulated by [`FiniteEnv`] and solved exactly by `baton-solve`.

use rand::Rng as _;

use crate::env::JointState;
use crate::episode::{EpisodeEnv, Episodic, Step};
use crate::error::CoreError;
use crate::ids::{ActionId, AgentId, ArtifactId, ObsId};
use crate::rng::Rng;
use crate::spec::{AgentSpec, EnvSpec, Legal};

/// Next-state marker for an outcome that ends the episode.
pub const TERMINAL: u32 = u32::MAX;

/// One possible result of running an option.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Probability of this outcome given the pair.
    pub prob: f64,
    /// The next joint state, or [`TERMINAL`].
    pub next: u32,
    /// Duration `tau >= 1` in primitive steps.
    pub duration: u32,
    /// Discounted option reward `R = sum_{u<tau} gamma^u r_u`.
    pub reward: f64,
}

/// An explicit finite IC-SMDP. Build with [`ModelBuilder`]; the result is validated.
#[derive(Clone, Debug)]
pub struct FiniteModel {
    spec: EnvSpec,
    /// Per state: holder, observation and pair range, in one record so a step touches one cache line.
    states: Vec<StateRow>,
    /// Per pair: action and outcome range.
    pair_rows: Vec<PairRow>,
    /// Per pair: the action (kept apart too, for slices of a state's actions).
    pair_action: Vec<ActionId>,
    outcomes: Vec<Outcome>,
    /// Cumulative probabilities of `outcomes` within each pair (last is 1), for sampling.
    cumulative: Vec<f64>,
    initial: Vec<(u32, f64)>,
    initial_cumulative: Vec<f64>,
    state_labels: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
struct StateRow {
    holder: AgentId,
    obs: ObsId,
    first_pair: u32,
    n_pairs: u32,
}

#[derive(Clone, Copy, Debug)]
struct PairRow {
    first_out: u32,
    n_out: u32,
}

/// Builds a [`FiniteModel`] state by state.
#[derive(Debug)]
pub struct ModelBuilder {
    spec: EnvSpec,
    holder: Vec<AgentId>,
    obs: Vec<ObsId>,
    /// Per state, per legal action (in order), the outcomes.
    outcomes: Vec<Vec<Vec<Outcome>>>,
    initial: Vec<(u32, f64)>,
    state_labels: Vec<String>,
}

const PROB_TOL: f64 = 1e-9;

impl ModelBuilder {
    /// Start a model with the given agent interfaces and discount.
    pub fn new(spec: EnvSpec) -> Self {
        ModelBuilder {
            spec,
            holder: Vec::new(),
            obs: Vec::new(),
            outcomes: Vec::new(),
            initial: Vec::new(),
            state_labels: Vec::new(),
        }
    }

    /// Add a state held by `holder`, who observes `obs` there. Returns its index.
    /// Its outcomes are set with [`ModelBuilder::set_outcomes`].
    pub fn add_state(&mut self, holder: AgentId, obs: ObsId, label: impl Into<String>) -> u32 {
        let s = self.holder.len() as u32;
        self.holder.push(holder);
        self.obs.push(obs);
        self.outcomes.push(Vec::new());
        self.state_labels.push(label.into());
        s
    }

    /// Set the outcomes of every legal action of state `s`, one list per legal action in increasing order.
    pub fn set_outcomes(&mut self, s: u32, per_action: Vec<Vec<Outcome>>) {
        self.outcomes[s as usize] = per_action;
    }

    /// Set the start distribution `nu_0` as (state, probability) pairs.
    pub fn set_initial(&mut self, initial: Vec<(u32, f64)>) {
        self.initial = initial;
    }

    /// Validate and freeze. Errors name the state, action and reason.
    pub fn build(self) -> Result<FiniteModel, CoreError> {
        self.spec.validate()?;
        if self.spec.discount >= 1.0 {
            // The exact solvers contract with factor gamma_bar < 1; undiscounted models are not solved here.
            return Err(CoreError::invalid(
                "discount",
                format!("a finite model needs gamma < 1, got {}", self.spec.discount),
            ));
        }
        let n_states = self.holder.len();
        if n_states == 0 {
            return Err(CoreError::invalid("states", "the model has no states"));
        }
        let mut states = Vec::with_capacity(n_states);
        let mut pair_rows = Vec::new();
        let mut pair_action = Vec::new();
        let mut outcomes = Vec::new();
        let mut cumulative = Vec::new();
        for s in 0..n_states {
            let h = self.holder[s];
            let agent =
                self.spec.agents.get(h.index()).ok_or_else(|| {
                    CoreError::invalid(format!("state {s}"), format!("holder {} is not an agent", h.0))
                })?;
            let o = self.obs[s];
            if o.0 >= agent.n_obs {
                return Err(CoreError::invalid(
                    format!("state {s}"),
                    format!("observation {} out of range for agent {} ({} observations)", o.0, h.0, agent.n_obs),
                ));
            }
            let legal = agent.legal.of(o);
            let per_action = &self.outcomes[s];
            if per_action.len() != legal.len() {
                return Err(CoreError::invalid(
                    format!("state {s} ({})", self.state_labels[s]),
                    format!("{} outcome lists for {} legal actions", per_action.len(), legal.len()),
                ));
            }
            for (k, outs) in per_action.iter().enumerate() {
                let what =
                    || format!("state {s} ({}), action {}", self.state_labels[s], agent.action_names[legal[k].index()]);
                if outs.is_empty() {
                    return Err(CoreError::invalid(what(), "no outcomes"));
                }
                let mut total = 0.0;
                for out in outs {
                    if !(out.prob.is_finite() && out.prob >= 0.0) {
                        return Err(CoreError::invalid(what(), format!("probability {} is not in [0, 1]", out.prob)));
                    }
                    if !out.reward.is_finite() {
                        return Err(CoreError::invalid(what(), format!("reward {} is not finite", out.reward)));
                    }
                    if out.duration == 0 {
                        return Err(CoreError::invalid(what(), "duration must be at least 1"));
                    }
                    if out.next != TERMINAL && out.next as usize >= n_states {
                        return Err(CoreError::invalid(what(), format!("next state {} does not exist", out.next)));
                    }
                    total += out.prob;
                    outcomes.push(*out);
                    cumulative.push(total);
                }
                if (total - 1.0).abs() > PROB_TOL {
                    return Err(CoreError::invalid(what(), format!("outcome probabilities sum to {total}, not 1")));
                }
                if let Some(last) = cumulative.last_mut() {
                    *last = 1.0;
                }
                pair_action.push(legal[k]);
                let first_out = (outcomes.len() - outs.len()) as u32;
                pair_rows.push(PairRow { first_out, n_out: outs.len() as u32 });
            }
            let first_pair = (pair_action.len() - per_action.len()) as u32;
            states.push(StateRow { holder: h, obs: o, first_pair, n_pairs: per_action.len() as u32 });
        }
        let mut initial_cumulative = Vec::with_capacity(self.initial.len());
        let mut total = 0.0;
        for &(s, p) in &self.initial {
            if s as usize >= n_states {
                return Err(CoreError::invalid("initial distribution", format!("state {s} does not exist")));
            }
            if !(p.is_finite() && p >= 0.0) {
                return Err(CoreError::invalid("initial distribution", format!("probability {p} is not in [0, 1]")));
            }
            total += p;
            initial_cumulative.push(total);
        }
        if self.initial.is_empty() || (total - 1.0).abs() > PROB_TOL {
            return Err(CoreError::invalid("initial distribution", format!("probabilities sum to {total}, not 1")));
        }
        if let Some(last) = initial_cumulative.last_mut() {
            *last = 1.0;
        }
        Ok(FiniteModel {
            spec: self.spec,
            states,
            pair_rows,
            pair_action,
            outcomes,
            cumulative,
            initial: self.initial,
            initial_cumulative,
            state_labels: self.state_labels,
        })
    }
}

impl FiniteModel {
    /// The agents' interfaces and discount.
    pub fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    /// Discount factor gamma per primitive step.
    pub fn discount(&self) -> f64 {
        self.spec.discount
    }
    /// Number of joint states.
    pub fn n_states(&self) -> usize {
        self.states.len()
    }
    /// Number of (state, legal action) pairs.
    pub fn n_pairs(&self) -> usize {
        self.pair_action.len()
    }
    /// The holder `h(s)`.
    #[inline(always)]
    pub fn holder(&self, s: u32) -> AgentId {
        self.states[s as usize].holder
    }
    /// The holder's observation `sigma(s)`.
    #[inline(always)]
    pub fn obs(&self, s: u32) -> ObsId {
        self.states[s as usize].obs
    }
    /// A readable label of state `s`.
    pub fn state_label(&self, s: u32) -> &str {
        &self.state_labels[s as usize]
    }
    /// The global pair indices of state `s`.
    #[inline(always)]
    pub fn pairs(&self, s: u32) -> std::ops::Range<usize> {
        let row = self.states[s as usize];
        row.first_pair as usize..(row.first_pair + row.n_pairs) as usize
    }
    /// The action of pair `p`.
    #[inline(always)]
    pub fn pair_action(&self, p: usize) -> ActionId {
        self.pair_action[p]
    }
    /// The global pair index of (state, action), if the action is legal there.
    #[inline(always)]
    pub fn pair_of(&self, s: u32, a: ActionId) -> Option<usize> {
        let row = self.states[s as usize];
        let first = row.first_pair as usize;
        let actions = self.pair_action.get(first..first + row.n_pairs as usize)?;
        // Fast path: when every action is legal, the k-th pair of a state is action k.
        match actions.get(a.index()) {
            Some(&b) if b == a => Some(first + a.index()),
            _ => actions.binary_search(&a).ok().map(|k| first + k),
        }
    }
    /// The state each pair belongs to (`n_pairs` entries), computed on demand.
    pub fn pair_states(&self) -> Vec<u32> {
        let mut v = Vec::with_capacity(self.n_pairs());
        for s in 0..self.n_states() as u32 {
            v.extend(self.pairs(s).map(|_| s));
        }
        v
    }
    /// The outcomes of pair `p`.
    #[inline(always)]
    pub fn outcomes(&self, p: usize) -> &[Outcome] {
        let row = self.pair_rows[p];
        &self.outcomes[row.first_out as usize..(row.first_out + row.n_out) as usize]
    }
    /// Expected option reward `rbar(s, a)` of pair `p`.
    pub fn expected_reward(&self, p: usize) -> f64 {
        self.outcomes(p).iter().map(|o| o.prob * o.reward).sum()
    }
    /// `gamma_bar = max_{s,a} E[gamma^tau 1{s' not terminal} | s, a]`, the contraction factor of the SMDP
    /// Bellman operator: a terminal outcome carries no continuation value, so it does not count (counting it,
    /// as `max Gamma(s, a)` does, gives a looser factor that every model with a one-step terminal action
    /// pins at `gamma`).
    pub fn gamma_bar(&self) -> f64 {
        let g = self.discount();
        (0..self.n_pairs())
            .map(|p| {
                self.outcomes(p).iter().filter(|o| o.next != TERMINAL).map(|o| o.prob * g.powi(o.duration as i32)).sum()
            })
            .fold(0.0, f64::max)
    }
    /// The start distribution `nu_0`.
    pub fn initial(&self) -> &[(u32, f64)] {
        &self.initial
    }
    /// Longest duration of any outcome.
    pub fn max_duration(&self) -> u32 {
        self.outcomes.iter().map(|o| o.duration).max().unwrap_or(1)
    }

    /// Draw a start state from `nu_0`.
    #[inline(always)]
    pub fn sample_initial(&self, rng: &mut Rng) -> u32 {
        let u: f64 = rng.random();
        let k = self.initial_cumulative.partition_point(|&c| c <= u);
        self.initial[k.min(self.initial.len() - 1)].0
    }

    /// Draw an outcome of pair `p`.
    #[inline(always)]
    pub fn sample_outcome(&self, p: usize, rng: &mut Rng) -> &Outcome {
        let row = self.pair_rows[p];
        let lo = row.first_out as usize;
        let hi = lo + row.n_out as usize;
        let u: f64 = rng.random();
        // Branch-free: the outcome index is the number of cumulative probabilities at or below `u`
        // (the last cumulative is exactly 1 > u, so it is never counted). Outcome lists are short;
        // a counted comparison beats both bisection and an early-exit scan, whose branch is random.
        let k = self.cumulative[lo..hi - 1].iter().map(|&c| usize::from(c <= u)).sum::<usize>();
        &self.outcomes[lo + k]
    }

    /// The interface of a centralized learner that observes the joint state: one "agent" whose
    /// observations are the joint states and whose legal actions in `s` are the holder's legal actions.
    pub fn oracle_spec(&self) -> AgentSpec {
        let n_actions = self.spec.agents.iter().map(|a| a.n_actions).max().unwrap_or(1);
        let sets: Vec<Vec<ActionId>> =
            (0..self.n_states() as u32).map(|s| self.pair_action[self.pairs(s)].to_vec()).collect();
        let legal = Legal::per_obs(&sets, n_actions).unwrap_or_else(|_| Legal::all(n_actions));
        AgentSpec {
            name: "oracle".into(),
            n_obs: self.n_states() as u32,
            n_actions,
            legal,
            action_names: (0..n_actions).map(|a| format!("a{a}")).collect(),
        }
    }
}

/// Simulates a [`FiniteModel`] as a one-artifact episodic environment: the shared [`EpisodeEnv`] cycle around
/// [`FiniteEpisodes`].
pub type FiniteEnv<'m> = EpisodeEnv<FiniteEpisodes<'m>>;

impl<'m> FiniteEnv<'m> {
    /// A simulator of `model`, positioned before the first episode.
    pub fn new(model: &'m FiniteModel) -> Self {
        EpisodeEnv::from(FiniteEpisodes { model, state: TERMINAL })
    }
}

/// The [`Episodic`] part of [`FiniteEnv`]: the model and its current joint state.
#[derive(Clone, Debug)]
pub struct FiniteEpisodes<'m> {
    model: &'m FiniteModel,
    state: u32,
}

impl<'m> FiniteEpisodes<'m> {
    /// The model being simulated.
    pub fn model(&self) -> &'m FiniteModel {
        self.model
    }
    /// The current joint state ([`TERMINAL`] between episodes).
    pub fn state(&self) -> u32 {
        self.state
    }
}

impl Episodic for FiniteEpisodes<'_> {
    fn spec(&self) -> &EnvSpec {
        &self.model.spec
    }

    fn rewind(&mut self, _rng: &mut Rng) {
        self.state = TERMINAL;
    }

    #[inline(always)]
    fn begin(&mut self, rng: &mut Rng) {
        self.state = self.model.sample_initial(rng);
    }

    #[inline(always)]
    fn ended(&self) -> bool {
        self.state == TERMINAL
    }

    #[inline(always)]
    fn current(&self) -> (AgentId, ObsId) {
        (self.model.holder(self.state), self.model.obs(self.state))
    }

    #[inline(always)]
    fn step(&mut self, action: ActionId, rng: &mut Rng) -> Step {
        let s = self.state;
        let p =
            self.model.pair_of(s, action).unwrap_or_else(|| panic!("action {} is not legal in state {s}", action.0));
        let out = *self.model.sample_outcome(p, rng);
        self.state = out.next;
        Step { sender: self.model.holder(s), reward: out.reward, duration: out.duration }
    }
}

impl JointState for FiniteEpisodes<'_> {
    fn n_joint_states(&self) -> u32 {
        self.model.n_states() as u32
    }
    fn joint_state(&self, _artifact: ArtifactId) -> ObsId {
        ObsId(self.state)
    }
}
