//! Every workload's `summary.json` reads back into the typed summary that wrote it (byte for byte when written
//! again), and the tables `baton report` makes from it are those `baton run` printed: one small run per kind.

use baton_experiment::registry::{by_id, KINDS};
use baton_experiment::table::parse;
use baton_experiment::workload::pretty;
use baton_experiment::{ExperimentConfig, NoProgress, Outcome};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One small config per workload kind (and a bound sweep), each with the learner and a reference.
fn configs() -> Vec<(&'static str, String)> {
    let head = |methods: &str, seeds: u32| format!("name = \"summary\"\nseeds = {seeds}\nmethods = {methods}\n");
    let training = "[training]\nhandoffs = 3000\neval_points = 2\n";
    let data_dir = baton_experiment::data::data_dir().display().to_string();
    let finite = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/finite/finite-example.toml");
    vec![
        (
            "synthetic",
            format!(
                "{}[workload]\nkind = \"synthetic\"\nagents = 3\n{training}",
                head("[\"ic-q\", \"oracle\", \"random\", \"optimal\"]", 2)
            ),
        ),
        (
            "sweep",
            format!(
                "{}[workload]\nkind = \"synthetic\"\n{training}[sweep]\naxis = \"interface\"\nlevels = [0.0, 2.0, 4.0]\n",
                head("[\"ic-q\", \"oracle\"]", 2)
            ),
        ),
        (
            "routing",
            format!(
                "{}[workload]\nkind = \"routing\"\ntopology = {{ kind = \"grid\", rows = 3, cols = 4 }}\n\
                 loads = [1.0, 3.0]\nduration = 200.0\nwarmup = 100.0\n",
                head("[\"ic-q\", \"shortest-path\"]", 1)
            ),
        ),
        (
            "math",
            format!(
                "{}[workload]\nkind = \"math\"\nbackend = \"replay\"\ndata_dir = {data_dir:?}\nepisodes = 100\n\
                 lambdas = [0.0, 50.0]\n",
                head("[\"ic-q\", \"oracle\", \"cheap-only\", \"strong-only\"]", 2)
            ),
        ),
        (
            "cpu",
            format!(
                "{}[workload]\nkind = \"cpu\"\ntasks = \"hackers-delight\"\ndebugger_budget = 60\n\
                 optimizer_budget = 20\nepisodes = 100\neval_episodes_per_task = 2\n",
                head("[\"ic-q\", \"oracle\", \"random\"]", 2)
            ),
        ),
        (
            "finite",
            format!(
                "{}[workload]\nkind = \"finite\"\nmodel = {:?}\n{training}",
                head("[\"ic-q\", \"random\"]", 1),
                finite.display().to_string()
            ),
        ),
    ]
}

/// `json` read as `T` and written again is `json`, byte for byte.
fn round_trips<T: DeserializeOwned + Serialize>(json: &str) {
    let back: T = parse(json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(pretty(&back).unwrap(), json, "written again, the summary differs");
}

#[test]
fn every_summary_reads_back_into_its_type_and_gives_the_tables_the_run_printed() {
    let configs = configs();
    for kind in KINDS {
        assert!(
            configs.iter().any(|(k, _)| *k == kind.kind()),
            "workload `{}` has no config here: add one",
            kind.kind()
        );
    }
    for (name, text) in &configs {
        let exp = ExperimentConfig::from_toml(text, "summary.toml")
            .and_then(|c| c.validate())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let outcome: Outcome = exp.run(&NoProgress).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = outcome.summary_json().unwrap();
        match *name {
            "synthetic" | "finite" => round_trips::<baton_experiment::Summary>(&json),
            "sweep" => round_trips::<baton_experiment::sweep::SweepSummary>(&json),
            "routing" => round_trips::<baton_experiment::routing::RoutingSummary>(&json),
            "math" => round_trips::<baton_experiment::math::MathSummary>(&json),
            "cpu" => round_trips::<baton_experiment::cpu::CpuSummary>(&json),
            other => panic!("no summary type for {other}"),
        }
        let kind = by_id(exp.workload.id()).unwrap_or_else(|| panic!("{name}: an unregistered id"));
        let back = kind.read_summary(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.terminal(), outcome.terminal(), "{name}: the terminal tables differ after reading back");
        let (mut read, mut made) = (String::new(), String::new());
        back.markdown(&mut read);
        outcome.summary().markdown(&mut made);
        assert_eq!(read, made, "{name}: the Markdown differs after reading back");
        // The first table of the terminal is the first of the report: the same header cells.
        let header = outcome.terminal().lines().find(|l| l.starts_with("method")).map(str::to_string);
        let header = header.unwrap_or_else(|| panic!("{name}: no table header in\n{}", outcome.terminal()));
        let cells: Vec<&str> = header.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert!(read.contains(&format!("| {} |", cells.join(" | "))), "{name}: {cells:?} not a header of\n{read}");
    }
}
