//! Term-by-term validation of model.md 5's bound: the synthetic experiment run once per level of one axis, the
//! other terms held at zero by the config, each level measured against the term the bound predicts.
//!
//! | axis | knob set per level | primary measurement (`error`) | `predicted` |
//! |---|---|---|---|
//! | `width` | `learner.network.width = m` | xi-RMS error of the output against `Q* o sigma` | `e_approx(m)` of the run's feature map |
//! | `interface` | `workload.aliasing = lambda` | the same error | `alpha_IF` |
//! | `mixing` | `learner.behaviour = sticky(kappa)` | handoffs until the RMS error (weighted by `xi` or the fixed `xi0`) first reaches `tolerance` | `t_mix` |
//! | `duration` | every duration pmf delayed by `level` steps | the xi-RMS error at the end | `1 / (1 - gamma_bar)` |
//!
//! The fit (`summary.json`'s `fit`) is of IC-Q's primary measurement: log-log against `m` before the floor
//! (width), linear against `lambda` (interface), against `t_mix` (mixing), against `1 / (1 - gamma_bar)`
//! (duration).

use std::collections::BTreeMap;

use baton_core::rng::{stream, Stream};
use baton_core::{ActionId, ObsId};
use baton_learn::{Features, FeaturesConfig, NeuralParams, NeuralQ, QFunction};
use rand::Rng as _;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{Experiment, ExperimentConfig, Method, WorkloadConfig};
use crate::eval::GroundTruth;
use crate::progress::Progress;
use crate::stats::{linear_fit, mean_ci95, LineFit};
use crate::synthetic::{CurvePoint, JobResult, ModelFacts};
use crate::workload::{lines, pretty, Outcome, Results, Workload};
use crate::ExperimentError;
use baton_envs::synthetic::MAX_REWARD_SCALE;

/// Most levels of one sweep.
pub const MAX_LEVELS: usize = 100;
/// Most samples per agent for `e_approx`.
pub const MAX_APPROX_SAMPLES: u64 = 1_000_000_000;

pub(crate) mod report;

/// The axis of a sweep (model.md 5's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    /// Approximation: the network width `m`.
    Width,
    /// Interface: the aliasing `lambda` of the hidden bit.
    Interface,
    /// Mixing: the behaviour's stickiness `kappa`.
    Mixing,
    /// Duration: the pmf of `tau`, delayed by `level` steps.
    Duration,
}

impl Axis {
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Axis::Width => "width",
            Axis::Interface => "interface",
            Axis::Mixing => "mixing",
            Axis::Duration => "duration",
        }
    }

    /// What a level is.
    pub fn level_name(self) -> &'static str {
        match self {
            Axis::Width => "m",
            Axis::Interface => "lambda",
            Axis::Mixing => "kappa",
            Axis::Duration => "delay",
        }
    }

    /// What `predicted` is.
    pub fn predicted_name(self) -> &'static str {
        match self {
            Axis::Width => "e_approx(m)",
            Axis::Interface => "alpha_IF",
            Axis::Mixing => "t_mix",
            Axis::Duration => "1/(1-gamma_bar)",
        }
    }

    /// What `error` is.
    pub fn error_name(self) -> &'static str {
        match self {
            Axis::Mixing => "handoffs to tolerance",
            _ => "xi-RMS error to Q* o sigma",
        }
    }
}

