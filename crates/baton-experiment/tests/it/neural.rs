//! Neural IC-Q (SPEC 3) through the same training loop as the table, scored exactly on the synthetic model.

use baton_core::rng::{stream, Stream};
use baton_core::FiniteEnv;
use baton_envs::SyntheticConfig;
use baton_experiment::eval::GroundTruth;
use baton_experiment::train::Decentralized;
use baton_learn::{Behaviour, Features, IcqAgent, NeuralParams, NeuralQ};

#[test]
fn one_hot_neural_ic_q_learns_a_near_optimal_policy_on_the_synthetic_workload() {
    let model = SyntheticConfig::default().validate().unwrap().build_model().unwrap();
    let truth = GroundTruth::new(model.clone(), 0.0).unwrap();
    let spec = model.spec();
    let params = NeuralParams {
        width: 64,
        radius: 1e6,
        eta: 0.2,
        features: Features::OneHot,
        symmetric: true,
        tail_start: 150_000,
    };
    let agents: Vec<IcqAgent<NeuralQ>> = spec
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut rng = stream(11, Stream::Other(100 + i as u32));
            IcqAgent::new(NeuralQ::new(a, params, &mut rng), spec.discount)
        })
        .collect();
    let mut t = Decentralized::new(FiniteEnv::new(&model), agents, Behaviour::Uniform, 11);
    t.run(300_000);
    assert_eq!(t.stats().scalars, t.stats().transfers, "still exactly one scalar per transfer");
    let averaged: Vec<IcqAgent<NeuralQ>> =
        t.agents().iter().map(|a| IcqAgent::new(a.q().averaged(), spec.discount)).collect();
    let scores = truth.score(&truth.lift_agents(&averaged)).unwrap();
    let gap = truth.relative_gap(scores.value);
    eprintln!("neural IC-Q: gap {gap:.5}, xi-RMS error to Q* {:.4}", scores.q_error_xi);
    assert!(gap < 0.02, "greedy policy of the Polyak-averaged networks is {:.2}% below V*", 100.0 * gap);
    assert!(scores.q_error_xi < 0.5, "xi-weighted error against Q* is {}", scores.q_error_xi);
}
