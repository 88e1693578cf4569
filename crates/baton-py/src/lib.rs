//! # baton-py: the Python bindings
//!
//! The extension module `baton._baton`, wrapped by the pure-Python package `baton` (python/baton). It binds
//! the public Rust API and adds no logic of its own:
//! - `run`: `baton run` through [`baton_experiment::launch`], the GIL released while it trains (`--shard`
//!   too); `merge`: `baton merge` ([`baton_experiment::shard::merge`]);
//! - `Env`: any workload's [`baton_core::Env`] built from a `[workload]` table (checked by the same
//!   validation as a config file), stepped one decision at a time for the PettingZoo wrapper;
//! - `IcqAgent`: one IC-Q agent ([`baton_learn::IcqAgent`]), tabular or neural ([`NeuralQ`]);
//! - `solve`: a finite model's ground truth ([`baton_experiment::eval::GroundTruth`]).
//!
//! Bad input raises `ValueError` (config errors name the dotted field) before any work; nothing a caller
//! passes can make the Rust side panic.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use baton_core::rng::{stream, Stream};
use baton_core::{ActionId, AgentSpec, ArtifactId, Decision, Event, FiniteEnv, FiniteModel, Next, ObsId};
use baton_core::{EnvSpec, Rng};
use baton_envs::routing::Routing;
use baton_envs::synthetic::Synthetic;
use baton_experiment::config::Experiment;
use baton_experiment::cpu::CpuWorkload;
use baton_experiment::eval::GroundTruth;
use baton_experiment::finite::FiniteWorkload;
use baton_experiment::launch::{launch, RunOptions};
use baton_experiment::math::MathWorkload;
use baton_experiment::shard::{MergeOptions, ShardSpec};
use baton_experiment::{ExperimentConfig, ExperimentError, Progress};
use baton_learn::icq::{Scalar, Transition};
use baton_learn::{Behaviour, CheckpointMeta, LearnerConfig, NeuralParams, NeuralQ, QFunction, TabularQ};
use baton_service::checkpoint::Checkpoint;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Python exception for a runner error: config errors are `ValueError`, file errors `OSError`.
fn experiment_error(e: ExperimentError) -> PyErr {
    match e {
        ExperimentError::Parse { .. } | ExperimentError::InvalidConfig { .. } | ExperimentError::Shard(_) => {
            PyValueError::new_err(e.to_string())
        }
        ExperimentError::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// Parse an experiment config given as TOML text or as JSON (a Python dict, serialised by the wrapper).
fn parse_config(text: &str, format: &str, origin: &str) -> PyResult<ExperimentConfig> {
    match format {
        "toml" => ExperimentConfig::from_toml(text, origin).map_err(experiment_error),
        "json" => from_json(text).map_err(|e| PyValueError::new_err(format!("{origin}: {e}"))),
        other => Err(PyValueError::new_err(format!("config format {other:?}: expected \"toml\" or \"json\""))),
    }
}

/// Deserialize JSON; errors name the dotted path of the offending field.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        // A tagged table (`[workload]`, `topology`, `behaviour`, ...) names its inner field in the message.
        let (path, message) = match baton_core::tagged::split_inner_path(&message) {
            Some((inner, rest)) if !path.is_empty() => (baton_core::tagged::join(&path, inner), rest.to_string()),
            Some((inner, rest)) => (inner.to_string(), rest.to_string()),
            None => (path, message.clone()),
        };
        if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        }
    })
}

/// Counts the work units the runner reports; the calling thread reads it to feed the Python progress bar.
#[derive(Default)]
struct Counter(AtomicU64);
impl Progress for Counter {
    fn advance(&self, handoffs: u64) {
        self.0.fetch_add(handoffs, Ordering::Relaxed);
    }
}

