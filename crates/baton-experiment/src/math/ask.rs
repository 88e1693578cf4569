//! A learned math policy, saved and put to work on one question (`baton math ask`).
//!
//! A math run saves IC-Q's learned tables for its first seed, one file per (lambda, agent), each agent's own
//! table and nothing else:
//!
//! ```text
//! <run>/policy/policy.json                      manifest: seed, lambdas, data set, length thresholds
//! <run>/policy/lambda-<lambda>/agent-<i>.json   agent i's table Q_i(o, a), row-major n_obs x n_actions
//! ```
//!
//! [`ask`] runs the greedy policy through [`MathEnv`](baton_envs::math::MathEnv) on one question. The
//! question's row of the table is filled lazily from a backend: a solver is called only when the policy hands the question to it and the
//! critic only when the policy asks for it, so a live run pays only for the calls the policy makes. Every
//! field is computed as [`MathTable::build`] computes it (the same calls, the run's length thresholds), so
//! with the run's own backend a question reproduces its row of the run's table.

use std::path::Path;
use std::sync::Arc;

use baton_core::rng::{stream, Stream};
use baton_core::{ActionId, EnvSpec, Event, Next};
use baton_envs::math::env::{
    describe, spec_for, Verdict, Workflow, ENV_ID, TO_CHEAP, TO_CHECKER, TO_CRITIC, TO_STRONG,
};
use baton_envs::math::table::{answers_agree, critique, solve, CHEAP, STRONG};
use baton_envs::math::{
    CriticSource, Math, MathEpisodes, MathTable, Order, QuestionRow, Solved, SolverAnswer, TableParams, Thresholds,
};
use baton_learn::{IcqAgent, QFunction, StepSize, TabularQ};
use baton_llm::{Backend, Gold, Problem};
use serde::{Deserialize, Serialize};

use crate::config::WorkloadConfig;
use crate::{ExperimentConfig, ExperimentError};

/// The policy directory inside a run directory.
pub const POLICY_DIR: &str = "policy";
/// The manifest's file name inside [`POLICY_DIR`].
pub const MANIFEST: &str = "policy.json";

/// `policy/policy.json`: what the saved tables are and how to read a new question the way the run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyManifest {
    /// The environment the tables belong to (`math-workflow-v0`).
    pub env: String,
    /// The learning method (`ic-q`).
    pub method: String,
    /// The run seed whose tables were saved.
    pub seed: u64,
    /// The data set the policy was trained on (`gsm8k-test` or `mathqa-test`).
    pub dataset: String,
    /// The lambdas with a saved policy, each in `lambda-<lambda>/`.
    pub lambdas: Vec<f64>,
    /// The length thresholds of the run's table.
    pub thresholds: Thresholds,
    /// The agents' names, by index.
    pub agents: Vec<String>,
}

/// `policy/lambda-<lambda>/agent-<i>.json`: one agent's own table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentTable {
    /// The agent's index.
    pub agent: u16,
    /// Its name.
    pub name: String,
    /// Observations of the agent.
    pub n_obs: u32,
    /// Actions of the agent.
    pub n_actions: u16,
    /// The lambda it was trained at.
    pub lambda: f64,
    /// The run seed.
    pub seed: u64,
    /// `Q_i(o, a)`, row-major: entry `o * n_actions + a`.
    pub q: Vec<f64>,
}

/// The directory of one lambda's tables, relative to the run directory.
pub fn lambda_dir(lambda: f64) -> String {
    format!("{POLICY_DIR}/lambda-{lambda}")
}

