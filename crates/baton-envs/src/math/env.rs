//! The math workflow as an [`Env`](baton_core::Env): one question per episode, handed between five agents.

use std::sync::Arc;

use baton_core::episode::{EpisodeEnv, Episodic, Picker, Step};
use baton_core::{ActionId, AgentId, AgentSpec, ArtifactId, CoreError, EnvSpec, JointState, Legal, ObsId, Rng};

use super::table::{MathTable, QuestionRow, CHEAP, PROMPT_CONTEXTS, STRONG};

/// Environment id.
pub const ENV_ID: &str = "math-workflow-v0";

/// The cheap solver (Mixtral).
pub const AGENT_CHEAP: AgentId = AgentId(0);
/// The strong solver (GPT-4-1106).
pub const AGENT_STRONG: AgentId = AgentId(1);
/// The arithmetic checker (a tool: free).
pub const AGENT_CHECKER: AgentId = AgentId(2);
/// The LLM critic.
pub const AGENT_CRITIC: AgentId = AgentId(3);
/// The submit desk: receives the question, submits the final answer.
pub const AGENT_SUBMIT: AgentId = AgentId(4);
/// Number of agents.
pub const N_AGENTS: usize = 5;

/// Hand to the cheap solver.
pub const TO_CHEAP: ActionId = ActionId(0);
/// Hand to the strong solver.
pub const TO_STRONG: ActionId = ActionId(1);
/// Hand to the checker.
pub const TO_CHECKER: ActionId = ActionId(2);
/// Hand to the critic.
pub const TO_CRITIC: ActionId = ActionId(3);
/// Hand to the submit desk.
pub const TO_SUBMIT: ActionId = ActionId(4);
/// Submit the cheap solver's answer (ends the episode).
pub const SUBMIT_CHEAP: ActionId = ActionId(5);
/// Submit the strong solver's answer (ends the episode).
pub const SUBMIT_STRONG: ActionId = ActionId(6);
/// Number of actions of every agent.
pub const N_ACTIONS: u16 = 7;

const ACTION_NAMES: [&str; 7] =
    ["to-cheap", "to-strong", "to-checker", "to-critic", "to-submit", "submit-cheap", "submit-strong"];
const AGENT_NAMES: [&str; N_AGENTS] = ["cheap-solver", "strong-solver", "checker", "critic", "submit"];

/// A verdict attached to an answer by the checker or the critic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Not judged yet.
    #[default]
    Pending,
    /// Judged fine.
    Ok,
    /// Flagged as wrong.
    Flagged,
}

impl Verdict {
    fn code(self) -> u32 {
        self as u32
    }
}

/// One solver's answer as it travels with the artifact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerState {
    /// The solver has answered.
    pub present: bool,
    /// The checker's verdict on it.
    pub check: Verdict,
    /// The critic's verdict on it.
    pub critic: Verdict,
}

impl AnswerState {
    /// 0: absent; else `1 + 3 * check + critic` (10 values).
    fn code(self) -> u32 {
        if self.present {
            1 + 3 * self.check.code() + self.critic.code()
        } else {
            0
        }
    }

    /// 0: absent, 1: checked fine (or pending), 2: flagged by the checker.
    fn check_code(self) -> u32 {
        match (self.present, self.check) {
            (false, _) => 0,
            (true, Verdict::Flagged) => 2,
            (true, _) => 1,
        }
    }

    /// 0: absent, 1: judged fine (or pending), 2: flagged by the critic.
    fn critic_code(self) -> u32 {
        match (self.present, self.critic) {
            (false, _) => 0,
            (true, Verdict::Flagged) => 2,
            (true, _) => 1,
        }
    }
}

/// Everything about the artifact and the agents' private states: the joint state (minus the holder).
/// No field holds or depends on whether an answer is right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// The cheap ([`CHEAP`]) and strong ([`STRONG`]) answers.
    pub answers: [AnswerState; 2],
    /// Both answered with the same final answer.
    pub agree: bool,
    /// The cheap answer is long (false while absent).
    pub long_cheap: bool,
    /// The question is long.
    pub long_question: bool,
    /// The question's prompt-only context ([`super::table::QuestionRow::prompt`]); observed only by the
    /// submit desk of the prompt-only workflow.
    pub prompt: u8,
    /// Private state: whether the checker, the critic and the submit desk held this artifact before.
    pub held: [bool; 3],
}