/// Run an experiment and write its run directory, exactly as `baton run` does. `progress(done, total)` is
/// called about ten times a second from the calling thread; the GIL is released while the run trains.
/// Returns the run directory and the training's wall-clock seconds.
#[pyfunction]
#[pyo3(signature = (text, format, origin, out, seeds=None, threads=None, quick=false, force=false, progress=None, shard=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    text: &str,
    format: &str,
    origin: &str,
    out: &str,
    seeds: Option<u32>,
    threads: Option<usize>,
    quick: bool,
    force: bool,
    progress: Option<Py<PyAny>>,
    shard: Option<&str>,
) -> PyResult<(String, f64)> {
    let shard = shard.map(str::parse::<ShardSpec>).transpose().map_err(|e| PyValueError::new_err(e.to_string()))?;
    let config = parse_config(text, format, origin)?;
    let options = RunOptions { seeds, threads, force, quick, shard };
    // Checking the config and building the world can take long (data sets; a live backend asks its server for
    // every answer here), so the GIL is released for it too: a server or progress thread in Python keeps running.
    let launched = py.detach(|| launch(config, origin, Path::new(out), &options)).map_err(experiment_error)?;
    let total = launched.total_work();
    if let Some(cb) = &progress {
        cb.call1(py, (0u64, total))?;
    }
    let counter = Arc::new(Counter::default());
    let worker_counter = Arc::clone(&counter);
    let handle = std::thread::Builder::new()
        .name("baton-run".into())
        .spawn(move || launched.run(&*worker_counter))
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the run thread: {e}")))?;
    loop {
        py.detach(|| {
            for _ in 0..10 {
                if handle.is_finished() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        // Ctrl-C (KeyboardInterrupt) returns at once; the detached run thread finishes on its own.
        py.check_signals()?;
        if let Some(cb) = &progress {
            cb.call1(py, (counter.0.load(Ordering::Relaxed), total))?;
        }
        if handle.is_finished() {
            break;
        }
    }
    let finished = handle
        .join()
        .map_err(|_| PyRuntimeError::new_err("internal error: the run thread panicked"))?
        .map_err(experiment_error)?;
    Ok((finished.dir.display().to_string(), finished.wall_seconds))
}

/// Merge the shard directories of one run into the run directory `out`, as `baton merge` does; the GIL is
/// released meanwhile. Returns the run directory.
#[pyfunction]
#[pyo3(signature = (out, shards, threads=None, force=false))]
fn merge(py: Python<'_>, out: &str, shards: Vec<String>, threads: Option<usize>, force: bool) -> PyResult<String> {
    let shards: Vec<std::path::PathBuf> = shards.into_iter().map(Into::into).collect();
    let options = MergeOptions { threads, force };
    let finished = py
        .detach(|| baton_experiment::shard::merge(Path::new(out), &shards, &options, &baton_experiment::NoProgress))
        .map_err(experiment_error)?;
    Ok(finished.dir.display().to_string())
}

/// An experiment around a `[workload]` table given as JSON, its workload validated and built: the same checks
/// as a config file's (`ExperimentConfig::validate`), so errors name the dotted field (`workload.agents`).
fn workload_from_json(table: &str) -> PyResult<Experiment> {
    let workload: serde_json::Value =
        serde_json::from_str(table).map_err(|e| PyValueError::new_err(format!("workload: {e}")))?;
    let config = serde_json::json!({ "name": "python", "seeds": 1, "methods": ["ic-q"], "workload": workload });
    let config: ExperimentConfig =
        serde_json::from_value(config).map_err(|e| PyValueError::new_err(format!("invalid config: workload: {e}")))?;
    config.validate().map_err(experiment_error)
}

self_cell::self_cell!(
    /// A finite model and its simulator, owned together.
    struct OwnedFinite {
        owner: FiniteModel,
        #[covariant]
        dependent: FiniteEnv,
    }
);

/// The Rust environment behind a Python one.
enum Inner {
    /// A finite model (synthetic).
    Finite(OwnedFinite),
    /// An environment that owns its data (routing).
    Owned(Box<dyn baton_core::Env + Send>),
}

impl Inner {
    fn with<R>(&mut self, f: impl FnOnce(&mut dyn baton_core::Env) -> R) -> R {
        match self {
            Inner::Finite(cell) => cell.with_dependent_mut(|_, env| f(env)),
            Inner::Owned(env) => f(env.as_mut()),
        }
    }
}

/// Most events an environment may emit between two decisions before the step is abandoned as a hang.
const MAX_EVENTS_PER_STEP: u32 = 10_000_000;

/// One workload's environment, one decision at a time: the engine of the PettingZoo `AECEnv` in
/// `baton.envs`. A step is the decision of the agent holding an artifact; every handoff the environment
/// emits until the next decision is returned with it.
#[pyclass(unsendable, module = "baton._baton")]
struct Env {
    inner: Inner,
    spec: EnvSpec,
    rng: Rng,
    pending: Option<Decision>,
}

/// `(sender, reward, duration, receiver, receiver_obs)`; receiver -1: the episode ended, -2: truncated.
type HandoffTuple = (u16, f64, u32, i64, u32);
/// What a reset or a step returns: the next decision `(agent, obs)` (None: the episode ended) and the handoffs
/// emitted before it.
type StepResult = (Option<(u16, u32)>, Vec<HandoffTuple>);

impl Env {
    fn new(inner: Inner, seed: u64) -> PyResult<Self> {
        let mut inner = inner;
        let spec = inner.with(|e| e.spec().clone());
        spec.validate().map_err(|e| PyRuntimeError::new_err(format!("internal error: {e}")))?;
        Ok(Env { inner, spec, rng: stream(seed, Stream::Env), pending: None })
    }

    fn agent_spec(&self, agent: usize) -> PyResult<&AgentSpec> {
        self.spec
            .agents
            .get(agent)
            .ok_or_else(|| PyValueError::new_err(format!("agent {agent} out of range 0..{}", self.spec.agents.len())))
    }

    /// Emit events until the next decision (or the episode's end), collecting the handoffs.
    fn pump(&mut self, handoffs: &mut Vec<HandoffTuple>) -> PyResult<Option<(u16, u32)>> {
        let rng = &mut self.rng;
        let mut pending = None;
        let mut ended = false;
        let mut count = 0u32;
        self.inner.with(|env| {
            while count < MAX_EVENTS_PER_STEP {
                count += 1;
                match env.next_event(rng) {
                    Event::Decide(d) => {
                        pending = Some(d);
                        return;
                    }
                    Event::Handoff(h) => {
                        let (receiver, obs) = match h.next {
                            Next::To { agent, obs } => (i64::from(agent.0), obs.0),
                            Next::Terminated => (-1, 0),
                            Next::Truncated => (-2, 0),
                        };
                        handoffs.push((h.sender.0, h.reward, h.duration, receiver, obs));
                    }
                    Event::EpisodeEnd => {
                        ended = true;
                        return;
                    }
                }
            }
        });
        self.pending = pending;
        match (pending, ended) {
            (Some(d), _) => Ok(Some((d.agent.0, d.obs.0))),
            (None, true) => Ok(None),
            (None, false) => Err(PyRuntimeError::new_err(format!(
                "the environment emitted {MAX_EVENTS_PER_STEP} events without a decision"
            ))),
        }
    }
}

#[pymethods]
impl Env {
    /// The environment's id (`synthetic-v0`, ...).
    #[getter]
    fn id(&self) -> String {
        self.spec.id.clone()
    }

    /// Discount gamma per primitive step.
    #[getter]
    fn discount(&self) -> f64 {
        self.spec.discount
    }

    /// The agents' names, by index.
    fn agent_names(&self) -> Vec<String> {
        self.spec.agents.iter().map(|a| a.name.clone()).collect()
    }

    /// `(n_obs, n_actions)` of agent `agent`.
    fn agent_shape(&self, agent: usize) -> PyResult<(u32, u16)> {
        let a = self.agent_spec(agent)?;
        Ok((a.n_obs, a.n_actions))
    }

    /// The names of agent `agent`'s actions.
    fn action_names(&self, agent: usize) -> PyResult<Vec<String>> {
        Ok(self.agent_spec(agent)?.action_names.clone())
    }

    /// Agent `agent`'s legal actions at `obs`, as a mask of `n_actions` bytes (1 = legal).
    fn legal_mask(&self, agent: usize, obs: u32) -> PyResult<Vec<u8>> {
        let a = self.agent_spec(agent)?;
        if obs >= a.n_obs {
            return Err(PyValueError::new_err(format!("observation {obs} out of range 0..{}", a.n_obs)));
        }
        let mut mask = vec![0u8; usize::from(a.n_actions)];
        for act in a.legal.of(ObsId(obs)) {
            mask[usize::from(act.0)] = 1;
        }
        Ok(mask)
    }

    /// Start afresh. With a seed, the environment's random stream restarts from it (same seed, same
    /// episode); without one it continues. Returns the first decision `(agent, obs)` and the handoffs
    /// before it.
    #[pyo3(signature = (seed=None))]
    fn reset(&mut self, seed: Option<u64>) -> PyResult<StepResult> {
        if let Some(s) = seed {
            self.rng = stream(s, Stream::Env);
        }
        let rng = &mut self.rng;
        self.inner.with(|env| env.reset(rng));
        let mut handoffs = Vec::new();
        let next = self.pump(&mut handoffs)?;
        Ok((next, handoffs))
    }

    /// The agent holding the pending decision takes `action`; returns the next decision `(agent, obs)` (None:
    /// the episode ended) and the handoffs emitted in between.
    fn step(&mut self, action: u16) -> PyResult<StepResult> {
        let d = self.pending.ok_or_else(|| PyValueError::new_err("no decision is pending: call reset()"))?;
        let a = &self.spec.agents[d.agent.index()];
        if a.legal.of(d.obs).binary_search(&ActionId(action)).is_err() {
            return Err(PyValueError::new_err(format!(
                "action {action} is not legal for {} at observation {} (see the action mask)",
                a.name, d.obs.0
            )));
        }
        let artifact: ArtifactId = d.artifact;
        let rng = &mut self.rng;
        self.inner.with(|env| env.act(artifact, ActionId(action), rng));
        self.pending = None;
        let mut handoffs = Vec::new();
        let next = self.pump(&mut handoffs)?;
        Ok((next, handoffs))
    }
}

/// Build the environment of a `[workload]` table (JSON); `seed` seeds its stream until `reset(seed=...)`.
/// Routing runs at `load` (default: the table's first of `loads`), math at price `lam` (default: the first
/// of `lambdas`) over the training questions, cpu at tester sample size `k` (default: `tester_k`).
#[pyfunction]
#[pyo3(signature = (table, seed, load=None, lam=None, k=None))]
fn make_env(table: &str, seed: u64, load: Option<f64>, lam: Option<f64>, k: Option<u32>) -> PyResult<Env> {
    let experiment = workload_from_json(table)?;
    let id = experiment.workload.id();
    let unused = |name: &str, used_by: &str| {
        PyValueError::new_err(format!("{name}: only {used_by} workloads take it, this one is {id}"))
    };
    let routing = experiment.workload_as::<Routing>();
    let math = experiment.workload_as::<MathWorkload>();
    let cpu = experiment.workload_as::<CpuWorkload>();
    if load.is_some() && routing.is_none() {
        return Err(unused("load", "routing"));
    }
    if lam.is_some() && math.is_none() {
        return Err(unused("lam", "math"));
    }
    if k.is_some() && cpu.is_none() {
        return Err(unused("k", "cpu"));
    }
    let inner =
        if let Some(s) = experiment.workload_as::<Synthetic>() {
            let model = s.build_model().map_err(|e| PyValueError::new_err(e.to_string()))?;
            Inner::Finite(OwnedFinite::new(model, |m| FiniteEnv::new(m)))
        } else if let Some(f) = experiment.workload_as::<FiniteWorkload>() {
            Inner::Finite(OwnedFinite::new(f.model.clone(), |m| FiniteEnv::new(m)))
        } else if let Some(r) = routing {
            let load =
                match load {
                    Some(l) if l.is_finite() && l > 0.0 && l <= 1e6 => l,
                    Some(l) => return Err(PyValueError::new_err(format!("load: {l} must be in (0, 1e6]"))),
                    None => r.config.loads.first().copied().ok_or_else(|| {
                        PyValueError::new_err("invalid config: workload.loads: name at least one load")
                    })?,
                };
            Inner::Owned(Box::new(r.network(load)))
        } else if let Some(m) = math {
            let lam = match lam {
                Some(l) if (0.0..=1e9).contains(&l) => l,
                Some(l) => return Err(PyValueError::new_err(format!("lam: {l} must be finite and >= 0"))),
                None => m.math.config.lambdas.first().copied().ok_or_else(|| {
                    PyValueError::new_err("invalid config: workload.lambdas: name at least one lambda")
                })?,
            };
            Inner::Owned(Box::new(m.env(&m.train, baton_envs::math::Order::Sample, lam)))
        } else if let Some(c) = cpu {
            let ks = c.cpu.ks();
            let k = k.unwrap_or(c.cpu.config.tester_k);
            if !ks.contains(&k) {
                return Err(PyValueError::new_err(format!(
                    "k: {k} is not one of the workload's tester sample sizes {ks:?} (tester_k and k_sweep)"
                )));
            }
            Inner::Owned(Box::new(c.env(k, baton_envs::cpu::Order::Sample)))
        } else {
            return Err(PyValueError::new_err(format!("workload.kind: `{id}` has no Python environment")));
        };
    Env::new(inner, seed)
}

/// An agent's Q-function: a table, or model.md 3's two-layer ReLU network.
#[derive(Clone)]
enum Learner {
    Tabular(baton_learn::IcqAgent<TabularQ>),
    Neural(baton_learn::IcqAgent<NeuralQ>),
}

/// Run `$body` with `$a` bound to the agent, whatever its Q-function.
macro_rules! with_learner {
    ($learner:expr, $a:ident => $body:expr) => {
        match $learner {
            Learner::Tabular($a) => $body,
            Learner::Neural($a) => $body,
        }
    };
}

/// One agent's IC-Q learner (model.md 2) over its own interface: tabular, or neural (model.md 3) when the
/// `[learner]` table has a `network`.
#[pyclass(module = "baton._baton")]
struct IcqAgent {
    learner: Learner,
    spec: AgentSpec,
    env_id: String,
    discount: f64,
    step: baton_learn::StepSize,
    behaviour: Behaviour,
    rng: Rng,
    role: u16,
    updates: u64,
}

/// Most bytes read from a tabular checkpoint beyond its table.
const CHECKPOINT_SLACK: u64 = 1 << 20;

impl IcqAgent {
    /// `planned_updates`: the updates the caller means to apply; a network's Polyak tail average starts after
    /// `tail_fraction` of them (as the runner's does after that fraction of its expected updates).
    fn build(
        spec: AgentSpec,
        env_id: String,
        discount: f64,
        role: u16,
        learner: &str,
        seed: u64,
        planned_updates: u64,
    ) -> PyResult<Self> {
        let config: LearnerConfig =
            from_json(learner).map_err(|e| PyValueError::new_err(format!("invalid config: learner.{e}")))?;
        let params = config.validate().map_err(|e| PyValueError::new_err(e.to_string()))?;
        IcqAgent::with_params(spec, env_id, discount, role, params, seed, planned_updates)
    }

    fn with_params(
        spec: AgentSpec,
        env_id: String,
        discount: f64,
        role: u16,
        params: baton_learn::LearnerParams,
        seed: u64,
        planned_updates: u64,
    ) -> PyResult<Self> {
        let learner = match params.network {
            None => Learner::Tabular(baton_learn::IcqAgent::tabular(&spec, discount, params.step.clone())),
            Some((network, tail_fraction)) => {
                let tail_start = (tail_fraction * planned_updates as f64) as u64;
                // The runner's streams: the network from `Init(role)`, exploration from `Agent(role)`.
                let mut init = stream(seed, Stream::Init(role));
                let q = NeuralQ::new(&spec, NeuralParams { tail_start, ..network }, &mut init);
                Learner::Neural(baton_learn::IcqAgent::new(q, discount))
            }
        };
        Ok(IcqAgent {
            learner,
            spec,
            env_id,
            discount,
            step: params.step,
            behaviour: params.behaviour,
            rng: stream(seed, Stream::Agent(role)),
            role,
            updates: 0,
        })
    }

    fn check_obs(&self, obs: u32) -> PyResult<ObsId> {
        if obs < self.spec.n_obs {
            Ok(ObsId(obs))
        } else {
            Err(PyValueError::new_err(format!("observation {obs} out of range 0..{}", self.spec.n_obs)))
        }
    }

    fn meta(&self, agent_id: &str) -> CheckpointMeta {
        CheckpointMeta { agent: agent_id.to_string(), role: self.role, env: self.env_id.clone(), updates: self.updates }
    }

    fn check_owner(&self, path: &Path, role: u16, env: &str) -> PyResult<()> {
        if role != self.role || env != self.env_id {
            return Err(PyValueError::new_err(format!(
                "{}: belongs to role {role} of {env}, not role {} of {}",
                path.display(),
                self.role,
                self.env_id
            )));
        }
        Ok(())
    }
}

#[pymethods]
impl IcqAgent {
    /// The learner of agent `agent` of `env`, configured by a `[learner]` table (JSON); `seed` seeds its own
    /// exploration stream (the runner's `Stream::Agent(agent)`).
    #[new]
    #[pyo3(signature = (env, agent, learner="{}", seed=0, planned_updates=0))]
    fn new(env: &Env, agent: usize, learner: &str, seed: u64, planned_updates: u64) -> PyResult<Self> {
        let spec = env.agent_spec(agent)?.clone();
        let role = u16::try_from(agent).map_err(|_| PyValueError::new_err("agent index too large"))?;
        IcqAgent::build(spec, env.spec.id.clone(), env.spec.discount, role, learner, seed, planned_updates)
    }

    /// The learner of one agent of a pipeline that is not a baton environment (a LangGraph node, a service):
    /// its interface is `n_obs` observations and `n_actions` actions, every action legal everywhere, discount
    /// `discount` per step; `env_id` and `role` identify it in checkpoints.
    #[staticmethod]
    #[pyo3(signature = (name, n_obs, n_actions, discount, env_id, role, learner="{}", seed=0, planned_updates=0))]
    #[allow(clippy::too_many_arguments)]
    fn interface(
        name: &str,
        n_obs: u32,
        n_actions: u16,
        discount: f64,
        env_id: &str,
        role: u16,
        learner: &str,
        seed: u64,
        planned_updates: u64,
    ) -> PyResult<Self> {
        if !(1..=1 << 24).contains(&n_obs) {
            return Err(PyValueError::new_err(format!("n_obs: {n_obs} must be in 1..=16777216")));
        }
        if !(1..=1024).contains(&n_actions) {
            return Err(PyValueError::new_err(format!("n_actions: {n_actions} must be in 1..=1024")));
        }
        if u64::from(n_obs) * u64::from(n_actions) > 1 << 24 {
            return Err(PyValueError::new_err(format!("n_obs * n_actions: {n_obs} * {n_actions} exceeds 16777216")));
        }
        if !(0.0..=1.0).contains(&discount) {
            return Err(PyValueError::new_err(format!("discount: {discount} must be in [0, 1]")));
        }
        let spec = AgentSpec {
            name: name.to_string(),
            n_obs,
            n_actions,
            legal: baton_core::Legal::all(n_actions),
            action_names: (0..n_actions).map(|a| format!("action-{a}")).collect(),
        };
        IcqAgent::build(spec, env_id.to_string(), discount, role, learner, seed, planned_updates)
    }

    /// Step 1: the behaviour policy's action at `obs`. A mask (bytes, 1 = legal), when given, must allow it.
    #[pyo3(signature = (obs, mask=None))]
    fn act(&mut self, obs: u32, mask: Option<&[u8]>) -> PyResult<u16> {
        let o = self.check_obs(obs)?;
        let (behaviour, rng) = (&self.behaviour, &mut self.rng);
        let a = with_learner!(&self.learner, l => behaviour.act(l.q(), o, None, rng));
        if let Some(m) = mask {
            if m.len() != usize::from(self.spec.n_actions) || m[usize::from(a.0)] == 0 {
                return Err(PyValueError::new_err(format!(
                    "mask: {} entries disagree with {}'s legal actions at observation {obs}",
                    m.len(),
                    self.spec.name
                )));
            }
        }
        Ok(a.0)
    }

    /// The greedy action at `obs` (ties: lowest index).
    fn greedy(&self, obs: u32) -> PyResult<u16> {
        let o = self.check_obs(obs)?;
        Ok(with_learner!(&self.learner, l => l.greedy(o)).0)
    }

    /// Step 3, as the receiver: the one scalar `v = max_a Q(obs, a)`.
    fn reply(&self, obs: u32) -> PyResult<f64> {
        let o = self.check_obs(obs)?;
        Ok(with_learner!(&self.learner, l => l.reply(o)).value())
    }

    /// Step 4, as the sender: move `Q(obs, action)` towards `reward + gamma^duration v`; returns the TD error.
    /// `v` is the receiver's `reply`, 0 when the episode ended.
    fn learn(&mut self, obs: u32, action: u16, reward: f64, duration: u32, v: f64) -> PyResult<f64> {
        let o = self.check_obs(obs)?;
        if self.spec.legal.of(o).binary_search(&ActionId(action)).is_err() {
            return Err(PyValueError::new_err(format!("action {action} is not legal at observation {obs}")));
        }
        if duration == 0 {
            return Err(PyValueError::new_err("duration: must be at least 1"));
        }
        if !reward.is_finite() || !v.is_finite() {
            return Err(PyValueError::new_err(format!("reward {reward} and v {v} must be finite")));
        }
        let t = Transition { obs: o, action: ActionId(action), reward, duration };
        let td = with_learner!(&mut self.learner, l => l.learn(&t, Scalar::from_wire(v)));
        self.updates += 1;
        Ok(td)
    }

    /// The agent's index in its environment.
    #[getter]
    fn role(&self) -> u16 {
        self.role
    }

    /// Updates applied so far.
    #[getter]
    fn updates(&self) -> u64 {
        self.updates
    }

    /// `(n_obs, n_actions)`.
    #[getter]
    fn shape(&self) -> (u32, u16) {
        (self.spec.n_obs, self.spec.n_actions)
    }

    /// Whether the Q-function is a network (model.md 3) rather than a table.
    #[getter]
    fn neural(&self) -> bool {
        matches!(self.learner, Learner::Neural(_))
    }

    /// `Q(o, a)`, row-major, `n_obs * n_actions` values (a network: its current output at every pair).
    fn q_table(&self) -> Vec<f64> {
        match &self.learner {
            Learner::Tabular(l) => l.q().as_slice().to_vec(),
            Learner::Neural(l) => {
                let n_actions = self.spec.n_actions;
                (0..self.spec.n_obs)
                    .flat_map(|o| (0..n_actions).map(move |a| (ObsId(o), ActionId(a))))
                    .map(|(o, a)| l.q().value(o, a))
                    .collect()
            }
        }
    }

    /// Write the learner to `path` (atomically) as safetensors; `agent_id` is the service id recorded in it.
    /// A table: the agent services' checkpoint (`baton agent serve`'s `learner.safetensors`). A network: its
    /// whole state (`baton-neural-checkpoint-v1`, the same metadata), so that training resumes exactly.
    fn save(&self, path: &str, agent_id: &str) -> PyResult<()> {
        let bytes = match &self.learner {
            Learner::Tabular(l) => {
                let q = l.q();
                let checkpoint = Checkpoint {
                    agent: agent_id.to_string(),
                    role: self.role,
                    env: self.env_id.clone(),
                    n_obs: q.n_obs(),
                    n_actions: q.n_actions(),
                    q: q.as_slice().to_vec(),
                    visits: q.visits_slice().to_vec(),
                    updates: self.updates,
                };
                checkpoint.to_bytes().map_err(|e| PyRuntimeError::new_err(e.to_string()))?
            }
            Learner::Neural(l) => {
                l.q().to_safetensors(&self.meta(agent_id)).map_err(|e| PyRuntimeError::new_err(e.to_string()))?
            }
        };
        baton_experiment::output::write_file_atomically(Path::new(path), &bytes).map_err(experiment_error)
    }

    /// Replace the learner's state with a checkpoint file's (as `save` or an agent service writes them); it must
    /// be this agent's role in the same environment, of the same kind (table or network) and shape. Returns the
    /// service id recorded in it.
    fn load(&mut self, path: &str) -> PyResult<String> {
        let path = Path::new(path);
        let size = std::fs::metadata(path).map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?.len();
        let limit = match &self.learner {
            Learner::Tabular(_) => 16 * (self.spec.n_obs as u64) * u64::from(self.spec.n_actions) + CHECKPOINT_SLACK,
            Learner::Neural(l) => l.q().checkpoint_bytes_max(),
        };
        if size > limit {
            return Err(PyValueError::new_err(format!(
                "{}: {size} bytes is more than a checkpoint of this agent's learner can be ({limit})",
                path.display()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
        match &mut self.learner {
            Learner::Tabular(_) => {
                let c = Checkpoint::from_bytes(&bytes, path).map_err(|e| PyValueError::new_err(e.to_string()))?;
                self.check_owner(path, c.role, &c.env)?;
                let shape = (c.n_obs, c.n_actions);
                let q = TabularQ::from_parts(&self.spec, self.step.clone(), c.q, c.visits).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "{}: table shape {shape:?} does not match the interface's ({}, {})",
                        path.display(),
                        self.spec.n_obs,
                        self.spec.n_actions
                    ))
                })?;
                self.learner = Learner::Tabular(baton_learn::IcqAgent::new(q, self.discount));
                self.updates = c.updates;
                Ok(c.agent)
            }
            Learner::Neural(l) => {
                let (q, meta) = NeuralQ::from_safetensors(&bytes, &self.spec, l.q())
                    .map_err(|e| PyValueError::new_err(format!("{}: {e}", path.display())))?;
                self.check_owner(path, meta.role, &meta.env)?;
                self.learner = Learner::Neural(baton_learn::IcqAgent::new(q, self.discount));
                self.updates = meta.updates;
                Ok(meta.agent)
            }
        }
    }
}

/// The math workload's world for a pipeline outside the runner (the LangGraph example of the Python package):
/// the validated config, its split and agents' interfaces, the backend the nodes ask one question at a time,
/// the observation encoding, the training draws of the runner, and the runner's summary of the jobs made
/// outside it. Everything is `baton_envs::math` and `baton_experiment::math`'s own code.
#[pyclass(module = "baton._baton")]
struct MathWorld {
    experiment: Experiment,
    backend: baton_experiment::math::MathBackend,
}

impl MathWorld {
    fn math(&self) -> &MathWorkload {
        self.experiment.workload_as::<MathWorkload>().expect("checked in new")
    }

    fn problem(&self, q: usize) -> PyResult<&baton_llm::data::Problem> {
        let data = self.backend.dataset();
        data.problems
            .get(q)
            .ok_or_else(|| PyValueError::new_err(format!("question {q} out of range 0..{}", data.problems.len())))
    }

    fn solver(m: usize) -> PyResult<usize> {
        if m < 2 {
            Ok(m)
        } else {
            Err(PyValueError::new_err(format!("solver {m}: 0 is the cheap solver, 1 the strong one")))
        }
    }
}

/// One solver's answer as a Python dict.
fn answer_dict<'py>(py: Python<'py>, s: &baton_envs::math::Solved, long: bool) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("text", &s.text)?;
    d.set_item("correct", s.answer.correct)?;
    d.set_item("correct_routellm", s.answer.correct_routellm)?;
    d.set_item("cost_usd", s.answer.cost_usd)?;
    d.set_item("output_tokens", s.output_tokens)?;
    d.set_item("long", long)?;
    Ok(d)
}

/// A verdict code from Python: 0 pending, 1 fine, 2 flagged.
fn verdict(code: u8, field: &str) -> PyResult<baton_envs::math::env::Verdict> {
    use baton_envs::math::env::Verdict;
    match code {
        0 => Ok(Verdict::Pending),
        1 => Ok(Verdict::Ok),
        2 => Ok(Verdict::Flagged),
        c => Err(PyValueError::new_err(format!("{field}: verdict {c} is not 0 (pending), 1 (fine) or 2 (flagged)"))),
    }
}

/// A job made outside the runner, as the Python side sends it (JSON).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OutsideJob {
    method: baton_experiment::Method,
    lambda: Option<f64>,
    seed: u64,
    /// `[episodes, handoffs, transfers, scalars]` of training.
    train: [u64; 4],
    /// Per held-out question in evaluation order: `[question, submitted answer, handoffs]`, the USD spent and
    /// who was called (`[cheap, strong, checker, critic]`).
    records: Vec<OutsideRecord>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OutsideRecord {
    question: usize,
    submitted: usize,
    handoffs: u32,
    cost_usd: f64,
    calls: [bool; 4],
}

#[pymethods]
impl MathWorld {
    /// The world of a math config (TOML text or JSON, as `run` takes it), validated as `baton run` validates it.
    #[new]
    fn new(py: Python<'_>, text: &str, format: &str, origin: &str) -> PyResult<Self> {
        let config = parse_config(text, format, origin)?;
        let experiment = py.detach(|| config.validate()).map_err(experiment_error)?;
        let Some(math) = experiment.workload_as::<MathWorkload>() else {
            return Err(PyValueError::new_err(format!(
                "{origin}: workload.kind: the math world needs a math workload, this one is {}",
                experiment.workload.id()
            )));
        };
        let backend = baton_experiment::math::open_backend(&math.math).map_err(experiment_error)?;
        Ok(MathWorld { experiment, backend })
    }

    /// The experiment's name.
    #[getter]
    fn name(&self) -> String {
        self.experiment.config.name.clone()
    }

    /// The methods, by their config names.
    #[getter]
    fn methods(&self) -> Vec<String> {
        self.experiment.config.methods.iter().map(|m| m.name().to_string()).collect()
    }

    /// The run's seeds.
    #[getter]
    fn seeds(&self) -> Vec<u64> {
        self.experiment.seed_list()
    }

    /// The prices of cost (reward units per USD).
    #[getter]
    fn lambdas(&self) -> Vec<f64> {
        self.math().math.config.lambdas.clone()
    }

    /// Training episodes per (lambda, seed).
    #[getter]
    fn episodes(&self) -> u64 {
        self.math().math.config.episodes
    }

    /// Training questions (data-set indices), in the split's order.
    #[getter]
    fn train(&self) -> Vec<u32> {
        self.math().train.to_vec()
    }

    /// Held-out questions, in evaluation order.
    #[getter]
    fn test(&self) -> Vec<u32> {
        self.math().test.to_vec()
    }

    /// The agents' names, by index (cheap solver, strong solver, checker, critic, submit desk).
    fn agent_names(&self) -> Vec<String> {
        self.math().spec.agents.iter().map(|a| a.name.clone()).collect()
    }

    /// The actions' names, by index (the same for every agent).
    fn action_names(&self) -> Vec<String> {
        self.math().spec.agents[0].action_names.clone()
    }

    /// Agent `agent`'s IC-Q learner as the runner builds it for seed `seed`: its interface (observations, legal
    /// actions), the config's `[learner]` table and discount, its exploration stream `Stream::Agent(agent)`.
    fn agent_seeded(&self, agent: usize, seed: u64) -> PyResult<IcqAgent> {
        let spec = &self.math().spec;
        let a = spec
            .agents
            .get(agent)
            .ok_or_else(|| PyValueError::new_err(format!("agent {agent} out of range 0..{}", spec.agents.len())))?;
        let role = agent as u16;
        if self.experiment.learner.network.is_some() {
            return Err(PyValueError::new_err(
                "learner.network: MathWorld's agents are tabular (a neural math run goes through baton.run)",
            ));
        }
        IcqAgent::with_params(a.clone(), spec.id.clone(), spec.discount, role, self.experiment.learner.clone(), seed, 0)
    }

    /// The questions of training episodes `skip..skip + n` of seed `seed`, as the runner's training environment
    /// draws them (`baton_envs::math::env::draw_question` on the seed's environment stream). At most 10^7 at a
    /// time (ask for longer runs in chunks with `skip`).
    #[pyo3(signature = (seed, n, skip=0))]
    fn training_questions(&self, py: Python<'_>, seed: u64, n: usize, skip: u64) -> PyResult<Vec<usize>> {
        if n > 10_000_000 || skip > baton_envs::math::config::MAX_EPISODES {
            return Err(PyValueError::new_err(format!(
                "n: {n} draws at a time is more than 10^7, or skip {skip} is beyond the longest run"
            )));
        }
        let train = &self.math().train;
        let mut rng = stream(seed, Stream::Env);
        let mut picker = baton_core::episode::Picker::new(baton_envs::math::Order::Sample);
        Ok(py.detach(move || {
            let mut draw = || baton_envs::math::env::draw_question(train, &mut picker, &mut rng);
            for _ in 0..skip {
                draw();
            }
            (0..n).map(|_| draw()).collect()
        }))
    }

    /// Whether question `q`'s text is long (known before any call).
    fn long_question(&self, q: usize) -> PyResult<bool> {
        let t = &self.math().table.thresholds;
        Ok(t.long_question(self.problem(q)?))
    }

    /// Ask solver `m` (0 cheap, 1 strong) question `q` through the backend: `{text, correct, correct_routellm,
    /// cost_usd, output_tokens, long}` (`correct` by the decimal-aware grader, for scoring only; `long`: the
    /// response is longer than that model's median).
    fn solve<'py>(&self, py: Python<'py>, q: usize, m: usize) -> PyResult<Bound<'py, PyDict>> {
        let m = MathWorld::solver(m)?;
        let problem = self.problem(q)?;
        let p = baton_experiment::math::table_params(&self.math().math);
        let s = baton_envs::math::table::solve(self.backend.backend(), problem, q, m, &p)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let long = self.math().table.thresholds.long_answer(m, s.output_tokens);
        answer_dict(py, &s, long)
    }

    /// The arithmetic checker on a response `text` to question `q`: whether it flags it.
    fn check(&self, q: usize, text: &str) -> PyResult<bool> {
        Ok(baton_envs::math::table::checker_flags(text, &self.problem(q)?.gold))
    }

    /// Whether two responses to question `q` give the same final answer.
    fn agree(&self, q: usize, a: &str, b: &str) -> PyResult<bool> {
        Ok(baton_envs::math::table::answers_agree(a, b, self.problem(q)?))
    }

    /// The critic on solver `m`'s response `text` to question `q` (`correct`: its grade, which the
    /// label-simulated critic draws from): `(flags, cost_usd)`. Without a critic: `(False, 0.0)`.
    fn critique(&self, q: usize, m: usize, text: &str, correct: bool) -> PyResult<(bool, f64)> {
        let m = MathWorld::solver(m)?;
        let problem = self.problem(q)?;
        let p = baton_experiment::math::table_params(&self.math().math);
        let solved = baton_envs::math::Solved {
            answer: baton_envs::math::SolverAnswer {
                cost_usd: 0.0,
                checker_flags: false,
                long: false,
                critic_flags: false,
                critic_cost_usd: 0.0,
                correct,
                correct_routellm: None,
            },
            output_tokens: 0,
            text: text.to_string(),
        };
        baton_envs::math::table::critique(self.backend.backend(), problem, q, m, &solved, &p)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Agent `agent`'s observation of an artifact (the math workflow's encoding, `baton_envs::math::env::observe`):
    /// per answer (cheap, strong) whether it is present and the checker's and critic's verdicts (0 pending,
    /// 1 fine, 2 flagged); whether the answers agree, the cheap answer is long, the question is long; whether
    /// the checker, the critic and the submit desk held the artifact before.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &self,
        agent: u16,
        present: [bool; 2],
        check: [u8; 2],
        critic: [u8; 2],
        agree: bool,
        long_cheap: bool,
        long_question: bool,
        held: [bool; 3],
    ) -> PyResult<u32> {
        use baton_envs::math::env::{AnswerState, Features};
        if usize::from(agent) >= baton_envs::math::env::N_AGENTS {
            return Err(PyValueError::new_err(format!("agent {agent} out of range 0..5")));
        }
        let mut answers = [AnswerState::default(); 2];
        for m in 0..2 {
            answers[m] = AnswerState {
                present: present[m],
                check: verdict(check[m], "check")?,
                critic: verdict(critic[m], "critic")?,
            };
        }
        let f = Features { answers, agree, long_cheap, long_question, prompt: 0, held };
        Ok(baton_envs::math::env::observe(baton_core::AgentId(agent), &f, self.math().math.config.interfaces).0)
    }

    /// The run's `summary.json` and `metrics.jsonl`, as `baton run` writes them, from the jobs made outside the
    /// runner (JSON: a list of `{method, lambda, seed, train: [episodes, handoffs, transfers, scalars],
    /// records: [{question, submitted, handoffs, cost_usd, calls: [cheap, strong, checker, critic]}]}`, one
    /// record per held-out question in evaluation order) and the run's other jobs run here (the fixed
    /// strategies: no training). A record's grade is the table's, by the question and the submitted answer.
    fn summary(&self, py: Python<'_>, jobs: &str) -> PyResult<(String, String)> {
        use baton_envs::math::{Calls, EpisodeRecord, Tally};
        let jobs: Vec<OutsideJob> = from_json(jobs).map_err(|e| PyValueError::new_err(format!("jobs: {e}")))?;
        let math = self.math();
        let mut outside = Vec::with_capacity(jobs.len());
        for (i, j) in jobs.into_iter().enumerate() {
            if j.records.len() != math.test.len()
                || j.records.iter().zip(math.test.iter()).any(|(r, &q)| r.question != q as usize)
            {
                return Err(PyValueError::new_err(format!(
                    "jobs[{i}].records: must be the {} held-out questions, once each, in evaluation order",
                    math.test.len()
                )));
            }
            let mut eval = Tally::default();
            let mut records = Vec::with_capacity(j.records.len());
            for (k, r) in j.records.iter().enumerate() {
                if r.submitted > 1 || !r.cost_usd.is_finite() || r.cost_usd < 0.0 || r.handoffs == 0 {
                    return Err(PyValueError::new_err(format!(
                        "jobs[{i}].records[{k}]: submitted must be 0 or 1, cost_usd finite and >= 0, handoffs >= 1"
                    )));
                }
                let a = &math.table.rows[r.question].answers[r.submitted];
                let [cheap, strong, checker, critic] = r.calls;
                let rec = EpisodeRecord {
                    question: r.question,
                    submitted: r.submitted,
                    correct: a.correct,
                    correct_routellm: a.correct_routellm,
                    cost_usd: r.cost_usd,
                    handoffs: r.handoffs,
                    calls: Calls { cheap, strong, checker, critic },
                };
                eval.add(&rec);
                records.push(rec);
            }
            let [episodes, handoffs, transfers, scalars] = j.train;
            outside.push(baton_experiment::math::MathJob {
                method: j.method,
                lambda: j.lambda,
                seed: j.seed,
                eval,
                train: baton_experiment::train::TrainStats { handoffs, transfers, scalars, episodes },
                policy: None,
                records,
            });
        }
        let c = &self.experiment.config;
        let seeds = self.experiment.seed_list();
        let learner = &self.experiment.learner;
        let results = py
            .detach(|| {
                baton_experiment::math::run_with(
                    &c.name,
                    math,
                    &c.methods,
                    &seeds,
                    learner,
                    outside,
                    &baton_experiment::NoProgress,
                )
            })
            .map_err(experiment_error)?;
        use baton_experiment::workload::Results;
        Ok((results.summary_json().map_err(experiment_error)?, results.metrics_jsonl().map_err(experiment_error)?))
    }
}

