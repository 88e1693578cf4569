//! `kind = "finite"`: the shipped example's optimum against a hand computation, IC-Q and the oracle on it, and
//! every kind of bad model file rejected naming the file, the state and the action.

use baton_experiment::eval::GroundTruth;
use baton_experiment::finite::model_file;
use baton_experiment::{ExperimentConfig, Method, NoProgress, RunResults};

fn example_path() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/finite/finite-example.toml").display().to_string()
}

fn example_text() -> String {
    std::fs::read_to_string(example_path()).expect("the example model file")
}

#[test]
fn the_example_model_has_the_hand_computed_optimum_and_random_value() {
    let model = model_file::load(std::path::Path::new(&example_path())).expect("the example model is valid");
    assert_eq!((model.n_states(), model.n_pairs()), (3, 5));
    let truth = GroundTruth::new(model, 0.0).expect("solvable");
    // The file's comment: V* = -0.1 + 0.9 * (0.5 * 4 + 0.5 * 0) = 1.7 (delegate, then finish); the uniformly
    // random policy: (1 + (-0.1 + 0.9 * (2 + 0.9) / 2)) / 2 = 1.1025.
    assert!((truth.optimal_value - 1.7).abs() < 1e-9, "V* = {}", truth.optimal_value);
    assert!((truth.random_value - 1.1025).abs() < 1e-9, "random = {}", truth.random_value);
    // Every agent sees the state it is in: no interface gap.
    assert!(truth.gap.alpha_if.abs() < 1e-12, "alpha_IF = {}", truth.gap.alpha_if);
}

#[test]
fn ic_q_and_the_oracle_reach_the_optimum_of_the_example_within_one_percent() {
    let text = format!(
        "name = \"finite-test\"\nseeds = 3\nmethods = [\"optimal\", \"ic-q\", \"oracle\", \"no-scalar\", \"random\"]\n\
         [workload]\nkind = \"finite\"\nmodel = {:?}\n[training]\nhandoffs = 20000\neval_points = 5\n",
        example_path()
    );
    let exp = ExperimentConfig::from_toml(&text, "finite-test.toml").unwrap().validate().unwrap();
    assert_eq!(exp.workload.id(), "finite-v0");
    let results = exp.run(&NoProgress).unwrap().downcast::<RunResults>().expect("exact-ground-truth results");
    let row = |m: Method| results.summary.rows.iter().find(|r| r.method == m).unwrap();
    assert!((row(Method::Optimal).value - 1.7).abs() < 1e-9);
    assert!((row(Method::Random).value - 1.1025).abs() < 1e-9);
    for m in [Method::IcQ, Method::Oracle] {
        assert!(row(m).gap <= 0.01, "{m}: gap {}", row(m).gap);
    }
    assert_eq!(row(Method::IcQ).scalars_per_transfer, 1.0);
    assert_eq!(results.summary.workload, "finite-v0");
    assert_eq!(results.summary.model.states, 3);
}

/// The example with `from` replaced by `to` (exactly once), parsed as `bad.toml`: the error text.
fn error_of(from: &str, to: &str) -> String {
    let text = example_text();
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once in the example");
    let e = model_file::parse(&text.replace(from, to), "bad.toml").expect_err("a bad model file");
    e.to_string()
}

#[test]
fn bad_model_files_are_rejected_naming_the_file_the_state_and_the_action() {
    let cases = [
        // Probabilities not summing to 1.
        (
            "{ probability = 0.5, next = \"end\", duration = 2, reward = 4.0 }",
            "{ probability = 0.4, next = \"end\", duration = 2, reward = 4.0 }",
            &["bad.toml", "state `working`", "action `finish`", "sum to 0.9"][..],
        ),
        // A legal action with no outcome.
        (
            "{ action = \"send-back\", outcomes = [{ probability = 1.0, next = \"returned\", duration = 1, reward = 0.0 }] }",
            "{ action = \"send-back\", outcomes = [] }",
            &["bad.toml", "state `working`", "action `send-back`", "no outcome"][..],
        ),
        // A next state out of range.
        (
            "next = \"returned\"",
            "next = \"nowhere\"",
            &["bad.toml", "state `working`", "action `send-back`", "next state `nowhere` does not exist"][..],
        ),
        // An observation out of range.
        (
            "holder = \"worker\"\nobservation = 0",
            "holder = \"worker\"\nobservation = 1",
            &["bad.toml", "state `working`", "observation 1 is out of range"][..],
        ),
        // A duration below 1.
        (
            "next = \"working\", duration = 1",
            "next = \"working\", duration = 0",
            &["bad.toml", "state `fresh`", "action `delegate`", "duration 0 is below 1"][..],
        ),
        // A non-finite reward.
        (
            "reward = -0.1",
            "reward = nan",
            &["bad.toml", "state `fresh`", "action `delegate`", "reward NaN is not finite"][..],
        ),
        // A handoff to a state held by someone other than the action's target.
        (
            "next = \"working\", duration = 1",
            "next = \"returned\", duration = 1",
            &["bad.toml", "state `fresh`", "action `delegate`", "held by `planner`", "hands over to `worker`"][..],
        ),
        // An action the holder does not have.
        (
            "{ action = \"solve\", outcomes = [{ probability = 1.0, next = \"end\", duration = 1, reward = 1.0 }] },\n  { action = \"delegate\"",
            "{ action = \"finish\", outcomes = [{ probability = 1.0, next = \"end\", duration = 1, reward = 1.0 }] },\n  { action = \"delegate\"",
            &["bad.toml", "state `fresh`", "action `finish`", "not an action of agent `planner`"][..],
        ),
        // The start distribution.
        ("start = 1.0", "start = 0.5", &["bad.toml", "start probabilities sum to 0.5"][..]),
        // Not TOML of the format.
        ("discount = 0.9", "discount = 0.9\ncolour = 1", &["bad.toml", "colour"][..]),
    ];
    for (from, to, wanted) in cases {
        let e = error_of(from, to);
        for w in wanted {
            assert!(e.contains(w), "replacing {from:?} by {to:?}: {e:?} does not say {w:?}");
        }
    }
}

#[test]
fn a_missing_or_huge_model_file_is_a_clear_error_before_anything_runs() {
    let text =
        "name = \"f\"\nmethods = [\"ic-q\"]\n[workload]\nkind = \"finite\"\nmodel = \"/nonexistent/model.toml\"\n";
    let config = ExperimentConfig::from_toml(text, "f.toml").unwrap();
    let e = config.clone().validate().expect_err("a missing file").to_string();
    assert!(e.contains("/nonexistent/model.toml") && e.contains("cannot read"), "{e}");
    // Checking the config reads no file.
    config.check().expect("the fields are valid");
    let e = model_file::load(std::path::Path::new("/dev/zero")).expect_err("an endless file").to_string();
    assert!(e.contains("/dev/zero") && e.contains("larger than"), "{e}");
    let bad = text.replace("[\"ic-q\"]", "[\"round-robin\"]");
    let e = ExperimentConfig::from_toml(&bad, "f.toml").unwrap().check().expect_err("a synthetic-only method");
    assert!(e.to_string().contains("`round-robin` is not a finite method"), "{e}");
}
