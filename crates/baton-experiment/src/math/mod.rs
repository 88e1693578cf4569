//! Math workflow experiments (model.md 6.4): every learning method at every lambda over every seed, trained on the
//! train half of a fixed split and scored by its greedy policy on the held-out half; the fixed strategies
//! scored on the same held-out half.

pub mod ask;
pub mod live;
pub mod metrics;

use std::sync::Arc;

use baton_core::{ActionId, AgentSpec, CoreError, Decision, EnvSpec};
use baton_envs::math::env::{oracle_spec_for, spec_for, Workflow, ENV_ID};
use baton_envs::math::{
    BackendKind, CriticKind, CriticSource, EpisodeRecord, Math, MathConfig, MathEnv, MathEpisodes, MathTable, Order,
    Strategy, TableParams, Tally,
};
use baton_learn::LearnerParams;
use baton_llm::{ReplayBackend, SimulatedBackend};
use rayon::prelude::*;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use self::metrics::Reference;
use crate::episodic::{train_then_score, EpisodeJob};
use crate::method::Method;
use crate::progress::Progress;
use crate::stats::mean_ci95;
use crate::train::{Scripted, TrainStats};
use crate::workload::{lines, pretty, Checked, Kind, Outcome, Results, Workload, WorkloadSpec};
use crate::ExperimentError;

pub(crate) mod report;

/// The methods a math experiment can run.
pub const METHODS: [Method; 9] = [
    Method::IcQ,
    Method::Oracle,
    Method::NoScalar,
    Method::PromptOnly,
    Method::CheapOnly,
    Method::StrongOnly,
    Method::Cascade,
    Method::BothTie,
    Method::Random,
];

/// One accuracy point: the tolerance of the front and oracle checks.
pub const TOLERANCE: f64 = 0.01;

/// Progress is reported this many times per training run.
const CHUNKS: u64 = 20;

/// A validated math workload with its world built: the table of every call and the split.
#[derive(Clone, Debug)]
pub struct MathWorkload {
    /// The validated config.
    pub math: Math,
    /// Every model call, per question.
    pub table: Arc<MathTable>,
    /// The agents' interfaces.
    pub spec: Arc<EnvSpec>,
    /// The agents' interfaces in the prompt-only workflow (method `prompt-only`).
    pub prompt_spec: Arc<EnvSpec>,
    /// Per question of the table: whether it is one of RouteLLM's contaminated GSM8K prompts (all false for
    /// other data sets).
    pub contaminated: Arc<[bool]>,
    /// Training questions.
    pub train: Arc<[u32]>,
    /// Held-out questions.
    pub test: Arc<[u32]>,
    /// The data set's name.
    pub dataset: String,
    /// What the live backend did (`backend = "live"` only).
    pub live: Option<live::LiveReport>,
}

impl MathWorkload {
    /// Loads the backend from the data directory (I/O) and asks it every question once per solver.
    pub fn load(math: Math) -> Result<Self, ExperimentError> {
        let c = &math.config;
        let dir = data_dir(&math);
        let (table, dataset, contaminated, live) = match c.backend {
            BackendKind::Live => {
                let (table, full, report) = live::build(&math, &dir)?;
                let mut contaminated = metrics::contaminated(&dir, &full)?;
                contaminated.truncate(table.len());
                (table, "gsm8k-test", contaminated, Some(report))
            }
            BackendKind::Replay | BackendKind::Simulated => {
                let backend = open_backend(&math)?;
                let p = table_params(&math);
                let full = backend.dataset();
                let table = MathTable::build(backend.backend(), &first(full, c.questions), &p)?;
                if c.backend == BackendKind::Replay {
                    let mut contaminated = metrics::contaminated(&dir, full)?;
                    contaminated.truncate(table.len());
                    (table, "gsm8k-test", contaminated, None)
                } else {
                    let none = vec![false; table.len()];
                    (table, "mathqa-test", none, None)
                }
            }
        };
        let (train, test) = table.split(c.split_seed, c.train_fraction);
        if train.is_empty() || test.is_empty() {
            return Err(ExperimentError::InvalidConfig {
                field: "workload.train_fraction".into(),
                reason: "leaves one side of the split empty".into(),
            });
        }
        let spec = spec_for(c.discount, c.interfaces, Workflow::Full, c.critic.kind.enabled())?;
        let prompt_spec = spec_for(c.discount, c.interfaces, Workflow::PromptOnly, false)?;
        Ok(MathWorkload {
            math,
            table: Arc::new(table),
            spec: Arc::new(spec),
            prompt_spec: Arc::new(prompt_spec),
            contaminated: contaminated.into(),
            train: train.into(),
            test: test.into(),
            dataset: dataset.into(),
            live,
        })
    }