/// Ground truth of a finite model: `V*`, `Q*`, the stationary weights `xi`, `Q_bar` and the interface gap.
#[pyclass(module = "baton._baton")]
struct Solved {
    truth: GroundTruth,
}

#[pymethods]
impl Solved {
    /// `V*` per joint state.
    fn v(&self) -> Vec<f64> {
        self.truth.optimal.v.clone()
    }
    /// `Q*` per pair (state-major, actions increasing).
    fn q(&self) -> Vec<f64> {
        self.truth.optimal.q.clone()
    }
    /// `Q_bar(sigma(s), a)` per pair (NaN where the behaviour never visits).
    fn q_bar(&self) -> Vec<f64> {
        self.truth.q_bar.clone()
    }
    /// The behaviour chain's stationary distribution per pair.
    fn xi(&self) -> Vec<f64> {
        self.truth.xi.clone()
    }
    /// `(state, action)` of every pair.
    fn pairs(&self) -> Vec<(u32, u16)> {
        let m = &self.truth.model;
        (0..m.n_states() as u32).flat_map(|s| m.pairs(s).map(move |p| (s, m.pair_action(p).0))).collect()
    }
    /// `(holder agent, observation)` of every joint state.
    fn states(&self) -> Vec<(u16, u32)> {
        let m = &self.truth.model;
        (0..m.n_states() as u32).map(|s| (m.holder(s).0, m.obs(s).0)).collect()
    }
    /// Scalars: `V*` and the random policy's value from `nu_0`, the interface-gap terms.
    fn scalars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.truth;
        let d = PyDict::new(py);
        d.set_item("optimal_value", t.optimal_value)?;
        d.set_item("random_value", t.random_value)?;
        d.set_item("eps_if", t.gap.eps_if)?;
        d.set_item("delta_if", t.gap.delta_if)?;
        d.set_item("alpha_if", t.gap.alpha_if)?;
        d.set_item("gamma_bar", t.gap.gamma_bar)?;
        d.set_item("vbar_inf", t.gap.vbar_inf)?;
        d.set_item("exact_gap_inf", t.exact_gap_inf)?;
        d.set_item("q_bar_policy_loss", t.q_bar_policy_loss)?;
        d.set_item("coverage_min", t.coverage_min)?;
        d.set_item("t_mix", t.t_mix)?;
        Ok(d)
    }
    /// Score one IC-Q agent per model agent (in agent order): the exact value of their greedy policy,
    /// its relative gap to `V*` and the Q errors, as the runner reports them.
    fn score<'py>(&self, py: Python<'py>, agents: Vec<PyRef<'py, IcqAgent>>) -> PyResult<Bound<'py, PyDict>> {
        let m = &self.truth.model;
        let n = m.spec().agents.len();
        if agents.len() != n {
            return Err(PyValueError::new_err(format!("agents: the model has {n} agents, got {}", agents.len())));
        }
        for (i, (a, spec)) in agents.iter().zip(&m.spec().agents).enumerate() {
            if a.spec != *spec {
                return Err(PyValueError::new_err(format!("agents[{i}]: its interface is not agent {i}'s")));
            }
        }
        // What the runner scores: a table as it is, a network's Polyak tail average (model.md 3).
        let lifted = if agents.iter().all(|a| matches!(a.learner, Learner::Tabular(_))) {
            let owned: Vec<_> = agents
                .iter()
                .filter_map(|a| match &a.learner {
                    Learner::Tabular(l) => Some(l.clone()),
                    Learner::Neural(_) => None,
                })
                .collect();
            self.truth.lift_agents(&owned)
        } else if agents.iter().all(|a| matches!(a.learner, Learner::Neural(_))) {
            let owned: Vec<_> = agents
                .iter()
                .filter_map(|a| match &a.learner {
                    Learner::Neural(l) => Some(baton_learn::IcqAgent::new(l.q().averaged(), a.discount)),
                    Learner::Tabular(_) => None,
                })
                .collect();
            self.truth.lift_agents(&owned)
        } else {
            return Err(PyValueError::new_err("agents: score tabular and neural agents separately"));
        };
        let s = self.truth.score(&lifted).map_err(experiment_error)?;
        let d = PyDict::new(py);
        d.set_item("value", s.value)?;
        d.set_item("gap", s.gap)?;
        d.set_item("q_error_inf", s.q_error_inf)?;
        d.set_item("q_error_xi", s.q_error_xi)?;
        d.set_item("q_bar_error_inf", s.q_bar_error_inf)?;
        d.set_item("q_bar_error_xi", s.q_bar_error_xi)?;
        Ok(d)
    }
}

