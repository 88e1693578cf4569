//! Bound sweeps from the command line: the shipped sweep files, `--quick`, determinism, and `baton report`.

use std::path::Path;

use baton::experiment::ExperimentConfig;

use crate::support::{baton, baton_run, read, read_json, temp_dir, write_file};

#[test]
fn the_four_bound_sweep_files_are_valid_sweeps_with_ten_seeds() {
    for axis in ["width", "interface", "mixing", "duration"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("experiments/bound-{axis}.toml"));
        let origin = path.display().to_string();
        let config = ExperimentConfig::from_toml(&read(&path), &origin).unwrap_or_else(|e| panic!("{origin}: {e}"));
        assert!(config.seeds >= 10, "{origin}: at least 10 seeds");
        let experiment = config.validate().unwrap_or_else(|e| panic!("{origin} is not valid: {e}"));
        let sweep = &experiment
            .workload_as::<baton::experiment::sweep::SweepWorkload>()
            .unwrap_or_else(|| panic!("{origin} has no [sweep]"))
            .sweep;
        assert_eq!(sweep.axis.name(), axis);
    }
}

#[test]
fn a_quick_sweep_is_identical_on_one_and_two_threads_and_reports_as_markdown() {
    let dir = temp_dir();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/bound-interface.toml");
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    baton_run(&config, &one, &["--quick", "--seeds", "2", "--threads", "1"]).assert_success();
    baton_run(&config, &two, &["--quick", "--seeds", "2", "--threads", "2"]).assert_success();
    for file in ["summary.json", "metrics.jsonl", "sweep.svg", "config.toml"] {
        assert_eq!(read(&one.join(file)), read(&two.join(file)), "{file} differs between thread counts");
    }
    let summary = read_json(&one.join("summary.json"));
    assert_eq!(summary["axis"], "interface");
    let rows = summary["rows"].as_array().unwrap();
    for key in ["method", "axis", "level", "error", "error_ci95", "predicted"] {
        assert!(rows[0].get(key).is_some(), "row key {key} missing: {}", rows[0]);
    }
    assert!(summary["fit"]["slope"].is_f64() && summary["fit"]["r2"].is_f64(), "{}", summary["fit"]);
    // --quick is recorded in the resolved config: a tenth of the handoffs.
    assert!(read(&one.join("config.toml")).contains("handoffs = 200000"));

    let page = dir.path().join("report.md");
    let out = baton(["report".as_ref(), one.as_os_str(), "--out".as_ref(), page.as_os_str()]);
    out.assert_success();
    let text = read(&page);
    assert!(text.contains("## bound-interface"), "{text}");
    assert!(text.contains("**Shows:**") && text.contains("**Does not show:**"), "{text}");
    assert!(text.contains("](one/sweep.svg)"), "image links are relative to the page: {text}");
    assert!(text.contains("| ic-q | 8 |"), "{text}");
}

#[test]
fn report_rejects_a_directory_that_is_not_a_run() {
    let dir = temp_dir();
    write_file(dir.path(), "summary.json", b"{\"name\": 1}");
    let out = baton(["report".as_ref(), dir.path().as_os_str()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("summary.json") && out.stderr.contains("rows"), "{out:?}");
    let missing = dir.path().join("nope");
    let out = baton(["report".as_ref(), missing.as_os_str()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("not a run directory"), "{out:?}");
}
