//! `baton run`: the run directory, determinism, `--seeds`.

use std::collections::{BTreeMap, BTreeSet};

use baton::experiment::ExperimentConfig;
use serde_json::Value;

use crate::support::{
    baton_run, entries, number, read, read_json, read_metrics, string, temp_dir, Config, ALL_METHODS, EVAL_POINTS,
    LEARNING_METHODS,
};

const RUN_FILES: [&str; 5] = ["config.toml", "learning_curves.svg", "meta.json", "metrics.jsonl", "summary.json"];

fn parse_config(text: &str, origin: &str) -> ExperimentConfig {
    ExperimentConfig::from_toml(text, origin).unwrap_or_else(|e| panic!("{origin} does not parse: {e}"))
}

#[test]
fn run_writes_the_run_directory() {
    let tmp = temp_dir();
    let config = Config::tiny(&ALL_METHODS).write(tmp.path(), "tiny.toml");
    let out = tmp.path().join("run");
    let outcome = baton_run(&config, &out, &[]);
    outcome.assert_success();
    assert!(outcome.stdout.contains("wrote"), "stdout should say where the run went:\n{outcome:?}");
    assert_eq!(entries(&out), RUN_FILES, "files of the run directory");
    assert_eq!(
        entries(tmp.path()),
        ["run", "tiny.toml"],
        "nothing but the run directory (no staging leftovers) beside the config"
    );

    // summary.json
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(string(&summary, "experiment"), "tiny");
    assert_eq!(string(&summary, "workload"), "synthetic-v0");
    assert_eq!(summary["seeds"], 2);
    let rows = summary["rows"].as_array().expect("`rows` should be an array");
    let order: Vec<&str> = rows.iter().map(|r| string(r, "method")).collect();
    assert_eq!(order, ALL_METHODS, "rows in config order");
    let optimal_value = number(&rows[0], "value");
    for row in rows {
        let method = string(row, "method");
        let value = number(row, "value");
        let ci: Vec<f64> = row["value_ci95"]
            .as_array()
            .unwrap_or_else(|| panic!("{method}: `value_ci95` should be an array in {row}"))
            .iter()
            .map(|v| v.as_f64().unwrap_or_else(|| panic!("{method}: `value_ci95` entry {v} is not a number")))
            .collect();
        assert_eq!(ci.len(), 2, "{method}: value_ci95 should be [lo, hi]");
        assert!(ci[0] <= value && value <= ci[1], "{method}: value {value} outside its 95% CI {ci:?}");
        assert_eq!(number(row, "optimal_value"), optimal_value, "{method}: optimal_value is V* of the model");
        let gap = number(row, "gap");
        assert!(gap.is_finite(), "{method}: gap {gap}");
        assert!(row.get("q_error_inf").is_some(), "{method}: `q_error_inf` missing in {row}");
    }
    let row = |method: &str| -> &Value {
        rows.iter().find(|r| r["method"] == method).unwrap_or_else(|| panic!("no `{method}` row"))
    };
    assert_eq!(number(row("optimal"), "gap"), 0.0, "the optimal row has no gap");
    assert_eq!(number(row("optimal"), "q_error_inf"), 0.0);
    assert_eq!(number(row("ic-q"), "scalars_per_transfer"), 1.0, "IC-Q sends one scalar per handoff");
    assert_eq!(number(row("no-scalar"), "scalars_per_transfer"), 0.0, "the ablation sends nothing");
    for method in LEARNING_METHODS {
        assert!(
            number(row(method), "q_error_inf").is_finite(),
            "{method}: a learner's q_error_inf should be a finite number"
        );
        assert_eq!(row(method)["seeds"], 2, "{method}: seeds aggregated");
    }
    assert!(number(row("random"), "gap") > 0.0, "the random policy should be worse than the optimum");

    // metrics.jsonl: one line per (learning method, seed, curve point), the handoffs increasing to the budget.
    let metrics = read_metrics(&out.join("metrics.jsonl"));
    assert_eq!(metrics.len(), LEARNING_METHODS.len() * 2 * EVAL_POINTS, "lines of metrics.jsonl");
    let mut curves: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
    for point in &metrics {
        let key = (string(point, "method").to_string(), point["seed"].as_u64().expect("seed"));
        curves.entry(key).or_default().push(point["handoffs"].as_u64().expect("handoffs"));
        assert!(number(point, "value").is_finite(), "curve point {point}");
    }
    for ((method, seed), handoffs) in &curves {
        assert!(LEARNING_METHODS.contains(&method.as_str()), "curve of a non-learning method {method}");
        assert_eq!(handoffs.len(), EVAL_POINTS, "{method} seed {seed}: curve points");
        assert!(handoffs.windows(2).all(|w| w[0] < w[1]), "{method} seed {seed}: {handoffs:?}");
        assert_eq!(handoffs.last(), Some(&20_000), "{method} seed {seed}: last point is the full budget");
    }

    // meta.json and the plot.
    let meta = read_json(&out.join("meta.json"));
    assert!(meta["threads"].as_u64().is_some_and(|t| t >= 1), "meta.json threads: {meta}");
    assert_eq!(meta["work"], 3 * 2 * 20_000, "meta.json: {meta}");
    assert_eq!(meta["work_unit"], "handoffs", "meta.json: {meta}");
    assert!(read(&out.join("learning_curves.svg")).contains("<svg"), "learning_curves.svg is an SVG");

    // config.toml is the resolved config: every default spelled out, and equal to the input once parsed.
    let input = parse_config(&read(&config), "tiny.toml");
    let resolved_text = read(&out.join("config.toml"));
    for default in ["base_seed", "step_exponent", "discount", "durations", "aliasing", "behaviour"] {
        assert!(
            resolved_text.contains(default),
            "the resolved config.toml should spell out `{default}`:\n{resolved_text}"
        );
    }
    let resolved = parse_config(&resolved_text, "run/config.toml");
    assert_eq!(resolved, input, "config.toml parses back to the config that ran");
    resolved.clone().validate().unwrap_or_else(|e| panic!("the resolved config.toml is not valid: {e}"));

    // ... and running it again gives the same results.
    let again = tmp.path().join("again");
    baton_run(&out.join("config.toml"), &again, &[]).assert_success();
    assert_eq!(read(&again.join("config.toml")), resolved_text, "the resolved config is a fixed point");
    assert_eq!(
        read(&again.join("summary.json")),
        read(&out.join("summary.json")),
        "re-running the resolved config reproduces summary.json"
    );
    assert_eq!(
        read(&again.join("metrics.jsonl")),
        read(&out.join("metrics.jsonl")),
        "re-running the resolved config reproduces metrics.jsonl"
    );
}