/// `[sweep]`: one axis of model.md 5's term-by-term validation. Every other field of the file is the base
/// experiment each level modifies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The axis: `width` (sets `learner.network.width`; needs `[learner.network]`), `interface` (sets
    /// `workload.aliasing`), `mixing` (sets `learner.behaviour = { kind = "sticky", kappa = level }`) or
    /// `duration` (prepends `level` zeros to both of `workload.durations`, delaying every work option by
    /// `level` steps).
    pub axis: Axis,
    /// The levels, strictly increasing, 3 to 100 of them: widths (integers in `1..=65536`, even for a symmetric
    /// network), `lambda` in `[0, 1e6]`, `kappa` in `[0, 1)`, or delays (integers in `0..=60`).
    pub levels: Vec<f64>,
    /// Mixing axis: IC-Q has converged when its RMS error to `Q*` (in the norm `tolerance_norm`) first falls
    /// to this value, in `(0, 1e6]`. Default 0.1.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Mixing axis: the weights of that RMS error: `xi` (the level's own stationary distribution, the
    /// pairs its behaviour actually visits) or `xi0` (fixed: the kappa = 0 chain's, the same at every level).
    /// Default `xi`.
    #[serde(default)]
    pub tolerance_norm: Norm,
    /// Width axis: the feature maps whose best-in-class error `e_approx(m)` is estimated beside the learned
    /// error (the run's own map is always included). Default: none beyond the run's own.
    #[serde(default)]
    pub approx_features: Vec<FeaturesConfig>,
    /// Width axis: i.i.d. samples from `xi` per agent in the projected regression that estimates
    /// `e_approx(m)`, `1000..=10^9`. Default 100000.
    #[serde(default = "default_approx_samples")]
    pub approx_samples: u64,
    /// Width axis: seeds (network initialisations) `e_approx(m)` is averaged over: the first this many of the
    /// run's seeds (all of them if the run has fewer), at least 1. Default 3.
    #[serde(default = "default_approx_seeds")]
    pub approx_seeds: u32,
}

/// The weights of an RMS error over pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// The level's own stationary distribution `xi`.
    #[default]
    Xi,
    /// The fixed stationary distribution `xi0` of the plain uniform behaviour.
    Xi0,
}

impl Norm {
    fn of(self, p: &CurvePoint) -> f64 {
        match self {
            Norm::Xi => p.scores.q_error_xi,
            Norm::Xi0 => p.scores.q_error_xi0,
        }
    }
}

fn default_tolerance() -> f64 {
    0.1
}
fn default_approx_samples() -> u64 {
    100_000
}
fn default_approx_seeds() -> u32 {
    3
}

/// A validated sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The axis.
    pub axis: Axis,
    /// The levels.
    pub levels: Vec<f64>,
    /// Mixing tolerance.
    pub tolerance: f64,
    /// The norm of the tolerance.
    pub tolerance_norm: Norm,
    /// Width axis: feature maps for `e_approx`, by name, the run's own first.
    pub approx: Vec<(String, Features)>,
    /// Samples per agent for `e_approx`.
    pub approx_samples: u64,
    /// Seeds for `e_approx`.
    pub approx_seeds: u32,
}

fn features_name(f: Features) -> String {
    match f {
        Features::OneHot => "one-hot".into(),
        Features::Random { dim } => format!("random-d{dim}"),
    }
}

fn features_of(c: FeaturesConfig) -> Features {
    match c {
        FeaturesConfig::OneHot => Features::OneHot,
        FeaturesConfig::Random { dim } => Features::Random { dim },
    }
}

