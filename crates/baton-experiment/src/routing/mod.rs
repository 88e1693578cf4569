//! Routing experiments (model.md 6.2): every method at every load over every seed, scored by the mean delivery
//! time of the packets delivered in the measurement window, median over seeds.

pub mod qrouting;

use std::sync::Arc;

use baton_core::rng::uniform_index;
use baton_core::Env;
use baton_envs::routing::config::{Header, Preset, QInit, Reply, TopologyConfig};
use baton_envs::routing::network::Task;
use baton_envs::routing::network::ENV_ID;
use baton_envs::routing::{HopTable, NetStats, Network, Routing, RoutingConfig, ShortestPaths, Tally};
use baton_learn::{Behaviour, IcqAgent, LearnerParams, StepSize, TabularQ};
use serde::{Deserialize, Serialize};

use crate::method::Method;
use crate::progress::Progress;
use crate::routing::qrouting::FusedQRouting;
use crate::stats::quantile;
use crate::train::{Decentralized, NoScalar, Scripted, TrainStats};
use crate::workload::{lines, pretty, Checked, Kind, Outcome, Results, Workload, WorkloadSpec};
use crate::ExperimentError;

pub(crate) mod bench;
pub(crate) mod report;

/// Progress is reported in simulated time units, this many times per run.
const CHUNKS: u32 = 50;

/// The methods a routing experiment can run.
pub const METHODS: [Method; 6] =
    [Method::IcQ, Method::IcQNeural, Method::NoScalar, Method::ShortestPath, Method::Oracle, Method::Random];

/// The methods a run with `preset` may list (the others read `[learner]`, which a preset replaces).
pub const PRESET_METHODS: [Method; 4] = [Method::IcQ, Method::ShortestPath, Method::Oracle, Method::Random];

/// The IC-Q arm's step size and behaviour under `preset`: a constant step of 0.5 and greedy action with random
/// ties for both (Boyan & Littman's `eta`; docs/routing-presets.md).
pub fn preset_learner(preset: Preset) -> (StepSize, Behaviour) {
    match preset {
        Preset::BoyanLittman | Preset::Baton => (StepSize::Constant(0.5), Behaviour::Greedy),
    }
}

/// One arm of a run: a method, and for `ic-q` under `preset`, which preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Arm {
    method: Method,
    preset: Option<Preset>,
}

/// The arms of a run, in config order: every method, `ic-q` once per preset.
fn arms(routing: &Routing, methods: &[Method]) -> Vec<Arm> {
    let presets = &routing.config.preset.0;
    methods
        .iter()
        .flat_map(|&method| {
            if method == Method::IcQ && !presets.is_empty() {
                presets.iter().map(|&p| Arm { method, preset: Some(p) }).collect::<Vec<_>>()
            } else {
                vec![Arm { method, preset: None }]
            }
        })
        .collect()
}

/// One (method, load, seed) simulation. Serialisable, so that a shard of a run can keep it (`baton run --shard`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoutingJob {
    /// Method.
    pub method: Method,
    /// The `ic-q` arm's preset, if the run has any.
    pub preset: Option<Preset>,
    /// Offered load.
    pub load: f64,
    /// Seed.
    pub seed: u64,
    /// What the simulator measured.
    pub net: NetStats,
    /// Counters of the decision loop.
    pub train: TrainStats,
}

/// One line of `metrics.jsonl`: one time bin of one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BinPoint {
    /// Method.
    pub method: Method,
    /// The `ic-q` arm's preset (omitted without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Offered load.
    pub load: f64,
    /// Seed.
    pub seed: u64,
    /// Start of the bin (simulated time).
    pub t_start: f64,
    /// End of the bin.
    pub t_end: f64,
    /// Packets delivered in the bin.
    pub delivered: u64,
    /// Their mean delivery time (null if none).
    pub mean_delivery_time: Option<f64>,
    /// Their mean hop count (null if none).
    pub mean_hops: Option<f64>,
    /// Injections dropped in the bin (network full).
    pub dropped: u64,
    /// Skill routing: requests that failed in the bin.
    pub failed: u64,
}