    /// An environment over `questions` at price `lambda`.
    pub fn env(&self, questions: &Arc<[u32]>, order: Order, lambda: f64) -> MathEnv {
        MathEpisodes::env(self.table.clone(), self.spec.clone(), questions.clone(), order, lambda)
    }

    /// The spec `method` trains and is scored on.
    pub fn spec_of(&self, method: Method) -> &Arc<EnvSpec> {
        if method == Method::PromptOnly {
            &self.prompt_spec
        } else {
            &self.spec
        }
    }

    /// The critic behind every row of this workload.
    pub fn critic(&self) -> CriticKind {
        self.math.config.critic.kind
    }

    /// Scores a fixed strategy on `questions`, each once.
    pub fn evaluate_strategy(&self, strategy: Strategy, questions: &Arc<[u32]>, seed: u64) -> Tally {
        let mut s = Scripted::new(self.env(questions, Order::Sequential, 0.0), seed);
        let n = questions.len() as u64;
        s.run_until(|_, st| st.episodes >= n, |env, d, _| strategy.action(d.agent, env.features()));
        s.env().tally()
    }

    /// Whether the data set has the recording's rule (GSM8K).
    pub fn has_routellm(&self) -> bool {
        matches!(self.math.config.backend, BackendKind::Replay | BackendKind::Live)
    }
}

/// The data directory of a math workload: `data_dir`, else `$BATON_DATA_DIR`, else the repository's `data/`.
fn data_dir(math: &Math) -> std::path::PathBuf {
    match &math.config.data_dir {
        Some(d) => crate::data::resolve_data_path(d),
        None => baton_llm::data::data_dir(),
    }
}

/// A math workload's backend, loaded from its data directory: the recording (replay) or the calibrated models
/// (simulated). [`MathWorkload::load`] asks it every question once; the LangGraph example of the Python
/// package asks it one question at a time from its graph's nodes.
pub enum MathBackend {
    /// The recorded GPT-4-1106 and Mixtral-8x7B responses to GSM8K test.
    Replay(ReplayBackend),
    /// The calibrated simulation on MathQA test.
    Simulated(SimulatedBackend),
}

impl MathBackend {
    /// The backend.
    pub fn backend(&self) -> &dyn baton_llm::Backend {
        match self {
            MathBackend::Replay(b) => b,
            MathBackend::Simulated(b) => b,
        }
    }

    /// Its data set (question `q` of a request is `dataset().problems[q]`).
    pub fn dataset(&self) -> &baton_llm::data::Dataset {
        match self {
            MathBackend::Replay(b) => b.dataset(),
            MathBackend::Simulated(b) => b.dataset(),
        }
    }
}

/// Loads the backend of a validated math workload (I/O).
pub fn open_backend(math: &Math) -> Result<MathBackend, ExperimentError> {
    let c = &math.config;
    let dir = data_dir(math);
    let llm = |e: baton_llm::LlmError| ExperimentError::Workload(format!("math backend: {e}"));
    Ok(match c.backend {
        BackendKind::Replay => MathBackend::Replay(ReplayBackend::load(&dir, math.prices.clone()).map_err(llm)?),
        BackendKind::Live => {
            return Err(ExperimentError::Workload(
                "workload.backend: a live backend is asked through the math runner (`baton run`), not opened \
                 question by question"
                    .into(),
            ))
        }
        BackendKind::Simulated => {
            let cfg = math.simulated.clone().unwrap_or_default();
            MathBackend::Simulated(SimulatedBackend::mathqa(&dir, cfg, math.prices.clone(), c.split_seed).map_err(llm)?)
        }
    })
}