impl SweepConfig {
    /// Check the sweep against its base experiment; errors name the `sweep.` field.
    pub fn validate(&self, base: &ExperimentConfig) -> Result<Sweep, ExperimentError> {
        let bad =
            |field: &str, reason: String| ExperimentError::InvalidConfig { field: format!("sweep.{field}"), reason };
        if !(3..=MAX_LEVELS).contains(&self.levels.len()) {
            return Err(bad(
                "levels",
                format!("give 3 to {MAX_LEVELS} levels (at least 3 for a fit), got {}", self.levels.len()),
            ));
        }
        if let Some(x) = self.levels.iter().find(|x| !x.is_finite()) {
            return Err(bad("levels", format!("must be finite, got {x}")));
        }
        if self.levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("levels", "must be strictly increasing".into()));
        }
        let integer = |x: f64| x.fract() == 0.0;
        match self.axis {
            Axis::Width => {
                let Some(net) = &base.learner.network else {
                    return Err(bad("axis", "the width axis needs a [learner.network] table".into()));
                };
                if let Some(x) = self.levels.iter().find(|&&x| !integer(x) || !(1.0..=65536.0).contains(&x)) {
                    return Err(bad("levels", format!("widths must be integers in 1..=65536, got {x}")));
                }
                if net.symmetric {
                    if let Some(x) = self.levels.iter().find(|&&x| x as u64 % 2 == 1) {
                        return Err(bad("levels", format!("a symmetric network needs even widths, got {x}")));
                    }
                }
            }
            Axis::Interface => {
                if let Some(x) = self.levels.iter().find(|&&x| !(0.0..=MAX_REWARD_SCALE).contains(&x)) {
                    return Err(bad("levels", format!("lambda must be in [0, {MAX_REWARD_SCALE:e}], got {x:?}")));
                }
            }
            Axis::Mixing => {
                if let Some(x) = self.levels.iter().find(|&&x| !(0.0..1.0).contains(&x)) {
                    return Err(bad("levels", format!("kappa must be in [0, 1), got {x}")));
                }
                if !matches!(
                    base.learner.behaviour,
                    baton_learn::BehaviourConfig::Uniform | baton_learn::BehaviourConfig::Sticky { .. }
                ) {
                    return Err(bad(
                        "axis",
                        "the mixing axis sweeps a sticky uniform behaviour; set \
                        learner.behaviour to uniform"
                            .into(),
                    ));
                }
            }
            Axis::Duration => {
                if let Some(x) = self.levels.iter().find(|&&x| !integer(x) || !(0.0..=60.0).contains(&x)) {
                    return Err(bad("levels", format!("delays must be integers in 0..=60, got {x}")));
                }
            }
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0 && self.tolerance <= MAX_REWARD_SCALE) {
            return Err(bad(
                "tolerance",
                format!("must be positive, at most {MAX_REWARD_SCALE:e}, got {:?}", self.tolerance),
            ));
        }
        if self.axis != Axis::Width && !self.approx_features.is_empty() {
            return Err(bad("approx_features", "only the width axis estimates e_approx(m)".into()));
        }
        if !(1000..=MAX_APPROX_SAMPLES).contains(&self.approx_samples) {
            return Err(bad(
                "approx_samples",
                format!("must be in 1000..={MAX_APPROX_SAMPLES}, got {}", self.approx_samples),
            ));
        }
        if !(1..=crate::config::MAX_SEEDS).contains(&self.approx_seeds) {
            return Err(bad(
                "approx_seeds",
                format!("must be at least 1 and at most {}, got {}", crate::config::MAX_SEEDS, self.approx_seeds),
            ));
        }
        let mut approx = Vec::new();
        if let Some(net) = &base.learner.network {
            let own = features_of(net.features);
            approx.push((features_name(own), own));
            for (k, f) in self.approx_features.iter().enumerate() {
                if let FeaturesConfig::Random { dim } = f {
                    if !(1..=4096).contains(dim) {
                        return Err(bad(
                            &format!("approx_features[{k}].dim"),
                            format!("must be in 1..=4096, got {dim}"),
                        ));
                    }
                }
                let f = features_of(*f);
                if !approx.iter().any(|(_, g)| *g == f) {
                    approx.push((features_name(f), f));
                }
            }
        }
        let sweep = Sweep {
            axis: self.axis,
            levels: self.levels.clone(),
            tolerance: self.tolerance,
            tolerance_norm: self.tolerance_norm,
            approx,
            approx_samples: self.approx_samples,
            approx_seeds: self.approx_seeds.min(base.seeds),
        };
        // Every level must make a valid experiment on its own.
        for &level in &sweep.levels {
            sweep.level_config(base, level).check()?;
        }
        Ok(sweep)
    }
}

impl Sweep {
    /// The base experiment with `level` applied and no sweep.
    pub fn level_config(&self, base: &ExperimentConfig, level: f64) -> ExperimentConfig {
        let mut c = base.clone();
        c.sweep = None;
        c.name = format!("{}/{}={}", base.name, self.axis.level_name(), level);
        match self.axis {
            Axis::Width => {
                if let Some(net) = c.learner.network.as_mut() {
                    net.width = level as usize;
                }
            }
            Axis::Interface => {
                if let WorkloadConfig::Synthetic(s) = &mut c.workload {
                    s.aliasing = level;
                }
            }
            Axis::Mixing => c.learner.behaviour = baton_learn::BehaviourConfig::Sticky { kappa: level },
            Axis::Duration => {
                if let WorkloadConfig::Synthetic(s) = &mut c.workload {
                    let delay = level as usize;
                    for pmf in [&mut s.durations.low, &mut s.durations.high] {
                        pmf.splice(0..0, std::iter::repeat_n(0.0, delay));
                    }
                }
            }
        }
        c
    }

