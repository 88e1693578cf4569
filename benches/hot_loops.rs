//! Criterion micro-benchmarks of the hot loops. Inputs are built outside the timed closures.
//! `cargo bench` runs them; `baton bench` gives the headline throughput figures.

use std::hint::black_box;

use baton::core::{ActionId, FiniteEnv, ObsId};
use baton::envs::SyntheticConfig;
use baton::experiment::train::{Centralized, Decentralized};
use baton::learn::{Behaviour, IcqAgent, QFunction, Scalar, StepSize, TabularQ, Transition};
use baton::solve::{evaluate, value_iteration, Policy};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const CHUNK: u64 = 10_000;

fn handoff_loops(c: &mut Criterion) {
    let model = SyntheticConfig::default().validate().expect("default config").build_model().expect("model");
    let spec = model.spec().clone();
    let step = StepSize::polynomial(0.8);
    let agents: Vec<IcqAgent<TabularQ>> =
        spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, step.clone())).collect();

    let mut group = c.benchmark_group("synthetic");
    group.throughput(Throughput::Elements(CHUNK));
    let mut icq = Decentralized::new(FiniteEnv::new(&model), agents.clone(), Behaviour::Uniform, 1);
    group.bench_function("ic-q handoffs", |b| b.iter(|| icq.run(black_box(CHUNK))));
    let mut greedy = Decentralized::new(FiniteEnv::new(&model), agents, Behaviour::EpsilonGreedy { epsilon: 0.1 }, 1);
    group.bench_function("ic-q epsilon-greedy handoffs", |b| b.iter(|| greedy.run(black_box(CHUNK))));
    let oracle = IcqAgent::tabular(&model.oracle_spec(), spec.discount, step);
    let mut central = Centralized::new(FiniteEnv::new(&model), oracle, Behaviour::Uniform, 1);
    group.bench_function("oracle handoffs", |b| b.iter(|| central.run(black_box(CHUNK))));
    group.finish();
}

fn update_rule(c: &mut Criterion) {
    let model = SyntheticConfig::default().validate().expect("default config").build_model().expect("model");
    let spec = &model.spec().agents[0];
    let mut agent = IcqAgent::tabular(spec, 0.95, StepSize::polynomial(0.8));
    let receiver = agent.clone();
    let n_obs = spec.n_obs;
    let mut o = 0u32;
    c.bench_function("icq reply + learn", |b| {
        b.iter(|| {
            o = (o + 7) % n_obs;
            let v: Scalar = receiver.reply(ObsId((o + 3) % n_obs));
            let t = Transition { obs: ObsId(o), action: ActionId((o % 5) as u16), reward: -0.1, duration: 2 };
            black_box(agent.learn(&t, v))
        })
    });
    black_box(agent.q().value(ObsId(0), ActionId(0)));
}

fn solver(c: &mut Criterion) {
    let model = SyntheticConfig::default().validate().expect("default config").build_model().expect("model");
    let mut group = c.benchmark_group("solver");
    group.sample_size(20);
    group.bench_function("value iteration (default synthetic)", |b| {
        b.iter(|| value_iteration(black_box(&model), 1e-10).expect("solves"))
    });
    let policy = Policy::uniform(&model);
    group.bench_function("policy evaluation (default synthetic)", |b| {
        b.iter(|| evaluate(black_box(&model), &policy).expect("evaluates"))
    });
    group.finish();
}

criterion_group!(benches, handoff_loops, update_rule, solver);
criterion_main!(benches);