/// The files of a math run's saved policy (relative path, contents): the manifest and one table per
/// (lambda, agent) of IC-Q's jobs at `seed`. Empty if the run has no IC-Q job at that seed.
pub fn policy_files(
    jobs: &[crate::math::MathJob],
    table: &MathTable,
    spec: &EnvSpec,
    dataset: &str,
    seed: u64,
) -> Result<Vec<(String, String)>, ExperimentError> {
    let ser = |e: serde_json::Error| ExperimentError::Internal(format!("serialising a policy: {e}"));
    let mut files = Vec::new();
    let mut lambdas = Vec::new();
    for job in jobs.iter().filter(|j| j.method == crate::Method::IcQ && j.seed == seed) {
        let (Some(lambda), Some(tables)) = (job.lambda, &job.policy) else { continue };
        lambdas.push(lambda);
        for (i, (a, q)) in spec.agents.iter().zip(tables).enumerate() {
            let t = AgentTable {
                agent: i as u16,
                name: a.name.clone(),
                n_obs: a.n_obs,
                n_actions: a.n_actions,
                lambda,
                seed,
                q: q.clone(),
            };
            files.push((format!("{}/agent-{i}.json", lambda_dir(lambda)), serde_json::to_string(&t).map_err(ser)?));
        }
    }
    if lambdas.is_empty() {
        return Ok(Vec::new());
    }
    let manifest = PolicyManifest {
        env: ENV_ID.into(),
        method: crate::Method::IcQ.name().into(),
        seed,
        dataset: dataset.into(),
        lambdas,
        thresholds: table.thresholds,
        agents: spec.agents.iter().map(|a| a.name.clone()).collect(),
    };
    let mut text = serde_json::to_string_pretty(&manifest).map_err(ser)?;
    text.push('\n');
    files.insert(0, (format!("{POLICY_DIR}/{MANIFEST}"), text));
    Ok(files)
}

/// A saved policy at one lambda, loaded: the run's validated workload and each agent's own table.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The run's math workload (models, prices, critic, split seed), from its `config.toml`.
    pub math: Math,
    /// The manifest.
    pub manifest: PolicyManifest,
    /// The chosen lambda.
    pub lambda: f64,
    /// The agents' interfaces.
    pub spec: Arc<EnvSpec>,
    /// Each agent with its own table.
    pub agents: Vec<IcqAgent<TabularQ>>,
}

