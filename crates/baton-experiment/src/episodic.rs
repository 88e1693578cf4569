//! One train-then-score job for the per-episode workloads (math, cpu): train the method's learners on
//! episodes from a training environment, then play the greedy policy (or a fixed one) through an evaluation
//! environment.

use baton_core::rng::uniform_index;
use baton_core::{ActionId, AgentSpec, CoreError, Decision, Env, EnvSpec, JointState};
use baton_learn::{IcqAgent, LearnerParams, QFunction, TabularQ};

use crate::method::Method;
use crate::progress::Progress;
use crate::train::{Centralized, Decentralized, NoScalar, Scripted, TrainStats};
use crate::ExperimentError;

/// What a job trains and how long.
pub(crate) struct EpisodeJob<'a> {
    /// The workload's kind, for the error on a method it does not run.
    pub kind: &'static str,
    /// The method.
    pub method: Method,
    /// The seed.
    pub seed: u64,
    /// The learner settings.
    pub learner: &'a LearnerParams,
    /// The agents' interfaces.
    pub spec: &'a EnvSpec,
    /// The centralized learner's interface (the joint state).
    pub oracle_spec: fn() -> Result<AgentSpec, CoreError>,
    /// Training episodes.
    pub episodes: u64,
    /// Progress is reported this many times per training run.
    pub chunks: u64,
    /// Evaluation episodes.
    pub eval_episodes: u64,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
}

/// A workload's fixed strategy: the action at a decision, from the environment's own state.
pub(crate) type FixedPolicy<'a, E> = &'a dyn Fn(&E, &Decision) -> ActionId;

/// What training left behind.
pub(crate) struct Trained {
    /// Training counters (zero for fixed strategies).
    pub stats: TrainStats,
    /// Tabular IC-Q: each agent's learned table (row-major `n_obs * n_actions`), by agent index.
    pub tables: Option<Vec<Vec<f64>>>,
}

/// Train `job.method` on episodes of `train_env()` (if it learns), then play its greedy policy for
/// `job.eval_episodes` episodes of `eval`. Non-learning methods: `random`, or `fixed` (the workload's own
/// strategy for this method; `None` if the workload does not run it).
pub(crate) fn train_then_score<E: Env + JointState>(
    job: &EpisodeJob<'_>,
    train_env: impl Fn() -> E,
    eval: &mut Scripted<E>,
    fixed: Option<FixedPolicy<'_, E>>,
) -> Result<Trained, ExperimentError> {
    let (learner, spec, seed, method) = (job.learner, job.spec, job.seed, job.method);
    let (episodes, chunks) = (job.episodes, job.chunks);
    let agents = || -> Vec<IcqAgent<TabularQ>> {
        spec.agents.iter().map(|a| IcqAgent::new(TabularQ::new(a, learner.step.clone()), spec.discount)).collect()
    };
    let chunked = |run: &mut dyn FnMut(u64)| {
        for k in 1..=chunks {
            run(episodes * k / chunks);
            job.progress.advance(episodes * k / chunks - episodes * (k - 1) / chunks);
        }
    };
    let diverged = |handoffs| ExperimentError::Diverged { method: method.name().into(), seed, handoffs };
    let done = |n: u64| move |_: &E, s: &TrainStats| s.episodes >= n;
    let n_eval = job.eval_episodes;
    // IC-Q and the no-scalar ablation differ only in the training loop's type.
    macro_rules! decentralized {
        ($loop:ident) => {{
            let mut t = $loop::new(train_env(), agents(), learner.behaviour, seed);
            chunked(&mut |n| t.run_until(done(n)));
            if t.agents().iter().any(|a| a.q().has_non_finite()) {
                return Err(diverged(t.stats().handoffs));
            }
            let a = t.agents();
            eval.run_until(done(n_eval), |_, d, _| a[d.agent.index()].greedy(d.obs));
            (t.stats(), a.iter().map(|a| a.q().as_slice().to_vec()).collect::<Vec<_>>())
        }};
    }
    let trained = match method {
        Method::IcQ => {
            let (stats, tables) = decentralized!(Decentralized);
            Trained { stats, tables: Some(tables) }
        }
        Method::NoScalar => Trained { stats: decentralized!(NoScalar).0, tables: None },
        // IC-Q's own learners on a reduced interface (`job.spec` is the workload's prompt-only spec).
        Method::PromptOnly => Trained { stats: decentralized!(Decentralized).0, tables: None },
        Method::IcQNeural => {
            // Each network's tail average starts after `tail_fraction * episodes` of its own updates (every agent
            // acts at least about once per episode) and is what the evaluation plays (model.md 3's output).
            let tail = learner.network.map_or(0.0, |(_, f)| f);
            let agents = crate::train::neural_agents(spec, learner, (tail * episodes as f64) as u64, seed)?;
            let mut t = Decentralized::new(train_env(), agents, learner.behaviour, seed);
            chunked(&mut |n| t.run_until(done(n)));
            if t.agents().iter().any(|a| !a.q().distance_from_init().is_finite()) {
                return Err(diverged(t.stats().handoffs));
            }
            let nets: Vec<_> = t.agents().iter().map(|a| a.q().averaged()).collect();
            eval.run_until(done(n_eval), |_, d, _| nets[d.agent.index()].greedy(d.obs));
            Trained { stats: t.stats(), tables: None }
        }
        Method::Oracle => {
            let os = (job.oracle_spec)()?;
            let central = IcqAgent::new(TabularQ::new(&os, learner.step.clone()), spec.discount);
            let mut t = Centralized::new(train_env(), central, learner.behaviour, seed);
            chunked(&mut |n| t.run_until(done(n)));
            if t.learner().q().has_non_finite() {
                return Err(diverged(t.stats().handoffs));
            }
            let c = t.learner();
            eval.run_until(done(n_eval), |env, d, _| c.greedy(env.joint_state(d.artifact)));
            Trained { stats: t.stats(), tables: None }
        }
        Method::Random => {
            eval.run_until(done(n_eval), |env, d, rng| {
                let legal = env.spec().agents[d.agent.index()].legal.of(d.obs);
                legal[uniform_index(rng, legal.len())]
            });
            Trained { stats: TrainStats::default(), tables: None }
        }
        m => {
            let f = fixed.ok_or_else(|| ExperimentError::InvalidConfig {
                field: "methods".into(),
                reason: format!("`{m}` is not a {} method", job.kind),
            })?;
            eval.run_until(done(n_eval), |env, d, _| f(env, d));
            Trained { stats: TrainStats::default(), tables: None }
        }
    };
    Ok(trained)
}
