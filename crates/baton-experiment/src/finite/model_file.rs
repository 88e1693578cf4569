//! The model file of `kind = "finite"` (TOML; the format is documented in docs/finite.md): parsed, checked
//! entry by entry with errors that name the file, the state and the action, and built into a
//! [`FiniteModel`].

use std::collections::{BTreeMap, HashMap};

use baton_core::{ActionId, AgentId, AgentSpec, EnvSpec, FiniteModel, Legal, ModelBuilder, ObsId, Outcome, TERMINAL};
use serde::Deserialize;

use crate::ExperimentError;

/// The id finite runs write to `summary.json`.
pub const ENV_ID: &str = "finite-v0";

/// The largest model file read (bytes).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The word a target or `next` uses for the end of the episode.
pub const END: &str = "end";

/// Outcome probabilities of a state-action pair, and the start distribution, must sum to 1 within this.
const PROB_TOL: f64 = 1e-9;

/// A model file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Discount per primitive step, in `[0, 1)`.
    pub discount: f64,
    /// The agents, in order (agent `i` is the `i`-th table).
    pub agents: Vec<AgentEntry>,
    /// The joint states, in order.
    pub states: Vec<StateEntry>,
}

/// One agent: its observations and actions.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    /// Unique name.
    pub name: String,
    /// Number of observations: the agent sees `0..observations`.
    pub observations: u32,
    /// Action names, unique within the agent; action `k` is the `k`-th.
    pub actions: Vec<String>,
    /// The handoff target of each action, in the same order: an agent's name, or `end` (the action ends the
    /// episode). Every outcome of an action goes to a state held by its target (or ends the episode).
    pub targets: Vec<String>,
}

/// One joint state.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateEntry {
    /// Unique name (`end` is reserved).
    pub name: String,
    /// The agent holding the artifact in this state.
    pub holder: String,
    /// What the holder observes here, in `0..observations` of the holder.
    pub observation: u32,
    /// Probability of starting an episode here (default 0); the start probabilities sum to 1.
    #[serde(default)]
    pub start: f64,
    /// The holder's legal actions here, each with its outcomes. States the holder cannot tell apart (same
    /// observation) must list the same actions.
    pub actions: Vec<ActionEntry>,
}

/// One legal action of a state and its outcomes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEntry {
    /// The action's name (one of the holder's `actions`).
    pub action: String,
    /// Its outcomes; probabilities sum to 1.
    pub outcomes: Vec<OutcomeEntry>,
}

/// One outcome of running an action's option.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeEntry {
    /// Its probability, in `[0, 1]`.
    pub probability: f64,
    /// The next state's name, or `end`.
    pub next: String,
    /// The option's duration `tau` in primitive steps, at least 1.
    pub duration: u32,
    /// The option's discounted reward `R = sum_{u < tau} gamma^u r_u`, finite.
    pub reward: f64,
}

/// Read `path` (at most [`MAX_FILE_BYTES`]) and build its model; errors name `path`, the entry and the reason.
pub fn load(path: &std::path::Path) -> Result<FiniteModel, ExperimentError> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let io = |message: String| ExperimentError::Io { path: name.clone(), message };
    let file = std::fs::File::open(path).map_err(|e| io(format!("cannot read the finite model: {e}")))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| io(format!("cannot read the finite model: {e}")))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(io(format!("the finite model is larger than {MAX_FILE_BYTES} bytes")));
    }
    parse(&text, &name)
}

/// Parse and check a model file's text; `origin` (the file) is named in errors.
pub fn parse(text: &str, origin: &str) -> Result<FiniteModel, ExperimentError> {
    let file: ModelFile = toml::from_str(text)
        .map_err(|e| ExperimentError::Parse { origin: origin.to_string(), message: e.to_string() })?;
    file.build(origin)
}