/// One row of a routing `summary.json`: a method at a load, median over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutingRow {
    /// Method.
    pub method: Method,
    /// The `ic-q` arm's preset (omitted without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Offered load.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub load: f64,
    /// Median over seeds of the mean delivery time of packets delivered in `[warmup, duration]`.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_delivery_time: f64,
    /// 25th and 75th percentiles over seeds of the same.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub mean_delivery_time_iqr: [f64; 2],
    /// Median over seeds of the same mean with each delivery time rounded down to whole time units first,
    /// as Boyan & Littman's simulator computes it (for comparison with their published curves only).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_delivery_time_truncated: f64,
    /// Median over seeds of their mean hop count.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub mean_hops: f64,
    /// Median over seeds of the packets delivered in the window.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub delivered: f64,
    /// Median over seeds of the injections dropped in the window (network full).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub dropped: f64,
    /// Skill routing: median over seeds of the fraction of requests finished in the window that were served
    /// by a router holding their skill (the others failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_accuracy: Option<f64>,
    /// The published value at this load, where the config gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<f64>,
    /// Scalars that crossed between routers per transfer of a packet (1 for IC-Q, 0 otherwise).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub scalars_per_transfer: f64,
    /// Seeds aggregated.
    pub seeds: u32,
}

impl RoutingRow {
    /// The row's method, with its preset when it has one: `ic-q (baton)`.
    pub fn label(&self) -> String {
        match self.preset {
            Some(p) => format!("{} ({p})", self.method.name()),
            None => self.method.name().to_string(),
        }
    }
}

/// The network of a routing run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkFacts {
    /// Topology name.
    pub topology: String,
    /// Routers.
    pub routers: u32,
    /// Links.
    pub links: usize,
    /// Readable description.
    pub description: String,
    /// The offered load at which random shortest-path routing saturates the busiest router
    /// ([`baton_envs::routing::Topology::saturation_load`]; B&L's grid: 2.34). Loads are compared across
    /// networks as fractions of it.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub saturation_load: f64,
}

/// `summary.json` of a routing run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutingSummary {
    /// Experiment name.
    pub experiment: String,
    /// Workload id.
    pub workload: String,
    /// Seeds per (method, load).
    pub seeds: u32,
    /// Simulated time per run.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub duration: f64,
    /// Start of the measurement window.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub warmup: f64,
    /// The network.
    pub network: NetworkFacts,
    /// One row per (method, load), methods in config order, loads in config order.
    pub rows: Vec<RoutingRow>,
}

/// Everything a routing run produced.
#[derive(Debug)]
pub struct RoutingResults {
    /// The summary.
    pub summary: RoutingSummary,
    /// Every job, in (method, load, seed) order.
    pub jobs: Vec<RoutingJob>,
    /// The run's `[workload]` table (bins, loads, published curves for the plots).
    pub config: RoutingConfig,
}

/// Run the experiment's methods at every load of `routing` over its seeds. The (arm, load, seed) jobs go through
/// [`Experiment::map_jobs`](crate::Experiment), so a run can be split into shards and merged.
pub fn run(
    experiment: &crate::Experiment,
    routing: &Routing,
    progress: &dyn Progress,
) -> Result<RoutingResults, ExperimentError> {
    let (name, methods, learner) = (&experiment.config.name, &experiment.config.methods, &experiment.learner);
    let seeds = &experiment.seed_list();
    let shortest = methods
        .contains(&Method::ShortestPath)
        .then(|| Arc::new(ShortestPaths::for_task(&routing.topology, &routing.task)));
    let arms = arms(routing, methods);
    let hop_table = arms
        .iter()
        .any(|a| arm_q_init(routing, *a) == QInit::HopCount)
        .then(|| Arc::new(HopTable::new(&routing.topology, &routing.interface)));
    let loads = &routing.config.loads;
    let jobs: Vec<(Arm, f64, u64)> =
        arms.iter().flat_map(|&a| loads.iter().flat_map(move |&l| seeds.iter().map(move |&s| (a, l, s)))).collect();
    let results: Vec<RoutingJob> = experiment.map_jobs(&jobs, |&(arm, load, seed)| {
        let tables = Tables { shortest: shortest.as_deref(), hops: hop_table.as_deref() };
        run_job(routing, tables, learner, arm, load, seed, progress)
    })?;
    let summary = summarise(name, routing, &arms, seeds.len() as u32, &results);
    Ok(RoutingResults { summary, jobs: results, config: routing.config.clone() })
}

