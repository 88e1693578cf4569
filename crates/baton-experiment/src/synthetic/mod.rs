//! Synthetic runs (model.md 6.1): every method over every seed in parallel, learning curves against the
//! exact ground truth, a summary.
//!
//! Jobs are independent (one method, one seed, its own random streams) and their results are collected
//! in job order, so the output is byte-identical whatever the number of threads.

use baton_core::rng::{stream, Stream};
use baton_core::FiniteEnv;
use baton_learn::{IcqAgent, NeuralParams, NeuralQ, QFunction, TabularQ};
use serde::{Deserialize, Serialize};

use baton_envs::synthetic::{Synthetic, SyntheticConfig, ENV_ID};

use crate::config::{Experiment, ExperimentConfig, Method};
use crate::eval::{GroundTruth, Scores};
use crate::progress::Progress;
use crate::stats::mean_ci95;
use crate::train::{Centralized, Decentralized, NoScalar, TrainStats};
use crate::workload::{lines, pretty, Checked, Kind, Outcome, Results, RunSummary, Workload, WorkloadSpec};
use crate::ExperimentError;

pub(crate) mod bench;
pub(crate) mod report;

/// One point of a learning curve (one line of `metrics.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Method name.
    pub method: Method,
    /// Seed.
    pub seed: u64,
    /// Handoffs (Q-updates) so far.
    pub handoffs: u64,
    /// Scores of the greedy policy at this point.
    #[serde(flatten)]
    pub scores: Scores,
}

/// The final state of one (method, seed) job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// Method.
    pub method: Method,
    /// Seed.
    pub seed: u64,
    /// Learning curve, in handoff order (the last point is the final policy).
    pub curve: Vec<CurvePoint>,
    /// Counters of the training run.
    pub stats: TrainStats,
}

/// One row of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Method name.
    pub method: Method,
    /// Mean over seeds of the exact value from `nu_0` of the final greedy policy.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub value: f64,
    /// 95% confidence interval of that mean (Student t over seeds).
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub value_ci95: [f64; 2],
    /// `V*` from `nu_0`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub optimal_value: f64,
    /// `(V* - value) / |V*|`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub gap: f64,
    /// Mean over seeds of the max-norm error against the method's target (NaN for non-learning methods).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_error_inf: f64,
    /// Mean over seeds of the xi-weighted RMS error against the same target.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_error_xi: f64,
    /// Mean over seeds of the max-norm distance to the interface fixed point `Q_bar o sigma`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_bar_error_inf: f64,
    /// Mean over seeds of the xi-weighted RMS distance to `Q_bar o sigma`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_bar_error_xi: f64,
    /// Handoffs (Q-updates) per seed.
    pub handoffs: u64,
    /// Scalars that crossed between agents, per transfer of control (1 for IC-Q, 0 for the others).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub scalars_per_transfer: f64,
    /// Seeds aggregated.
    pub seeds: u32,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Experiment name.
    pub experiment: String,
    /// Workload id.
    pub workload: String,
    /// Seeds per learning method.
    pub seeds: u32,
    /// One row per method, in config order.
    pub rows: Vec<SummaryRow>,
    /// Workload facts: model size, interface gap terms.
    pub model: ModelFacts,
}

/// Facts about the finite model behind a synthetic run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelFacts {
    /// Readable description.
    pub description: String,
    /// Joint states.
    pub states: usize,
    /// (state, legal action) pairs.
    pub pairs: usize,
    /// `eps_IF` (model.md 5).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub eps_if: f64,
    /// `delta_IF` (model.md 5).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub delta_if: f64,
    /// `alpha_IF` (model.md 5).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub alpha_if: f64,
    /// `gamma_bar`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub gamma_bar: f64,
    /// `||Vbar||_inf`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub vbar_inf: f64,
    /// Value of the uniformly random policy from `nu_0`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub random_value: f64,
    /// `V*` from `nu_0`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub optimal_value: f64,
    /// Mixing time `t_mix` (model.md 5) of the uniform behaviour chain on (state, action) pairs, in handoffs;
    /// `null` when the model has more than 5,000 pairs.
    pub t_mix: Option<u32>,
    /// Coverage: the smallest positive stationary mass `min xi` of that chain.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub coverage_min: f64,
    /// Relaxation time `1 / (1 - |lambda_2|)` of that chain; `null` for a periodic chain.
    pub relaxation_time: Option<f64>,
    /// The exact interface gap `max |Q* - Q_bar o sigma|` over visited pairs (at most `alpha_IF`, model.md 5).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub exact_gap_inf: f64,
    /// `V* - V^{greedy Q_bar}` from `nu_0` (at most `2 alpha_IF`, model.md 5).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_bar_policy_loss: f64,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunResults {
    /// The summary.
    pub summary: Summary,
    /// Every job's result, in (method, seed) order.
    pub jobs: Vec<JobResult>,
}