impl Features {
    /// Some answer exists.
    pub fn any_present(&self) -> bool {
        self.answers.iter().any(|a| a.present)
    }
    /// Some answer is not checked yet.
    pub fn check_pending(&self) -> bool {
        self.answers.iter().any(|a| a.present && a.check == Verdict::Pending)
    }
    /// Some answer is not judged by the critic yet.
    pub fn critic_pending(&self) -> bool {
        self.answers.iter().any(|a| a.present && a.critic == Verdict::Pending)
    }
    /// The other solver's answer seen from `me`: 0 absent, 1 agrees, 2 disagrees.
    fn other(&self, other: usize) -> u32 {
        match (self.answers[other].present, self.agree) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        }
    }
    fn held_bit(&self, agent: AgentId) -> u32 {
        match agent.0 {
            2..=4 => u32::from(self.held[agent.index() - 2]),
            _ => 0,
        }
    }
}

/// The legal actions of `agent` given what is on the artifact. Each input is visible in the agent's own
/// observation, so legality depends on the observation only. Every handoff does new work or goes to the
/// submit desk, so episodes end after at most 14 handoffs under any policy.
pub fn legal_actions(
    agent: AgentId,
    cheap: bool,
    strong: bool,
    check_pending: bool,
    critic_pending: bool,
) -> Vec<ActionId> {
    let mut out = Vec::with_capacity(7);
    let any = cheap || strong;
    let ok = |a: ActionId| match a {
        TO_CHEAP => !cheap,
        TO_STRONG => !strong,
        TO_CHECKER => check_pending,
        TO_CRITIC => critic_pending,
        TO_SUBMIT => agent != AGENT_SUBMIT && any,
        SUBMIT_CHEAP => cheap,
        SUBMIT_STRONG => strong,
        _ => false,
    };
    for a in 0..N_ACTIONS {
        if ok(ActionId(a)) {
            out.push(ActionId(a));
        }
    }
    out
}

/// Which interfaces the checker and the critic have (the other agents' are the same in both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interfaces {
    /// The checker sees only the checker's verdicts and whether a critique is pending; the critic only the
    /// critic's verdicts and whether a check is pending (observation sizes 144 and 72).
    Narrow,
    /// The checker and the critic see every verdict written on the artifact, the other tool's included,
    /// as the submit desk does (sizes 800 and 400). See docs/deviations.md ("interfaces").
    #[default]
    Verdicts,
}

impl Interfaces {
    /// Sizes of the agents' observation spaces, by `AgentId`.
    pub fn obs_sizes(self) -> [u32; N_AGENTS] {
        match self {
            Interfaces::Narrow => [48, 24, 144, 72, 400],
            Interfaces::Verdicts => [48, 24, 800, 400, 400],
        }
    }

    /// The interfaces a spec built by [`spec`] has (read from the checker's observation count).
    pub fn of_spec(spec: &EnvSpec) -> Option<Self> {
        let n = spec.agents.get(AGENT_CHECKER.index())?.n_obs;
        [Interfaces::Narrow, Interfaces::Verdicts].into_iter().find(|i| i.obs_sizes()[AGENT_CHECKER.index()] == n)
    }
}

