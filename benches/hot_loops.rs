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

/// The neural network's hand-written loops against a general matrix-multiply crate on the same shapes
/// (m = 1024 neurons, d = 64 random features): the forward pass as `matrixmultiply::sgemm` with `n = 1` plus
/// the ReLU output sum, and the rank-1 step `W += x g^T` as `sgemm` with `k = 1`. The crate packs its operands
/// on every call, which dominates at these shapes; `NeuralQ` keeps its own loops (see `neural.rs`).
fn neural(c: &mut Criterion) {
    use baton::core::{AgentSpec, Legal};
    use baton::learn::{Features, NeuralParams, NeuralQ};
    const M: usize = 1024;
    const D: usize = 64;
    let spec = AgentSpec {
        name: "bench".into(),
        n_obs: 64,
        n_actions: 4,
        legal: Legal::all(4),
        action_names: (0..4).map(|a| format!("a{a}")).collect(),
    };
    let params = NeuralParams {
        width: M,
        radius: 1e6,
        eta: 0.01,
        features: Features::Random { dim: D },
        symmetric: true,
        tail_start: 0,
    };
    let mut net = NeuralQ::new(&spec, params, &mut baton::core::rng::stream(3, baton::core::rng::Stream::Other(0)));
    let mut group = c.benchmark_group("neural m1024-d64");
    let mut k = 0u32;
    group.bench_function("NeuralQ::value (forward)", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            black_box(net.value(ObsId(k % 64), ActionId((k / 64 % 4) as u16)))
        })
    });
    group.bench_function("NeuralQ::update_towards (forward + rank-1 step)", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            black_box(net.update_towards(ObsId(k % 64), ActionId((k / 64 % 4) as u16), f64::from(k % 7) * 0.1))
        })
    });
    // The same shapes through the crate: W as a d x m row-major matrix, features as columns.
    let w: Vec<f32> = (0..M * D).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1e-4).collect();
    let x: Vec<f32> = (0..256 * D).map(|i| ((i * 31 % 100) as f32 - 50.0) * 1e-2).collect();
    let b_out: Vec<f64> = (0..M).map(|r| if r % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let mut pre = vec![0.0f32; M];
    group.bench_function("matrixmultiply sgemm n=1 (forward)", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            let xp = &x[(k as usize % 256) * D..][..D];
            // SAFETY: pre = W^T x with W (d x m, row-major) and x (d x 1); every slice has the stated shape.
            unsafe {
                matrixmultiply::sgemm(
                    M,
                    D,
                    1,
                    1.0,
                    w.as_ptr(),
                    1,
                    M as isize,
                    xp.as_ptr(),
                    1,
                    1,
                    0.0,
                    pre.as_mut_ptr(),
                    1,
                    1,
                )
            };
            black_box(pre.iter().zip(&b_out).map(|(&a, &s)| if a > 0.0 { s * f64::from(a) } else { 0.0 }).sum::<f64>())
        })
    });
    let mut w2 = w.clone();
    group.bench_function("matrixmultiply sgemm k=1 (rank-1 step)", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            let xp = &x[(k as usize % 256) * D..][..D];
            // SAFETY: W (d x m, row-major) += x (d x 1) g^T (1 x m); every slice has the stated shape.
            unsafe {
                matrixmultiply::sgemm(
                    D,
                    1,
                    M,
                    1e-3,
                    xp.as_ptr(),
                    1,
                    1,
                    pre.as_ptr(),
                    1,
                    1,
                    1.0,
                    w2.as_mut_ptr(),
                    M as isize,
                    1,
                )
            };
            black_box(w2[k as usize % (M * D)])
        })
    });
    group.finish();
}

criterion_group!(benches, handoff_loops, update_rule, solver, neural);
criterion_main!(benches);