/// The initial estimates of an arm's tables.
fn arm_q_init(routing: &Routing, arm: Arm) -> QInit {
    match arm.preset {
        Some(p) => p.fields().0,
        None => routing.config.q_init(),
    }
}

/// Precomputed tables shared by every job of a run.
#[derive(Clone, Copy)]
struct Tables<'a> {
    shortest: Option<&'a ShortestPaths>,
    hops: Option<&'a HopTable>,
}

fn run_job(
    routing: &Routing,
    tables: Tables<'_>,
    learner: &LearnerParams,
    arm: Arm,
    load: f64,
    seed: u64,
    progress: &dyn Progress,
) -> Result<RoutingJob, ExperimentError> {
    let method = arm.method;
    let network = routing.network(load);
    // The IC-Q arm's settings: its preset's, or the config's and `[learner]`'s.
    let mut params = routing.params(load);
    let (arm_step, behaviour, reply, header) = match arm.preset {
        Some(p) => {
            let (_, source_cost, reply, header) = p.fields();
            params.source_cost = source_cost;
            let (step, behaviour) = preset_learner(p);
            (step, behaviour, reply, header)
        }
        None => (learner.step.clone(), learner.behaviour, routing.config.reply(), routing.config.header()),
    };
    let hops = if arm_q_init(routing, arm) == QInit::HopCount { tables.hops } else { None };
    let duration = routing.config.duration;
    let step = duration / f64::from(CHUNKS);
    let agents = |net: &Network| -> Result<Vec<IcqAgent<TabularQ>>, ExperimentError> {
        let spec = net.spec();
        let mut out = Vec::with_capacity(spec.agents.len());
        for (i, a) in spec.agents.iter().enumerate() {
            let q = match hops {
                None => TabularQ::new(a, learner.step.clone()),
                Some(h) => TabularQ::with_values(a, learner.step.clone(), net.hop_prior(h, i as u32))
                    .ok_or_else(|| ExperimentError::Internal(format!("hop prior of router {i} has the wrong size")))?,
            };
            out.push(IcqAgent::new(q, spec.discount));
        }
        Ok(out)
    };
    // Advance in chunks of simulated time so the progress bar moves; the chunking does not change results.
    let chunks = |advance: &mut dyn FnMut(f64)| {
        for k in 1..=CHUNKS {
            let until = if k == CHUNKS { duration } else { step * f64::from(k) };
            advance(until);
            progress.advance(step.round() as u64);
        }
    };
    let (net, train) = match method {
        Method::IcQ if FusedQRouting::supports(&params, behaviour) => {
            // The fused loop: the same results as the reference below, faster (see `qrouting`).
            let mut l = FusedQRouting::new(Arc::clone(&routing.topology), params, arm_step, behaviour, seed, |v| {
                hops.map(|h| network.hop_prior(h, v))
            })
            .map_err(ExperimentError::Internal)?
            .with_extensions(reply == Reply::Wait, header == Header::Backward);
            if reply == Reply::Backlog {
                l = l.with_backlog();
            }
            chunks(&mut |until| l.run_until(until));
            if l.has_non_finite() {
                return Err(ExperimentError::Diverged {
                    method: method.name().into(),
                    seed,
                    handoffs: l.train_stats().handoffs,
                });
            }
            (l.stats().clone(), l.train_stats())
        }
        Method::IcQ => {
            if reply != Reply::Estimate || header != Header::None {
                return Err(ExperimentError::Internal(
                    "reply = \"wait\" and header = \"backward\" run only in the fused loop".into(),
                ));
            }
            let agents = agents(&network)?;
            let mut l = Decentralized::new(network, agents, learner.behaviour, seed);
            chunks(&mut |until| l.run_until(|env, _| env.now() >= until));
            check_finite(method, seed, l.agents().iter().map(|a| a.q()), l.stats().handoffs)?;
            (l.env().stats().clone(), l.stats())
        }
        Method::IcQNeural => {
            // Routing scores the online delivery time, so the networks act with their current weights; the tail
            // average is never read.
            let agents = crate::train::neural_agents(network.spec(), learner, u64::MAX, seed)?;
            let mut l = Decentralized::new(network, agents, learner.behaviour, seed);
            chunks(&mut |until| l.run_until(|env, _| env.now() >= until));
            if l.agents().iter().any(|a| !a.q().distance_from_init().is_finite()) {
                return Err(ExperimentError::Diverged {
                    method: method.name().into(),
                    seed,
                    handoffs: l.stats().handoffs,
                });
            }
            (l.env().stats().clone(), l.stats())
        }
        Method::NoScalar => {
            let agents = agents(&network)?;
            let mut l = NoScalar::new(network, agents, learner.behaviour, seed);
            chunks(&mut |until| l.run_until(|env, _| env.now() >= until));
            check_finite(method, seed, l.agents().iter().map(|a| a.q()), l.stats().handoffs)?;
            (l.env().stats().clone(), l.stats())
        }
        Method::ShortestPath => {
            let sp = tables.shortest.ok_or_else(|| ExperimentError::Internal("shortest paths not computed".into()))?;
            let mut s = Scripted::new(network, seed);
            chunks(&mut |until| {
                s.run_until(
                    |env, _| env.now() >= until,
                    |env, d, rng| sp.action(env.topology(), d.agent.0.into(), env.destination(d.artifact), rng),
                )
            });
            (s.env().stats().clone(), s.stats())
        }
        Method::Oracle => {
            let mut s = Scripted::new(network, seed);
            chunks(&mut |until| {
                s.run_until(|env, _| env.now() >= until, |env, d, rng| env.oracle_action(d.artifact, rng))
            });
            (s.env().stats().clone(), s.stats())
        }
        Method::Random => {
            let mut s = Scripted::new(network, seed);
            chunks(&mut |until| {
                s.run_until(
                    |env, _| env.now() >= until,
                    |env, d, rng| {
                        let actions = env.spec().agents[d.agent.index()].n_actions;
                        baton_core::ActionId(uniform_index(rng, usize::from(actions)) as u16)
                    },
                )
            });
            (s.env().stats().clone(), s.stats())
        }
        Method::Optimal
        | Method::RoundRobin
        | Method::CheapOnly
        | Method::StrongOnly
        | Method::Cascade
        | Method::BothTie
        | Method::FixedPipeline
        | Method::PromptOnly => {
            return Err(ExperimentError::InvalidConfig {
                field: "methods".into(),
                reason: format!("`{method}` is not a routing method"),
            })
        }
    };
    Ok(RoutingJob { method, preset: arm.preset, load, seed, net, train })
}

