//! One artifact per episode: the state machine every such environment shares.
//!
//! A one-artifact episode always runs the same cycle of [`Event`]s: a [`Event::Decide`] for the first holder,
//! then for every action one [`Event::Handoff`] (the sender's reward and duration, and the next holder with its
//! observation) followed by that holder's [`Event::Decide`], until a handoff ends the episode and
//! [`Event::EpisodeEnd`] follows; the next event starts a new episode. [`EpisodeEnv`] is that cycle, written
//! once; a workload supplies only what differs, as an [`Episodic`]: how an episode starts ([`Episodic::begin`]),
//! who holds the artifact and what it sees ([`Episodic::current`]), what an action does ([`Episodic::step`])
//! and whether it ended the episode ([`Episodic::ended`]).
//! [`Order`] and [`Picker`] choose the episode's item (question, task) when a workload has a list of them.
//!
//! [`FiniteEnv`](crate::FiniteEnv) (an explicit [`FiniteModel`](crate::FiniteModel)) and the math and cpu
//! workflows of `baton-envs` are `EpisodeEnv`s. The adapter holds one `Copy` phase and allocates nothing.

use crate::env::{Decision, Env, Event, Handoff, JointState, Next};
use crate::ids::{ActionId, AgentId, ArtifactId, ObsId};
use crate::rng::{uniform_index, Rng};
use crate::spec::EnvSpec;

/// The per-workload part of a one-artifact episodic environment (see the [module](self) documentation).
pub trait Episodic {
    /// The agents' interfaces and the discount.
    fn spec(&self) -> &EnvSpec;
    /// Start afresh ([`Env::reset`]): forget the episode in progress and rewind any [`Picker`]. The adapter
    /// starts a new episode at the next event either way.
    fn rewind(&mut self, rng: &mut Rng);
    /// Start a new episode from `nu_0`: set up the artifact and its first holder.
    fn begin(&mut self, rng: &mut Rng);
    /// Whether the episode in progress has ended (asked after every [`Episodic::step`]).
    fn ended(&self) -> bool;
    /// Who holds the artifact now and what it observes; asked only while the episode runs (after
    /// [`Episodic::begin`], and after a [`Episodic::step`] that did not end it, for the handoff and again for the
    /// decision), so it must not change in between and should be cheap.
    fn current(&self) -> (AgentId, ObsId);
    /// The current holder takes `action` (legal for its observation): run the option and return its outcome;
    /// [`Episodic::ended`] and [`Episodic::current`] then tell whether the episode ended and who holds the
    /// artifact next.
    fn step(&mut self, action: ActionId, rng: &mut Rng) -> Step;
}

/// The outcome of one action of an [`Episodic`], as its [`Event::Handoff`] reports it (with the next holder
/// from [`Episodic::current`], or [`Next::Terminated`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// The agent that acted.
    pub sender: AgentId,
    /// The sender's discounted option reward `R`.
    pub reward: f64,
    /// The option's duration `tau >= 1`.
    pub duration: u32,
}

/// Where the cycle is. Small and `Copy`: the holder and its observation are asked of the workload when an event
/// needs them, not stored.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// The next event starts a new episode.
    Start,
    /// The holder must act; a caller that asks for an event instead gets the decision again.
    AwaitAction,
    /// An action ran; emit its handoff.
    Emit(Step),
    /// Emit the decision of the holder after a handoff.
    Decide,
    /// The episode ended; emit [`Event::EpisodeEnd`].
    End,
}

/// A one-artifact episodic [`Env`] (always [`ArtifactId`] 0) around an [`Episodic`], which it dereferences to
/// (so the workload's own accessors stay reachable). [`JointState`] is forwarded when the workload has it.
#[derive(Clone, Debug)]
pub struct EpisodeEnv<W> {
    episodes: W,
    phase: Phase,
}

impl<W: Episodic> From<W> for EpisodeEnv<W> {
    /// An environment positioned before its first episode.
    fn from(episodes: W) -> Self {
        EpisodeEnv { episodes, phase: Phase::Start }
    }
}

impl<W> EpisodeEnv<W> {
    /// The workload's part.
    pub fn episodes(&self) -> &W {
        &self.episodes
    }
    /// The workload's part, to change.
    pub fn episodes_mut(&mut self) -> &mut W {
        &mut self.episodes
    }
    /// The workload's part, by value.
    pub fn into_episodes(self) -> W {
        self.episodes
    }
}