fn read(path: &Path) -> Result<String, ExperimentError> {
    crate::data::read_capped(path, crate::data::MAX_DATA_BYTES, "file").map_err(|e| match e {
        ExperimentError::Io { path, message } => ExperimentError::Io {
            path,
            message: format!("{message} (is this a math run directory written by `baton run`?)"),
        },
        other => other,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ExperimentError> {
    serde_json::from_str(text)
        .map_err(|e| ExperimentError::Parse { origin: path.display().to_string(), message: e.to_string() })
}

/// Loads the policy saved in the math run directory `run` at `lambda` (optional when the run has one lambda).
/// Errors name the file and what is wrong with it.
pub fn load_policy(run: &Path, lambda: Option<f64>) -> Result<Policy, ExperimentError> {
    let cfg_path = run.join("config.toml");
    let cfg = ExperimentConfig::from_toml(&read(&cfg_path)?, &cfg_path.display().to_string())?;
    let WorkloadConfig::Math(math) = cfg.workload else {
        return Err(ExperimentError::InvalidConfig {
            field: format!("{}: workload.kind", cfg_path.display()),
            reason: "not a math run".into(),
        });
    };
    let math = math.validate()?;
    let man_path = run.join(POLICY_DIR).join(MANIFEST);
    let manifest: PolicyManifest = parse(&man_path, &read(&man_path)?)?;
    let bad = |path: &Path, field: &str, reason: String| ExperimentError::InvalidConfig {
        field: format!("{}: {field}", path.display()),
        reason,
    };
    if manifest.env != ENV_ID {
        return Err(bad(&man_path, "env", format!("{:?} is not {ENV_ID:?}", manifest.env)));
    }
    let list = || manifest.lambdas.iter().map(f64::to_string).collect::<Vec<_>>().join(", ");
    let lambda = match (lambda, manifest.lambdas.as_slice()) {
        (Some(l), ls) if ls.contains(&l) => l,
        (Some(l), _) => return Err(bad(&man_path, "lambdas", format!("no policy at lambda {l} (saved: {})", list()))),
        (None, [l]) => *l,
        (None, _) => {
            return Err(ExperimentError::InvalidConfig {
                field: "--lambda".into(),
                reason: format!("choose one of the saved lambdas: {}", list()),
            })
        }
    };
    let spec = Arc::new(spec_for(
        math.config.discount,
        math.config.interfaces,
        Workflow::Full,
        math.config.critic.kind.enabled(),
    )?);
    let mut agents = Vec::with_capacity(spec.agents.len());
    for (i, a) in spec.agents.iter().enumerate() {
        let path = run.join(lambda_dir(lambda)).join(format!("agent-{i}.json"));
        let t: AgentTable = parse(&path, &read(&path)?)?;
        if t.agent as usize != i || t.n_obs != a.n_obs || t.n_actions != a.n_actions {
            return Err(bad(
                &path,
                "agent",
                format!(
                    "agent {} with {} x {} entries, expected agent {i} ({}) with {} x {}",
                    t.agent, t.n_obs, t.n_actions, a.name, a.n_obs, a.n_actions
                ),
            ));
        }
        if let Some(k) = t.q.iter().position(|v| !v.is_finite()) {
            return Err(bad(&path, "q", format!("entry {k} is not finite")));
        }
        let n = t.q.len();
        let q = TabularQ::with_values(a, StepSize::polynomial(0.8), t.q).ok_or_else(|| {
            bad(&path, "q", format!("{n} entries, expected {}", a.n_obs as usize * a.n_actions as usize))
        })?;
        agents.push(IcqAgent::new(q, spec.discount));
    }
    Ok(Policy { math, manifest, lambda, spec, agents })
}

/// One decision of the episode: who held the question, what it saw, what it did, and the one scalar that
/// came back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// The holder.
    pub agent: String,
    /// Its observation's index.
    pub obs: u32,
    /// Its observation in words (exactly what it sees).
    pub sees: String,
    /// The greedy action.
    pub action: String,
    /// The holder's `Q(o, a)` of that action.
    pub q: f64,
    /// What the receiver did on receipt (empty for a submission or a handoff without new work).
    pub work: String,
    /// USD that work cost.
    pub cost_usd: f64,
    /// The option's reward: `-lambda * cost`, or `1[right]` for a submission of a graded question.
    pub reward: f64,
    /// The receiver's reply `v = max_a' Q_j(o', a')`, 0 when the episode ended.
    pub scalar: f64,
}

/// The outcome of [`ask`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transcript {
    /// Every decision, in order.
    pub steps: Vec<Step>,
    /// The two solvers' responses, when called.
    pub responses: [Option<String>; 2],
    /// The submitted answer: [`CHEAP`] or [`STRONG`].
    pub submitted: usize,
    /// Its final answer, as the grader reads it.
    pub final_answer: Option<String>,
    /// Whether it is right (`None` without a reference answer).
    pub correct: Option<bool>,
    /// USD spent.
    pub cost_usd: f64,
    /// Whether the question counts as long.
    pub long_question: bool,
}

/// The final answer of `text` as the grader reads it: a number, or a MathQA option letter.
pub fn final_answer(text: &str, gold: &Gold) -> Option<String> {
    match gold {
        Gold::Number(_) => baton_llm::grade::parse_answer(text).map(|x| x.to_string()),
        Gold::Choice { options, .. } => baton_llm::grade::parse_choice(text, options).map(|c| c.to_string()),
    }
}

fn blank_answer() -> SolverAnswer {
    SolverAnswer {
        cost_usd: 0.0,
        checker_flags: false,
        long: false,
        critic_flags: false,
        critic_cost_usd: 0.0,
        correct: false,
        correct_routellm: None,
    }
}

/// Runs `policy` greedily on `problem` (question `q` of `backend`'s data set), calling the backend only
/// for the work the policy asks for. `graded`: whether `problem.gold` is a real reference answer.
pub fn ask(
    policy: &Policy,
    backend: &dyn Backend,
    problem: &Problem,
    q: usize,
    critic: CriticSource,
    graded: bool,
) -> Result<Transcript, ExperimentError> {
    let c = &policy.math.config;
    let p = TableParams {
        models: [c.cheap_model.as_str(), c.strong_model.as_str()],
        critic_model: &c.critic.model,
        critic,
        prices: &policy.math.prices,
    };
    let th = policy.manifest.thresholds;
    let row = QuestionRow {
        question: q,
        answers: [blank_answer(), blank_answer()],
        agree: false,
        long_question: th.long_question(problem),
        prompt: th.prompt_context(problem),
    };
    let table = MathTable { rows: vec![row], thresholds: th };
    let mut env =
        MathEpisodes::env(Arc::new(table), policy.spec.clone(), vec![0u32].into(), Order::Sequential, policy.lambda);
    let mut rng = stream(0, Stream::Env);
    let mut solved: [Option<Solved>; 2] = [None, None];
    let mut judged = [false; 2];
    let mut steps: Vec<Step> = Vec::new();
    let names = ["cheap solver", "strong solver"];
    loop {
        match baton_core::Env::next_event(&mut env, &mut rng) {
            Event::Decide(d) => {
                let me = &policy.agents[d.agent.index()];
                let action = me.greedy(d.obs);
                let sees = describe(d.agent, env.features(), env.interfaces());
                let mut work = Vec::new();
                match action {
                    TO_CHEAP | TO_STRONG => {
                        let m = if action == TO_CHEAP { CHEAP } else { STRONG };
                        if solved[m].is_none() {
                            let s = solve(backend, problem, q, m, &p)?;
                            env.row_mut(0).answers[m] =
                                SolverAnswer { long: th.long_answer(m, s.output_tokens), ..s.answer.clone() };
                            work.push(format!("{} answered ({} output tokens)", names[m], s.output_tokens));
                            solved[m] = Some(s);
                            if let [Some(a), Some(b)] = &solved {
                                env.row_mut(0).agree = answers_agree(&a.text, &b.text, problem);
                            }
                        }
                    }
                    TO_CRITIC => {
                        for m in [CHEAP, STRONG] {
                            let a = env.features().answers[m];
                            if let (true, false, Some(s)) = (a.present, judged[m], &solved[m]) {
                                let (flags, cost) = critique(backend, problem, q, m, s, &p)?;
                                let r = &mut env.row_mut(0).answers[m];
                                r.critic_flags = flags;
                                r.critic_cost_usd = cost;
                                judged[m] = true;
                                let v = if flags { "INCORRECT" } else { "CORRECT" };
                                work.push(format!("critic judged the {} answer {v}", names[m]));
                            }
                        }
                    }
                    _ => {}
                }
                let before = env.spent_usd();
                baton_core::Env::act(&mut env, d.artifact, action, &mut rng);
                if action == TO_CHECKER {
                    let f = env.features();
                    for m in [CHEAP, STRONG] {
                        if f.answers[m].present {
                            let flagged = f.answers[m].check == Verdict::Flagged;
                            work.push(format!(
                                "checker {} the {} answer",
                                if flagged { "flagged" } else { "passed" },
                                names[m]
                            ));
                        }
                    }
                }
                steps.push(Step {
                    agent: policy.spec.agents[d.agent.index()].name.clone(),
                    obs: d.obs.0,
                    sees,
                    action: action_name(action),
                    q: me.q().value(d.obs, action),
                    work: work.join("; "),
                    cost_usd: env.spent_usd() - before,
                    reward: 0.0,
                    scalar: 0.0,
                });
            }
            Event::Handoff(h) => {
                let step =
                    steps.last_mut().ok_or_else(|| ExperimentError::Internal("a handoff before a decision".into()))?;
                step.reward = h.reward;
                step.scalar = match h.next {
                    Next::To { agent, obs } => policy.agents[agent.index()].reply(obs).value(),
                    Next::Terminated | Next::Truncated => 0.0,
                };
            }
            Event::EpisodeEnd => break,
        }
    }
    let rec = env.last_episode().ok_or_else(|| ExperimentError::Internal("the episode did not finish".into()))?;
    if !graded {
        if let Some(s) = steps.last_mut() {
            s.reward = f64::NAN;
        }
    }
    let text = solved[rec.submitted].as_ref().map(|s| s.text.clone()).unwrap_or_default();
    Ok(Transcript {
        final_answer: final_answer(&text, &problem.gold),
        steps,
        submitted: rec.submitted,
        correct: graded.then_some(rec.correct),
        cost_usd: rec.cost_usd,
        long_question: th.long_question(problem),
        responses: solved.map(|s| s.map(|s| s.text)),
    })
}

fn action_name(a: ActionId) -> String {
    ["to-cheap", "to-strong", "to-checker", "to-critic", "to-submit", "submit-cheap", "submit-strong"]
        .get(usize::from(a.0))
        .map_or_else(|| format!("action-{}", a.0), |s| (*s).to_string())
}
