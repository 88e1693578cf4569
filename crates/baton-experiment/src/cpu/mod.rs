//! CPU-programming experiments (model.md 6.3): every method at every tester sample size k over every seed. A
//! learning method trains on uniformly drawn tasks, then its greedy policy is scored on every task in turn;
//! fixed strategies are scored the same way.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_core::{ActionId, Decision, EnvSpec};
use baton_envs::cpu::env::{oracle_spec, spec, ENV_ID};
use baton_envs::cpu::{strategy, Cpu, CpuConfig, CpuEnv, CpuEpisodes, CpuWorld, Order, Tally};
use baton_learn::LearnerParams;
use baton_tinycpu::TaskSet;
use serde::{Deserialize, Serialize};

use crate::episodic::{train_then_score, EpisodeJob};
use crate::method::Method;
use crate::progress::Progress;
use crate::stats::mean_ci95;
use crate::train::{Scripted, TrainStats};
use crate::workload::{lines, pretty, Checked, Kind, Outcome, Results, Workload, WorkloadSpec};
use crate::ExperimentError;

pub(crate) mod report;

/// The methods a CPU experiment can run.
pub const METHODS: [Method; 6] =
    [Method::IcQ, Method::IcQNeural, Method::Oracle, Method::NoScalar, Method::FixedPipeline, Method::Random];

/// IC-Q's success rate may trail the oracle's by this much (3 points) ...
pub const SUCCESS_TOLERANCE: f64 = 0.03;
/// ... and its return by this fraction of the oracle's (5%).
pub const RETURN_TOLERANCE: f64 = 0.05;

/// Progress is reported this many times per training run.
const CHUNKS: u64 = 10;

/// A validated CPU workload with its worlds built, one per k.
#[derive(Clone, Debug)]
pub struct CpuWorkload {
    /// The validated config.
    pub cpu: Cpu,
    /// The task set's name (or file).
    pub task_set: String,
    /// One world per k, in [`Cpu::ks`] order.
    pub worlds: Vec<Arc<CpuWorld>>,
    /// The agents' interfaces.
    pub spec: Arc<EnvSpec>,
}

impl CpuWorkload {
    /// Loads the task set (a file is read here) and builds the worlds.
    pub fn load(cpu: Cpu) -> Result<Self, ExperimentError> {
        let name = cpu.config.tasks.clone();
        let tasks = match name.as_str() {
            "builtin" => TaskSet::builtin(),
            "hackers-delight" => TaskSet::hackers_delight(),
            "sorts" => TaskSet::sorts(),
            path => {
                let resolved = crate::data::resolve_data_path(path);
                let text =
                    crate::data::read_capped(&resolved, crate::data::MAX_DATA_BYTES, "the task file").map_err(|e| {
                        ExperimentError::InvalidConfig { field: "workload.tasks".into(), reason: e.to_string() }
                    })?;
                TaskSet::from_toml(&text, &resolved.display().to_string()).map_err(|e| {
                    ExperimentError::InvalidConfig { field: "workload.tasks".into(), reason: e.to_string() }
                })?
            }
        };
        if tasks.is_empty() {
            return Err(ExperimentError::InvalidConfig {
                field: "workload.tasks".into(),
                reason: "the task set is empty".into(),
            });
        }
        let spec = spec(cpu.config.discount, cpu.config.interfaces)?;
        let worlds = cpu.ks().iter().map(|&k| Arc::new(CpuWorld::new(&cpu, &tasks.tasks, k))).collect();
        Ok(CpuWorkload { cpu, task_set: name, worlds, spec: Arc::new(spec) })
    }

    fn world(&self, k: u32) -> &Arc<CpuWorld> {
        let i = self.cpu.ks().iter().position(|&x| x == k).unwrap_or(0);
        &self.worlds[i]
    }

    /// An environment at tester sample size `k`.
    pub fn env(&self, k: u32, order: Order) -> CpuEnv {
        CpuEpisodes::env(self.world(k).clone(), self.spec.clone(), order)
    }