impl<W> std::ops::Deref for EpisodeEnv<W> {
    type Target = W;
    fn deref(&self) -> &W {
        &self.episodes
    }
}

impl<W> std::ops::DerefMut for EpisodeEnv<W> {
    fn deref_mut(&mut self) -> &mut W {
        &mut self.episodes
    }
}

const ARTIFACT: ArtifactId = ArtifactId(0);

impl<W: Episodic> EpisodeEnv<W> {
    /// The holder's decision (only while the episode runs).
    #[inline(always)]
    fn decision(&self) -> Decision {
        let (agent, obs) = self.episodes.current();
        Decision { artifact: ARTIFACT, agent, obs }
    }
}

impl<W: Episodic> Env for EpisodeEnv<W> {
    fn spec(&self) -> &EnvSpec {
        self.episodes.spec()
    }

    fn reset(&mut self, rng: &mut Rng) {
        self.episodes.rewind(rng);
        self.phase = Phase::Start;
    }

    #[inline(always)]
    fn next_event(&mut self, rng: &mut Rng) -> Event {
        match self.phase {
            Phase::Start => {
                self.episodes.begin(rng);
                self.phase = Phase::AwaitAction;
                Event::Decide(self.decision())
            }
            Phase::Decide => {
                self.phase = Phase::AwaitAction;
                Event::Decide(self.decision())
            }
            Phase::Emit(Step { sender, reward, duration }) => {
                let next = if self.episodes.ended() {
                    self.phase = Phase::End;
                    Next::Terminated
                } else {
                    self.phase = Phase::Decide;
                    let (agent, obs) = self.episodes.current();
                    Next::To { agent, obs }
                };
                Event::Handoff(Handoff { artifact: ARTIFACT, sender, reward, duration, next })
            }
            Phase::End => {
                self.phase = Phase::Start;
                Event::EpisodeEnd
            }
            Phase::AwaitAction => Event::Decide(self.decision()),
        }
    }

    #[inline(always)]
    fn act(&mut self, _artifact: ArtifactId, action: ActionId, rng: &mut Rng) {
        debug_assert_eq!(self.phase, Phase::AwaitAction, "act without a pending decision");
        self.phase = Phase::Emit(self.episodes.step(action, rng));
    }
}

impl<W: JointState> JointState for EpisodeEnv<W> {
    fn n_joint_states(&self) -> u32 {
        self.episodes.n_joint_states()
    }
    fn joint_state(&self, artifact: ArtifactId) -> ObsId {
        self.episodes.joint_state(artifact)
    }
}

/// How an episodic workload picks each episode's item (question, task) from its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Uniformly at random from the list, with replacement (training).
    Sample,
    /// Each item of the list once, in order, then again from the start (evaluation): item `e mod n` in
    /// episode `e`.
    Sequential,
}

/// Picks items in an [`Order`]: one uniform draw per episode, or a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Picker {
    order: Order,
    next: usize,
}

impl Picker {
    /// A picker at the start of the list.
    pub fn new(order: Order) -> Self {
        Picker { order, next: 0 }
    }
    /// The order.
    pub fn order(&self) -> Order {
        self.order
    }
    /// The next item's index in a list of `n >= 1` items.
    #[inline]
    pub fn pick(&mut self, n: usize, rng: &mut Rng) -> usize {
        match self.order {
            Order::Sample => uniform_index(rng, n),
            Order::Sequential => {
                let k = self.next % n;
                self.next += 1;
                k
            }
        }
    }
    /// Back to the start of the list.
    pub fn rewind(&mut self) {
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Stream};
    use crate::spec::{AgentSpec, Legal};

    /// Two agents pass a counter: agent 0 starts, each action hands to the other agent, and the `n`-th action
    /// (or action 1 at any time) ends the episode.
    struct Relay {
        spec: EnvSpec,
        holder: AgentId,
        steps: u32,
        n: u32,
        ended: bool,
        rewinds: u32,
    }

