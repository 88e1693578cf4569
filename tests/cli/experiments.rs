//! The experiment configs shipped in `experiments/`: each parses and validates, reads data only from inside the
//! repository, and runs with `--quick` from any working directory.

use std::path::Path;

use baton::experiment::{ExperimentConfig, Method};

use crate::support::read;

#[test]
fn experiments_synthetic_toml_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/synthetic.toml");
    let origin = path.display().to_string();
    let config =
        ExperimentConfig::from_toml(&read(&path), &origin).unwrap_or_else(|e| panic!("{origin} does not parse: {e}"));
    assert_eq!(
        config.methods,
        [Method::Optimal, Method::IcQ, Method::Oracle, Method::NoScalar, Method::RoundRobin, Method::Random],
        "the default experiment compares every method"
    );
    let experiment = config.validate().unwrap_or_else(|e| panic!("{origin} is not valid: {e}"));
    assert!(experiment.total_work() > 0);
}

/// Every `experiments/*.toml`, sorted by name.
fn shipped_experiments() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the shipped experiments in {}, found {files:?}", dir.display());
    files
}

#[test]
fn every_shipped_experiment_is_valid() {
    for path in shipped_experiments() {
        let origin = path.display().to_string();
        let config = ExperimentConfig::from_toml(&read(&path), &origin).unwrap_or_else(|e| panic!("{e}"));
        config.validate().unwrap_or_else(|e| panic!("{origin} is not valid: {e}"));
    }
}

/// The data files a shipped config names (a topology file, a data folder, a finite model, a task file), as
/// written.
fn named_data_paths(config: &toml::Value) -> Vec<String> {
    let mut paths = Vec::new();
    let Some(workload) = config.get("workload") else { return paths };
    if let Some(topology) = workload.get("topology").and_then(|t| t.get("path")).and_then(|p| p.as_str()) {
        paths.push(topology.to_string());
    }
    if let Some(dir) = workload.get("data_dir").and_then(|p| p.as_str()) {
        paths.push(dir.to_string());
    }
    if let Some(model) = workload.get("model").and_then(|p| p.as_str()) {
        paths.push(model.to_string());
    }
    if let Some(tasks) = workload.get("tasks").and_then(|p| p.as_str()).filter(|t| *t != "builtin") {
        paths.push(tasks.to_string());
    }
    paths
}

/// Nothing a shipped experiment or test reads lies outside the repository: the data folder (unless the user set
/// `BATON_DATA_DIR`) and every data path named in `experiments/*.toml` resolve inside it.
#[test]
fn data_paths_resolve_inside_the_repository() {
    let root = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).expect("the repository root");
    let inside = |p: &Path| {
        let real = std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(real.starts_with(&root), "{} resolves outside the repository ({})", p.display(), real.display());
    };
    if std::env::var_os(baton::experiment::data::DATA_DIR_VAR).is_none() {
        let data = baton::experiment::data::data_dir();
        inside(&data);
        assert_eq!(std::fs::canonicalize(&data).unwrap(), root.join("data"));
        for set in ["gsm8k/test.jsonl", "gsm8k/train.jsonl", "mathqa/test.jsonl", "routellm-gsm8k/gsm8k_responses.csv"]
        {
            inside(&data.join(set));
        }
    }
    for path in shipped_experiments() {
        let value: toml::Value = toml::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for named in named_data_paths(&value) {
            inside(&baton::experiment::data::resolve_data_path(&named));
        }
    }
}

/// Every shipped experiment runs end to end from a working directory outside the repository, with
/// `BATON_DATA_DIR` unset, reduced by `--quick --seeds 1` (each well under a minute).
#[test]
fn every_shipped_experiment_runs_quick_from_anywhere() {
    let elsewhere = tempfile::TempDir::new().expect("temp dir");
    for path in shipped_experiments() {
        let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
        let out = elsewhere.path().join(&name);
        let started = std::time::Instant::now();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["run".as_ref(), path.as_os_str(), "--out".as_ref(), out.as_os_str()])
            .args(["--quick", "--seeds", "1", "--quiet"])
            .current_dir(elsewhere.path())
            .env_remove(baton::experiment::data::DATA_DIR_VAR)
            .env_remove("BATON_LOG")
            .output()
            .expect("cannot start the baton binary");
        assert!(
            output.status.success(),
            "{name} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(out.join("summary.json").is_file(), "{name}: no summary.json");
        eprintln!("{name}: {:.1} s", started.elapsed().as_secs_f64());
    }
}