fn check_finite<'a>(
    method: Method,
    seed: u64,
    mut tables: impl Iterator<Item = &'a TabularQ>,
    handoffs: u64,
) -> Result<(), ExperimentError> {
    if tables.any(TabularQ::has_non_finite) {
        return Err(ExperimentError::Diverged { method: method.name().into(), seed, handoffs });
    }
    Ok(())
}

fn summarise(name: &str, routing: &Routing, arms: &[Arm], seeds: u32, jobs: &[RoutingJob]) -> RoutingSummary {
    let published = routing.config.published.as_ref();
    let mut rows = Vec::new();
    for &Arm { method, preset } in arms {
        for &load in &routing.config.loads {
            let group: Vec<&RoutingJob> =
                jobs.iter().filter(|j| j.method == method && j.preset == preset && j.load == load).collect();
            let window: Vec<Tally> = group.iter().map(|j| j.net.window).collect();
            let times: Vec<f64> = window.iter().map(Tally::mean_time).collect();
            let median = |f: &dyn Fn(&Tally) -> f64| quantile(&window.iter().map(f).collect::<Vec<_>>(), 0.5);
            let transfers: u64 = group.iter().map(|j| j.train.transfers).sum();
            let scalars: u64 = group.iter().map(|j| j.train.scalars).sum();
            let reference = published.and_then(|p| {
                let curve = match method {
                    Method::IcQ => &p.q_routing,
                    Method::ShortestPath => &p.shortest_path,
                    _ => return None,
                };
                let i = p.loads.iter().position(|&l| l == load)?;
                curve.get(i).copied().filter(|v| v.is_finite())
            });
            rows.push(RoutingRow {
                method,
                preset,
                load,
                mean_delivery_time: quantile(&times, 0.5),
                mean_delivery_time_iqr: [quantile(&times, 0.25), quantile(&times, 0.75)],
                mean_delivery_time_truncated: median(&Tally::mean_time_truncated),
                mean_hops: median(&Tally::mean_hops),
                delivered: median(&|t| t.delivered as f64),
                dropped: median(&|t| t.dropped as f64),
                routing_accuracy: matches!(routing.task, Task::Skills(_)).then(|| median(&Tally::accuracy)),
                published: reference,
                scalars_per_transfer: if transfers > 0 { scalars as f64 / transfers as f64 } else { 0.0 },
                seeds,
            });
        }
    }
    let t = &routing.topology;
    RoutingSummary {
        experiment: name.into(),
        workload: baton_envs::routing::network::ENV_ID.into(),
        seeds,
        duration: routing.config.duration,
        warmup: routing.config.warmup,
        network: NetworkFacts {
            topology: t.name().into(),
            routers: t.n_nodes(),
            links: t.n_links(),
            description: routing.describe(),
            saturation_load: t.saturation_load(),
        },
        rows,
    }
}