impl ModelFile {
    /// Check every entry and build the model; errors name `origin`, the state and the action.
    pub fn build(&self, origin: &str) -> Result<FiniteModel, ExperimentError> {
        let bad = |entry: String, reason: String| ExperimentError::InvalidConfig {
            field: format!("{origin}: {entry}"),
            reason,
        };
        if !(self.discount.is_finite() && (0.0..1.0).contains(&self.discount)) {
            return Err(bad("discount".into(), format!("must be in [0, 1), got {}", self.discount)));
        }
        if self.agents.is_empty() {
            return Err(bad("agents".into(), "give at least one agent".into()));
        }
        if self.agents.len() > usize::from(u16::MAX) {
            return Err(bad("agents".into(), format!("at most {} agents", u16::MAX)));
        }
        if self.states.is_empty() {
            return Err(bad("states".into(), "give at least one state".into()));
        }
        if self.states.len() >= TERMINAL as usize {
            return Err(bad("states".into(), "too many states".into()));
        }
        // Agents: unique names, actions and targets.
        let mut agent_of: HashMap<&str, usize> = HashMap::new();
        for (i, a) in self.agents.iter().enumerate() {
            let at = || format!("agent `{}`", a.name);
            if a.name == END || agent_of.insert(a.name.as_str(), i).is_some() {
                return Err(bad(at(), "agent names must be unique and not `end`".into()));
            }
            if a.observations == 0 {
                return Err(bad(at(), "observations must be at least 1".into()));
            }
            if a.actions.is_empty() || a.actions.len() > usize::from(u16::MAX) {
                return Err(bad(at(), format!("give 1..={} actions", u16::MAX)));
            }
            if a.targets.len() != a.actions.len() {
                return Err(bad(
                    at(),
                    format!("{} targets for {} actions (one target per action)", a.targets.len(), a.actions.len()),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = a.actions.iter().find(|x| !seen.insert(x.as_str())) {
                return Err(bad(at(), format!("action `{dup}` is listed twice")));
            }
        }
        for a in &self.agents {
            for (action, target) in a.actions.iter().zip(&a.targets) {
                if target != END && !agent_of.contains_key(target.as_str()) {
                    return Err(bad(
                        format!("agent `{}`, action `{action}`", a.name),
                        format!("target `{target}` is not an agent (nor `end`)"),
                    ));
                }
            }
        }
        // States: unique names, holders, observations.
        let mut state_of: HashMap<&str, u32> = HashMap::new();
        for (s, st) in self.states.iter().enumerate() {
            let at = format!("state `{}`", st.name);
            if st.name == END || state_of.insert(st.name.as_str(), s as u32).is_some() {
                return Err(bad(at, "state names must be unique and not `end`".into()));
            }
            let Some(&h) = agent_of.get(st.holder.as_str()) else {
                return Err(bad(at, format!("holder `{}` is not an agent", st.holder)));
            };
            let n_obs = self.agents[h].observations;
            if st.observation >= n_obs {
                return Err(bad(
                    at,
                    format!(
                        "observation {} is out of range: agent `{}` has {n_obs} (0..{n_obs})",
                        st.observation, st.holder
                    ),
                ));
            }
        }
        // Each state's legal actions, and the legal set of every (agent, observation).
        let mut legal: Vec<BTreeMap<u32, (Vec<ActionId>, &str)>> = vec![BTreeMap::new(); self.agents.len()];
        let mut per_state: Vec<Vec<(ActionId, &ActionEntry)>> = Vec::with_capacity(self.states.len());
        for st in &self.states {
            let h = agent_of[st.holder.as_str()];
            let agent = &self.agents[h];
            if st.actions.is_empty() {
                return Err(bad(format!("state `{}`", st.name), "has no legal action".into()));
            }
            let mut actions = Vec::with_capacity(st.actions.len());
            for entry in &st.actions {
                let at = || format!("state `{}`, action `{}`", st.name, entry.action);
                let Some(k) = agent.actions.iter().position(|x| *x == entry.action) else {
                    return Err(bad(at(), format!("is not an action of agent `{}`", agent.name)));
                };
                let id = ActionId(k as u16);
                if actions.iter().any(|(a, _)| *a == id) {
                    return Err(bad(at(), "is listed twice".into()));
                }
                if entry.outcomes.is_empty() {
                    return Err(bad(at(), "a legal action has no outcome".into()));
                }
                actions.push((id, entry));
            }
            actions.sort_by_key(|(a, _)| *a);
            let set: Vec<ActionId> = actions.iter().map(|(a, _)| *a).collect();
            match legal[h].get(&st.observation) {
                Some((other, first)) if *other != set => {
                    return Err(bad(
                        format!("state `{}`", st.name),
                        format!(
                            "agent `{}` sees observation {} here and in state `{first}`, so both must list the same \
                             actions",
                            agent.name, st.observation
                        ),
                    ))
                }
                Some(_) => {}
                None => {
                    legal[h].insert(st.observation, (set, st.name.as_str()));
                }
            }
            per_state.push(actions);
        }
        let agents: Vec<AgentSpec> = self
            .agents
            .iter()
            .enumerate()
            .map(|(h, a)| {
                let n_actions = a.actions.len() as u16;
                // An observation no state shows leaves every action legal (it is never decided on).
                let sets: Vec<Vec<ActionId>> = (0..a.observations)
                    .map(|o| {
                        legal[h].get(&o).map_or_else(|| (0..n_actions).map(ActionId).collect(), |(s, _)| s.clone())
                    })
                    .collect();
                let legal =
                    Legal::per_obs(&sets, n_actions).map_err(|e| bad(format!("agent `{}`", a.name), e.to_string()))?;
                Ok(AgentSpec {
                    name: a.name.clone(),
                    n_obs: a.observations,
                    n_actions,
                    legal,
                    action_names: a.actions.clone(),
                })
            })
            .collect::<Result<_, ExperimentError>>()?;
        let spec = EnvSpec { id: ENV_ID.into(), agents, discount: self.discount, max_in_flight: 1 };
        let mut builder = ModelBuilder::new(spec);
        for st in &self.states {
            let h = agent_of[st.holder.as_str()];
            builder.add_state(AgentId(h as u16), ObsId(st.observation), st.name.clone());
        }
        let mut initial = Vec::new();
        let mut start_total = 0.0;
        for (s, (st, actions)) in self.states.iter().zip(&per_state).enumerate() {
            if !(st.start.is_finite() && (0.0..=1.0).contains(&st.start)) {
                return Err(bad(format!("state `{}`", st.name), format!("start {} is not in [0, 1]", st.start)));
            }
            if st.start > 0.0 {
                initial.push((s as u32, st.start));
                start_total += st.start;
            }
            let agent = &self.agents[agent_of[st.holder.as_str()]];
            let mut lists = Vec::with_capacity(actions.len());
            for (id, entry) in actions {
                let at = || format!("state `{}`, action `{}`", st.name, entry.action);
                let target = &agent.targets[id.index()];
                let mut total = 0.0;
                let mut outs = Vec::with_capacity(entry.outcomes.len());
                for (k, o) in entry.outcomes.iter().enumerate() {
                    let at = || format!("{}, outcome {k}", at());
                    if !(o.probability.is_finite() && (0.0..=1.0).contains(&o.probability)) {
                        return Err(bad(at(), format!("probability {} is not in [0, 1]", o.probability)));
                    }
                    if o.duration < 1 {
                        return Err(bad(at(), format!("duration {} is below 1", o.duration)));
                    }
                    if !o.reward.is_finite() {
                        return Err(bad(at(), format!("reward {} is not finite", o.reward)));
                    }
                    let next = if o.next == END {
                        TERMINAL
                    } else {
                        let Some(&n) = state_of.get(o.next.as_str()) else {
                            return Err(bad(at(), format!("next state `{}` does not exist", o.next)));
                        };
                        let holder = &self.states[n as usize].holder;
                        if target == END || holder != target {
                            return Err(bad(
                                at(),
                                format!(
                                    "next state `{}` is held by `{holder}`, but the action hands over to `{target}`",
                                    o.next
                                ),
                            ));
                        }
                        n
                    };
                    total += o.probability;
                    outs.push(Outcome { prob: o.probability, next, duration: o.duration, reward: o.reward });
                }
                if (total - 1.0).abs() > PROB_TOL {
                    return Err(bad(at(), format!("outcome probabilities sum to {total}, not 1")));
                }
                lists.push(outs);
            }
            builder.set_outcomes(s as u32, lists);
        }
        if (start_total - 1.0).abs() > PROB_TOL {
            return Err(bad("states".into(), format!("the start probabilities sum to {start_total}, not 1")));
        }
        builder.set_initial(initial);
        builder.build().map_err(|e| bad("model".into(), e.to_string()))
    }
}