/// Solve a synthetic `[workload]` table (JSON) exactly; `kappa` is the stickiness of the behaviour whose
/// chain defines `xi` and `Q_bar` (0: uniform). The GIL is released while it solves.
#[pyfunction]
#[pyo3(signature = (table, kappa=0.0))]
fn solve(py: Python<'_>, table: &str, kappa: f64) -> PyResult<Solved> {
    let experiment = workload_from_json(table)?;
    let model = if let Some(s) = experiment.workload_as::<Synthetic>() {
        s.build_model().map_err(|e| PyValueError::new_err(e.to_string()))?
    } else if let Some(f) = experiment.workload_as::<FiniteWorkload>() {
        f.model.clone()
    } else {
        return Err(PyValueError::new_err("workload.kind: only synthetic and finite workloads have an exact solution"));
    };
    if !(kappa.is_finite() && (0.0..1.0).contains(&kappa)) {
        return Err(PyValueError::new_err(format!("kappa: {kappa} must be in [0, 1)")));
    }
    let truth = py.detach(|| GroundTruth::new(model, kappa)).map_err(experiment_error)?;
    Ok(Solved { truth })
}

/// The extension module.
#[pymodule]
fn _baton(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(make_env, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_class::<Env>()?;
    m.add_class::<IcqAgent>()?;
    m.add_class::<Solved>()?;
    m.add_class::<MathWorld>()?;
    Ok(())
}