    impl Episodic for Relay {
        fn spec(&self) -> &EnvSpec {
            &self.spec
        }
        fn rewind(&mut self, _rng: &mut Rng) {
            self.rewinds += 1;
        }
        fn begin(&mut self, _rng: &mut Rng) {
            self.holder = AgentId(0);
            self.steps = 0;
            self.ended = false;
        }
        fn ended(&self) -> bool {
            self.ended
        }
        fn current(&self) -> (AgentId, ObsId) {
            (self.holder, ObsId(self.steps))
        }
        fn step(&mut self, action: ActionId, _rng: &mut Rng) -> Step {
            let sender = self.holder;
            self.steps += 1;
            if action.0 == 1 || self.steps == self.n {
                self.ended = true;
            } else {
                self.holder = AgentId(1 - sender.0);
            }
            Step { sender, reward: f64::from(self.steps), duration: self.steps }
        }
    }

    fn relay(n: u32) -> EpisodeEnv<Relay> {
        let agent = |name: &str| AgentSpec {
            name: name.into(),
            n_obs: n,
            n_actions: 2,
            legal: Legal::all(2),
            action_names: vec!["pass".into(), "stop".into()],
        };
        let spec =
            EnvSpec { id: "relay".into(), agents: vec![agent("a"), agent("b")], discount: 1.0, max_in_flight: 1 };
        EpisodeEnv::from(Relay { spec, holder: AgentId(0), steps: 0, n, ended: false, rewinds: 0 })
    }

    #[test]
    fn the_cycle_is_decide_handoff_decide_until_the_end_then_a_new_episode() {
        let mut env = relay(3);
        let mut rng = stream(1, Stream::Env);
        let d = |agent: u16, obs: u32| {
            Event::Decide(Decision { artifact: ARTIFACT, agent: AgentId(agent), obs: ObsId(obs) })
        };
        let h = |sender: u16, k: u32, next: Next| {
            Event::Handoff(Handoff {
                artifact: ARTIFACT,
                sender: AgentId(sender),
                reward: f64::from(k),
                duration: k,
                next,
            })
        };
        for _episode in 0..2 {
            assert_eq!(env.next_event(&mut rng), d(0, 0));
            // Asking again instead of acting repeats the decision.
            assert_eq!(env.next_event(&mut rng), d(0, 0));
            env.act(ARTIFACT, ActionId(0), &mut rng);
            assert_eq!(env.next_event(&mut rng), h(0, 1, Next::To { agent: AgentId(1), obs: ObsId(1) }));
            assert_eq!(env.next_event(&mut rng), d(1, 1));
            env.act(ARTIFACT, ActionId(0), &mut rng);
            assert_eq!(env.next_event(&mut rng), h(1, 2, Next::To { agent: AgentId(0), obs: ObsId(2) }));
            assert_eq!(env.next_event(&mut rng), d(0, 2));
            env.act(ARTIFACT, ActionId(0), &mut rng);
            assert_eq!(env.next_event(&mut rng), h(0, 3, Next::Terminated));
            assert_eq!(env.next_event(&mut rng), Event::EpisodeEnd);
        }
        // A reset in the middle of an episode starts a new one and rewinds the workload.
        assert_eq!(env.next_event(&mut rng), d(0, 0));
        env.act(ARTIFACT, ActionId(0), &mut rng);
        env.reset(&mut rng);
        assert_eq!(env.rewinds, 1);
        assert_eq!(env.next_event(&mut rng), d(0, 0));
        env.act(ARTIFACT, ActionId(1), &mut rng);
        assert_eq!(env.next_event(&mut rng), h(0, 1, Next::Terminated));
        assert_eq!(env.next_event(&mut rng), Event::EpisodeEnd);
    }

    #[test]
    fn the_adapter_passes_the_contract_check() {
        crate::check_env(|| relay(4), crate::CheckOptions::default()).expect("the relay keeps the contract");
    }

    #[test]
    fn a_sequential_picker_cycles_and_rewinds_and_a_sampling_one_stays_in_range() {
        let mut rng = stream(2, Stream::Env);
        let mut p = Picker::new(Order::Sequential);
        let picked: Vec<usize> = (0..7).map(|_| p.pick(3, &mut rng)).collect();
        assert_eq!(picked, [0, 1, 2, 0, 1, 2, 0]);
        p.rewind();
        assert_eq!(p.pick(3, &mut rng), 0);
        let mut s = Picker::new(Order::Sample);
        let mut seen = [false; 5];
        for _ in 0..200 {
            seen[s.pick(5, &mut rng)] = true;
        }
        assert!(seen.iter().all(|&x| x), "{seen:?}");
    }
}