impl Experiment {
    /// Run a synthetic experiment and also return its solved ground truth (the bound sweeps need it).
    pub fn run_synthetic_full(&self, progress: &dyn Progress) -> Result<(RunResults, GroundTruth), ExperimentError> {
        let synthetic = self
            .workload_as::<Synthetic>()
            .ok_or_else(|| ExperimentError::Internal("a synthetic run of a non-synthetic workload".into()))?;
        let round_robin = |model: &baton_core::FiniteModel| round_robin_indicator(synthetic, model);
        self.run_exact(synthetic.build_model()?, synthetic.describe(), Some(&round_robin), progress)
    }

    /// Run every method on an explicit finite model against its exact ground truth (the synthetic and finite
    /// workloads). `round_robin` gives the per-pair indicator of the workload's fixed pipeline, if it has one.
    pub(crate) fn run_exact(
        &self,
        model: baton_core::FiniteModel,
        description: String,
        round_robin: Option<Indicator<'_>>,
        progress: &dyn Progress,
    ) -> Result<(RunResults, GroundTruth), ExperimentError> {
        // The behaviour chain that defines xi, Q_bar and the interface gap: uniform, made sticky when the
        // learners' behaviour is. (Epsilon-greedy behaviour depends on the learned Q, so it has no fixed chain;
        // its reference is the uniform chain.)
        let kappa = match self.learner.behaviour {
            baton_learn::Behaviour::Sticky { kappa } => kappa,
            _ => 0.0,
        };
        let truth = GroundTruth::new(model, kappa)?;
        tracing::info!(
            states = truth.model.n_states(),
            pairs = truth.model.n_pairs(),
            optimal_value = truth.optimal_value,
            "solved the model exactly"
        );
        let seeds = self.seed_list();
        let jobs: Vec<(Method, u64)> = self
            .config
            .methods
            .iter()
            .filter(|m| m.learns())
            .flat_map(|&m| seeds.iter().map(move |&s| (m, s)))
            .collect();
        let results: Vec<JobResult> =
            self.map_jobs(&jobs, |&(method, seed)| self.run_job(&truth, method, seed, progress))?;
        let round_robin = match round_robin {
            Some(indicator) if self.config.methods.contains(&Method::RoundRobin) => {
                let model = &truth.model;
                let policy = baton_solve::Policy::greedy(model, &indicator(model))?;
                Some(truth.policy_value(&policy)?)
            }
            _ => None,
        };
        let summary = self.summarise(&truth, description, &results, round_robin);
        Ok((RunResults { summary, jobs: results }, truth))
    }

    fn run_job(
        &self,
        truth: &GroundTruth,
        method: Method,
        seed: u64,
        progress: &dyn Progress,
    ) -> Result<JobResult, ExperimentError> {
        match self.learner.network {
            None => self.run_job_with(truth, method, seed, progress, |spec, _, _| {
                TabularQ::new(spec, self.learner.step.clone())
            }),
            Some((params, tail_fraction)) => {
                let handoffs = self.training.handoffs as f64;
                self.run_job_with(truth, method, seed, progress, |spec, i, learners| {
                    // The tail average starts after `tail_fraction` of this network's expected updates.
                    let tail_start = (tail_fraction * handoffs / learners as f64) as u64;
                    let mut rng = stream(seed, Stream::Init(i as u16));
                    NeuralQ::new(spec, NeuralParams { tail_start, ..params }, &mut rng)
                })
            }
        }
    }

