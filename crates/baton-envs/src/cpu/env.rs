//! The CPU-programming workflow as an [`Env`](baton_core::Env): one task per episode, a program handed between
//! five roles.

use std::sync::Arc;

use baton_core::episode::{EpisodeEnv, Episodic, Picker, Step};
use baton_core::rng::uniform_index;
use baton_core::{ActionId, AgentId, AgentSpec, ArtifactId, CoreError, EnvSpec, JointState, Legal, ObsId, Rng};

use super::world::{CpuWorld, ProgramInfo, NO_LOG};

/// Environment id.
pub const ENV_ID: &str = "tinycpu-roles-v0";

/// The writer: drafts a program from the task (visible examples and the expected length).
pub const WRITER: AgentId = AgentId(0);
/// The tester: runs k sampled inputs against the reference and logs pass/fail.
pub const TESTER: AgentId = AgentId(1);
/// The debugger: MCMC edits until the logged tests pass or its budget ends.
pub const DEBUGGER: AgentId = AgentId(2);
/// The optimizer: dead code, peepholes, cycle-cost MCMC constrained to the logged tests.
pub const OPTIMIZER: AgentId = AgentId(3);
/// The submit desk: receives the task, submits the program.
pub const SUBMIT: AgentId = AgentId(4);
/// Number of agents.
pub const N_AGENTS: usize = 5;

/// Hand to the writer (a new draft replaces the program and clears the test log).
pub const TO_WRITER: ActionId = ActionId(0);
/// Hand to the tester.
pub const TO_TESTER: ActionId = ActionId(1);
/// Hand to the debugger.
pub const TO_DEBUGGER: ActionId = ActionId(2);
/// Hand to the optimizer.
pub const TO_OPTIMIZER: ActionId = ActionId(3);
/// Hand to the submit desk.
pub const TO_SUBMIT: ActionId = ActionId(4);
/// Submit the program (the desk only; ends the episode).
pub const SUBMIT_PROGRAM: ActionId = ActionId(5);
/// Number of actions of every agent.
pub const N_ACTIONS: u16 = 6;

const ACTION_NAMES: [&str; 6] = ["to-writer", "to-tester", "to-debugger", "to-optimizer", "to-submit", "submit"];
const AGENT_NAMES: [&str; N_AGENTS] = ["writer", "tester", "debugger", "optimizer", "submit"];

/// Sizes of the agents' observation spaces under [`Interfaces::Spec`], by `AgentId`
/// ([`Interfaces::obs_sizes`] gives them for either interface).
pub const OBS_SIZES: [u32; N_AGENTS] = [18, 18, 36, 27, 90];

/// Under [`Interfaces::Verdicts`], the part of every role's observation the ticket shows: difficulty (3) x the
/// desk's program state (6) x deadline (3).
const VERDICTS_CORE: u32 = 3 * 6 * 3;

/// Which interfaces the roles have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interfaces {
    /// model.md 6.3's interfaces as first built: the desk sees an undrafted, untested, failing, passing-after-an-edit
    /// or passing program, not whether an untested draft passes the visible examples.
    Spec,
    /// Every role also sees what the ticket shows: the program's test state as the desk sees it, with the
    /// visible-examples verdict (an untested draft that passes the task's visible examples is told from one
    /// that fails them), and the deadline; then its own fields of `spec`. See docs/deviations.md.
    #[default]
    Verdicts,
}

impl Interfaces {
    /// Sizes of the agents' observation spaces, by `AgentId`.
    pub fn obs_sizes(self) -> [u32; N_AGENTS] {
        match self {
            Interfaces::Spec => OBS_SIZES,
            Interfaces::Verdicts => {
                let c = VERDICTS_CORE;
                [3 * c, 6 * c, 6 * c, 3 * c, 2 * c]
            }
        }
    }

    /// How many program states the desk tells apart.
    pub fn desk_states(self) -> u32 {
        match self {
            Interfaces::Spec => 5,
            Interfaces::Verdicts => 6,
        }
    }
}