/// The observation of `agent` (its interface to the artifact plus its own private state), and the inputs of
/// its legal set. See the module doc of [`super`] for the layout.
pub fn observe(agent: AgentId, f: &Features, interfaces: Interfaces) -> ObsId {
    let [c, s] = f.answers;
    let b = |x: bool| u32::from(x);
    let o = match (agent, interfaces) {
        (AGENT_CHEAP, _) => {
            f.other(STRONG)
                + 3 * (b(f.check_pending())
                    + 2 * (b(f.critic_pending()) + 2 * (b(f.long_cheap) + 2 * b(f.long_question))))
        }
        (AGENT_STRONG, _) => {
            f.other(CHEAP) + 3 * (b(f.check_pending()) + 2 * (b(f.critic_pending()) + 2 * b(f.long_question)))
        }
        (AGENT_CHECKER, Interfaces::Narrow) => {
            f.held_bit(agent)
                + 2 * (c.check_code()
                    + 3 * (s.check_code() + 3 * (b(f.agree) + 2 * (b(f.critic_pending()) + 2 * b(f.long_cheap)))))
        }
        (AGENT_CRITIC, Interfaces::Narrow) => {
            f.held_bit(agent)
                + 2 * (c.critic_code() + 3 * (s.critic_code() + 3 * (b(f.agree) + 2 * b(f.check_pending()))))
        }
        (AGENT_CHECKER, Interfaces::Verdicts) => {
            f.held_bit(agent) + 2 * (c.code() + 10 * (s.code() + 10 * (b(f.agree) + 2 * b(f.long_cheap))))
        }
        _ => f.held_bit(agent) + 2 * (c.code() + 10 * (s.code() + 10 * b(f.agree))),
    };
    ObsId(o)
}

/// In words, what `agent` sees of the artifact `f` when it holds it: exactly the fields of [`observe`].
pub fn describe(agent: AgentId, f: &Features, interfaces: Interfaces) -> String {
    let [c, s] = f.answers;
    let yn = |x: bool| if x { "yes" } else { "no" };
    let other = |m: usize| ["absent", "agrees", "disagrees"][f.other(m) as usize];
    let verdict = |present: bool, v: Verdict| match (present, v) {
        (false, _) => "absent",
        (true, Verdict::Pending) => "pending",
        (true, Verdict::Ok) => "fine",
        (true, Verdict::Flagged) => "flagged",
    };
    let held = || format!("; held before: {}", yn(f.held_bit(agent) == 1));
    let both = |m: usize| {
        let a = f.answers[m];
        match a.present {
            false => "absent".to_string(),
            true => format!("check {}, critique {}", verdict(true, a.check), verdict(true, a.critic)),
        }
    };
    if interfaces == Interfaces::Verdicts && (agent == AGENT_CHECKER || agent == AGENT_CRITIC) {
        let long =
            if agent == AGENT_CHECKER { format!("; cheap answer long: {}", yn(f.long_cheap)) } else { String::new() };
        return format!(
            "cheap answer: {}; strong answer: {}; answers agree: {}{long}{}",
            both(CHEAP),
            both(STRONG),
            yn(f.agree),
            held()
        );
    }
    match agent {
        AGENT_CHEAP => format!(
            "strong answer: {}; check pending: {}; critique pending: {}; own answer long: {}; question long: {}",
            other(STRONG),
            yn(f.check_pending()),
            yn(f.critic_pending()),
            yn(f.long_cheap),
            yn(f.long_question)
        ),
        AGENT_STRONG => format!(
            "cheap answer: {}; check pending: {}; critique pending: {}; question long: {}",
            other(CHEAP),
            yn(f.check_pending()),
            yn(f.critic_pending()),
            yn(f.long_question)
        ),
        AGENT_CHECKER => format!(
            "check of cheap answer: {}; of strong answer: {}; answers agree: {}; critique pending: {}; cheap answer \
             long: {}{}",
            verdict(c.present, c.check).replace("pending", "fine"),
            verdict(s.present, s.check).replace("pending", "fine"),
            yn(f.agree),
            yn(f.critic_pending()),
            yn(f.long_cheap),
            held()
        ),
        AGENT_CRITIC => format!(
            "critique of cheap answer: {}; of strong answer: {}; answers agree: {}; check pending: {}{}",
            verdict(c.present, c.critic).replace("pending", "fine"),
            verdict(s.present, s.critic).replace("pending", "fine"),
            yn(f.agree),
            yn(f.check_pending()),
            held()
        ),
        _ => format!(
            "cheap answer: {}; strong answer: {}; answers agree: {}{}",
            both(CHEAP),
            both(STRONG),
            yn(f.agree),
            held()
        ),
    }
}