/// What a math workload's solvers and critic are asked with: its models, its critic's source and prices.
pub fn table_params(math: &Math) -> TableParams<'_> {
    let c = &math.config;
    let critic = match (c.critic.kind, c.backend) {
        (CriticKind::None, _) => CriticSource::None,
        (_, BackendKind::Replay) => CriticSource::FromLabel {
            true_positive: c.critic.true_positive,
            false_positive: c.critic.false_positive,
            seed: c.split_seed,
        },
        (_, BackendKind::Simulated | BackendKind::Live) => CriticSource::Backend,
    };
    TableParams {
        models: [c.cheap_model.as_str(), c.strong_model.as_str()],
        critic_model: &c.critic.model,
        critic,
        prices: &math.prices,
    }
}

/// The first `n` questions of `data` (all of them without `n`).
fn first(data: &baton_llm::Dataset, n: Option<usize>) -> baton_llm::Dataset {
    let mut d = data.clone();
    if let Some(n) = n {
        d.problems.truncate(n);
    }
    d
}

/// One (method, lambda, seed) job: training (learning methods) and the held-out evaluation (serialisable, so
/// that a shard of a run can keep it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MathJob {
    /// Method.
    pub method: Method,
    /// Lambda (learning methods only).
    pub lambda: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// The held-out evaluation's totals.
    pub eval: Tally,
    /// Training counters (zero for fixed strategies).
    pub train: TrainStats,
    /// IC-Q only: each agent's learned table (row-major `n_obs * n_actions`), by agent index.
    pub policy: Option<Vec<Vec<f64>>>,
    /// Every held-out question's outcome, in evaluation order.
    pub records: Vec<EpisodeRecord>,
}

/// One line of `metrics.jsonl`: one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MathPoint {
    /// Method.
    pub method: Method,
    /// Lambda (null for fixed strategies).
    pub lambda: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// Held-out accuracy (decimal-aware grader).
    pub accuracy: f64,
    /// Held-out accuracy under the recording's rule (GSM8K only).
    pub accuracy_routellm: Option<f64>,
    /// The critic behind the figures: `none`, `label-simulated` or `backend`.
    pub critic: &'static str,
    /// Share of held-out questions on which the cheap solver was called.
    pub cheap_share: f64,
    /// Share on which the strong solver was called (RouteLLM's x axis).
    pub strong_share: f64,
    /// Share on which the checker was called.
    pub checker_share: f64,
    /// Share on which the critic was called.
    pub critic_share: f64,
    /// `(accuracy - cheap-only's) / (strong-only's - cheap-only's)` on the same questions (RouteLLM's PGR).
    pub pgr: f64,
    /// USD spent relative to strong-only's on the same questions.
    pub cost_vs_strong: f64,
    /// USD per 1000 held-out questions.
    pub cost_per_1k_usd: f64,
    /// Mean of `1[right] - lambda * cost` per held-out question (null for fixed strategies).
    #[serde(rename = "return")]
    pub mean_return: Option<f64>,
    /// Mean handoffs per held-out question.
    pub handoffs_per_question: f64,
    /// Training episodes.
    pub train_episodes: u64,
}

/// One row of a math `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MathRow {
    /// Method.
    pub method: Method,
    /// Lambda (null for fixed strategies).
    pub lambda: Option<f64>,
    /// Mean over seeds of the held-out accuracy (decimal-aware grader).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub accuracy: f64,
    /// The same under the recording's last-integer rule (GSM8K only, else null).
    pub accuracy_routellm: Option<f64>,
    /// 95% confidence interval over seeds of `accuracy`.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub accuracy_ci95: [f64; 2],
    /// The critic behind the row: `none` (real signals only, or a method that never calls it),
    /// `label-simulated` or `backend`.
    pub critic: Cow<'static, str>,
    /// Mean over seeds of the share of held-out questions on which the cheap solver was called.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cheap_share: f64,
    /// The same for the strong solver (RouteLLM's x axis).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub strong_share: f64,
    /// The same for the checker.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub checker_share: f64,
    /// The same for the critic.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub critic_share: f64,
    /// Mean over seeds of PGR against cheap-only and strong-only on the same questions.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub pgr: f64,
    /// Mean over seeds of USD relative to strong-only's on the same questions.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cost_vs_strong: f64,
    /// Mean over seeds of USD per 1000 held-out questions.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cost_per_1k_usd: f64,
    /// Mean over seeds of `1[right] - lambda * cost` per held-out question (null for fixed strategies).
    #[serde(rename = "return")]
    pub mean_return: Option<f64>,
    /// Mean handoffs per held-out question.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub handoffs_per_question: f64,
    /// Scalars that crossed between agents per transfer of control in training (1 for IC-Q, else 0).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub scalars_per_transfer: f64,
    /// Seeds aggregated.
    pub seeds: u32,
}