/// The state of the artifact and of the roles' private memories (the joint state minus the holder).
#[derive(Clone, Debug, Default)]
pub struct Artifact {
    /// The task's index in the world.
    pub task: u16,
    /// The task's difficulty bucket (0..3).
    pub difficulty: u8,
    /// The current program (none before the first draft).
    pub program: Option<Arc<ProgramInfo>>,
    /// The tester's log: which sample was run (none before the first test, and after a new draft).
    pub log: Option<u16>,
    /// Failing logged tests of the current program.
    pub failing: u32,
    /// The log was run on the current program as it is (no edit since).
    pub fresh: bool,
    /// The tester's own result: a log existed before its call (a retest).
    pub retest: bool,
    /// The debugger's own result: failing tests left on what it worked against.
    pub debug_left: u32,
    /// The debugger worked against a tester log (not only the visible examples).
    pub debug_had_log: bool,
    /// Writer calls so far.
    pub drafts: u8,
    /// Debugger calls so far.
    pub debugs: u8,
    /// The optimizer ran on the current program's lineage since the last draft.
    pub optimized: bool,
    /// Handoffs so far.
    pub handoffs: u32,
    /// Call costs so far.
    pub cost: f64,
}

fn bucket3(x: u32, one: u32, two: u32) -> u32 {
    if x < one {
        0
    } else if x < two {
        1
    } else {
        2
    }
}

impl Artifact {
    /// The desk's view of the program: 0 none, 1 untested, 2 logged tests fail, 3 logged tests pass after an
    /// edit (not retested), 4 logged tests pass as tested.
    pub fn program_state(&self) -> u32 {
        match (&self.program, self.log) {
            (None, _) => 0,
            (Some(_), None) => 1,
            (Some(_), Some(_)) if self.failing > 0 => 2,
            _ if !self.fresh => 3,
            _ => 4,
        }
    }

    /// The desk's view of the program under `interfaces`: [`Artifact::program_state`], with (under
    /// [`Interfaces::Verdicts`]) 5 for an untested program that fails the visible examples.
    pub fn desk_state(&self, interfaces: Interfaces) -> u32 {
        let s = self.program_state();
        match interfaces {
            Interfaces::Verdicts if s == 1 && !self.program.as_ref().is_some_and(|p| p.visible_pass) => 5,
            _ => s,
        }
    }

    /// 0 no log, 1 logged tests pass, 2 some fail.
    fn passes_logged(&self) -> u32 {
        match self.log {
            None => 0,
            Some(_) if self.failing == 0 => 1,
            Some(_) => 2,
        }
    }

    /// Cycles against the reference: 0 at most the reference's, 1 up to 1.5 times, 2 more.
    fn cycles_bucket(&self, reference_cycles: f64) -> u32 {
        let c = self.program.as_ref().map_or(0.0, |p| p.cycles);
        if c <= reference_cycles + 1e-9 {
            0
        } else if c <= 1.5 * reference_cycles {
            1
        } else {
            2
        }
    }

    /// Handoffs left before the deadline: 0 at least 6, 1 at least 3, 2 fewer.
    fn deadline_bucket(&self, max_handoffs: u32) -> u32 {
        let left = max_handoffs.saturating_sub(self.handoffs);
        2 - bucket3(left, 3, 6)
    }
}

