//! Neural IC-Q (model.md 3) through the same training loop as the table, scored exactly on the synthetic model.

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

fn config(text: &str) -> Result<baton_experiment::Experiment, baton_experiment::ExperimentError> {
    baton_experiment::ExperimentConfig::from_toml(text, "neural.toml")?.validate()
}

const NEURAL: &str = "name = \"n\"\nseeds = 2\nmethods = [\"optimal\", \"ic-q\"]\n[workload]\nkind = \"synthetic\"\n\
    [training]\nhandoffs = 200000\neval_points = 3\n[learner.network]\nwidth = 64\neta = 0.2\n";

#[test]
fn a_learner_network_table_runs_neural_ic_q_through_the_runner() {
    let exp = config(NEURAL).unwrap();
    let Some(r) = exp.run(&baton_experiment::NoProgress).unwrap().downcast::<baton_experiment::RunResults>() else {
        panic!("synthetic results expected")
    };
    let icq = r.summary.rows.iter().find(|row| row.method == baton_experiment::Method::IcQ).unwrap();
    assert!(icq.gap < 0.02, "neural IC-Q through the runner: {icq:?}");
    assert_eq!(icq.scalars_per_transfer, 1.0);
}

#[test]
fn bad_network_configs_name_the_field() {
    for (change, field) in [
        ("width = 64", "width = 63"),
        ("eta = 0.2", "eta = 0.0"),
        ("eta = 0.2", "eta = 0.2\ntail_fraction = 1.0"),
        ("eta = 0.2", "eta = 0.2\nradius = -1.0"),
        ("eta = 0.2", "eta = 0.2\nfeatures = { kind = \"random\", dim = 0 }"),
    ]
    .map(|(from, to)| (NEURAL.replace(from, to), to.lines().last().unwrap().split(' ').next().unwrap().to_string()))
    {
        let e = config(&change).unwrap_err().to_string();
        let expect = if field == "features" {
            "learner.network.features.dim".to_string()
        } else {
            format!("learner.network.{field}")
        };
        assert!(e.contains(&expect), "{change}: {e}");
    }
    let routing = "name = \"r\"\nmethods = [\"ic-q\"]\n[workload]\nkind = \"routing\"\n\
        topology = { kind = \"grid\", rows = 3, cols = 3 }\nloads = [1.0]\n[learner.network]\nwidth = 8\neta = 0.2\n";
    let e = config(routing).unwrap_err().to_string();
    // In a routing run the network configures the `ic-q-neural` method only, which this config does not list.
    assert!(e.contains("learner.network") && e.contains("ic-q-neural"), "{e}");
}