/// How IC-Q's front compares with one fixed strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontCheck {
    /// The fixed strategy.
    pub method: Method,
    /// Its cost per 1000 questions.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cost_per_1k_usd: f64,
    /// Its accuracy.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub accuracy: f64,
    /// IC-Q's front at that cost: the piecewise-linear curve through its (cost, accuracy) points, or a point
    /// costing no more (null when every IC-Q point costs more).
    pub front_accuracy: Option<f64>,
    /// `front_accuracy - accuracy`.
    pub margin: Option<f64>,
    /// `margin >= -0.01`.
    pub holds: bool,
}

/// IC-Q against the centralized oracle at one lambda.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OracleCheck {
    /// Lambda.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub lambda: f64,
    /// IC-Q's accuracy.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub ic_q: f64,
    /// The oracle's accuracy.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub oracle: f64,
    /// `ic_q - oracle`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub difference: f64,
    /// `difference >= -0.01`.
    pub holds: bool,
    /// IC-Q's mean return minus the oracle's (the objective both maximise): positive where IC-Q's cheaper
    /// or dearer policy is the better trade at this lambda even when its accuracy is lower.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub return_difference: f64,
    /// The oracle's cost per 1000 questions at this lambda.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub oracle_cost_per_1k_usd: f64,
    /// IC-Q's front (over all its lambdas, as in `front_checks`) at the oracle's cost; null when every IC-Q
    /// point costs more.
    pub front_accuracy: Option<f64>,
    /// `front_accuracy - oracle`: does IC-Q reach the oracle's accuracy at the oracle's cost? Near a lambda where
    /// two policies' returns tie, `difference` compares two different points of nearly the same front.
    pub front_difference: Option<f64>,
    /// `front_difference >= -0.01`.
    pub front_holds: bool,
}

/// `summary.json` of a math run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MathSummary {
    /// Experiment name.
    pub experiment: String,
    /// Workload id.
    pub workload: String,
    /// `replay` or `simulated`.
    pub backend: BackendKind,
    /// The data set.
    pub dataset: String,
    /// Training questions.
    pub train_questions: usize,
    /// Held-out questions.
    pub heldout_questions: usize,
    /// Training episodes per job.
    pub episodes: u64,
    /// Seeds.
    pub seeds: u32,
    /// The run's critic: `none` (every signal computed from the recorded text), `label-simulated` or `backend`.
    pub critic: CriticKind,
    /// One row per (learning method, lambda) and per fixed strategy, methods in config order.
    pub rows: Vec<MathRow>,
    /// IC-Q's front against every fixed strategy (empty without IC-Q).
    pub front_checks: Vec<FrontCheck>,
    /// IC-Q against the oracle at every lambda (empty without both).
    pub oracle_checks: Vec<OracleCheck>,
    /// RouteLLM's metrics (APGR, CPT(50%), CPT(80%)) of every method, on the held-out questions and on those not
    /// in RouteLLM's contaminated list.
    pub routellm: metrics::RouteLlmSection,
    /// `backend = "live"` only: questions answered, whether the spend cap was reached, USD spent, requests sent
    /// and responses replayed from the journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<live::LiveReport>,
}

/// Everything a math run produced.
#[derive(Debug)]
pub struct MathResults {
    /// The summary.
    pub summary: MathSummary,
    /// Every job, in (method, lambda, seed) order.
    pub jobs: Vec<MathJob>,
    /// The workload (its table and spec, for the saved policy).
    pub workload: MathWorkload,
}

