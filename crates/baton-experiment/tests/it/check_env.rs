//! Every workload's environments pass `check_env`, through the registry: one small config per kind.

use baton_experiment::registry::KINDS;
use baton_experiment::ExperimentConfig;

/// The data directory (`BATON_DATA_DIR`, default the repository's `data/` folder).
fn data_dir() -> String {
    baton_experiment::data::data_dir().display().to_string()
}

/// One small config per workload kind.
fn configs() -> Vec<(&'static str, String)> {
    let head = |methods: &str| format!("name = \"check\"\nseeds = 1\nmethods = {methods}\n");
    vec![
        ("synthetic", format!("{}[workload]\nkind = \"synthetic\"\nagents = 3\n", head("[\"ic-q\"]"))),
        (
            "routing",
            format!(
                "{}[workload]\nkind = \"routing\"\ntopology = {{ kind = \"grid\", rows = 3, cols = 4 }}\n\
                 loads = [1.0, 3.0]\nduration = 200.0\nwarmup = 100.0\n",
                head("[\"ic-q\"]")
            ),
        ),
        (
            "math",
            format!(
                "{}[workload]\nkind = \"math\"\nbackend = \"replay\"\ndata_dir = {:?}\nepisodes = 100\nlambdas = [0.0, 50.0]\n",
                head("[\"ic-q\"]"),
                data_dir()
            ),
        ),
        (
            "cpu",
            format!(
                "{}[workload]\nkind = \"cpu\"\ntasks = \"hackers-delight\"\ndebugger_budget = 60\n\
                 optimizer_budget = 20\nepisodes = 100\n",
                head("[\"ic-q\"]")
            ),
        ),
        (
            "finite",
            format!(
                "{}[workload]\nkind = \"finite\"\nmodel = {:?}\n",
                head("[\"ic-q\"]"),
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../data/finite/finite-example.toml")
                    .display()
                    .to_string()
            ),
        ),
    ]
}

#[test]
fn every_workload_passes_check_env() {
    let configs = configs();
    for kind in KINDS {
        assert!(
            configs.iter().any(|(k, _)| *k == kind.kind()),
            "workload `{}` has no config in this test: add one",
            kind.kind()
        );
    }
    for (kind, text) in &configs {
        let exp = ExperimentConfig::from_toml(text, "check.toml")
            .and_then(|c| c.validate())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(exp.workload.id(), KINDS.iter().find(|k| k.kind() == *kind).unwrap().id());
        exp.workload.check_env().unwrap_or_else(|e| panic!("{kind}: check_env: {e}"));
    }
}