    /// Evaluation episodes per job: every task `eval_episodes_per_task` times.
    pub fn eval_episodes(&self) -> u64 {
        self.worlds[0].tasks.len() as u64 * u64::from(self.cpu.config.eval_episodes_per_task)
    }
}

/// One (method, k, seed) job (serialisable, so that a shard of a run can keep it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuJob {
    /// Method.
    pub method: Method,
    /// Tester sample size.
    pub k: u32,
    /// Seed.
    pub seed: u64,
    /// Evaluation totals per task.
    pub tasks: Vec<Tally>,
    /// Training counters (zero for fixed strategies).
    pub train: TrainStats,
}

/// Scores of a set of evaluation episodes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// Correct submissions per episode.
    pub success_rate: f64,
    /// Wrong submissions per episode (a wrong program let through).
    pub wrong_submission_rate: f64,
    /// Mean cycles over the reference's, over correct submissions (NaN, written null, without any).
    pub mean_cycles_vs_reference: f64,
    /// Mean call cost per episode.
    pub mean_cost: f64,
    /// Mean undiscounted return per episode: `1[correct] + speed bonus - cost`.
    #[serde(rename = "return")]
    pub mean_return: f64,
    /// Mean handoffs per episode.
    pub handoffs_per_episode: f64,
}

impl Scores {
    /// The scores of a tally.
    pub fn of(t: &Tally) -> Scores {
        let n = t.episodes.max(1) as f64;
        Scores {
            success_rate: t.correct as f64 / n,
            wrong_submission_rate: (t.submitted - t.correct) as f64 / n,
            mean_cycles_vs_reference: if t.correct > 0 { t.cycles_ratio / t.correct as f64 } else { f64::NAN },
            mean_cost: t.cost / n,
            mean_return: t.ret / n,
            handoffs_per_episode: t.handoffs as f64 / n,
        }
    }
}

/// One line of `metrics.jsonl`: one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CpuPoint {
    /// Method.
    pub method: Method,
    /// Tester sample size.
    pub k: u32,
    /// Seed.
    pub seed: u64,
    /// Scores over every evaluation episode.
    #[serde(flatten)]
    pub scores: Scores,
    /// Training episodes.
    pub train_episodes: u64,
}

/// One row of a CPU `summary.json`: one method at the run's `tester_k`, means over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuRow {
    /// Method.
    pub method: Method,
    /// Success rate on the hidden exhaustive check.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub success_rate: f64,
    /// 95% confidence interval over seeds of the success rate.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub success_rate_ci95: [f64; 2],
    /// Cycles of correct submissions over the reference's.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_cycles_vs_reference: f64,
    /// Call cost per episode.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_cost: f64,
    /// Undiscounted return per episode.
    #[serde(rename = "return")]
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_return: f64,
}

/// One point of the k sweep: one method at one k, means over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KRow {
    /// Tester sample size.
    pub k: u32,
    /// Method.
    pub method: Method,
    /// Success rate on the hidden exhaustive check.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub success_rate: f64,
    /// Its 95% confidence interval over seeds.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub success_rate_ci95: [f64; 2],
    /// Wrong submissions per episode.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub wrong_submission_rate: f64,
    /// Undiscounted return per episode.
    #[serde(rename = "return")]
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_return: f64,
    /// Its 95% confidence interval over seeds.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub return_ci95: [f64; 2],
}

/// One task's success rate per method (at `tester_k`, means over seeds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    /// Task name.
    pub task: String,
    /// Reference length (instructions): the difficulty axis.
    pub reference_length: usize,
    /// Success rate per method.
    #[serde(deserialize_with = "crate::table::nan::map")]
    pub success_rate: BTreeMap<String, f64>,
}

/// IC-Q against another method at `tester_k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The other method.
    pub method: Method,
    /// IC-Q's success rate minus the other's.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub success_difference: f64,
    /// 95% confidence interval over seeds of the paired difference (same seed, same tasks).
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub success_difference_ci95: [f64; 2],
    /// IC-Q's return minus the other's.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub return_difference: f64,
    /// Its 95% confidence interval over seeds (paired).
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub return_difference_ci95: [f64; 2],
    /// Oracle: within 3 points of success and 5% of return; others: IC-Q above, CI excluding 0.
    pub holds: bool,
}