    /// Total handoffs the sweep will simulate (for a progress bar).
    pub fn total_work(&self, base: &Experiment) -> u64 {
        let learning = base.config.methods.iter().filter(|m| m.learns()).count() as u64;
        learning * u64::from(base.config.seeds) * base.training.handoffs * self.levels.len() as u64
    }
}

/// One row of a sweep's `summary.json`: one method at one level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// Method.
    pub method: Method,
    /// The axis.
    pub axis: Axis,
    /// The level (`m`, `lambda`, `kappa` or the delay).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub level: f64,
    /// The primary measurement, mean over seeds (see the module table).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub error: f64,
    /// Its 95% confidence interval over seeds.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub error_ci95: [f64; 2],
    /// The bound's term for this level (see the module table; `null` where it does not apply).
    pub predicted: Option<f64>,
    /// Seeds in `error` (mixing: the seeds that reached the tolerance).
    pub seeds: u32,
    /// Mean final xi-RMS error to `Q* o sigma`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_error_xi: f64,
    /// Mean final RMS error weighted by the plain uniform behaviour's `xi0`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_error_xi0: f64,
    /// Mean final max-norm error over visited pairs.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_error_inf: f64,
    /// Mean final xi-RMS distance to `Q_bar o sigma`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub q_bar_error_xi: f64,
    /// Mean final policy loss `V* - V^greedy` from `nu_0`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub policy_loss: f64,
    /// Its 95% confidence interval.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub policy_loss_ci95: [f64; 2],
    /// Mixing axis: handoffs until the error in the tolerance norm reached the tolerance (mean over seeds that did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoffs_to_tolerance: Option<f64>,
    /// Width axis: `e_approx(m)` by feature map (mean over `approx_seeds` initialisations).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "crate::table::nan::map")]
    pub e_approx: BTreeMap<String, f64>,
}

/// The facts of one level's model (the exact terms of the bound).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelFacts {
    /// The level.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub level: f64,
    /// The model's facts (gap terms, `t_mix`, relaxation time, coverage, `gamma_bar`).
    #[serde(flatten)]
    pub model: ModelFacts,
    /// `1 / (1 - gamma_bar)`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub horizon: f64,
}

/// The fit of IC-Q's primary measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepFit {
    /// The method fitted.
    pub method: Method,
    /// What is on the x axis (`ln m`, `lambda`, `t_mix`, `1/(1-gamma_bar)`).
    pub x: String,
    /// What is on the y axis.
    pub y: String,
    /// Slope.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub slope: f64,
    /// Intercept.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub intercept: f64,
    /// `R^2`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub r2: f64,
    /// The levels used (width: those before the floor; mixing: those every seed reached).
    #[serde(deserialize_with = "crate::table::nan::vec")]
    pub levels: Vec<f64>,
}

/// A sweep's `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Experiment name.
    pub experiment: String,
    /// Workload id.
    pub workload: String,
    /// The axis.
    pub axis: Axis,
    /// What `error` measures.
    pub error: String,
    /// What `predicted` is.
    pub predicted: String,
    /// Seeds per level and learning method.
    pub seeds: u32,
    /// Handoffs per seed.
    pub handoffs: u64,
    /// Mixing axis: the tolerance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Mixing axis: the norm of the tolerance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance_norm: Option<Norm>,
    /// One row per (level, method), levels in order.
    pub rows: Vec<SweepRow>,
    /// The fit of IC-Q's primary measurement (`null` when it cannot be fitted).
    pub fit: Option<SweepFit>,
    /// The exact terms of every level's model.
    pub levels: Vec<LevelFacts>,
}

/// One learning-curve point of a sweep (`metrics.jsonl`): the level and the point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint<'a> {
    /// The level.
    pub level: f64,
    /// The point.
    #[serde(flatten)]
    pub point: &'a CurvePoint,
}

/// Everything a sweep produced.
#[derive(Debug)]
pub struct SweepResults {
    /// The summary.
    pub summary: SweepSummary,
    /// Per level: the level and its jobs.
    pub jobs: Vec<(f64, Vec<JobResult>)>,
}