fn strategy(method: Method) -> Option<Strategy> {
    match method {
        Method::CheapOnly => Some(Strategy::CheapOnly),
        Method::StrongOnly => Some(Strategy::StrongOnly),
        Method::Cascade => Some(Strategy::Cascade),
        Method::BothTie => Some(Strategy::BothTie),
        _ => None,
    }
}

/// The jobs of a run, in order.
pub fn jobs(math: &MathWorkload, methods: &[Method], seeds: &[u64]) -> Vec<(Method, Option<f64>, u64)> {
    let lambdas = &math.math.config.lambdas;
    let mut out = Vec::new();
    for &m in methods {
        if m.learns() {
            for &l in lambdas {
                out.extend(seeds.iter().map(|&s| (m, Some(l), s)));
            }
        } else {
            out.extend(seeds.iter().map(|&s| (m, None, s)));
        }
    }
    out
}

/// The run's results from its jobs' (summary, metrics and plots are made from them).
fn results_of(name: &str, math: &MathWorkload, methods: &[Method], n_seeds: u32, jobs: Vec<MathJob>) -> MathResults {
    let summary = summarise(name, math, methods, n_seeds, &jobs);
    MathResults { summary, jobs, workload: math.clone() }
}

/// A run whose jobs of some (method, lambda, seed) were made outside the runner (`outside`: e.g. IC-Q trained
/// and scored through a LangGraph graph by the Python package), the other jobs of `methods` x `seeds` run here;
/// summarised as a run summarises its own (with no outside job: the run itself, outside `baton run`). Every outside job must be one of the run's, once.
pub fn run_with(
    name: &str,
    math: &MathWorkload,
    methods: &[Method],
    seeds: &[u64],
    learner: &LearnerParams,
    outside: Vec<MathJob>,
    progress: &dyn Progress,
) -> Result<MathResults, ExperimentError> {
    let jobs = jobs(math, methods, seeds);
    let bad = |reason: String| ExperimentError::InvalidConfig { field: "jobs".into(), reason };
    for (i, j) in outside.iter().enumerate() {
        if !jobs.contains(&(j.method, j.lambda, j.seed)) {
            return Err(bad(format!(
                "job {i} ({}, {:?}, seed {}) is not one of the run's",
                j.method, j.lambda, j.seed
            )));
        }
        if outside[..i].iter().any(|k| (k.method, k.lambda, k.seed) == (j.method, j.lambda, j.seed)) {
            return Err(bad(format!("job {i} ({}, {:?}, seed {}) is given twice", j.method, j.lambda, j.seed)));
        }
    }
    // Each job of the run with the outside result made for it, if any; the rest run here, in parallel.
    let mut outside: Vec<Option<MathJob>> = outside.into_iter().map(Some).collect();
    let slots: Vec<_> = jobs
        .iter()
        .map(|&job| {
            let made = outside.iter_mut().find(|o| o.as_ref().is_some_and(|j| (j.method, j.lambda, j.seed) == job));
            (job, made.and_then(Option::take))
        })
        .collect();
    let results: Vec<MathJob> = slots
        .into_par_iter()
        .map(|((method, lambda, seed), made)| match made {
            Some(j) => Ok(j),
            None => run_job(math, learner, method, lambda, seed, progress),
        })
        .collect::<Result<_, _>>()?;
    Ok(results_of(name, math, methods, seeds.len() as u32, results))
}