#[test]
fn same_seed_gives_byte_identical_metrics_with_one_and_two_threads() {
    let tmp = temp_dir();
    let config = Config::tiny(&ALL_METHODS);
    let path = config.write(tmp.path(), "tiny.toml");
    let one = tmp.path().join("one-thread");
    let two = tmp.path().join("two-threads");
    baton_run(&path, &one, &["--threads", "1"]).assert_success();
    baton_run(&path, &two, &["--threads", "2"]).assert_success();
    for file in ["metrics.jsonl", "summary.json", "config.toml"] {
        assert!(read(&one.join(file)) == read(&two.join(file)), "{file} differs between --threads 1 and --threads 2");
    }
    assert_eq!(read_json(&one.join("meta.json"))["threads"], 1);
    assert_eq!(read_json(&two.join("meta.json"))["threads"], 2);

    let other_seed = config.set("", "base_seed", "7").write(tmp.path(), "other-seed.toml");
    let other = tmp.path().join("other-seed");
    baton_run(&other_seed, &other, &["--threads", "2"]).assert_success();
    assert!(
        read(&other.join("metrics.jsonl")) != read(&one.join("metrics.jsonl")),
        "a different base_seed should give different learning curves"
    );
    let seeds: BTreeSet<u64> =
        read_metrics(&other.join("metrics.jsonl")).iter().map(|p| p["seed"].as_u64().expect("seed")).collect();
    assert_eq!(seeds, BTreeSet::from([7, 8]), "seed k runs base_seed + k");
}

#[test]
fn seeds_flag_overrides_config() {
    let tmp = temp_dir();
    // Not the canonical method order, to check that rows follow the config.
    let methods = ["no-scalar", "random", "ic-q"];
    let config = Config::tiny(&methods).write(tmp.path(), "tiny.toml");
    let out = tmp.path().join("run");
    baton_run(&config, &out, &["--seeds", "3"]).assert_success();

    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["seeds"], 3, "summary seeds");
    let rows = summary["rows"].as_array().expect("rows");
    let order: Vec<&str> = rows.iter().map(|r| string(r, "method")).collect();
    assert_eq!(order, methods, "rows in config order");
    for row in rows.iter().filter(|r| r["method"] != "random") {
        assert_eq!(row["seeds"], 3, "seeds aggregated in {row}");
    }

    let mut series: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for point in read_metrics(&out.join("metrics.jsonl")) {
        series.entry(string(&point, "method").to_string()).or_default().insert(point["seed"].as_u64().expect("seed"));
    }
    let expected: BTreeMap<String, BTreeSet<u64>> =
        ["ic-q", "no-scalar"].iter().map(|m| (m.to_string(), BTreeSet::from([0, 1, 2]))).collect();
    assert_eq!(series, expected, "three curve series per learning method");

    let resolved = parse_config(&read(&out.join("config.toml")), "run/config.toml");
    assert_eq!(resolved.seeds, 3, "the resolved config.toml records the override");
}