/// `summary.json` of a CPU run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuSummary {
    /// Experiment name.
    pub experiment: String,
    /// Workload id.
    pub workload: String,
    /// The task set.
    pub task_set: String,
    /// Tasks.
    pub tasks: usize,
    /// The tester sample size of `rows`.
    pub tester_k: u32,
    /// Training episodes per learning job.
    pub episodes: u64,
    /// Evaluation episodes per job.
    pub eval_episodes: u64,
    /// Seeds.
    pub seeds: u32,
    /// One row per method at `tester_k`, methods in config order.
    pub rows: Vec<CpuRow>,
    /// IC-Q against every other method at `tester_k` (empty without IC-Q).
    pub checks: Vec<Comparison>,
    /// Per-task success rates at `tester_k`, in task order.
    pub per_task: Vec<TaskRow>,
    /// Every method at every k, k ascending (only `tester_k` without a sweep).
    pub k_sweep: Vec<KRow>,
}

/// Everything a CPU run produced.
#[derive(Debug)]
pub struct CpuResults {
    /// The summary.
    pub summary: CpuSummary,
    /// Every job, in (k, method, seed) order.
    pub jobs: Vec<CpuJob>,
}

/// The jobs of a run, in order: k (as in [`Cpu::ks`]), then method, then seed.
pub fn jobs(cpu: &CpuWorkload, methods: &[Method], seeds: &[u64]) -> Vec<(Method, u32, u64)> {
    let mut out = Vec::new();
    for k in cpu.cpu.ks() {
        for &m in methods {
            out.extend(seeds.iter().map(|&s| (m, k, s)));
        }
    }
    out
}

/// The run's results from its jobs' (summary, metrics and plots are made from them).
fn results_of(name: &str, cpu: &CpuWorkload, methods: &[Method], n_seeds: u32, jobs: Vec<CpuJob>) -> CpuResults {
    let summary = summarise(name, cpu, methods, n_seeds, &jobs);
    CpuResults { summary, jobs }
}

/// One job: train (if the method learns), then score on every task in turn.
pub fn run_job(
    cpu: &CpuWorkload,
    learner: &LearnerParams,
    method: Method,
    k: u32,
    seed: u64,
    progress: &dyn Progress,
) -> Result<CpuJob, ExperimentError> {
    let mut eval = Scripted::new(cpu.env(k, Order::Sequential), seed);
    let job = EpisodeJob {
        kind: "cpu",
        method,
        seed,
        learner,
        spec: &cpu.spec,
        oracle_spec,
        episodes: cpu.cpu.config.episodes,
        chunks: CHUNKS,
        eval_episodes: cpu.eval_episodes(),
        progress,
    };
    let pipeline = |env: &CpuEnv, d: &Decision| strategy::fixed_pipeline(d.agent, env.artifact());
    let fixed = (method == Method::FixedPipeline).then_some(&pipeline as &dyn Fn(&CpuEnv, &Decision) -> ActionId);
    let trained = train_then_score(&job, || cpu.env(k, Order::Sample), &mut eval, fixed)?;
    Ok(CpuJob { method, k, seed, tasks: eval.env().tallies().to_vec(), train: trained.stats })
}

impl CpuJob {
    /// Totals over every task.
    pub fn total(&self) -> Tally {
        self.tasks.iter().fold(Tally::default(), |a, t| a.merged(t))
    }

    /// This job's metrics line.
    pub fn point(&self) -> CpuPoint {
        CpuPoint {
            method: self.method,
            k: self.k,
            seed: self.seed,
            scores: Scores::of(&self.total()),
            train_episodes: self.train.episodes,
        }
    }
}

/// The metrics lines of every job.
pub fn points(results: &CpuResults) -> Vec<CpuPoint> {
    results.jobs.iter().map(CpuJob::point).collect()
}