/// One job: train (if the method learns) at `lambda`, then score the greedy policy on the held-out half.
pub fn run_job(
    math: &MathWorkload,
    learner: &LearnerParams,
    method: Method,
    lambda: Option<f64>,
    seed: u64,
    progress: &dyn Progress,
) -> Result<MathJob, ExperimentError> {
    let l = lambda.unwrap_or(0.0);
    let spec = math.spec_of(method);
    let env = |questions: &Arc<[u32]>, order| {
        MathEpisodes::env(math.table.clone(), spec.clone(), questions.clone(), order, l)
    };
    let mut eval_env = env(&math.test, Order::Sequential);
    eval_env.keep_records();
    let mut eval = Scripted::new(eval_env, seed);
    // The centralized learner sees the critic's verdict only when the run has a critic.
    let oracle_spec: fn() -> Result<AgentSpec, CoreError> =
        if math.critic().enabled() { || oracle_spec_for(true) } else { || oracle_spec_for(false) };
    let job = EpisodeJob {
        kind: "math",
        method,
        seed,
        learner,
        spec,
        oracle_spec,
        episodes: math.math.config.episodes,
        chunks: CHUNKS,
        eval_episodes: math.test.len() as u64,
        progress,
    };
    let fixed = strategy(method).map(|s| move |env: &MathEnv, d: &Decision| s.action(d.agent, env.features()));
    let fixed = fixed.as_ref().map(|f| f as &dyn Fn(&MathEnv, &Decision) -> ActionId);
    let trained = train_then_score(&job, || env(&math.train, Order::Sample), &mut eval, fixed)?;
    let policy = if method == Method::IcQ { trained.tables } else { None };
    Ok(MathJob {
        method,
        lambda,
        seed,
        eval: eval.env().tally(),
        train: trained.stats,
        policy,
        records: eval.env().records().to_vec(),
    })
}

impl MathJob {
    /// This job's metrics line; `reference` holds cheap-only's and strong-only's figures on the held-out
    /// questions, `critic` the run's critic.
    pub fn point(&self, routellm: bool, reference: &Reference, critic: CriticKind) -> MathPoint {
        let t = &self.eval;
        let n = t.episodes.max(1) as f64;
        let cost = t.cost_usd / n;
        let accuracy = t.correct as f64 / n;
        MathPoint {
            method: self.method,
            lambda: self.lambda,
            seed: self.seed,
            accuracy,
            accuracy_routellm: routellm.then(|| t.correct_routellm as f64 / n),
            critic: metrics::critic_label(self.method, critic),
            cheap_share: t.cheap_calls as f64 / n,
            strong_share: t.strong_calls as f64 / n,
            checker_share: t.checker_calls as f64 / n,
            critic_share: t.critic_calls as f64 / n,
            pgr: reference.pgr(accuracy),
            cost_vs_strong: 1000.0 * cost / reference.strong_cost_per_1k_usd,
            cost_per_1k_usd: 1000.0 * cost,
            mean_return: self.lambda.map(|l| accuracy - l * cost),
            handoffs_per_question: t.handoffs as f64 / n,
            train_episodes: self.train.episodes,
        }
    }
}

/// The metrics lines of every job.
pub fn points(results: &MathResults, routellm: bool) -> Vec<MathPoint> {
    let s = &results.summary;
    results.jobs.iter().map(|j| j.point(routellm, &s.routellm.references[0], s.critic)).collect()
}

/// IC-Q's front at cost `c`: the best of the piecewise-linear interpolation between consecutive points
/// (sorted by cost) bracketing `c` and every point costing at most `c`; `None` if every point costs more.
pub fn front_at(points: &[(f64, f64)], c: f64) -> Option<f64> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let tol = 1e-9 * c.abs().max(1e-12);
    let mut best: Option<f64> = None;
    for &(x, y) in &p {
        if x <= c + tol {
            best = Some(best.map_or(y, |b: f64| b.max(y)));
        }
    }
    for w in p.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x0 <= c && c <= x1 && x1 > x0 {
            let y = y0 + (y1 - y0) * (c - x0) / (x1 - x0);
            best = Some(best.map_or(y, |b: f64| b.max(y)));
        }
    }
    best
}