/// The observation of `agent` (its interface to the artifact plus its own private state). Under
/// [`Interfaces::Spec`], model.md 6.3's:
///
/// | agent | observation | size |
/// |---|---|---|
/// | writer | difficulty; its draft passes the visible examples; drafts so far (1, 2, 3+) | 18 |
/// | tester | difficulty; its own pass vector as failing fraction (none, under 10%, more); a retest | 18 |
/// | debugger | difficulty; logged tests still failing (0, 1-2, 3+); it had a tester log; calls (1, 2+) | 36 |
/// | optimizer | difficulty; cycles vs the reference (<=, <=1.5x, more); passes logged (no log, yes, no) | 27 |
/// | submit | difficulty; program state (none, untested, fails, passes after an edit, passes); optimized; deadline | 90 |
///
/// Difficulty (reference length: <=3, <=7, more) stands for "length", which every role is told.
///
/// Under [`Interfaces::Verdicts`] every role sees the ticket (54 values): difficulty; the program state
/// ([`Artifact::desk_state`]: none, untested and passing the visible examples, logged tests fail, pass after an
/// edit, pass, untested and failing the visible examples); the deadline (handoffs left: 6+, 3-5, under 3). Then
/// its own fields: writer drafts so far (x3, 162); tester failing fraction and retest (x6, 324); debugger
/// logged tests still failing and calls (x6, 324); optimizer cycles vs the reference (x3, 162); desk
/// optimized (x2, 108).
pub fn observe(
    agent: AgentId,
    a: &Artifact,
    reference_cycles: f64,
    max_handoffs: u32,
    k: u32,
    interfaces: Interfaces,
) -> ObsId {
    let d = u32::from(a.difficulty);
    let b = |x: bool| u32::from(x);
    let frac = if a.failing == 0 {
        0
    } else if 10 * a.failing < k {
        1
    } else {
        2
    };
    if interfaces == Interfaces::Verdicts {
        // What the ticket shows every role: difficulty, the program's state (the desk's view, with the
        // visible-examples verdict) and the deadline; then the role's own fields.
        let core = d + 3 * (a.desk_state(interfaces) + 6 * a.deadline_bucket(max_handoffs));
        let own = match agent {
            WRITER => bucket3(u32::from(a.drafts), 2, 3),
            TESTER => frac + 3 * b(a.retest),
            DEBUGGER => bucket3(a.debug_left, 1, 3) + 3 * b(a.debugs >= 2),
            OPTIMIZER => a.cycles_bucket(reference_cycles),
            _ => b(a.optimized),
        };
        return ObsId(core + VERDICTS_CORE * own);
    }
    let o = match agent {
        WRITER => {
            let vis = a.program.as_ref().is_some_and(|p| p.visible_pass);
            d + 3 * (b(vis) + 2 * bucket3(u32::from(a.drafts), 2, 3))
        }
        TESTER => d + 3 * (frac + 3 * b(a.retest)),
        DEBUGGER => d + 3 * (bucket3(a.debug_left, 1, 3) + 3 * (b(a.debug_had_log) + 2 * b(a.debugs >= 2))),
        OPTIMIZER => d + 3 * (a.cycles_bucket(reference_cycles) + 3 * a.passes_logged()),
        _ => {
            let states = interfaces.desk_states();
            d + 3 * (a.desk_state(interfaces) + states * (b(a.optimized) + 2 * a.deadline_bucket(max_handoffs)))
        }
    };
    ObsId(o)
}

