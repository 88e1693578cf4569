//! Training loops: turn an environment's event stream into per-agent transition records.
//!
//! The loops are the only place where the environment and the learners meet. A sender's record is opened
//! when it acts ([`Event::Decide`]) and closed when its option's [`Event::Handoff`] arrives, by the one
//! scalar the receiver computes from its own observation at receipt. Every loop is generic over the
//! environment, so the same code serves the one-artifact episode and many artifacts in flight.
//!
//! - [`Decentralized`]: IC-Q. Agent `i` sees only its own observation, `R`, `tau` and the receiver's scalar.
//! - [`Centralized`]: the oracle, the very same loop ([`Learning`]) with one learner whose [`View`] is the
//!   joint state (needs [`JointState`]).
//! - [`NoScalar`]: the ablation; each agent bootstraps on its own next decision, nothing crosses.

use baton_core::rng::{stream, Stream};
use baton_core::{ActionId, AgentId, ArtifactId, Decision, Env, Event, JointState, Next, ObsId, Rng};
use baton_learn::{Behaviour, IcqAgent, NeuralParams, NeuralQ, QFunction, Scalar, Transition};

/// Counters of a training run. `scalars` counts the numbers that crossed between agents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrainStats {
    /// Completed options (Q-updates).
    pub handoffs: u64,
    /// Handoffs that passed control to another agent (not terminal).
    pub transfers: u64,
    /// Scalars sent from a receiver back to a sender.
    pub scalars: u64,
    /// Episodes finished.
    pub episodes: u64,
}

/// An open record: the sender's observation and action, waiting for its outcome and the receiver's scalar.
#[derive(Clone, Copy, Debug)]
struct Pending {
    agent: AgentId,
    obs: ObsId,
    action: ActionId,
}

/// What a learner is shown of the environment: which learner acts and what it observes. Decentralized IC-Q
/// and the centralized oracle run the same loop and differ only in this view.
pub trait View<E> {
    /// Whether control passing between agents moves a scalar between two learners (false for one learner).
    const CROSSES: bool;
    /// The learner and its observation when `d`'s holder must act.
    fn decision(env: &E, d: &Decision) -> (AgentId, ObsId);
    /// The learner and its observation when `agent` receives `artifact` observing `obs`.
    fn receipt(env: &E, artifact: ArtifactId, agent: AgentId, obs: ObsId) -> (AgentId, ObsId);
}

/// Each agent is its own learner and sees only its own observation.
#[derive(Clone, Copy, Debug)]
pub struct Interfaces;

impl<E: Env> View<E> for Interfaces {
    const CROSSES: bool = true;
    #[inline(always)]
    fn decision(_env: &E, d: &Decision) -> (AgentId, ObsId) {
        (d.agent, d.obs)
    }
    #[inline(always)]
    fn receipt(_env: &E, _artifact: ArtifactId, agent: AgentId, obs: ObsId) -> (AgentId, ObsId) {
        (agent, obs)
    }
}

/// One centralized learner that observes the joint state.
#[derive(Clone, Copy, Debug)]
pub struct Joint;

impl<E: Env + JointState> View<E> for Joint {
    const CROSSES: bool = false;
    #[inline(always)]
    fn decision(env: &E, d: &Decision) -> (AgentId, ObsId) {
        (AgentId(0), env.joint_state(d.artifact))
    }
    #[inline(always)]
    fn receipt(env: &E, artifact: ArtifactId, _agent: AgentId, _obs: ObsId) -> (AgentId, ObsId) {
        (AgentId(0), env.joint_state(artifact))
    }
}

/// The IC-Q training loop over any environment, for any [`View`].
pub struct Learning<E, Q, V> {
    env: E,
    learners: Vec<IcqAgent<Q>>,
    behaviour: Behaviour,
    env_rng: Rng,
    rngs: Vec<Rng>,
    pending: Vec<Option<Pending>>,
    previous: Vec<Option<ActionId>>,
    stats: TrainStats,
    view: std::marker::PhantomData<V>,
}

/// Decentralized IC-Q: agent `i` sees only its own observation, `R`, `tau` and the receiver's scalar.
pub type Decentralized<E, Q> = Learning<E, Q, Interfaces>;