impl SweepResults {
    /// Every learning-curve point, level by level.
    pub fn points(&self) -> impl Iterator<Item = SweepPoint<'_>> {
        self.jobs.iter().flat_map(|(level, jobs)| {
            jobs.iter().flat_map(move |j| j.curve.iter().map(move |point| SweepPoint { level: *level, point }))
        })
    }
}

/// Run the sweep: every level in order, each level's (method, seed) jobs in parallel.
pub fn run(base: &Experiment, sweep: &Sweep, progress: &dyn Progress) -> Result<SweepResults, ExperimentError> {
    let mut rows = Vec::new();
    let mut facts = Vec::new();
    let mut all_jobs = Vec::new();
    for &level in &sweep.levels {
        let mut experiment = sweep.level_config(&base.config, level).validate()?;
        // A shard runs its share of every level's jobs (crate::shard), then stops before the summary.
        experiment.jobs = base.jobs.clone();
        let (results, truth) = match experiment.run_synthetic_full(progress) {
            Err(ExperimentError::ShardStopped) if base.is_shard() => continue,
            other => other?,
        };
        tracing::info!(axis = sweep.axis.name(), level, "level done");
        let e_approx = match (sweep.axis, experiment.learner.network) {
            (Axis::Width, Some((params, _))) => {
                let seeds: Vec<u64> = experiment.seed_list().into_iter().take(sweep.approx_seeds as usize).collect();
                let jobs: Vec<(usize, u64)> =
                    (0..sweep.approx.len()).flat_map(|f| seeds.iter().map(move |&s| (f, s))).collect();
                let values: Vec<f64> = jobs
                    .par_iter()
                    .map(|&(f, seed)| {
                        let p = NeuralParams { features: sweep.approx[f].1, ..params };
                        e_approx(&truth, p, seed, sweep.approx_samples)
                    })
                    .collect();
                let mut out = BTreeMap::new();
                for (f, (name, _)) in sweep.approx.iter().enumerate() {
                    let v: Vec<f64> = jobs.iter().zip(&values).filter(|((g, _), _)| *g == f).map(|(_, v)| *v).collect();
                    out.insert(name.clone(), crate::stats::mean(&v));
                }
                out
            }
            _ => BTreeMap::new(),
        };
        let model = results.summary.model.clone();
        let horizon = 1.0 / (1.0 - model.gamma_bar);
        for &method in experiment.config.methods.iter().filter(|m| m.learns()) {
            let jobs: Vec<&JobResult> = results.jobs.iter().filter(|j| j.method == method).collect();
            rows.push(level_row(sweep, level, method, &jobs, &truth, &model, &e_approx));
        }
        facts.push(LevelFacts { level, model, horizon });
        all_jobs.push((level, results.jobs));
    }
    if base.is_shard() {
        return Err(crate::shard::stopped());
    }
    let fit = fit(sweep, &rows);
    let summary = SweepSummary {
        experiment: base.config.name.clone(),
        workload: base.workload.id().into(),
        axis: sweep.axis,
        error: sweep.axis.error_name().into(),
        predicted: sweep.axis.predicted_name().into(),
        seeds: base.config.seeds,
        handoffs: base.training.handoffs,
        tolerance: (sweep.axis == Axis::Mixing).then_some(sweep.tolerance),
        tolerance_norm: (sweep.axis == Axis::Mixing).then_some(sweep.tolerance_norm),
        rows,
        fit,
        levels: facts,
    };
    Ok(SweepResults { summary, jobs: all_jobs })
}

/// The first handoff count at which `curve`'s error in `norm` is at most `tol`, interpolated between
/// evaluation points on log-log axes; `None` if it never is.
pub fn handoffs_to_tolerance(curve: &[CurvePoint], norm: Norm, tol: f64) -> Option<f64> {
    let mut previous: Option<(f64, f64)> = None;
    for p in curve {
        let (h, e) = (p.handoffs as f64, norm.of(p));
        if e <= tol {
            return Some(match previous {
                Some((h0, e0)) if e0 > tol && e > 0.0 => {
                    let f = (e0.ln() - tol.ln()) / (e0.ln() - e.ln());
                    (h0.ln() + f * (h.ln() - h0.ln())).exp()
                }
                _ => h,
            });
        }
        previous = Some((h, e));
    }
    None
}