/// What the observation `o` of `agent` says about (cheap present, strong present, check pending, critic
/// pending): the inputs of [`legal_actions`].
fn legal_inputs(agent: AgentId, o: u32, interfaces: Interfaces) -> (bool, bool, bool, bool) {
    let pending = |code: u32, which: usize| code != 0 && ((code - 1) / [3, 1][which]) % 3 == 0;
    match (agent, interfaces) {
        (AGENT_CHEAP, _) => (true, o % 3 != 0, (o / 3) % 2 == 1, (o / 6) % 2 == 1),
        (AGENT_STRONG, _) => (o % 3 != 0, true, (o / 3) % 2 == 1, (o / 6) % 2 == 1),
        (AGENT_CHECKER, Interfaces::Narrow) => {
            let (c, s, critic) = ((o / 2) % 3, (o / 6) % 3, (o / 36) % 2);
            // The checker has just checked everything present.
            (c != 0, s != 0, false, critic == 1)
        }
        (AGENT_CRITIC, Interfaces::Narrow) => {
            let (c, s, check) = ((o / 2) % 3, (o / 6) % 3, (o / 36) % 2);
            (c != 0, s != 0, check == 1, false)
        }
        _ => {
            let (c, s) = ((o / 2) % 10, (o / 20) % 10);
            (c != 0, s != 0, pending(c, 0) || pending(s, 0), pending(c, 1) || pending(s, 1))
        }
    }
}

/// Which workflow the agents run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Workflow {
    /// Every agent, every action (the module doc of [`super`]).
    #[default]
    Full,
    /// RouteLLM's setting: the submit desk sees only the question's context ([`PROMPT_CONTEXTS`] values,
    /// known before any model answers) and hands it to the cheap or the strong solver, which submits its own
    /// answer. Exactly one solver is called per question; the checker and the critic are never reachable.
    PromptOnly,
}

impl Workflow {
    /// The workflow a spec built by [`spec_for`] has (read from the submit desk's observation count).
    pub fn of_spec(spec: &EnvSpec) -> Self {
        match spec.agents.get(AGENT_SUBMIT.index()).map(|a| a.n_obs) {
            Some(PROMPT_CONTEXTS) => Workflow::PromptOnly,
            _ => Workflow::Full,
        }
    }
}

/// The agents' interfaces in the full workflow with the critic available.
pub fn spec(discount: f64, interfaces: Interfaces) -> Result<EnvSpec, CoreError> {
    spec_for(discount, interfaces, Workflow::Full, true)
}

