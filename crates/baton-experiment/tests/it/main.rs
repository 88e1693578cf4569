//! Learning tests against the exact solver, the one-scalar count, and determinism of the runner.

#![allow(clippy::unwrap_used)]

mod check_env;
mod cpu;
mod finite;
mod math;
mod neural;
mod routing;
mod summary;
mod sweep;
mod validation;

use baton_core::FiniteEnv;
use baton_envs::SyntheticConfig;
use baton_experiment::train::Decentralized;
use baton_experiment::{Experiment, ExperimentConfig, Method, NoProgress, RunResults};
use baton_learn::{Behaviour, IcqAgent, StepSize, TabularQ};

fn experiment(workload: &str, methods: &str, seeds: u32, handoffs: u64) -> Experiment {
    let text = format!(
        "name = \"test\"\nseeds = {seeds}\nmethods = {methods}\n[workload]\nkind = \"synthetic\"\n{workload}\n\
         [training]\nhandoffs = {handoffs}\neval_points = 2\n"
    );
    ExperimentConfig::from_toml(&text, "test.toml").unwrap().validate().unwrap()
}

fn run(exp: &Experiment) -> RunResults {
    match exp.run(&NoProgress).unwrap().downcast::<RunResults>() {
        Some(r) => r,
        _ => panic!("a synthetic config gave other results"),
    }
}

#[test]
fn exactly_one_scalar_crosses_per_transfer_of_control() {
    let model = SyntheticConfig::default().validate().unwrap().build_model().unwrap();
    let spec = model.spec();
    let agents: Vec<IcqAgent<TabularQ>> =
        spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, StepSize::polynomial(0.8))).collect();
    let mut t = Decentralized::new(FiniteEnv::new(&model), agents, Behaviour::Uniform, 3);
    t.run(100_000);
    let s = t.stats();
    assert_eq!(s.handoffs, 100_000);
    assert_eq!(s.scalars, s.transfers, "one scalar per transfer of control");
    // Terminal handoffs carry no scalar: handoffs = transfers + episodes ended (at most one in progress).
    assert!(s.episodes > 10_000, "{s:?}");
    assert!(s.handoffs - s.transfers >= s.episodes && s.handoffs - s.transfers <= s.episodes + 1, "{s:?}");
}

#[test]
fn with_a_zero_gap_interface_ic_q_and_the_oracle_reach_99_percent_of_the_optimum() {
    let exp = experiment("", "[\"ic-q\", \"oracle\"]", 3, 400_000);
    let res = run(&exp);
    let facts = &res.summary.model;
    assert!(facts.eps_if < 1e-9 && facts.delta_if < 1e-9, "default interface gap must be zero: {facts:?}");
    let v_star = facts.optimal_value;
    assert!(v_star > 0.0);
    for job in &res.jobs {
        let last = job.curve.last().unwrap();
        assert!(
            last.scores.value >= 0.99 * v_star,
            "{} seed {}: value {} < 0.99 V* = {}",
            job.method,
            job.seed,
            last.scores.value,
            0.99 * v_star
        );
    }
    // The problem is not trivial: acting at random loses most of the value.
    assert!(facts.random_value < 0.5 * v_star);
}

#[test]
fn with_aliasing_ic_q_converges_to_q_bar_not_q_star_and_loses_less_than_two_alpha_if() {
    let exp = experiment("aliasing = 4.0", "[\"ic-q\"]", 2, 2_000_000);
    let res = run(&exp);
    let facts = &res.summary.model;
    assert!((facts.eps_if - 2.0).abs() < 1e-9, "eps_IF = lambda/2: {facts:?}");
    for job in &res.jobs {
        let s = job.curve.last().unwrap().scores;
        // Close to its own fixed point Q_bar o sigma ...
        assert!(s.q_bar_error_xi < 0.1, "seed {}: xi-RMS distance to Q_bar {}", job.seed, s.q_bar_error_xi);
        // ... and clearly not at Q*, which the interface cannot represent.
        assert!(s.q_error_xi > 5.0 * s.q_bar_error_xi, "seed {}: {s:?}", job.seed);
        // Policy loss within 2 alpha_IF.
        let loss = facts.optimal_value - s.value;
        assert!(loss <= 2.0 * facts.alpha_if, "seed {}: loss {loss} > 2 alpha_IF {}", job.seed, facts.alpha_if);
    }
}

#[test]
fn without_the_scalar_agents_learn_a_clearly_worse_policy() {
    let exp = experiment("", "[\"ic-q\", \"no-scalar\"]", 2, 200_000);
    let res = run(&exp);
    let row = |m: Method| res.summary.rows.iter().find(|r| r.method == m).unwrap().clone();
    let icq = row(Method::IcQ);
    let ablation = row(Method::NoScalar);
    assert!(icq.gap < 0.01, "{icq:?}");
    assert!(ablation.gap > 0.05, "the ablation should lose more than 5%: {ablation:?}");
    assert_eq!(icq.scalars_per_transfer, 1.0);
    assert_eq!(ablation.scalars_per_transfer, 0.0);
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let exp = experiment("levels = 3", "[\"ic-q\", \"oracle\", \"no-scalar\"]", 3, 20_000);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| run(&exp));
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| run(&exp));
    assert_eq!(one.jobs, two.jobs);
    assert_eq!(one.summary, two.summary);
}

#[test]
fn the_hand_written_round_robin_pipeline_is_clearly_below_the_learned_policy() {
    let exp = experiment("", "[\"round-robin\", \"ic-q\"]", 1, 200_000);
    let res = run(&exp);
    let rr = res.summary.rows.iter().find(|r| r.method == Method::RoundRobin).unwrap();
    let icq = res.summary.rows.iter().find(|r| r.method == Method::IcQ).unwrap();
    assert!(rr.gap > 0.03 && rr.gap < 0.5, "{rr:?}");
    assert!(icq.value > rr.value, "learned {} vs hand-written {}", icq.value, rr.value);
}