fn level_row(
    sweep: &Sweep,
    level: f64,
    method: Method,
    jobs: &[&JobResult],
    truth: &GroundTruth,
    model: &ModelFacts,
    e_approx: &BTreeMap<String, f64>,
) -> SweepRow {
    let last =
        |f: &dyn Fn(&CurvePoint) -> f64| -> Vec<f64> { jobs.iter().filter_map(|j| j.curve.last().map(f)).collect() };
    let q_error_xi = last(&|c| c.scores.q_error_xi);
    let losses = last(&|c| truth.optimal_value - c.scores.value);
    let (policy_loss, policy_loss_ci95) = mean_ci95(&losses);
    let reached: Vec<f64> =
        jobs.iter().filter_map(|j| handoffs_to_tolerance(&j.curve, sweep.tolerance_norm, sweep.tolerance)).collect();
    let (primary, seeds) = match sweep.axis {
        Axis::Mixing => (reached.clone(), reached.len() as u32),
        _ => (q_error_xi.clone(), q_error_xi.len() as u32),
    };
    let (error, error_ci95) = mean_ci95(&primary);
    let predicted = match sweep.axis {
        Axis::Width => sweep.approx.first().and_then(|(name, _)| e_approx.get(name).copied()),
        Axis::Interface => Some(model.alpha_if),
        Axis::Mixing => model.t_mix.map(f64::from),
        Axis::Duration => Some(1.0 / (1.0 - model.gamma_bar)),
    };
    SweepRow {
        method,
        axis: sweep.axis,
        level,
        error,
        error_ci95,
        predicted,
        seeds,
        q_error_xi: crate::stats::mean(&q_error_xi),
        q_error_xi0: crate::stats::mean(&last(&|c| c.scores.q_error_xi0)),
        q_error_inf: crate::stats::mean(&last(&|c| c.scores.q_error_inf)),
        q_bar_error_xi: crate::stats::mean(&last(&|c| c.scores.q_bar_error_xi)),
        policy_loss,
        policy_loss_ci95,
        handoffs_to_tolerance: (sweep.axis == Axis::Mixing).then(|| crate::stats::mean(&reached)),
        e_approx: e_approx.clone(),
    }
}

/// Within this factor of the smallest error, the width axis counts as at its floor.
pub const FLOOR_FACTOR: f64 = 1.2;

fn fit(sweep: &Sweep, rows: &[SweepRow]) -> Option<SweepFit> {
    let icq: Vec<&SweepRow> = rows.iter().filter(|r| r.method == Method::IcQ && r.error.is_finite()).collect();
    let (x, y, used): (String, String, Vec<&SweepRow>) = match sweep.axis {
        Axis::Width => {
            // Before the floor: up to the first level within FLOOR_FACTOR of the smallest error.
            let min = icq.iter().map(|r| r.error).fold(f64::INFINITY, f64::min);
            let end = icq.iter().position(|r| r.error <= FLOOR_FACTOR * min).map_or(icq.len(), |k| k + 1);
            ("ln m".into(), "ln error".into(), icq[..end].to_vec())
        }
        Axis::Interface => ("lambda".into(), "error".into(), icq),
        Axis::Mixing => (
            "t_mix".into(),
            "handoffs to tolerance".into(),
            icq.into_iter().filter(|r| r.predicted.is_some() && r.handoffs_to_tolerance.is_some()).collect(),
        ),
        Axis::Duration => ("1/(1-gamma_bar)".into(), "error".into(), icq),
    };
    let (xs, ys): (Vec<f64>, Vec<f64>) = used
        .iter()
        .map(|r| match sweep.axis {
            Axis::Width => (r.level.ln(), r.error.ln()),
            Axis::Interface => (r.level, r.error),
            Axis::Mixing | Axis::Duration => (r.predicted.unwrap_or(f64::NAN), r.error),
        })
        .unzip();
    let LineFit { slope, intercept, r2, .. } = linear_fit(&xs, &ys)?;
    Some(SweepFit { method: Method::IcQ, x, y, slope, intercept, r2, levels: used.iter().map(|r| r.level).collect() })
}