/// The centralized oracle: the same loop and update with one learner on the joint state.
pub type Centralized<E, Q> = Learning<E, Q, Joint>;

impl<E: Env, Q: QFunction> Learning<E, Q, Interfaces> {
    /// Agents in `AgentId` order. Random streams: the environment's and one per agent, from `seed`.
    pub fn new(env: E, agents: Vec<IcqAgent<Q>>, behaviour: Behaviour, seed: u64) -> Self {
        let rngs = (0..agents.len()).map(|i| stream(seed, Stream::Agent(i as u16))).collect();
        Self::with(env, agents, rngs, behaviour, seed)
    }

    /// The agents, in `AgentId` order.
    pub fn agents(&self) -> &[IcqAgent<Q>] {
        &self.learners
    }
}

impl<E: Env + JointState, Q: QFunction> Learning<E, Q, Joint> {
    /// `learner` is built over the joint state space (e.g. `FiniteModel::oracle_spec`).
    pub fn new(env: E, learner: IcqAgent<Q>, behaviour: Behaviour, seed: u64) -> Self {
        Self::with(env, vec![learner], vec![stream(seed, Stream::Central)], behaviour, seed)
    }

    /// The centralized learner.
    pub fn learner(&self) -> &IcqAgent<Q> {
        &self.learners[0]
    }
}

impl<E: Env, Q: QFunction, V: View<E>> Learning<E, Q, V> {
    fn with(mut env: E, learners: Vec<IcqAgent<Q>>, rngs: Vec<Rng>, behaviour: Behaviour, seed: u64) -> Self {
        let slots = env.spec().max_in_flight as usize;
        let mut env_rng = stream(seed, Stream::Env);
        env.reset(&mut env_rng);
        Learning {
            env,
            learners,
            behaviour,
            env_rng,
            rngs,
            pending: vec![None; slots],
            previous: vec![None; slots],
            stats: TrainStats::default(),
            view: std::marker::PhantomData,
        }
    }

    /// Run until `handoffs` more options have completed.
    pub fn run(&mut self, handoffs: u64) {
        let target = self.stats.handoffs + handoffs;
        self.run_until(|_, stats| stats.handoffs >= target);
    }

