//! Earlier results are never damaged by a later run, and replaced only with `--force`.

use crate::support::{baton, baton_run, entries, read, snapshot, temp_dir, Config};

#[test]
fn existing_results_survive_a_failed_run() {
    let tmp = temp_dir();
    let methods = ["optimal", "ic-q"];
    let good = Config::tiny(&methods).write(tmp.path(), "good.toml");
    let out = tmp.path().join("out");
    baton_run(&good, &out, &[]).assert_success();
    let before = snapshot(&out);
    assert!(before.contains_key("summary.json"), "the first run wrote {:?}", before.keys());
    let beside = entries(tmp.path());

    // An invalid config, even with --force, leaves the earlier run alone.
    let bad = Config::tiny(&methods).set("workload", "discount", "1.5").write(tmp.path(), "bad.toml");
    let outcome = baton_run(&bad, &out, &["--force"]);
    assert_eq!(outcome.code, Some(2), "an invalid config must fail:\n{outcome:?}");
    assert!(snapshot(&out) == before, "a failed --force run changed the earlier results");

    // A valid run without --force is refused and says how to proceed.
    let other = Config::tiny(&methods).set("", "base_seed", "99").write(tmp.path(), "other.toml");
    let outcome = baton_run(&other, &out, &[]);
    assert_ne!(outcome.code, Some(0), "writing into a non-empty directory needs --force:\n{outcome:?}");
    assert!(outcome.stderr.contains("--force"), "the refusal should mention --force:\n{outcome:?}");
    assert!(snapshot(&out) == before, "a refused run changed the earlier results");
    let mut expected_beside = beside.clone();
    expected_beside.extend(["bad.toml".to_string(), "other.toml".to_string()]);
    expected_beside.sort();
    assert_eq!(entries(tmp.path()), expected_beside, "refused runs leave nothing beside the output");

    // With --force the valid run replaces the directory entirely.
    baton_run(&other, &out, &["--force"]).assert_success();
    let after = snapshot(&out);
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "same files after replacing");
    assert!(
        after["metrics.jsonl"] != before["metrics.jsonl"],
        "--force should have replaced metrics.jsonl with the new run's"
    );
    assert!(read(&out.join("config.toml")).contains("base_seed = 99"), "config.toml should be the new run's");
    assert_eq!(entries(tmp.path()), expected_beside, "replacing leaves no staging or old directory behind");
}

#[test]
fn an_empty_existing_output_directory_is_used_without_force() {
    let tmp = temp_dir();
    let config = Config::tiny(&["optimal", "ic-q"]).write(tmp.path(), "tiny.toml");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("create the empty output directory");
    baton_run(&config, &out, &[]).assert_success();
    assert!(out.join("summary.json").is_file(), "the run should be written into the empty directory");
    assert_eq!(entries(tmp.path()), ["out", "tiny.toml"]);
}

/// Regression: the previous run used to be moved aside to the fixed name `.<out>.old`, so a leftover from an
/// interrupted `--force` run made every later `--force` run fail, after all its training.
#[test]
fn a_stale_aside_directory_from_an_interrupted_run_does_not_block_force() {
    let tmp = temp_dir();
    let methods = ["optimal", "ic-q"];
    let first = Config::tiny(&methods).write(tmp.path(), "first.toml");
    let out = tmp.path().join("out");
    baton_run(&first, &out, &[]).assert_success();
    let stale = tmp.path().join(".out.old");
    std::fs::create_dir(&stale).expect("create the stale aside directory");
    std::fs::write(stale.join("summary.json"), "{}").expect("write into the stale aside directory");

    let second = Config::tiny(&methods).set("", "base_seed", "5").write(tmp.path(), "second.toml");
    baton_run(&second, &out, &["--force"]).assert_success();
    assert!(read(&out.join("config.toml")).contains("base_seed = 5"), "config.toml should be the new run's");
}

/// Regression: a non-empty output directory without `--force` used to be refused only after all training.
#[test]
fn a_refused_output_directory_costs_no_training() {
    let tmp = temp_dir();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("create out");
    std::fs::write(out.join("keep.txt"), "precious").expect("write");
    // A budget that would take minutes if it ran: the refusal must come first.
    let cfg = Config::tiny(&["ic-q"]).set("training", "handoffs", "10000000000").write(tmp.path(), "big.toml");
    let started = std::time::Instant::now();
    let outcome = baton_run(&cfg, &out, &[]);
    assert_ne!(outcome.code, Some(0));
    assert!(outcome.stderr.contains("--force"), "{}", outcome.stderr);
    assert!(started.elapsed().as_secs() < 20, "refusal came after training");
    assert_eq!(read(&out.join("keep.txt")), "precious");
}

/// Regression: `--out .` used to stage the run inside the target itself and fail after training.
#[test]
fn an_output_path_without_a_directory_name_is_rejected() {
    let tmp = temp_dir();
    let cfg = Config::tiny(&["ic-q"]).write(tmp.path(), "c.toml");
    for bad in [".", ".."] {
        let outcome = baton(["run", cfg.to_str().unwrap(), "--out", bad, "--quiet"]);
        assert_ne!(outcome.code, Some(0));
        assert!(outcome.stderr.contains("directory name"), "{}", outcome.stderr);
    }
}
