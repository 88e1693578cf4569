//! Throughput of the hot loops, for `baton bench`. Each loop runs for about a given wall time; the
//! figure is operations per second of wall time on one thread (the `*gflops` figures: 1e9 flops per second).

use std::time::{Duration, Instant};

use baton_core::rng::{stream, uniform_index, Stream};
use baton_core::{ActionId, AgentId, FiniteModel, ObsId, TERMINAL};
use baton_envs::SyntheticConfig;
use baton_learn::{IcqAgent, Scalar, StepSize, TabularQ, Transition};
use serde::Serialize;

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
    /// Seconds timed (wall).
    pub seconds: f64,
    /// On-CPU seconds of the timing thread over the same interval (Linux), to read the figure on a loaded
    /// machine: `ops / cpu_seconds` is the rate per second of CPU actually received.
    pub cpu_seconds: Option<f64>,
}

impl Figure {
    /// Operations per second of CPU time received (`None` where the CPU time is not available).
    pub fn per_cpu_sec(&self) -> Option<f64> {
        self.cpu_seconds.filter(|&c| c > 0.0).map(|c| self.per_sec * self.seconds / c)
    }
}

/// On-CPU time of the whole process (every thread, exited ones included, user and system), from
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (Linux); `None` elsewhere. For figures timed across several threads
/// (the service benchmark), where the timing thread's own CPU time says little.
#[cfg(target_os = "linux")]
pub fn process_cpu_seconds() -> Option<f64> {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    (rc == 0).then_some(t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9)
}

/// On-CPU time of the whole process: not available off Linux.
#[cfg(not(target_os = "linux"))]
pub fn process_cpu_seconds() -> Option<f64> {
    None
}

/// On-CPU time of the calling thread, from `/proc/thread-self/schedstat` (Linux); `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}

pub(crate) fn time_loop(name: &str, budget: Duration, mut chunk: impl FnMut() -> u64) -> Figure {
    // Warm up (page in tables, settle the branch predictor), then time whole chunks.
    chunk();
    let cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    let mut ops = 0;
    while start.elapsed() < budget {
        ops += chunk();
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = cpu_start.and_then(|a| Some(thread_cpu_seconds()? - a));
    Figure { name: name.into(), per_sec: ops as f64 / seconds, ops, seconds, cpu_seconds }
}

/// Handoffs per timed chunk of the training loops.
pub(crate) const CHUNK: u64 = 100_000;

/// Run every hot loop whose name contains `filter` for about `budget` each: each workload's (through the
/// registry), then the learners'.
pub fn run_benches(budget: Duration, filter: &str) -> Result<Vec<Figure>, ExperimentError> {
    let model = SyntheticConfig::default().validate()?.build_model()?;
    let spec = model.spec().clone();
    let step = StepSize::polynomial(0.8);
    let agents: Vec<IcqAgent<TabularQ>> =
        spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, step.clone())).collect();
    let mut figures = Vec::new();

    let wanted = |name: &str| name.contains(filter);

    for kind in crate::registry::KINDS {
        kind.benches(budget, filter, &mut figures)?;
    }
    // Neural IC-Q (model.md 3) on random unit features in R^64, as in a width sweep. Flops counted per update:
    // forward pass 2md (a multiply and an add per weight) + rank-1 step 2md = 4md; per handoff the receiver's
    // `max_value` over 4 actions (4 forward passes, 8md) plus the sender's update (4md) = 12md. The O(m) work
    // (output sums, step sizes, Polyak sums) is not counted. `*_gflops` figures are GFLOP/s (their `ops` are
    // the flops timed), to read against `neural/peak_f32_gflops`.
    if wanted("neural/peak_f32_gflops") {
        figures.push(peak_f32_gflops(budget));
    }
    for width in [256usize, 1024] {
        let prefix = format!("neural/m{width}-d64");
        let flops = 4.0 * (width * NEURAL_DIM) as f64;
        let (updates, gflops) = (format!("{prefix}/updates_per_sec"), format!("{prefix}/update_gflops"));
        if wanted(&updates) || wanted(&gflops) {
            let mut net = neural_bench_network(width, 0);
            let mut k = 0u32;
            let figure = time_loop(&updates, budget, || {
                const UPDATES: u64 = 2_000;
                for _ in 0..UPDATES {
                    k = k.wrapping_add(1);
                    let (o, a) = (ObsId(k % 64), ActionId((k / 64 % 4) as u16));
                    baton_learn::QFunction::update_towards(&mut net, o, a, f64::from(k % 7) * 0.1);
                }
                UPDATES
            });
            push_with_gflops(&mut figures, figure, &gflops, flops, &wanted);
        }
        let (handoffs, gflops) = (format!("{prefix}/handoffs_per_sec"), format!("{prefix}/handoff_gflops"));
        if wanted(&handoffs) || wanted(&gflops) {
            // Two networks, as at an IC-Q handoff: the receiver's reply, then the sender's update.
            let (receiver, mut sender) = (neural_bench_network(width, 1), neural_bench_network(width, 2));
            let mut k = 0u32;
            let figure = time_loop(&handoffs, budget, || {
                const HANDOFFS: u64 = 500;
                for _ in 0..HANDOFFS {
                    k = k.wrapping_add(1);
                    let v = baton_learn::QFunction::max_value(&receiver, ObsId(k.wrapping_mul(7) % 64));
                    let (o, a) = (ObsId(k % 64), ActionId((k / 64 % 4) as u16));
                    let target = f64::from(k % 7) * 0.1 + 0.9 * v;
                    baton_learn::QFunction::update_towards(&mut sender, o, a, target);
                }
                HANDOFFS
            });
            push_with_gflops(&mut figures, figure, &gflops, 3.0 * flops, &wanted);
        }
    }
    if wanted("icq/updates_per_sec") {
        let records = record_transitions(&model, 1 << 20);
        let mut learners = agents;
        figures.push(time_loop("icq/updates_per_sec", budget, || {
            for r in &records {
                let v = match r.receiver {
                    Some((j, o)) => learners[j.index()].reply(o),
                    None => Scalar::TERMINAL,
                };
                learners[r.sender.index()].learn(&r.transition, v);
            }
            records.len() as u64
        }));
    }
    Ok(figures)
}

