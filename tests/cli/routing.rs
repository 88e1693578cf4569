//! `baton run` on routing configs: the run directory, determinism across thread counts, the shipped configs.

use std::path::Path;

use baton::experiment::ExperimentConfig;
use serde_json::Value;

use crate::support::{baton_run, read, temp_dir, write_file};

/// A grid routing config (no data files needed): IC-Q, shortest path and the oracle at one load.
fn grid_config(extra: &str) -> String {
    format!(
        "name = \"grid\"\nseeds = 2\nmethods = [\"ic-q\", \"shortest-path\", \"oracle\"]\n\
         [workload]\nkind = \"routing\"\ntopology = {{ kind = \"grid\", rows = 4, cols = 4 }}\nloads = [1.0]\n\
         duration = 3000.0\nwarmup = 1000.0\nbin = 500.0\n{extra}\
         [learner]\nconstant_step_size = 0.5\nbehaviour = {{ kind = \"greedy\" }}\n"
    )
}

#[test]
fn a_routing_run_writes_summary_rows_time_series_and_plots() {
    let dir = temp_dir();
    let config = write_file(
        dir.path(),
        "grid.toml",
        grid_config("[[workload.changes]]\nkind = \"link-down\"\nat = 1500.0\nlink = [5, 6]\n").as_bytes(),
    );
    let out = dir.path().join("run");
    let run = baton_run(&config, &out, &[]);
    run.assert_success();
    assert!(run.stdout.contains("shortest-path") && run.stdout.contains("delivery"), "{run:?}");
    let summary: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["workload"], "routing-v0");
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        for key in [
            "method",
            "load",
            "mean_delivery_time",
            "mean_delivery_time_truncated",
            "mean_hops",
            "delivered",
            "dropped",
        ] {
            assert!(row.get(key).is_some(), "row lacks {key}: {row}");
        }
    }
    let lines: Vec<Value> =
        read(&out.join("metrics.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // 3 methods x 2 seeds x 6 bins of 500 time units.
    assert_eq!(lines.len(), 3 * 2 * 6, "one line per (method, seed, bin)");
    assert!(lines.iter().all(|l| l["t_end"].as_f64().unwrap() > l["t_start"].as_f64().unwrap()));
    for plot in ["delivery_vs_load.svg", "time_series.svg"] {
        assert!(read(&out.join(plot)).starts_with("<svg"), "{plot}");
    }
}

#[test]
fn routing_results_do_not_depend_on_the_thread_count() {
    let dir = temp_dir();
    let config = write_file(dir.path(), "grid.toml", grid_config("").as_bytes());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    baton_run(&config, &one, &["--threads", "1"]).assert_success();
    baton_run(&config, &two, &["--threads", "2"]).assert_success();
    for file in ["summary.json", "metrics.jsonl", "config.toml"] {
        assert_eq!(read(&one.join(file)), read(&two.join(file)), "{file} differs between 1 and 2 threads");
    }
}

#[test]
fn a_malformed_topology_file_is_rejected_with_file_line_and_reason() {
    let dir = temp_dir();
    let edges = write_file(dir.path(), "bad.edges", b"nodes 4\n0 1\n1 2\n2 1\n2 3\n");
    let config = grid_config("").replace(
        "topology = { kind = \"grid\", rows = 4, cols = 4 }",
        &format!("topology = {{ kind = \"file\", path = \"{}\" }}", edges.display()),
    );
    let config = write_file(dir.path(), "bad.toml", config.as_bytes());
    let out = dir.path().join("run");
    let run = baton_run(&config, &out, &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("bad.edges") && run.stderr.contains("line 4"), "{run:?}");
    assert!(run.stderr.contains("duplicate"), "{run:?}");
    assert!(!out.exists(), "a rejected config leaves no output directory");
}

#[test]
fn the_shipped_routing_experiments_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in [
        "routing-6x6",
        "routing-6x6-like-for-like",
        "routing-adapt",
        "routing-skills",
        "routing-rgg-10k",
        "routing-preset-6x6",
        "routing-preset-nsfnet",
        "routing-preset-geant2",
        "routing-preset-rgg",
        "synthetic-neural",
    ] {
        let path = root.join(format!("experiments/{name}.toml"));
        let origin = path.display().to_string();
        let config = ExperimentConfig::from_toml(&read(&path), &origin).unwrap_or_else(|e| panic!("{e}"));
        // Topology files resolve under the repository's data/ folder (or $BATON_DATA_DIR).
        config.validate().unwrap_or_else(|e| panic!("{origin} is not valid: {e}"));
    }
}