/// Mean over the values that are not NaN (NaN if none).
fn finite_mean(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn summarise(name: &str, cpu: &CpuWorkload, methods: &[Method], seeds: u32, jobs: &[CpuJob]) -> CpuSummary {
    let k0 = cpu.cpu.config.tester_k;
    let group = |m: Method, k: u32| -> Vec<&CpuJob> { jobs.iter().filter(|j| j.method == m && j.k == k).collect() };
    let scores = |m: Method, k: u32| -> Vec<Scores> { group(m, k).iter().map(|j| Scores::of(&j.total())).collect() };
    let rows: Vec<CpuRow> = methods
        .iter()
        .map(|&m| {
            let s = scores(m, k0);
            let col = |f: &dyn Fn(&Scores) -> f64| s.iter().map(f).collect::<Vec<f64>>();
            let (success_rate, success_rate_ci95) = mean_ci95(&col(&|x| x.success_rate));
            CpuRow {
                method: m,
                success_rate,
                success_rate_ci95,
                mean_cycles_vs_reference: finite_mean(&col(&|x| x.mean_cycles_vs_reference)),
                mean_cost: mean_ci95(&col(&|x| x.mean_cost)).0,
                mean_return: mean_ci95(&col(&|x| x.mean_return)).0,
            }
        })
        .collect();
    let checks = if methods.contains(&Method::IcQ) {
        let icq = scores(Method::IcQ, k0);
        methods
            .iter()
            // `ic-q-neural` is IC-Q with another learner, not a baseline.
            .filter(|&&m| m != Method::IcQ && m != Method::IcQNeural)
            .map(|&m| {
                let other = scores(m, k0);
                let diff = |f: &dyn Fn(&Scores) -> f64| {
                    mean_ci95(&icq.iter().zip(&other).map(|(a, b)| f(a) - f(b)).collect::<Vec<f64>>())
                };
                let (sd, sci) = diff(&|x| x.success_rate);
                let (rd, rci) = diff(&|x| x.mean_return);
                let oracle_return = finite_mean(&other.iter().map(|x| x.mean_return).collect::<Vec<_>>());
                let holds = if m == Method::Oracle {
                    sd >= -SUCCESS_TOLERANCE && rd >= -RETURN_TOLERANCE * oracle_return.abs()
                } else {
                    sci[0] > 0.0 && rci[0] > 0.0
                };
                Comparison {
                    method: m,
                    success_difference: sd,
                    success_difference_ci95: sci,
                    return_difference: rd,
                    return_difference_ci95: rci,
                    holds,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let world = cpu.world(k0);
    let per_task = world
        .tasks
        .iter()
        .enumerate()
        .map(|(t, tw)| TaskRow {
            task: tw.task.name.clone(),
            reference_length: tw.task.reference.len(),
            success_rate: methods
                .iter()
                .map(|&m| {
                    let g = group(m, k0);
                    let rates: Vec<f64> =
                        g.iter().map(|j| j.tasks[t].correct as f64 / j.tasks[t].episodes.max(1) as f64).collect();
                    (m.name().to_string(), finite_mean(&rates))
                })
                .collect(),
        })
        .collect();
    let mut ks = cpu.cpu.ks();
    ks.sort_unstable();
    let mut k_sweep = Vec::new();
    for &k in &ks {
        for &m in methods {
            let s = scores(m, k);
            let col = |f: &dyn Fn(&Scores) -> f64| s.iter().map(f).collect::<Vec<f64>>();
            let (success_rate, success_rate_ci95) = mean_ci95(&col(&|x| x.success_rate));
            let (mean_return, return_ci95) = mean_ci95(&col(&|x| x.mean_return));
            k_sweep.push(KRow {
                k,
                method: m,
                success_rate,
                success_rate_ci95,
                wrong_submission_rate: mean_ci95(&col(&|x| x.wrong_submission_rate)).0,
                mean_return,
                return_ci95,
            });
        }
    }
    CpuSummary {
        experiment: name.into(),
        workload: ENV_ID.into(),
        task_set: cpu.task_set.clone(),
        tasks: world.tasks.len(),
        tester_k: k0,
        episodes: cpu.cpu.config.episodes,
        eval_episodes: cpu.eval_episodes(),
        seeds,
        rows,
        checks,
        per_task,
        k_sweep,
    }
}

/// The cpu workload in the registry.
pub static KIND: CpuKind = CpuKind;

/// The cpu workload's [`Kind`]: its report section.
pub struct CpuKind;

impl Kind for CpuKind {
    fn kind(&self) -> &'static str {
        "cpu"
    }
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn read_summary(&self, json: &str) -> Result<Box<dyn crate::workload::RunSummary>, String> {
        Ok(Box::new(crate::table::parse::<CpuSummary>(json)?))
    }
}

impl WorkloadSpec for CpuConfig {
    fn quick(&mut self) {
        self.episodes = (self.episodes / 10).max(100);
        self.eval_episodes_per_task = (self.eval_episodes_per_task / 4).max(1);
    }

    fn check(&self, experiment: &crate::ExperimentConfig) -> Result<Box<dyn Checked>, ExperimentError> {
        let bad = |field: &str, reason: String| ExperimentError::InvalidConfig { field: field.into(), reason };
        if experiment.training.is_some() {
            return Err(bad("training", "not used by cpu runs: the budget is workload.episodes".into()));
        }
        experiment.check_neural_method()?;
        experiment.check_methods("cpu", &METHODS, "")?;
        let cpu = self.validate().map_err(ExperimentError::from_env)?;
        experiment.check_no_sweep()?;
        Ok(Box::new(cpu))
    }
}

impl Checked for Cpu {
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError> {
        Ok(Box::new(CpuWorkload::load(*self)?))
    }
}

impl Workload for CpuWorkload {
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn work_unit(&self) -> &'static str {
        "episodes"
    }
    fn total_work(&self, experiment: &crate::Experiment) -> u64 {
        let c = &experiment.config;
        let learning = c.methods.iter().filter(|x| x.learns()).count() as u64;
        learning * self.worlds.len() as u64 * u64::from(c.seeds) * self.cpu.config.episodes
    }
    /// The jobs go through [`Experiment::map_jobs`](crate::Experiment), so a run can be split into shards.
    fn run(&self, experiment: &crate::Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        let (c, seeds) = (&experiment.config, experiment.seed_list());
        let learner = &experiment.learner;
        let jobs = jobs(self, &c.methods, &seeds);
        let results =
            experiment.map_jobs(&jobs, |&(method, k, seed)| run_job(self, learner, method, k, seed, progress))?;
        Ok(Outcome::new(results_of(&c.name, self, &c.methods, seeds.len() as u32, results)))
    }
    fn check_env(&self) -> Result<(), ExperimentError> {
        // The deadline ends every episode after `max_handoffs` handoffs.
        let max = self.cpu.config.max_handoffs as usize;
        let opts = baton_core::CheckOptions { max_episode_handoffs: max, events: 5_000, ..Default::default() };
        for k in self.cpu.ks() {
            baton_core::check_env(|| self.env(k, Order::Sample), opts)?;
            baton_core::check_env(|| self.env(k, Order::Sequential), opts)?;
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Results for CpuResults {
    fn summary_json(&self) -> Result<String, ExperimentError> {
        pretty(&self.summary)
    }
    fn metrics_jsonl(&self) -> Result<String, ExperimentError> {
        lines(points(self).iter())
    }
    /// `success_vs_difficulty.svg`, and `success_vs_k.svg` with a k sweep.
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ExperimentError> {
        let mut files = vec![(
            "success_vs_difficulty.svg".to_string(),
            crate::plot::success_vs_difficulty_svg(&self.summary)?.into_bytes(),
        )];
        if self.summary.k_sweep.iter().any(|r| r.k != self.summary.tester_k) {
            files.push(("success_vs_k.svg".to_string(), crate::plot::success_vs_k_svg(&self.summary)?.into_bytes()));
        }
        Ok(files)
    }
    fn summary(&self) -> &dyn crate::workload::RunSummary {
        &self.summary
    }
    crate::results_any!();
}