    /// One job with learners built by `make(spec, index, number of learners)`.
    fn run_job_with<Q: Reported>(
        &self,
        truth: &GroundTruth,
        method: Method,
        seed: u64,
        progress: &dyn Progress,
        make: impl Fn(&baton_core::AgentSpec, usize, usize) -> Q,
    ) -> Result<JobResult, ExperimentError> {
        let model = &truth.model;
        let spec = model.spec();
        let behaviour = self.learner.behaviour;
        let n = spec.agents.len();
        let make_agents = || -> Vec<IcqAgent<Q>> {
            spec.agents.iter().enumerate().map(|(i, a)| IcqAgent::new(make(a, i, n), spec.discount)).collect()
        };
        let mut trainer: Box<dyn Trainer + '_> = match method {
            Method::IcQ => Box::new(Decentralized::new(FiniteEnv::new(model), make_agents(), behaviour, seed)),
            Method::NoScalar => Box::new(NoScalar::new(FiniteEnv::new(model), make_agents(), behaviour, seed)),
            Method::Oracle => {
                let learner = IcqAgent::new(make(&model.oracle_spec(), n, 1), spec.discount);
                Box::new(Centralized::new(FiniteEnv::new(model), learner, behaviour, seed))
            }
            Method::IcQNeural => {
                return Err(ExperimentError::InvalidConfig {
                    field: "methods".into(),
                    reason: "`ic-q-neural` is not a synthetic method (use [learner.network] with `ic-q`)".into(),
                })
            }
            Method::Optimal
            | Method::Random
            | Method::RoundRobin
            | Method::ShortestPath
            | Method::CheapOnly
            | Method::StrongOnly
            | Method::Cascade
            | Method::BothTie
            | Method::FixedPipeline
            | Method::PromptOnly => {
                return Ok(JobResult { method, seed, curve: Vec::new(), stats: TrainStats::default() })
            }
        };
        let schedule = self.training.eval_schedule();
        let mut curve = Vec::with_capacity(schedule.len());
        let mut done = 0u64;
        for &at in &schedule {
            // Each chunk runs monomorphized inside `run`; the box only dispatches once per chunk.
            let chunk = at - done;
            trainer.run(chunk);
            done += chunk;
            progress.advance(chunk);
            let q = trainer.lift(truth);
            if q.iter().any(|v| !v.is_finite()) {
                return Err(ExperimentError::Diverged { method: method.name().into(), seed, handoffs: done });
            }
            curve.push(CurvePoint { method, seed, handoffs: done, scores: truth.score(&q)? });
        }
        let stats = trainer.stats();
        Ok(JobResult { method, seed, curve, stats })
    }

    fn summarise(
        &self,
        truth: &GroundTruth,
        description: String,
        jobs: &[JobResult],
        round_robin: Option<f64>,
    ) -> Summary {
        let v_star = truth.optimal_value;
        let rows = self
            .config
            .methods
            .iter()
            .map(|&method| {
                let fixed = |value: f64| SummaryRow {
                    method,
                    value,
                    value_ci95: [value, value],
                    optimal_value: v_star,
                    gap: truth.relative_gap(value),
                    q_error_inf: if method == Method::Optimal { 0.0 } else { f64::NAN },
                    q_error_xi: if method == Method::Optimal { 0.0 } else { f64::NAN },
                    q_bar_error_inf: f64::NAN,
                    q_bar_error_xi: f64::NAN,
                    handoffs: 0,
                    scalars_per_transfer: 0.0,
                    seeds: 1,
                };
                match method {
                    Method::Optimal => fixed(v_star),
                    Method::Random => fixed(truth.random_value),
                    Method::RoundRobin => fixed(round_robin.unwrap_or(f64::NAN)),
                    _ => {
                        let finals: Vec<&JobResult> = jobs.iter().filter(|j| j.method == method).collect();
                        let last = |f: fn(&Scores) -> f64| -> Vec<f64> {
                            finals.iter().filter_map(|j| j.curve.last().map(|c| f(&c.scores))).collect()
                        };
                        let (value, value_ci95) = mean_ci95(&last(|s| s.value));
                        let transfers: u64 = finals.iter().map(|j| j.stats.transfers).sum();
                        let scalars: u64 = finals.iter().map(|j| j.stats.scalars).sum();
                        SummaryRow {
                            method,
                            value,
                            value_ci95,
                            optimal_value: v_star,
                            gap: truth.relative_gap(value),
                            q_error_inf: mean_ci95(&last(|s| s.q_error_inf)).0,
                            q_error_xi: mean_ci95(&last(|s| s.q_error_xi)).0,
                            q_bar_error_inf: mean_ci95(&last(|s| s.q_bar_error_inf)).0,
                            q_bar_error_xi: mean_ci95(&last(|s| s.q_bar_error_xi)).0,
                            handoffs: self.training.handoffs,
                            scalars_per_transfer: if transfers > 0 { scalars as f64 / transfers as f64 } else { 0.0 },
                            seeds: finals.len() as u32,
                        }
                    }
                }
            })
            .collect();
        let g = truth.gap;
        Summary {
            experiment: self.config.name.clone(),
            workload: self.workload.id().into(),
            seeds: self.config.seeds,
            rows,
            model: ModelFacts {
                description,
                states: truth.model.n_states(),
                pairs: truth.model.n_pairs(),
                eps_if: g.eps_if,
                delta_if: g.delta_if,
                alpha_if: g.alpha_if,
                gamma_bar: g.gamma_bar,
                vbar_inf: g.vbar_inf,
                random_value: truth.random_value,
                optimal_value: truth.optimal_value,
                t_mix: truth.t_mix,
                coverage_min: truth.coverage_min,
                relaxation_time: truth.relaxation_time,
                exact_gap_inf: truth.exact_gap_inf,
                q_bar_policy_loss: truth.q_bar_policy_loss,
            },
        }
    }
}