fn summarise(name: &str, math: &MathWorkload, methods: &[Method], seeds: u32, jobs: &[MathJob]) -> MathSummary {
    let routellm = math.has_routellm();
    let section = metrics::section(math, methods, jobs);
    let reference = section.references[0];
    let mut rows = Vec::new();
    let mut keys: Vec<(Method, Option<f64>)> = Vec::new();
    for (m, l, _) in self::jobs(math, methods, &[0]) {
        keys.push((m, l));
    }
    for (method, lambda) in keys {
        let group: Vec<&MathJob> = jobs.iter().filter(|j| j.method == method && j.lambda == lambda).collect();
        let pts: Vec<MathPoint> = group.iter().map(|j| j.point(routellm, &reference, math.critic())).collect();
        let col = |f: &dyn Fn(&MathPoint) -> f64| pts.iter().map(f).collect::<Vec<f64>>();
        let (accuracy, accuracy_ci95) = mean_ci95(&col(&|p| p.accuracy));
        let transfers: u64 = group.iter().map(|j| j.train.transfers).sum();
        let scalars: u64 = group.iter().map(|j| j.train.scalars).sum();
        rows.push(MathRow {
            method,
            lambda,
            accuracy,
            accuracy_routellm: routellm.then(|| mean_ci95(&col(&|p| p.accuracy_routellm.unwrap_or(f64::NAN))).0),
            accuracy_ci95,
            critic: metrics::critic_label(method, math.critic()).into(),
            cheap_share: mean_ci95(&col(&|p| p.cheap_share)).0,
            strong_share: mean_ci95(&col(&|p| p.strong_share)).0,
            checker_share: mean_ci95(&col(&|p| p.checker_share)).0,
            critic_share: mean_ci95(&col(&|p| p.critic_share)).0,
            pgr: mean_ci95(&col(&|p| p.pgr)).0,
            cost_vs_strong: mean_ci95(&col(&|p| p.cost_vs_strong)).0,
            cost_per_1k_usd: mean_ci95(&col(&|p| p.cost_per_1k_usd)).0,
            mean_return: lambda.map(|_| mean_ci95(&col(&|p| p.mean_return.unwrap_or(f64::NAN))).0),
            handoffs_per_question: mean_ci95(&col(&|p| p.handoffs_per_question)).0,
            scalars_per_transfer: if transfers > 0 { scalars as f64 / transfers as f64 } else { 0.0 },
            seeds: group.len() as u32,
        });
    }
    let icq: Vec<(f64, f64)> =
        rows.iter().filter(|r| r.method == Method::IcQ).map(|r| (r.cost_per_1k_usd, r.accuracy)).collect();
    let front_checks = if icq.is_empty() {
        Vec::new()
    } else {
        rows.iter()
            .filter(|r| strategy(r.method).is_some())
            .map(|r| {
                let front = front_at(&icq, r.cost_per_1k_usd);
                let margin = front.map(|f| f - r.accuracy);
                FrontCheck {
                    method: r.method,
                    cost_per_1k_usd: r.cost_per_1k_usd,
                    accuracy: r.accuracy,
                    front_accuracy: front,
                    margin,
                    holds: margin.is_some_and(|m| m >= -TOLERANCE),
                }
            })
            .collect()
    };
    let oracle_checks = rows
        .iter()
        .filter(|r| r.method == Method::IcQ)
        .filter_map(|r| {
            let lambda = r.lambda?;
            let o = rows.iter().find(|o| o.method == Method::Oracle && o.lambda == Some(lambda))?;
            let difference = r.accuracy - o.accuracy;
            let front_accuracy = front_at(&icq, o.cost_per_1k_usd);
            let front_difference = front_accuracy.map(|f| f - o.accuracy);
            Some(OracleCheck {
                lambda,
                ic_q: r.accuracy,
                oracle: o.accuracy,
                difference,
                holds: difference >= -TOLERANCE,
                return_difference: r.mean_return? - o.mean_return?,
                oracle_cost_per_1k_usd: o.cost_per_1k_usd,
                front_accuracy,
                front_difference,
                front_holds: front_difference.is_some_and(|d| d >= -TOLERANCE),
            })
        })
        .collect();
    MathSummary {
        experiment: name.into(),
        workload: ENV_ID.into(),
        backend: math.math.config.backend,
        dataset: math.dataset.clone(),
        train_questions: math.train.len(),
        heldout_questions: math.test.len(),
        episodes: math.math.config.episodes,
        seeds,
        critic: math.critic(),
        rows,
        front_checks,
        oracle_checks,
        routellm: section,
        live: math.live.clone(),
    }
}

/// The math workload in the registry.
pub static KIND: MathKind = MathKind;

/// The math workload's [`Kind`]: its report section.
pub struct MathKind;