/// The agents' interfaces: `critic` says whether the critic is reachable (without one, handing to it is never
/// legal). The prompt-only workflow ignores `interfaces` and `critic`.
pub fn spec_for(discount: f64, interfaces: Interfaces, workflow: Workflow, critic: bool) -> Result<EnvSpec, CoreError> {
    if workflow == Workflow::PromptOnly {
        return prompt_only_spec(discount);
    }
    let sizes = interfaces.obs_sizes();
    let agents = (0..N_AGENTS)
        .map(|i| {
            let agent = AgentId(i as u16);
            let sets: Vec<Vec<ActionId>> = (0..sizes[i])
                .map(|o| {
                    let (c, s, k, r) = legal_inputs(agent, o, interfaces);
                    let set = legal_actions(agent, c, s, k, r && critic);
                    // Observations no episode reaches (e.g. the desk with nothing and nothing pending) still
                    // need a non-empty set; handing to a solver is always meaningful there.
                    if set.is_empty() {
                        vec![TO_CHEAP]
                    } else {
                        set
                    }
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

fn prompt_only_spec(discount: f64) -> Result<EnvSpec, CoreError> {
    let agents = (0..N_AGENTS)
        .map(|i| {
            let (n_obs, set) = match AgentId(i as u16) {
                AGENT_SUBMIT => (PROMPT_CONTEXTS, vec![TO_CHEAP, TO_STRONG]),
                AGENT_STRONG => (1, vec![SUBMIT_STRONG]),
                // The cheap solver submits its answer; the checker and the critic are never reached.
                _ => (1, vec![SUBMIT_CHEAP]),
            };
            Ok(AgentSpec {
                name: AGENT_NAMES[i].to_string(),
                n_obs,
                n_actions: N_ACTIONS,
                legal: Legal::per_obs(&vec![set; n_obs as usize], N_ACTIONS)?,
                action_names: ACTION_NAMES.iter().map(|s| s.to_string()).collect(),
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    let spec = EnvSpec { id: ENV_ID.into(), agents, discount, max_in_flight: 1 };
    spec.validate()?;
    Ok(spec)
}

/// Number of joint states: holder (5) x cheap answer (10) x strong answer (10) x agreement x long cheap answer
/// x long question x the three held bits.
pub const N_JOINT: u32 = 5 * 10 * 10 * 2 * 2 * 2 * 8;

fn joint_index(holder: AgentId, f: &Features) -> u32 {
    let b = |x: bool| u32::from(x);
    let held = b(f.held[0]) + 2 * b(f.held[1]) + 4 * b(f.held[2]);
    let [c, s] = f.answers;
    u32::from(holder.0)
        + 5 * (c.code()
            + 10 * (s.code() + 10 * (b(f.agree) + 2 * (b(f.long_cheap) + 2 * (b(f.long_question) + 2 * held)))))
}

fn joint_decode(j: u32) -> (AgentId, Features) {
    let holder = AgentId((j % 5) as u16);
    let mut r = j / 5;
    let mut take = |n: u32| {
        let v = r % n;
        r /= n;
        v
    };
    let answer = |code: u32| {
        if code == 0 {
            AnswerState::default()
        } else {
            let v = |x: u32| [Verdict::Pending, Verdict::Ok, Verdict::Flagged][x as usize];
            AnswerState { present: true, check: v((code - 1) / 3), critic: v((code - 1) % 3) }
        }
    };
    let c = answer(take(10));
    let s = answer(take(10));
    let agree = take(2) == 1;
    let long_cheap = take(2) == 1;
    let long_question = take(2) == 1;
    let held = take(8);
    let f = Features {
        answers: [c, s],
        agree,
        long_cheap,
        long_question,
        prompt: 0,
        held: [held & 1 == 1, held & 2 == 2, held & 4 == 4],
    };
    (holder, f)
}

/// The centralized oracle's interface: one learner whose observation is the joint state (every agent's
/// observation and private state pooled, and the holder); its legal set is the holder's. The critic is reachable.
pub fn oracle_spec() -> Result<AgentSpec, CoreError> {
    oracle_spec_for(true)
}

/// [`oracle_spec`] with the critic reachable or not (as in [`spec_for`]).
pub fn oracle_spec_for(critic: bool) -> Result<AgentSpec, CoreError> {
    let sets: Vec<Vec<ActionId>> = (0..N_JOINT)
        .map(|j| {
            let (holder, f) = joint_decode(j);
            let (c, s) = (f.answers[CHEAP].present, f.answers[STRONG].present);
            let set = legal_actions(holder, c, s, f.check_pending(), f.critic_pending() && critic);
            if set.is_empty() {
                vec![TO_CHEAP]
            } else {
                set
            }
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

/// How an environment picks its questions: uniformly at random with replacement (training), or each once in
/// order, then again from the start (evaluation).
pub use baton_core::episode::Order;

/// The question (data-set index) of the next episode over `questions`, as `picker` picks it (under
/// [`Order::Sample`] one uniform draw from the environment's stream `rng`). The environment draws exactly this at
/// every episode start, so a caller that replays the draws of a training run (the LangGraph example of the Python
/// package) sees the same questions.
pub fn draw_question(questions: &[u32], picker: &mut Picker, rng: &mut Rng) -> usize {
    questions[picker.pick(questions.len(), rng)] as usize
}

/// Which agents worked on a question (were called on it at least once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Calls {
    /// The cheap solver answered.
    pub cheap: bool,
    /// The strong solver answered.
    pub strong: bool,
    /// The checker checked an answer.
    pub checker: bool,
    /// The critic judged an answer.
    pub critic: bool,
}

/// The outcome of one finished episode (for scoring; never shown to an agent).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpisodeRecord {
    /// The question (data-set index).
    pub question: usize,
    /// Which answer was submitted ([`CHEAP`] or [`STRONG`]).
    pub submitted: usize,
    /// Right under the decimal-aware grader.
    pub correct: bool,
    /// Right under the recording's rule (GSM8K only).
    pub correct_routellm: Option<bool>,
    /// USD spent on the question.
    pub cost_usd: f64,
    /// Handoffs, the final submission included.
    pub handoffs: u32,
    /// Who was called on the question.
    pub calls: Calls,
}

/// Totals over finished episodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Episodes finished.
    pub episodes: u64,
    /// Right answers (decimal-aware grader).
    pub correct: u64,
    /// Right answers under the recording's rule.
    pub correct_routellm: u64,
    /// Total USD spent.
    pub cost_usd: f64,
    /// Total handoffs.
    pub handoffs: u64,
    /// Episodes on which the cheap solver was called.
    pub cheap_calls: u64,
    /// Episodes on which the strong solver was called.
    pub strong_calls: u64,
    /// Episodes on which the checker was called.
    pub checker_calls: u64,
    /// Episodes on which the critic was called.
    pub critic_calls: u64,
}

impl Tally {
    /// Adds one finished episode.
    pub fn add(&mut self, rec: &EpisodeRecord) {
        self.episodes += 1;
        self.correct += u64::from(rec.correct);
        self.correct_routellm += u64::from(rec.correct_routellm == Some(true));
        self.cost_usd += rec.cost_usd;
        self.handoffs += u64::from(rec.handoffs);
        self.cheap_calls += u64::from(rec.calls.cheap);
        self.strong_calls += u64::from(rec.calls.strong);
        self.checker_calls += u64::from(rec.calls.checker);
        self.critic_calls += u64::from(rec.calls.critic);
    }
}

/// The multi-LLM math workflow (model.md 6.4) as an IC-SMDP: the shared one-artifact [`EpisodeEnv`] around
/// [`MathEpisodes`]. See [`super`] for the design.
pub type MathEnv = EpisodeEnv<MathEpisodes>;

/// The [`Episodic`] part of [`MathEnv`]: the table, the question picker, the artifact and the tallies.
#[derive(Clone, Debug)]
pub struct MathEpisodes {
    table: Arc<MathTable>,
    spec: Arc<EnvSpec>,
    questions: Arc<[u32]>,
    interfaces: Interfaces,
    workflow: Workflow,
    picker: Picker,
    lambda: f64,
    q: usize,
    holder: AgentId,
    /// The episode in progress has ended (an answer was submitted).
    ended: bool,
    features: Features,
    cost: f64,
    handoffs: u32,
    calls: Calls,
    last: Option<EpisodeRecord>,
    tally: Tally,
    records: Option<Vec<EpisodeRecord>>,
}

impl MathEpisodes {
    /// An environment over `questions` (indices into `table`), picked in `order`, with reward
    /// `1[correct] - lambda * cost`. `spec` is built by [`spec`] or [`spec_for`] (its interfaces and workflow are
    /// read from it).
    pub fn env(table: Arc<MathTable>, spec: Arc<EnvSpec>, questions: Arc<[u32]>, order: Order, lambda: f64) -> MathEnv {
        EpisodeEnv::from(MathEpisodes::new(table, spec, questions, order, lambda))
    }

    /// The episodes of [`MathEpisodes::env`].
    pub fn new(table: Arc<MathTable>, spec: Arc<EnvSpec>, questions: Arc<[u32]>, order: Order, lambda: f64) -> Self {
        assert!(!questions.is_empty(), "a math environment needs at least one question");
        let workflow = Workflow::of_spec(&spec);
        let interfaces = match workflow {
            Workflow::Full => Interfaces::of_spec(&spec).expect("a spec built by math::env::spec"),
            Workflow::PromptOnly => Interfaces::default(),
        };
        MathEpisodes {
            table,
            spec,
            questions,
            interfaces,
            workflow,
            picker: Picker::new(order),
            lambda,
            q: 0,
            holder: AGENT_SUBMIT,
            ended: false,
            features: Features::default(),
            cost: 0.0,
            handoffs: 0,
            calls: Calls::default(),
            last: None,
            tally: Tally::default(),
            records: None,
        }
    }

    /// Keep a record of every episode finished from now on (for scoring subsets of the questions).
    pub fn keep_records(&mut self) {
        self.records.get_or_insert_with(Vec::new);
    }

    /// The records kept since [`MathEpisodes::keep_records`], in order (empty if it was not called).
    pub fn take_records(&mut self) -> Vec<EpisodeRecord> {
        self.records.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The records kept since [`MathEpisodes::keep_records`], in order (empty if it was not called).
    pub fn records(&self) -> &[EpisodeRecord] {
        self.records.as_deref().unwrap_or_default()
    }

    /// The workflow the agents run.
    pub fn workflow(&self) -> Workflow {
        self.workflow
    }

    fn observe(&self, agent: AgentId) -> ObsId {
        match (self.workflow, agent) {
            (Workflow::Full, _) => observe(agent, &self.features, self.interfaces),
            (Workflow::PromptOnly, AGENT_SUBMIT) => ObsId(u32::from(self.features.prompt)),
            (Workflow::PromptOnly, _) => ObsId(0),
        }
    }

    /// The agents' interfaces.
    pub fn interfaces(&self) -> Interfaces {
        self.interfaces
    }

    /// The current artifact's features (for fixed strategies and tests; never for a learner).
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The current question's row, for filling it in lazily (one live question, `baton math ask`): a
    /// receiver's work reads its fields on receipt, so a field must be set before the handoff that needs it
    /// (a solver's answer before the handoff to that solver, `agree` before both answers exist, a critic
    /// verdict before the handoff to the critic) and `long_question` before the episode starts. Copies the
    /// table first if it is shared.
    pub fn row_mut(&mut self, question: usize) -> &mut QuestionRow {
        &mut Arc::make_mut(&mut self.table).rows[question]
    }

    /// The last finished episode.
    pub fn last_episode(&self) -> Option<EpisodeRecord> {
        self.last
    }

    /// Totals over every finished episode.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// USD spent on the current question so far.
    pub fn spent_usd(&self) -> f64 {
        self.cost
    }

    /// The price of accuracy: USD are worth `lambda` reward units.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Runs the receiver's work on receipt; returns its cost in USD.
    fn work(&mut self, agent: AgentId) -> f64 {
        let row = &self.table.rows[self.q];
        let f = &mut self.features;
        let mut cost = 0.0;
        match agent {
            AGENT_CHEAP | AGENT_STRONG => {
                let m = agent.index();
                if !f.answers[m].present {
                    f.answers[m].present = true;
                    cost += row.answers[m].cost_usd;
                    if m == CHEAP {
                        self.calls.cheap = true;
                    } else {
                        self.calls.strong = true;
                    }
                    if m == CHEAP {
                        f.long_cheap = row.answers[CHEAP].long;
                    }
                    f.agree = f.answers[CHEAP].present && f.answers[STRONG].present && row.agree;
                }
            }
            AGENT_CHECKER => {
                for (a, r) in f.answers.iter_mut().zip(&row.answers) {
                    if a.present && a.check == Verdict::Pending {
                        self.calls.checker = true;
                        a.check = if r.checker_flags { Verdict::Flagged } else { Verdict::Ok };
                    }
                }
            }
            AGENT_CRITIC => {
                for (a, r) in f.answers.iter_mut().zip(&row.answers) {
                    if a.present && a.critic == Verdict::Pending {
                        self.calls.critic = true;
                        a.critic = if r.critic_flags { Verdict::Flagged } else { Verdict::Ok };
                        cost += r.critic_cost_usd;
                    }
                }
            }
            _ => {}
        }
        cost
    }

    fn finish(&mut self, submitted: usize) -> f64 {
        let a = &self.table.rows[self.q].answers[submitted];
        let rec = EpisodeRecord {
            question: self.table.rows[self.q].question,
            submitted,
            correct: a.correct,
            correct_routellm: a.correct_routellm,
            cost_usd: self.cost,
            handoffs: self.handoffs,
            calls: self.calls,
        };
        self.tally.add(&rec);
        if let Some(records) = &mut self.records {
            records.push(rec);
        }
        self.last = Some(rec);
        if a.correct {
            1.0
        } else {
            0.0
        }
    }
}

impl Episodic for MathEpisodes {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn rewind(&mut self, _rng: &mut Rng) {
        self.picker.rewind();
    }

    fn begin(&mut self, rng: &mut Rng) {
        self.q = draw_question(&self.questions, &mut self.picker, rng);
        let row = &self.table.rows[self.q];
        self.features = Features { long_question: row.long_question, prompt: row.prompt, ..Features::default() };
        self.cost = 0.0;
        self.handoffs = 0;
        self.calls = Calls::default();
        self.holder = AGENT_SUBMIT;
        self.ended = false;
    }

    fn ended(&self) -> bool {
        self.ended
    }

    fn current(&self) -> (AgentId, ObsId) {
        (self.holder, self.observe(self.holder))
    }

    fn step(&mut self, action: ActionId, _rng: &mut Rng) -> Step {
        let sender = self.holder;
        if let AGENT_CHECKER | AGENT_CRITIC | AGENT_SUBMIT = sender {
            self.features.held[sender.index() - 2] = true;
        }
        self.handoffs += 1;
        let reward = match action {
            SUBMIT_CHEAP | SUBMIT_STRONG => {
                let m = if action == SUBMIT_CHEAP { CHEAP } else { STRONG };
                self.ended = true;
                self.finish(m)
            }
            _ => {
                let agent = AgentId(action.0);
                let cost = self.work(agent);
                self.cost += cost;
                self.holder = agent;
                -self.lambda * cost
            }
        };
        Step { sender, reward, duration: 1 }
    }
}

impl JointState for MathEpisodes {
    fn n_joint_states(&self) -> u32 {
        N_JOINT
    }

    fn joint_state(&self, _artifact: ArtifactId) -> ObsId {
        ObsId(joint_index(self.holder, &self.features))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_says_no_more_than_the_observation() {
        // Two artifacts an agent cannot tell apart are described identically: `describe` reads only what
        // `observe` encodes.
        for interfaces in [Interfaces::Narrow, Interfaces::Verdicts] {
            let mut seen: std::collections::HashMap<(u16, u32), String> = std::collections::HashMap::new();
            for j in 0..N_JOINT {
                let (_, f) = joint_decode(j);
                for i in 0..N_AGENTS as u16 {
                    let agent = AgentId(i);
                    let o = observe(agent, &f, interfaces).0;
                    let d = describe(agent, &f, interfaces);
                    let prev = seen.entry((i, o)).or_insert_with(|| d.clone());
                    assert_eq!(*prev, d, "{interfaces:?} agent {i} obs {o}");
                }
            }
            // ... and it says all of it: different observations, different descriptions.
            for i in 0..N_AGENTS as u16 {
                let mine: Vec<&String> = seen.iter().filter(|((a, _), _)| *a == i).map(|(_, d)| d).collect();
                let distinct: std::collections::HashSet<&&String> = mine.iter().collect();
                assert_eq!(distinct.len(), mine.len(), "{interfaces:?} agent {i}: two observations read alike");
            }
        }
    }

    #[test]
    fn joint_index_round_trips() {
        for j in 0..N_JOINT {
            let (h, f) = joint_decode(j);
            assert_eq!(joint_index(h, &f), j);
        }
    }

    #[test]
    fn observations_fit_and_legal_inputs_match_the_features() {
        // Every feature combination: observation in range, and the legal set read back from the observation
        // equals the one computed from the features.
        for (j, interfaces) in (0..N_JOINT).flat_map(|j| [(j, Interfaces::Narrow), (j, Interfaces::Verdicts)]) {
            let (_, f) = joint_decode(j);
            for (i, &size) in interfaces.obs_sizes().iter().enumerate() {
                let agent = AgentId(i as u16);
                let o = observe(agent, &f, interfaces).0;
                assert!(o < size, "agent {i} obs {o}");
                let reachable = match agent {
                    AGENT_CHEAP => f.answers[CHEAP].present,
                    AGENT_STRONG => f.answers[STRONG].present,
                    AGENT_CHECKER => f.any_present() && !f.check_pending(),
                    AGENT_CRITIC => f.any_present() && !f.critic_pending(),
                    _ => true,
                };
                if !reachable {
                    continue;
                }
                let (c, s, k, r) = legal_inputs(agent, o, interfaces);
                assert_eq!(
                    (c, s, k, r),
                    (f.answers[CHEAP].present, f.answers[STRONG].present, f.check_pending(), f.critic_pending()),
                    "agent {i} obs {o} features {f:?}"
                );
            }
        }
    }
}