/// A per-pair indicator of a fixed pipeline's actions on a model (see [`round_robin_indicator`]).
pub(crate) type Indicator<'a> = &'a dyn Fn(&baton_core::FiniteModel) -> Vec<f64>;

/// A per-pair indicator (1 on the heuristic's action, 0 elsewhere) whose greedy policy is the synthetic
/// workload's round-robin pipeline.
fn round_robin_indicator(synthetic: &Synthetic, model: &baton_core::FiniteModel) -> Vec<f64> {
    let mut q = vec![0.0; model.n_pairs()];
    for s in 0..model.n_states() as u32 {
        let state = synthetic.decode_state(s);
        let action = synthetic.round_robin_action(&state);
        if let Some(p) = synthetic.action_id(state.holder, action).and_then(|a| model.pair_of(s, a)) {
            q[p] = 1.0;
        }
    }
    q
}

/// What the runner needs of a training loop: advance it, read its Q-function per pair, read its counters.
trait Trainer {
    fn run(&mut self, handoffs: u64);
    fn lift(&self, truth: &GroundTruth) -> Vec<f64>;
    fn stats(&self) -> TrainStats;
}

/// The Q-function a learner reports for evaluation: a table as it is, a network's Polyak tail average
/// (model.md 3).
pub trait Reported: QFunction + Clone + 'static {
    /// The reported function.
    fn reported(&self) -> Self {
        self.clone()
    }
}

impl Reported for TabularQ {}

impl Reported for NeuralQ {
    fn reported(&self) -> Self {
        self.averaged()
    }
}

fn reported_agents<Q: Reported>(agents: &[IcqAgent<Q>], discount: f64) -> Vec<IcqAgent<Q>> {
    agents.iter().map(|a| IcqAgent::new(a.q().reported(), discount)).collect()
}

impl<E: baton_core::Env, Q: Reported> Trainer for Decentralized<E, Q> {
    fn run(&mut self, handoffs: u64) {
        Decentralized::run(self, handoffs)
    }
    fn lift(&self, truth: &GroundTruth) -> Vec<f64> {
        truth.lift_agents(&reported_agents(self.agents(), truth.model.discount()))
    }
    fn stats(&self) -> TrainStats {
        Decentralized::stats(self)
    }
}

impl<E: baton_core::Env, Q: Reported> Trainer for NoScalar<E, Q> {
    fn run(&mut self, handoffs: u64) {
        NoScalar::run(self, handoffs)
    }
    fn lift(&self, truth: &GroundTruth) -> Vec<f64> {
        truth.lift_agents(&reported_agents(self.agents(), truth.model.discount()))
    }
    fn stats(&self) -> TrainStats {
        NoScalar::stats(self)
    }
}

impl<E: baton_core::Env + baton_core::JointState, Q: Reported> Trainer for Centralized<E, Q> {
    fn run(&mut self, handoffs: u64) {
        Centralized::run(self, handoffs)
    }
    fn lift(&self, truth: &GroundTruth) -> Vec<f64> {
        let learner = self.learner();
        truth.lift_joint(&IcqAgent::new(learner.q().reported(), truth.model.discount()))
    }
    fn stats(&self) -> TrainStats {
        Centralized::stats(self)
    }
}