/// Feature dimension of the neural figures.
const NEURAL_DIM: usize = 64;

/// A network of width `width` over 64 observations x 4 actions, random unit features in R^64, the Polyak tail
/// running from the first update and a radius that never binds.
fn neural_bench_network(width: usize, seed: u64) -> baton_learn::NeuralQ {
    let spec = baton_core::AgentSpec {
        name: "bench".into(),
        n_obs: 64,
        n_actions: 4,
        legal: baton_core::Legal::all(4),
        action_names: (0..4).map(|a| format!("a{a}")).collect(),
    };
    let params = baton_learn::NeuralParams {
        width,
        radius: 1e6,
        eta: 0.01,
        features: baton_learn::Features::Random { dim: NEURAL_DIM },
        symmetric: true,
        tail_start: 0,
    };
    baton_learn::NeuralQ::new(&spec, params, &mut stream(3 + seed, Stream::Other(0)))
}

/// Push `figure` (if wanted) and, if wanted, the same timing as GFLOP/s at `flops` per operation.
fn push_with_gflops(
    figures: &mut Vec<Figure>,
    figure: Figure,
    gflops_name: &str,
    flops: f64,
    wanted: &dyn Fn(&str) -> bool,
) {
    if wanted(gflops_name) {
        let total = figure.ops as f64 * flops;
        figures.push(Figure {
            name: gflops_name.into(),
            per_sec: total / figure.seconds / 1e9,
            ops: total as u64,
            seconds: figure.seconds,
            cpu_seconds: figure.cpu_seconds,
        });
    }
    if wanted(&figure.name) {
        figures.push(figure);
    }
}

/// One core's f32 multiply-add throughput in GFLOP/s: twelve independent 8-wide fused multiply-add chains
/// (AVX2 + FMA when the CPU has them, checked at run time; otherwise the same chains as separate multiplies
/// and adds in portable code). A ceiling to read the neural GFLOP/s against, not a result of the crate.
fn peak_f32_gflops(budget: Duration) -> Figure {
    const CHAINS: usize = 12;
    const ROUNDS: u64 = 1 << 16;
    // Each round: CHAINS x 8 lanes x (multiply + add).
    const FLOPS_PER_ROUND: u64 = (CHAINS * 8 * 2) as u64;
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma_rounds(rounds: u64) -> f32 {
        use std::arch::x86_64::{_mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps};
        let (a, b) = (_mm256_set1_ps(std::hint::black_box(0.999_999)), _mm256_set1_ps(1e-6));
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..rounds {
            for v in &mut acc {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut sum = acc[0];
        for v in &acc[1..] {
            sum = _mm256_add_ps(sum, *v);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` has room for eight floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
        out.iter().sum()
    }
    fn portable_rounds(rounds: u64) -> f32 {
        let (a, b) = (std::hint::black_box(0.999_999f32), 1e-6f32);
        let mut acc = [[1.0f32; 8]; CHAINS];
        for _ in 0..rounds {
            for chain in &mut acc {
                for v in chain.iter_mut() {
                    *v = *v * a + b;
                }
            }
        }
        acc.iter().flatten().sum()
    }
    let run = |rounds: u64| -> f32 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { fma_rounds(rounds) };
        }
        portable_rounds(rounds)
    };
    let mut figure = time_loop("neural/peak_f32_gflops", budget, || {
        std::hint::black_box(run(std::hint::black_box(ROUNDS)));
        ROUNDS * FLOPS_PER_ROUND
    });
    figure.per_sec /= 1e9;
    figure
}

/// A transition as the runner hands it to the learners: the sender's own record and the receiver, if any.
struct Recorded {
    sender: AgentId,
    transition: Transition,
    receiver: Option<(AgentId, ObsId)>,
}

/// `n` transitions of the model under uniform behaviour, recorded outside any timed section.
fn record_transitions(model: &FiniteModel, n: usize) -> Vec<Recorded> {
    let mut rng = stream(2, Stream::Other(0));
    let mut out = Vec::with_capacity(n);
    let mut s = TERMINAL;
    while out.len() < n {
        if s == TERMINAL {
            s = model.sample_initial(&mut rng);
        }
        let pairs = model.pairs(s);
        let p = pairs.start + uniform_index(&mut rng, pairs.len());
        let o = *model.sample_outcome(p, &mut rng);
        let receiver = (o.next != TERMINAL).then(|| (model.holder(o.next), model.obs(o.next)));
        let transition =
            Transition { obs: model.obs(s), action: model.pair_action(p), reward: o.reward, duration: o.duration };
        out.push(Recorded { sender: model.holder(s), transition, receiver });
        s = o.next;
    }
    out
}

pub use crate::routing::bench::IRREGULAR_6X6;
