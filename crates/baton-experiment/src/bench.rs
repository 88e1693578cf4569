//! Throughput of the hot loops, for `baton bench`. Each loop runs for about a given wall time; the
//! figure is operations per second of wall time on one thread.

use std::time::{Duration, Instant};

use baton_core::FiniteEnv;
use baton_envs::SyntheticConfig;
use baton_learn::{Behaviour, IcqAgent, StepSize, TabularQ};
use serde::Serialize;

use crate::train::{Centralized, Decentralized};
use crate::ExperimentError;

/// One measured figure.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// Stable name, e.g. `synthetic/ic-q/handoffs_per_sec`.
    pub name: String,
    /// Operations per second.
    pub per_sec: f64,
    /// Operations timed.
    pub ops: u64,
    /// Seconds timed.
    pub seconds: f64,
}

fn time_loop(name: &str, budget: Duration, mut chunk: impl FnMut() -> u64) -> Figure {
    // Warm up (page in tables, settle the branch predictor), then time whole chunks.
    chunk();
    let start = Instant::now();
    let mut ops = 0;
    while start.elapsed() < budget {
        ops += chunk();
    }
    let seconds = start.elapsed().as_secs_f64();
    Figure { name: name.into(), per_sec: ops as f64 / seconds, ops, seconds }
}

/// Run every hot loop whose name contains `filter` for about `budget` each.
pub fn run_benches(budget: Duration, filter: &str) -> Result<Vec<Figure>, ExperimentError> {
    let mut config = SyntheticConfig::default();
    if let Ok(levels) = std::env::var("BATON_BENCH_LEVELS") {
        config.levels = levels.parse().unwrap_or(config.levels);
    }
    let model = config.validate()?.build_model()?;
    let spec = model.spec().clone();
    let step = StepSize::polynomial(0.8);
    let agents: Vec<IcqAgent<TabularQ>> =
        spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, step.clone())).collect();
    const CHUNK: u64 = 100_000;
    let mut figures = Vec::new();

    let wanted = |name: &str| name.contains(filter);

    let mut icq = Decentralized::new(FiniteEnv::new(&model), agents.clone(), Behaviour::Uniform, 1);
    if wanted("synthetic/ic-q/handoffs_per_sec") {
        figures.push(time_loop("synthetic/ic-q/handoffs_per_sec", budget, || {
            icq.run(CHUNK);
            CHUNK
        }));
    }

    let mut greedy = Decentralized::new(FiniteEnv::new(&model), agents, Behaviour::EpsilonGreedy { epsilon: 0.1 }, 1);
    if wanted("synthetic/ic-q-epsilon-greedy/handoffs_per_sec") {
        figures.push(time_loop("synthetic/ic-q-epsilon-greedy/handoffs_per_sec", budget, || {
            greedy.run(CHUNK);
            CHUNK
        }));
    }

    let oracle = IcqAgent::tabular(&model.oracle_spec(), spec.discount, step);
    let mut central = Centralized::new(FiniteEnv::new(&model), oracle, Behaviour::Uniform, 1);
    if wanted("synthetic/oracle/handoffs_per_sec") {
        figures.push(time_loop("synthetic/oracle/handoffs_per_sec", budget, || {
            central.run(CHUNK);
            CHUNK
        }));
    }
    Ok(figures)
}