/// The synthetic workload in the registry.
pub static KIND: SyntheticKind = SyntheticKind;

/// The synthetic workload's [`Kind`]: its report section (and the bound sweeps'), its hot loops.
pub struct SyntheticKind;

impl Kind for SyntheticKind {
    fn kind(&self) -> &'static str {
        "synthetic"
    }
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn read_summary(&self, json: &str) -> Result<Box<dyn RunSummary>, String> {
        /// A bound sweep runs the synthetic workload; its summary has an `axis`.
        #[derive(Deserialize)]
        struct Axis {
            axis: Option<serde::de::IgnoredAny>,
        }
        if crate::table::parse::<Axis>(json)?.axis.is_some() {
            Ok(Box::new(crate::table::parse::<crate::sweep::SweepSummary>(json)?))
        } else {
            Ok(Box::new(crate::table::parse::<Summary>(json)?))
        }
    }
    fn benches(
        &self,
        budget: std::time::Duration,
        filter: &str,
        figures: &mut Vec<crate::bench::Figure>,
    ) -> Result<(), ExperimentError> {
        bench::benches(budget, filter, figures)
    }
}

impl WorkloadSpec for SyntheticConfig {
    fn uses_training(&self) -> bool {
        true
    }

    fn check(&self, experiment: &ExperimentConfig) -> Result<Box<dyn Checked>, ExperimentError> {
        let bad = |reason: String| ExperimentError::InvalidConfig { field: "methods".into(), reason };
        let methods = &experiment.methods;
        if let Some(m) = methods.iter().find(|m| **m == Method::ShortestPath) {
            return Err(bad(format!("`{m}` is a routing method, not a synthetic one")));
        }
        if let Some(m) = methods.iter().find(|m| m.math_only()) {
            return Err(bad(format!("`{m}` is a math-workflow method, not a synthetic one")));
        }
        if let Some(m) = methods.iter().find(|m| **m == Method::FixedPipeline) {
            return Err(bad(format!("`{m}` is a cpu method, not a synthetic one")));
        }
        if methods.contains(&Method::IcQNeural) {
            return Err(bad("`ic-q-neural` is for routing and cpu runs; a synthetic run makes every learner neural \
                 with [learner.network] (list `ic-q`)"
                .into()));
        }
        let synthetic = self.validate().map_err(ExperimentError::from_env)?;
        match &experiment.sweep {
            None => Ok(Box::new(synthetic)),
            Some(sweep) => Ok(Box::new(crate::sweep::SweepWorkload { sweep: sweep.validate(experiment)?, synthetic })),
        }
    }
}

impl Checked for Synthetic {
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError> {
        // The model is built (and solved) when the run starts.
        Ok(self)
    }
}

impl Workload for Synthetic {
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn work_unit(&self) -> &'static str {
        "handoffs"
    }
    fn total_work(&self, experiment: &Experiment) -> u64 {
        let learning = experiment.config.methods.iter().filter(|m| m.learns()).count() as u64;
        learning * u64::from(experiment.config.seeds) * experiment.training.handoffs
    }
    fn run(&self, experiment: &Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        let round_robin = |model: &baton_core::FiniteModel| round_robin_indicator(self, model);
        let (results, _) = experiment.run_exact(self.build_model()?, self.describe(), Some(&round_robin), progress)?;
        Ok(Outcome::new(results))
    }
    fn check_env(&self) -> Result<(), ExperimentError> {
        let model = self.build_model()?;
        Ok(baton_core::check_env(|| FiniteEnv::new(&model), baton_core::CheckOptions::default())?)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Results for RunResults {
    fn summary_json(&self) -> Result<String, ExperimentError> {
        pretty(&self.summary)
    }
    fn metrics_jsonl(&self) -> Result<String, ExperimentError> {
        lines(self.jobs.iter().flat_map(|j| j.curve.iter()))
    }
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ExperimentError> {
        let svg = crate::plot::learning_curves_svg(&self.summary, &self.jobs)?;
        Ok(vec![("learning_curves.svg".into(), svg.into_bytes())])
    }
    fn summary(&self) -> &dyn RunSummary {
        &self.summary
    }
    crate::results_any!();
}