impl Kind for MathKind {
    fn kind(&self) -> &'static str {
        "math"
    }
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn read_summary(&self, json: &str) -> Result<Box<dyn crate::workload::RunSummary>, String> {
        Ok(Box::new(crate::table::parse::<MathSummary>(json)?))
    }
}

impl WorkloadSpec for MathConfig {
    /// Not with a live backend: every shard would ask the server in its build step, and the summary's `live`
    /// report (requests sent, USD spent) is the whole run's.
    fn unshardable(&self) -> Option<&'static str> {
        (self.backend == BackendKind::Live).then_some(
            "a math run with `backend = \"live\"` is not split across shards (each shard would ask the server); \
             run it whole, or record it once and shard the replay",
        )
    }
    fn quick(&mut self) {
        self.episodes = (self.episodes / 10).max(100);
    }

    fn check(&self, experiment: &crate::ExperimentConfig) -> Result<Box<dyn Checked>, ExperimentError> {
        let bad = |field: &str, reason: String| ExperimentError::InvalidConfig { field: field.into(), reason };
        if experiment.training.is_some() {
            return Err(bad("training", "not used by math runs: the budget is workload.episodes".into()));
        }
        if experiment.learner.network.is_some() {
            return Err(bad("learner.network", "neural IC-Q is not available for math runs yet (tabular only)".into()));
        }
        experiment.check_methods("math", &METHODS, "")?;
        let math = self.validate().map_err(ExperimentError::from_env)?;
        experiment.check_no_sweep()?;
        Ok(Box::new(math))
    }
}

impl Checked for Math {
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError> {
        Ok(Box::new(MathWorkload::load(*self)?))
    }
}

impl Workload for MathWorkload {
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn work_unit(&self) -> &'static str {
        "episodes"
    }
    fn total_work(&self, experiment: &crate::Experiment) -> u64 {
        let c = &experiment.config;
        let learning = c.methods.iter().filter(|x| x.learns()).count() as u64;
        learning * self.math.config.lambdas.len() as u64 * u64::from(c.seeds) * self.math.config.episodes
    }
    /// The jobs go through [`Experiment::map_jobs`](crate::Experiment), so a run can be split into shards.
    fn run(&self, experiment: &crate::Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        let (c, seeds) = (&experiment.config, experiment.seed_list());
        let learner = &experiment.learner;
        let jobs = jobs(self, &c.methods, &seeds);
        let results = experiment
            .map_jobs(&jobs, |&(method, lambda, seed)| run_job(self, learner, method, lambda, seed, progress))?;
        Ok(Outcome::new(results_of(&c.name, self, &c.methods, seeds.len() as u32, results)))
    }
    fn check_env(&self) -> Result<(), ExperimentError> {
        // Every agent acts at most once per episode before the submit desk, so an episode is short.
        let opts = baton_core::CheckOptions { max_episode_handoffs: 14, ..Default::default() };
        for &lambda in &self.math.config.lambdas {
            baton_core::check_env(|| self.env(&self.train, Order::Sample, lambda), opts)?;
            baton_core::check_env(|| self.env(&self.test, Order::Sequential, lambda), opts)?;
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Results for MathResults {
    fn summary_json(&self) -> Result<String, ExperimentError> {
        pretty(&self.summary)
    }
    fn metrics_jsonl(&self) -> Result<String, ExperimentError> {
        lines(points(self, self.workload.has_routellm()).iter())
    }
    /// `front.svg`, and IC-Q's learned tables for the first seed under `policy/` (see [`ask`]).
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ExperimentError> {
        let mut files = vec![("front.svg".to_string(), crate::plot::front_svg(&self.summary)?.into_bytes())];
        if let Some(seed) = self.jobs.iter().find(|j| j.policy.is_some()).map(|j| j.seed) {
            let w = &self.workload;
            for (name, text) in ask::policy_files(&self.jobs, &w.table, &w.spec, &w.dataset, seed)? {
                files.push((name, text.into_bytes()));
            }
        }
        Ok(files)
    }
    fn summary(&self) -> &dyn crate::workload::RunSummary {
        &self.summary
    }
    crate::results_any!();
}