/// The best-in-class error `e_approx` of model.md 5 for one initialisation: every agent's network (built exactly
/// as the run builds IC-Q's, so with the same `W(0)` for the same seed) is fitted by projected constant-step
/// SGD, with the Polyak tail average, to `Q_bar` on `samples` i.i.d. draws of its (observation, action) pairs
/// from `xi`; the result is the xi-RMS distance of the fitted networks to `Q_bar o sigma`. SGD estimates the
/// best fit from above.
pub fn e_approx(truth: &GroundTruth, params: NeuralParams, seed: u64, samples: u64) -> f64 {
    let model = &truth.model;
    let spec = model.spec();
    let (mut sq, mut mass) = (0.0, 0.0);
    for (i, agent) in spec.agents.iter().enumerate() {
        let n_actions = agent.n_actions as usize;
        let size = agent.n_obs as usize * n_actions;
        let mut weight = vec![0.0; size];
        let mut target = vec![0.0; size];
        for s in 0..model.n_states() as u32 {
            if model.holder(s).index() != i {
                continue;
            }
            let o = model.obs(s).index();
            for p in model.pairs(s) {
                if truth.xi[p] > 0.0 && truth.q_bar[p].is_finite() {
                    let k = o * n_actions + model.pair_action(p).index();
                    weight[k] += truth.xi[p];
                    target[k] = truth.q_bar[p];
                }
            }
        }
        let mut cumulative = Vec::with_capacity(size);
        let mut total = 0.0;
        for w in &weight {
            total += w;
            cumulative.push(total);
        }
        if total <= 0.0 {
            continue;
        }
        let p = NeuralParams { tail_start: samples / 2, ..params };
        let mut net = NeuralQ::new(agent, p, &mut stream(seed, Stream::Init(i as u16)));
        let mut rng = stream(seed, Stream::Sample(i as u16));
        for _ in 0..samples {
            let u = rng.random::<f64>() * total;
            let k = cumulative.partition_point(|&c| c <= u).min(size - 1);
            net.update_towards(ObsId((k / n_actions) as u32), ActionId((k % n_actions) as u16), target[k]);
        }
        let fitted = net.averaged();
        for (k, (&w, &t)) in weight.iter().zip(&target).enumerate() {
            if w > 0.0 {
                let e = fitted.value(ObsId((k / n_actions) as u32), ActionId((k % n_actions) as u16)) - t;
                sq += w * e * e;
                mass += w;
            }
        }
    }
    if mass > 0.0 {
        (sq / mass).sqrt()
    } else {
        0.0
    }
}

/// A bound sweep: the synthetic workload run once per level of one axis.
#[derive(Clone, Debug)]
pub struct SweepWorkload {
    /// The checked sweep.
    pub sweep: Sweep,
    /// The base level's synthetic workload.
    pub synthetic: baton_envs::Synthetic,
}

impl crate::workload::Checked for SweepWorkload {
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError> {
        Ok(self)
    }
}

impl Workload for SweepWorkload {
    fn id(&self) -> &'static str {
        baton_envs::synthetic::ENV_ID
    }
    fn work_unit(&self) -> &'static str {
        "handoffs"
    }
    fn total_work(&self, experiment: &Experiment) -> u64 {
        self.sweep.total_work(experiment)
    }
    fn run(&self, experiment: &Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        run(experiment, &self.sweep, progress).map(Outcome::new)
    }
    fn check_env(&self) -> Result<(), ExperimentError> {
        Workload::check_env(&self.synthetic)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Results for SweepResults {
    fn summary_json(&self) -> Result<String, ExperimentError> {
        pretty(&self.summary)
    }
    fn metrics_jsonl(&self) -> Result<String, ExperimentError> {
        lines(self.points())
    }
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ExperimentError> {
        Ok(vec![("sweep.svg".into(), crate::plot::sweep_svg(&self.summary)?.into_bytes())])
    }
    fn summary(&self) -> &dyn crate::workload::RunSummary {
        &self.summary
    }
    crate::results_any!();
}