/// What `agent` sees, in words (the fields of [`observe`]), for diagnostics.
pub fn describe(
    agent: AgentId,
    a: &Artifact,
    reference_cycles: f64,
    max_handoffs: u32,
    k: u32,
    interfaces: Interfaces,
) -> String {
    let d = ["short", "mid", "long"][usize::from(a.difficulty)];
    let yn = |x: bool| if x { "yes" } else { "no" };
    let state = ["none", "untested", "fails", "passes-after-edit", "passes", "untested-fails-visible"]
        [a.desk_state(interfaces) as usize];
    let deadline = [">=6 left", "3-5 left", "<3 left"][a.deadline_bucket(max_handoffs) as usize];
    let drafts = ["1", "2", "3+"][bucket3(u32::from(a.drafts), 2, 3) as usize];
    let frac = if a.failing == 0 {
        "none"
    } else if 10 * a.failing < k {
        "<10%"
    } else {
        ">=10%"
    };
    let left = ["0", "1-2", "3+"][bucket3(a.debug_left, 1, 3) as usize];
    let calls = if a.debugs >= 2 { "2+" } else { "1" };
    let cycles = ["<=ref", "<=1.5x", ">1.5x"][a.cycles_bucket(reference_cycles) as usize];
    if interfaces == Interfaces::Verdicts {
        let own = match agent {
            WRITER => format!("drafts {drafts}"),
            TESTER => format!("failing {frac}, retest {}", yn(a.retest)),
            DEBUGGER => format!("left failing {left}, calls {calls}"),
            OPTIMIZER => format!("cycles {cycles}"),
            _ => format!("optimized {}", yn(a.optimized)),
        };
        return format!("{d}: program {state}, deadline {deadline}; {own}");
    }
    let rest = match agent {
        WRITER => {
            let vis = a.program.as_ref().is_some_and(|p| p.visible_pass);
            format!("draft passes visible {}, drafts {drafts}", yn(vis))
        }
        TESTER => format!("failing {frac}, retest {}", yn(a.retest)),
        DEBUGGER => format!("left failing {left}, had log {}, calls {calls}", yn(a.debug_had_log)),
        OPTIMIZER => {
            format!("cycles {cycles}, passes logged {}", ["no log", "yes", "no"][a.passes_logged() as usize])
        }
        _ => format!("program {state}, optimized {}, deadline {deadline}", yn(a.optimized)),
    };
    format!("{d}: {rest}")
}

/// The legal actions of `agent`: hand to any other role (the writer also to itself: a new draft); the desk
/// also submits, once a program exists, and
/// holds nothing but the task before the first draft (then it can only call the writer).
pub fn legal_actions(agent: AgentId, has_program: bool) -> Vec<ActionId> {
    if agent == SUBMIT {
        if has_program {
            vec![TO_WRITER, TO_TESTER, TO_DEBUGGER, TO_OPTIMIZER, SUBMIT_PROGRAM]
        } else {
            vec![TO_WRITER]
        }
    } else {
        // The writer may draft again at once (it sees its own draft fail the visible examples).
        (0..5).filter(|&j| j != agent.0 || agent == WRITER).map(ActionId).collect()
    }
}