/// The time series of every job, one [`BinPoint`] per bin (the lines of `metrics.jsonl`).
pub fn bin_points(results: &RoutingResults, bin: f64) -> Vec<BinPoint> {
    let mut out = Vec::new();
    for j in &results.jobs {
        for (k, b) in j.net.bins.iter().enumerate() {
            let finite = |x: f64| x.is_finite().then_some(x);
            out.push(BinPoint {
                method: j.method,
                preset: j.preset,
                load: j.load,
                seed: j.seed,
                t_start: bin * k as f64,
                t_end: bin * (k + 1) as f64,
                delivered: b.delivered,
                mean_delivery_time: finite(b.mean_time()),
                mean_hops: finite(b.mean_hops()),
                dropped: b.dropped,
                failed: b.failed,
            });
        }
    }
    out
}

/// The routing workload in the registry.
pub static KIND: RoutingKind = RoutingKind;

/// The routing workload's [`Kind`]: its report section, its hot loops.
pub struct RoutingKind;

impl Kind for RoutingKind {
    fn kind(&self) -> &'static str {
        "routing"
    }
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn read_summary(&self, json: &str) -> Result<Box<dyn crate::workload::RunSummary>, String> {
        Ok(Box::new(crate::table::parse::<RoutingSummary>(json)?))
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

/// A checked routing config: its topology file, if any, is read by [`Checked::build`].
#[derive(Clone, Debug)]
struct CheckedRouting(RoutingConfig);

impl WorkloadSpec for RoutingConfig {
    /// A tenth of the simulated time (warm-up and snapshots scaled alike).
    fn quick(&mut self) {
        self.shorten(10.0);
    }

    fn check(&self, experiment: &crate::ExperimentConfig) -> Result<Box<dyn Checked>, ExperimentError> {
        let bad = |field: &str, reason: String| ExperimentError::InvalidConfig { field: field.into(), reason };
        if experiment.training.is_some() {
            return Err(bad("training", "not used by routing: a run lasts workload.duration time units".into()));
        }
        experiment.check_neural_method()?;
        experiment.check_methods("routing", &METHODS, "")?;
        experiment.check_no_sweep()?;
        if !self.preset.is_empty() {
            if !experiment.methods.contains(&Method::IcQ) {
                return Err(bad("workload.preset", "configures the `ic-q` arm, which `methods` does not list".into()));
            }
            if let Some(m) = experiment.methods.iter().find(|m| !PRESET_METHODS.contains(m)) {
                let allowed: Vec<&str> = PRESET_METHODS.iter().map(|m| m.name()).collect();
                return Err(bad(
                    "methods",
                    format!(
                        "`{m}` reads [learner], which `workload.preset` replaces; with a preset list only {}",
                        allowed.join(", ")
                    ),
                ));
            }
            if experiment.learner != baton_learn::LearnerConfig::default() {
                return Err(bad(
                    "learner",
                    "`workload.preset` sets the IC-Q arm's step and behaviour; leave [learner] out".into(),
                ));
            }
        } else if (self.reply() != Reply::Estimate || self.header() != Header::None)
            && experiment.learner.behaviour != baton_learn::BehaviourConfig::Greedy
        {
            return Err(bad(
                "learner.behaviour",
                "reply = \"wait\" and header = \"backward\" run in the fused IC-Q loop, which needs { kind = \"greedy\" }"
                    .into(),
            ));
        } else if (self.reply() != Reply::Estimate || self.header() != Header::None)
            && experiment.methods.iter().any(|m| matches!(m, Method::NoScalar | Method::IcQNeural))
        {
            return Err(bad(
                "methods",
                "reply = \"wait\" and header = \"backward\" apply to `ic-q` only; run no-scalar and ic-q-neural \
                 in a config without them"
                    .into(),
            ));
        }
        Ok(Box::new(CheckedRouting(self.clone())))
    }
}

impl Checked for CheckedRouting {
    fn build(self: Box<Self>) -> Result<Box<dyn Workload>, ExperimentError> {
        let c = &self.0;
        let file = match &c.topology {
            TopologyConfig::File { path } => {
                let resolved = crate::data::resolve_data_path(path);
                let what = format!("the topology file of workload.topology.path = {path:?}");
                let text =
                    crate::data::read_capped(&resolved, crate::data::MAX_DATA_BYTES, &what).map_err(|e| match e {
                        ExperimentError::Io { path, message } => ExperimentError::Io {
                            path,
                            message: format!(
                                "{message} (a relative path is tried from the working directory, then under the data \
                             folder: {}; the small topologies are also built in: topology = {{ kind = \"builtin\", \
                             name = \"irregular-6x6\" }})",
                                crate::data::data_dir_help()
                            ),
                        },
                        other => other,
                    })?;
                Some((resolved.display().to_string(), text))
            }
            _ => None,
        };
        let file = file.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
        Ok(Box::new(c.validate(file).map_err(ExperimentError::from_env)?))
    }
}

impl Workload for Routing {
    fn id(&self) -> &'static str {
        ENV_ID
    }
    fn work_unit(&self) -> &'static str {
        "time units"
    }
    fn total_work(&self, experiment: &crate::Experiment) -> u64 {
        let jobs = (arms(self, &experiment.config.methods).len() * self.config.loads.len()) as u64
            * u64::from(experiment.config.seeds);
        let step = (self.config.duration / 50.0).round() as u64;
        jobs * 50 * step
    }
    fn run(&self, experiment: &crate::Experiment, progress: &dyn Progress) -> Result<Outcome, ExperimentError> {
        run(experiment, self, progress).map(Outcome::new)
    }
    fn check_env(&self) -> Result<(), ExperimentError> {
        for &load in &self.config.loads {
            baton_core::check_env(|| self.network(load), baton_core::CheckOptions::default())?;
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Results for RoutingResults {
    fn summary_json(&self) -> Result<String, ExperimentError> {
        pretty(&self.summary)
    }
    fn metrics_jsonl(&self) -> Result<String, ExperimentError> {
        lines(bin_points(self, self.config.bin).iter())
    }
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ExperimentError> {
        let mut files = Vec::new();
        let svg = crate::plot::delivery_vs_load_svg(&self.summary, self.config.published.as_ref())?;
        files.push(("delivery_vs_load.svg".to_string(), svg.into_bytes()));
        if self.config.loads.len() == 1 {
            let points = bin_points(self, self.config.bin);
            let svg = crate::plot::time_series_svg(&self.summary, &points, &self.config)?;
            files.push(("time_series.svg".to_string(), svg.into_bytes()));
        }
        Ok(files)
    }
    fn summary(&self) -> &dyn crate::workload::RunSummary {
        &self.summary
    }
    crate::results_any!();
}