    /// Run until `done(env, stats)` holds; it is checked before every event.
    pub fn run_until(&mut self, mut done: impl FnMut(&E, &TrainStats) -> bool) {
        while !done(&self.env, &self.stats) {
            match self.env.next_event(&mut self.env_rng) {
                Event::Decide(d) => {
                    let k = d.artifact.index();
                    let (agent, obs) = V::decision(&self.env, &d);
                    let i = agent.index();
                    // Step 1: the holder picks an action from its own observation.
                    let a = self.behaviour.act(self.learners[i].q(), obs, self.previous[k], &mut self.rngs[i]);
                    self.pending[k] = Some(Pending { agent, obs, action: a });
                    self.previous[k] = Some(a);
                    // Step 2: the option runs in the environment.
                    self.env.act(d.artifact, a, &mut self.env_rng);
                }
                Event::Handoff(h) => {
                    let k = h.artifact.index();
                    let Some(p) = self.pending[k].take() else { continue };
                    // Step 3: the receiver replies with one scalar from its own observation.
                    let v = match h.next {
                        Next::To { agent, obs } => {
                            self.stats.transfers += 1;
                            if V::CROSSES {
                                self.stats.scalars += 1;
                            }
                            let (j, o_next) = V::receipt(&self.env, h.artifact, agent, obs);
                            self.learners[j.index()].reply(o_next)
                        }
                        Next::Terminated => {
                            self.previous[k] = None;
                            Scalar::TERMINAL
                        }
                        Next::Truncated => {
                            // No receiver to ask and no terminal value: drop the record.
                            self.previous[k] = None;
                            continue;
                        }
                    };
                    // Step 4: the sender updates its own entry.
                    let t = Transition { obs: p.obs, action: p.action, reward: h.reward, duration: h.duration };
                    self.learners[p.agent.index()].learn(&t, v);
                    self.stats.handoffs += 1;
                }
                Event::EpisodeEnd => self.stats.episodes += 1,
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> TrainStats {
        self.stats
    }

    /// The environment (for its own measurements).
    pub fn env(&self) -> &E {
        &self.env
    }
}

/// An agent's own open record in the ablation.
#[derive(Clone, Copy, Debug)]
struct OwnRecord {
    obs: ObsId,
    action: ActionId,
    /// The agent's own option reward `R_i`.
    reward: f64,
    /// The artifact's clock when the option started.
    start: u64,
}

/// The no-scalar ablation. Agent `i` keeps its last transition open until it next holds control of the
/// same artifact and then bootstraps on its own table: target `R_i + gamma^elapsed max_a Q_i(o_next, a)`,
/// `elapsed` being the primitive steps since its option started (a clock every agent can read). If the
/// artifact's episode ends first, the target is its own `R_i` alone: rewards earned by others never reach it.
pub struct NoScalar<E, Q> {
    env: E,
    agents: Vec<IcqAgent<Q>>,
    behaviour: Behaviour,
    env_rng: Rng,
    agent_rngs: Vec<Rng>,
    /// Per artifact: the agent acting now.
    acting: Vec<Option<Pending>>,
    /// Per artifact and agent: that agent's open record (obs, action, own R, start time).
    open: Vec<Vec<Option<OwnRecord>>>,
    clock: Vec<u64>,
    previous: Vec<Option<ActionId>>,
    stats: TrainStats,
}

impl<E: Env, Q: QFunction> NoScalar<E, Q> {
    /// Same streams as [`Decentralized`].
    pub fn new(env: E, agents: Vec<IcqAgent<Q>>, behaviour: Behaviour, seed: u64) -> Self {
        let slots = env.spec().max_in_flight as usize;
        let n = agents.len();
        let agent_rngs = (0..n).map(|i| stream(seed, Stream::Agent(i as u16))).collect();
        let mut env_rng = stream(seed, Stream::Env);
        let mut env = env;
        env.reset(&mut env_rng);
        NoScalar {
            env,
            agents,
            behaviour,
            env_rng,
            agent_rngs,
            acting: vec![None; slots],
            open: vec![vec![None; n]; slots],
            clock: vec![0; slots],
            previous: vec![None; slots],
            stats: TrainStats::default(),
        }
    }

    /// Run until `handoffs` more records have been closed.
    pub fn run(&mut self, handoffs: u64) {
        let target = self.stats.handoffs + handoffs;
        self.run_until(|_, stats| stats.handoffs >= target);
    }

    /// Run until `done(env, stats)` holds; it is checked before every event.
    pub fn run_until(&mut self, mut done: impl FnMut(&E, &TrainStats) -> bool) {
        while !done(&self.env, &self.stats) {
            match self.env.next_event(&mut self.env_rng) {
                Event::Decide(d) => {
                    let k = d.artifact.index();
                    let i = d.agent.index();
                    let agent = &mut self.agents[i];
                    // Close this agent's own open record by bootstrapping on its own table.
                    if let Some(r) = self.open[k][i].take() {
                        let elapsed = (self.clock[k] - r.start).max(1) as u32;
                        let v = agent.reply(d.obs);
                        agent.learn(
                            &Transition { obs: r.obs, action: r.action, reward: r.reward, duration: elapsed },
                            v,
                        );
                        self.stats.handoffs += 1;
                    }
                    let a = self.behaviour.act(agent.q(), d.obs, self.previous[k], &mut self.agent_rngs[i]);
                    self.acting[k] = Some(Pending { agent: d.agent, obs: d.obs, action: a });
                    self.previous[k] = Some(a);
                    self.env.act(d.artifact, a, &mut self.env_rng);
                }
                Event::Handoff(h) => {
                    let k = h.artifact.index();
                    let Some(p) = self.acting[k].take() else { continue };
                    let start = self.clock[k];
                    self.clock[k] += u64::from(h.duration);
                    match h.next {
                        Next::To { .. } => {
                            self.stats.transfers += 1;
                            let record = OwnRecord { obs: p.obs, action: p.action, reward: h.reward, start };
                            self.open[k][p.agent.index()] = Some(record);
                        }
                        Next::Terminated | Next::Truncated => {
                            let terminated = h.next == Next::Terminated;
                            // On termination the sender's target is its own R; every other open record ends
                            // with what its agent earned itself. A truncation drops them all.
                            let own = OwnRecord { obs: p.obs, action: p.action, reward: h.reward, start };
                            let mut close = |i: usize, r: OwnRecord, duration: u32| {
                                if terminated {
                                    let t = Transition { obs: r.obs, action: r.action, reward: r.reward, duration };
                                    self.agents[i].learn(&t, Scalar::TERMINAL);
                                    self.stats.handoffs += 1;
                                }
                            };
                            close(p.agent.index(), own, h.duration);
                            for (i, slot) in self.open[k].iter_mut().enumerate() {
                                if let Some(r) = slot.take() {
                                    close(i, r, 1);
                                }
                            }
                            self.clock[k] = 0;
                            self.previous[k] = None;
                        }
                    }
                }
                Event::EpisodeEnd => self.stats.episodes += 1,
            }
        }
    }

    /// The agents, in `AgentId` order.
    pub fn agents(&self) -> &[IcqAgent<Q>] {
        &self.agents
    }

    /// Counters so far (`scalars` stays 0: nothing crosses between agents).
    pub fn stats(&self) -> TrainStats {
        self.stats
    }

    /// The environment (for its own measurements).
    pub fn env(&self) -> &E {
        &self.env
    }
}

/// A fixed, non-learning policy (a heuristic or a centralized router) driving an environment. The policy
/// is handed the environment itself, so it may read global state: this is for baselines, never for IC-Q.
pub struct Scripted<E> {
    env: E,
    env_rng: Rng,
    policy_rng: Rng,
    stats: TrainStats,
}

impl<E: Env> Scripted<E> {
    /// Streams: the environment's (the same as the learners' loops, so every method sees the same traffic)
    /// and the central one for the policy's own draws.
    pub fn new(mut env: E, seed: u64) -> Self {
        let mut env_rng = stream(seed, Stream::Env);
        env.reset(&mut env_rng);
        Scripted { env, env_rng, policy_rng: stream(seed, Stream::Central), stats: TrainStats::default() }
    }

    /// Run until `done(env, stats)` holds, answering every decision with `policy`.
    pub fn run_until(
        &mut self,
        mut done: impl FnMut(&E, &TrainStats) -> bool,
        mut policy: impl FnMut(&mut E, &Decision, &mut Rng) -> ActionId,
    ) {
        while !done(&self.env, &self.stats) {
            match self.env.next_event(&mut self.env_rng) {
                Event::Decide(d) => {
                    let a = policy(&mut self.env, &d, &mut self.policy_rng);
                    self.env.act(d.artifact, a, &mut self.env_rng);
                }
                Event::Handoff(h) => {
                    self.stats.handoffs += 1;
                    if matches!(h.next, Next::To { .. }) {
                        self.stats.transfers += 1;
                    }
                }
                Event::EpisodeEnd => self.stats.episodes += 1,
            }
        }
    }

    /// Counters so far (`scalars` is 0: no learner).
    pub fn stats(&self) -> TrainStats {
        self.stats
    }

    /// The environment.
    pub fn env(&self) -> &E {
        &self.env
    }
}

/// Neural IC-Q's agents for a workload with its own training loop (routing, cpu): agent `i`'s network is drawn
/// from stream `Other(1000 + i)` of `seed` (as in the synthetic runner), and its Polyak tail average starts after
/// `tail_start` of its own updates.
pub fn neural_agents(
    spec: &baton_core::EnvSpec,
    learner: &baton_learn::LearnerParams,
    tail_start: u64,
    seed: u64,
) -> Result<Vec<IcqAgent<NeuralQ>>, crate::ExperimentError> {
    let (params, _) = learner.network.ok_or_else(|| crate::ExperimentError::InvalidConfig {
        field: "learner.network".into(),
        reason: "method `ic-q-neural` needs [learner.network]".into(),
    })?;
    Ok(spec
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut rng = stream(seed, Stream::Init(i as u16));
            IcqAgent::new(NeuralQ::new(a, NeuralParams { tail_start, ..params }, &mut rng), spec.discount)
        })
        .collect())
}