/// The agents' interfaces.
pub fn spec(discount: f64, interfaces: Interfaces) -> Result<EnvSpec, CoreError> {
    let sizes = interfaces.obs_sizes();
    let agents = (0..N_AGENTS)
        .map(|i| {
            let agent = AgentId(i as u16);
            let sets: Vec<Vec<ActionId>> = (0..sizes[i])
                .map(|o| {
                    // The desk's program state is digit 1 (base 3 difficulty below it).
                    let has_program = agent != SUBMIT || (o / 3) % interfaces.desk_states() != 0;
                    legal_actions(agent, has_program)
                })
                .collect();
            Ok(AgentSpec {
                name: AGENT_NAMES[i].to_string(),
                n_obs: sizes[i],
                n_actions: N_ACTIONS,
                legal: Legal::per_obs(&sets, N_ACTIONS)?,
                action_names: ACTION_NAMES.iter().map(|s| s.to_string()).collect(),
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    let spec = EnvSpec { id: ENV_ID.into(), agents, discount, max_in_flight: 1 };
    spec.validate()?;
    Ok(spec)
}

/// Joint states: holder (5) x difficulty (3) x hidden correctness (2) x program state (5) x optimized (2) x
/// cycles bucket (3) x deadline bucket (3).
pub const N_JOINT: u32 = 5 * 3 * 2 * 5 * 2 * 3 * 3;

fn joint_index(holder: AgentId, a: &Artifact, reference_cycles: f64, max_handoffs: u32) -> u32 {
    let correct = a.program.as_ref().is_some_and(|p| p.correct);
    u32::from(holder.0)
        + 5 * (u32::from(a.difficulty)
            + 3 * (u32::from(correct)
                + 2 * (a.program_state()
                    + 5 * (u32::from(a.optimized)
                        + 2 * (a.cycles_bucket(reference_cycles) + 3 * a.deadline_bucket(max_handoffs))))))
}

/// The centralized oracle's interface: one learner on the joint state, which includes the program's hidden
/// correctness; its legal set is the holder's.
pub fn oracle_spec() -> Result<AgentSpec, CoreError> {
    let sets: Vec<Vec<ActionId>> = (0..N_JOINT)
        .map(|j| {
            let holder = AgentId((j % 5) as u16);
            let state = (j / 30) % 5;
            legal_actions(holder, holder != SUBMIT || state != 0)
        })
        .collect();
    Ok(AgentSpec {
        name: "oracle".into(),
        n_obs: N_JOINT,
        n_actions: N_ACTIONS,
        legal: Legal::per_obs(&sets, N_ACTIONS)?,
        action_names: ACTION_NAMES.iter().map(|s| s.to_string()).collect(),
    })
}

/// How tasks are drawn: uniformly (training) or in turn (evaluation).
pub use baton_core::episode::Order;

/// One finished episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeRecord {
    /// The task's index.
    pub task: u16,
    /// A program was submitted (not stopped by the deadline).
    pub submitted: bool,
    /// The submitted program is correct on the hidden check domain.
    pub correct: bool,
    /// Cycles of the submitted program over the reference's (correct submissions only).
    pub cycles_vs_reference: Option<f64>,
    /// Call costs.
    pub cost: f64,
    /// Undiscounted return: `1[correct] + speed bonus - cost`.
    pub ret: f64,
    /// Handoffs.
    pub handoffs: u32,
}

/// Totals over finished episodes, per task.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Episodes.
    pub episodes: u64,
    /// Correct submissions.
    pub correct: u64,
    /// Submissions (correct or not).
    pub submitted: u64,
    /// Sum of cycles over the reference's, over correct submissions.
    pub cycles_ratio: f64,
    /// Sum of call costs.
    pub cost: f64,
    /// Sum of undiscounted returns.
    pub ret: f64,
    /// Handoffs.
    pub handoffs: u64,
}

impl Tally {
    fn add(&mut self, r: &EpisodeRecord) {
        self.episodes += 1;
        self.correct += u64::from(r.correct);
        self.submitted += u64::from(r.submitted);
        self.cycles_ratio += r.cycles_vs_reference.unwrap_or(0.0);
        self.cost += r.cost;
        self.ret += r.ret;
        self.handoffs += u64::from(r.handoffs);
    }

    /// The sum of two tallies.
    pub fn merged(&self, o: &Tally) -> Tally {
        Tally {
            episodes: self.episodes + o.episodes,
            correct: self.correct + o.correct,
            submitted: self.submitted + o.submitted,
            cycles_ratio: self.cycles_ratio + o.cycles_ratio,
            cost: self.cost + o.cost,
            ret: self.ret + o.ret,
            handoffs: self.handoffs + o.handoffs,
        }
    }
}

/// The CPU-programming workflow (model.md 6.3) as an IC-SMDP: the shared one-artifact [`EpisodeEnv`] around
/// [`CpuEpisodes`]. See [`super`] for the design.
pub type CpuEnv = EpisodeEnv<CpuEpisodes>;

/// The [`Episodic`] part of [`CpuEnv`]: the world, the task picker, the artifact and the tallies.
#[derive(Clone, Debug)]
pub struct CpuEpisodes {
    world: Arc<CpuWorld>,
    spec: Arc<EnvSpec>,
    picker: Picker,
    holder: AgentId,
    /// The episode in progress has ended (submitted or past the deadline).
    ended: bool,
    artifact: Artifact,
    last: Option<EpisodeRecord>,
    tallies: Vec<Tally>,
}

impl CpuEpisodes {
    /// The episodes of every task of `world`, drawn in `order`.
    pub fn new(world: Arc<CpuWorld>, spec: Arc<EnvSpec>, order: Order) -> Self {
        assert!(!world.tasks.is_empty(), "a CPU environment needs at least one task");
        let n = world.tasks.len();
        CpuEpisodes {
            world,
            spec,
            picker: Picker::new(order),
            holder: SUBMIT,
            ended: false,
            artifact: Artifact::default(),
            last: None,
            tallies: vec![Tally::default(); n],
        }
    }

    /// An environment over every task of `world`, drawn in `order`.
    pub fn env(world: Arc<CpuWorld>, spec: Arc<EnvSpec>, order: Order) -> CpuEnv {
        EpisodeEnv::from(CpuEpisodes::new(world, spec, order))
    }

    /// The artifact (for fixed strategies, scoring and tests; never for a learner).
    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    /// The holder of the artifact.
    pub fn holder(&self) -> AgentId {
        self.holder
    }

    /// The world.
    pub fn world(&self) -> &Arc<CpuWorld> {
        &self.world
    }

    /// The last finished episode.
    pub fn last_episode(&self) -> Option<EpisodeRecord> {
        self.last
    }

    /// Totals per task, in the world's task order.
    pub fn tallies(&self) -> &[Tally] {
        &self.tallies
    }

    /// Totals over every task.
    pub fn tally(&self) -> Tally {
        self.tallies.iter().fold(Tally::default(), |acc, t| acc.merged(t))
    }

    fn reference_cycles(&self) -> f64 {
        self.world.tasks[usize::from(self.artifact.task)].reference_cycles
    }

    fn observe(&self, agent: AgentId) -> ObsId {
        let c = &self.world.cpu.config;
        observe(agent, &self.artifact, self.reference_cycles(), c.max_handoffs, self.world.k, c.interfaces)
    }

    /// What `agent` would see of the artifact now, in words ([`describe`]), for diagnostics.
    pub fn describe(&self, agent: AgentId) -> String {
        let c = &self.world.cpu.config;
        describe(agent, &self.artifact, self.reference_cycles(), c.max_handoffs, self.world.k, c.interfaces)
    }

    fn jitter(rng: &mut Rng, j: u32) -> u32 {
        uniform_index(rng, j as usize + 1) as u32
    }

    /// Runs the receiver's work on receipt; returns its cost and duration.
    fn work(&mut self, agent: AgentId, rng: &mut Rng) -> (f64, u32) {
        let c = &self.world.cpu.config;
        let world = &self.world;
        let a = &mut self.artifact;
        let variant = |rng: &mut Rng| uniform_index(rng, c.role_variants as usize) as u8;
        match agent {
            WRITER => {
                let d = uniform_index(rng, c.drafts as usize) as u32;
                a.program = Some(world.draft(a.task, d));
                a.log = None;
                a.failing = 0;
                a.fresh = false;
                a.optimized = false;
                a.drafts = a.drafts.saturating_add(1);
                (c.writer.cost, c.writer.min_duration + Self::jitter(rng, c.writer.jitter))
            }
            TESTER => {
                let s = uniform_index(rng, c.tester_samples as usize) as u16;
                a.retest = a.log.is_some();
                if let Some(p) = &a.program {
                    a.failing = world.failing(p, s);
                }
                a.log = Some(s);
                a.fresh = true;
                let cost = c.tester.cost + c.cost_per_test * f64::from(world.k);
                (cost, c.tester.min_duration + Self::jitter(rng, c.tester.jitter) + world.k / 256)
            }
            DEBUGGER | OPTIMIZER => {
                let Some(p) = a.program.clone() else { return (0.0, 1) };
                let log = a.log.unwrap_or(NO_LOG);
                let v = variant(rng);
                let (out, used) = if agent == DEBUGGER { world.debug(&p, log, v) } else { world.optimize(&p, log, v) };
                let tw = &world.tasks[usize::from(a.task)];
                let changed = out.id != p.id;
                if agent == DEBUGGER {
                    a.debugs = a.debugs.saturating_add(1);
                    a.debug_had_log = a.log.is_some();
                    let tests = if log == NO_LOG { &tw.visible } else { &tw.logged[usize::from(log)] };
                    a.debug_left = tests.score(&out.program).failing;
                } else {
                    a.optimized = true;
                }
                if changed {
                    if let Some(s) = a.log {
                        a.failing = world.failing(&out, s);
                    }
                    a.fresh = false;
                }
                a.program = Some(out);
                let r = if agent == DEBUGGER { &c.debugger } else { &c.optimizer };
                (r.cost, r.min_duration + Self::jitter(rng, r.jitter) + used / c.proposals_per_step)
            }
            _ => (0.0, 1),
        }
    }

    fn finish(&mut self, submitted: bool) -> f64 {
        let c = &self.world.cpu.config;
        let a = &self.artifact;
        let correct = submitted && a.program.as_ref().is_some_and(|p| p.correct);
        let ratio = if correct { a.program.as_ref().map(|p| p.cycles / self.reference_cycles()) } else { None };
        let reward = if correct { 1.0 + c.speed_bonus * ratio.map_or(0.0, |r| (1.0 / r).min(1.0)) } else { 0.0 };
        let rec = EpisodeRecord {
            task: a.task,
            submitted,
            correct,
            cycles_vs_reference: ratio,
            cost: a.cost,
            ret: reward - a.cost,
            handoffs: a.handoffs,
        };
        self.tallies[usize::from(a.task)].add(&rec);
        self.last = Some(rec);
        reward
    }
}

impl Episodic for CpuEpisodes {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn rewind(&mut self, _rng: &mut Rng) {
        self.picker.rewind();
    }

    fn begin(&mut self, rng: &mut Rng) {
        let t = self.picker.pick(self.world.tasks.len(), rng);
        self.artifact = Artifact { task: t as u16, difficulty: self.world.tasks[t].difficulty, ..Artifact::default() };
        self.holder = SUBMIT;
        self.ended = false;
    }

    fn ended(&self) -> bool {
        self.ended
    }

    fn current(&self) -> (AgentId, ObsId) {
        (self.holder, self.observe(self.holder))
    }

    fn step(&mut self, action: ActionId, rng: &mut Rng) -> Step {
        let sender = self.holder;
        self.artifact.handoffs += 1;
        let (reward, duration) = if action == SUBMIT_PROGRAM {
            self.ended = true;
            (self.finish(true), 1)
        } else {
            let agent = AgentId(action.0);
            let (cost, duration) = self.work(agent, rng);
            self.artifact.cost += cost;
            self.holder = agent;
            if self.artifact.handoffs >= self.world.cpu.config.max_handoffs {
                // The deadline: the episode ends with nothing submitted.
                self.ended = true;
                self.finish(false);
            }
            (-cost, duration)
        };
        Step { sender, reward, duration }
    }
}

impl JointState for CpuEpisodes {
    fn n_joint_states(&self) -> u32 {
        N_JOINT
    }

    fn joint_state(&self, _artifact: ArtifactId) -> ObsId {
        let c = &self.world.cpu.config;
        ObsId(joint_index(self.holder, &self.artifact, self.reference_cycles(), c.max_handoffs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_tinycpu::TaskSet;

    fn info(correct: bool, visible_pass: bool, cycles: f64) -> Arc<ProgramInfo> {
        let program = TaskSet::builtin().tasks[0].reference.clone();
        Arc::new(ProgramInfo { id: 7, task: 0, program, correct, cycles, visible_pass })
    }

    /// Every artifact state a role can see, as (log, failing, fresh, drafts, debugs, debug_left, optimized,
    /// handoffs) combinations.
    fn artifacts(correct: bool, visible_pass: bool, cycles: f64) -> Vec<Artifact> {
        let mut out = Vec::new();
        for log in [None, Some(3)] {
            for failing in [0, 2, 40] {
                for fresh in [false, true] {
                    for (drafts, debugs, debug_left) in [(1, 0, 0), (2, 1, 2), (4, 3, 5)] {
                        for optimized in [false, true] {
                            for handoffs in [0, 5, 9, 13] {
                                out.push(Artifact {
                                    task: 0,
                                    difficulty: 2,
                                    program: Some(info(correct, visible_pass, cycles)),
                                    log,
                                    failing,
                                    fresh,
                                    retest: log.is_some(),
                                    debug_left,
                                    debug_had_log: log.is_some(),
                                    drafts,
                                    debugs,
                                    optimized,
                                    handoffs,
                                    cost: 0.1,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn no_role_sees_hidden_correctness_under_either_interface() {
        for interfaces in [Interfaces::Spec, Interfaces::Verdicts] {
            for visible_pass in [false, true] {
                for cycles in [3.0, 5.0, 9.0] {
                    let right = artifacts(true, visible_pass, cycles);
                    let wrong = artifacts(false, visible_pass, cycles);
                    for (a, b) in right.iter().zip(&wrong) {
                        for agent in (0..N_AGENTS).map(|i| AgentId(i as u16)) {
                            let (oa, ob) = (
                                observe(agent, a, 4.0, 14, 64, interfaces),
                                observe(agent, b, 4.0, 14, 64, interfaces),
                            );
                            assert_eq!(oa, ob, "{interfaces:?} agent {agent:?} sees correctness in {a:?}");
                            assert!(oa.0 < interfaces.obs_sizes()[agent.index()]);
                        }
                        // The oracle does see it.
                        assert_ne!(joint_index(SUBMIT, a, 4.0, 14), joint_index(SUBMIT, b, 4.0, 14));
                    }
                }
            }
        }
    }

    #[test]
    fn the_ticket_shows_every_role_the_visible_verdict_and_the_deadline_only_under_verdicts() {
        let passes = artifacts(true, true, 4.0);
        let fails = artifacts(true, false, 4.0);
        // An untested draft (no log) early and late in the episode.
        let untested = |v: &[Artifact], h: u32| v.iter().find(|a| a.log.is_none() && a.handoffs == h).cloned();
        let (p0, f0) = (untested(&passes, 0).expect("built"), untested(&fails, 0).expect("built"));
        let late = untested(&passes, 13).expect("built");
        for agent in (0..N_AGENTS).map(|i| AgentId(i as u16)) {
            let o = |a: &Artifact, i| observe(agent, a, 4.0, 14, 64, i);
            assert_ne!(o(&p0, Interfaces::Verdicts), o(&f0, Interfaces::Verdicts), "{agent:?}");
            assert_ne!(o(&p0, Interfaces::Verdicts), o(&late, Interfaces::Verdicts), "{agent:?}");
            if agent != WRITER {
                // Under `spec` only the writer sees the visible verdict ...
                assert_eq!(o(&p0, Interfaces::Spec), o(&f0, Interfaces::Spec), "{agent:?}");
            }
            if agent != SUBMIT {
                // ... and only the desk the deadline.
                assert_eq!(o(&p0, Interfaces::Spec), o(&late, Interfaces::Spec), "{agent:?}");
            }
        }
    }

    #[test]
    fn the_desk_can_submit_exactly_when_a_program_exists() {
        for interfaces in [Interfaces::Spec, Interfaces::Verdicts] {
            let sp = spec(1.0, interfaces).expect("valid");
            let desk = &sp.agents[SUBMIT.index()];
            let empty = Artifact { difficulty: 1, ..Artifact::default() };
            let o = observe(SUBMIT, &empty, 4.0, 14, 64, interfaces);
            assert_eq!(desk.legal.of(o), [TO_WRITER]);
            for a in artifacts(false, false, 4.0) {
                let o = observe(SUBMIT, &a, 4.0, 14, 64, interfaces);
                assert!(desk.legal.of(o).contains(&SUBMIT_PROGRAM), "{interfaces:?} {a:?}");
            }
        }
    }
}
