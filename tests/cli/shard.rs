//! `baton run --shard I/N` and `baton merge`: the merged shards are the unsharded run, byte for byte.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::support::{baton, baton_run, entries, snapshot, temp_dir, Config, ALL_METHODS};

/// The files a merge must reproduce exactly (meta.json records timings and provenance).
fn comparable(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = snapshot(dir);
    files.remove("meta.json");
    files
}

fn merge(out: &Path, shards: &[&PathBuf], extra: &[&str]) -> crate::support::Outcome {
    let mut args: Vec<&OsStr> = vec![OsStr::new("merge"), out.as_os_str()];
    args.extend(shards.iter().map(|s| s.as_os_str()));
    args.extend(extra.iter().map(OsStr::new));
    baton(args)
}

/// Run `config` whole and as `n` shards merged; assert the two directories are equal file for file.
fn sharded_equals_unsharded(config: &Path, n: u32, extra: &[&str]) {
    let tmp = temp_dir();
    let whole = tmp.path().join("whole");
    baton_run(config, &whole, extra).assert_success();
    let shards: Vec<PathBuf> = (0..n).map(|i| tmp.path().join(format!("shard-{i}"))).collect();
    for (i, dir) in shards.iter().enumerate() {
        let spec = format!("{i}/{n}");
        let mut args = extra.to_vec();
        args.extend(["--shard", spec.as_str(), "--threads", "1"]);
        let out = baton_run(config, dir, &args);
        out.assert_success();
        assert!(out.stdout.contains(&format!("shard {spec}")), "{out:?}");
        assert_eq!(entries(dir), ["config.toml", "jobs.cbor", "shard.json"]);
    }
    let merged = tmp.path().join("merged");
    // In reverse order: the order of the shard directories does not matter.
    let reversed: Vec<&PathBuf> = shards.iter().rev().collect();
    merge(&merged, &reversed, &[]).assert_success();
    let (a, b) = (comparable(&whole), comparable(&merged));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between the unsharded run and the merged shards");
    }
}

#[test]
fn two_merged_shards_equal_the_unsharded_run_byte_for_byte() {
    let tmp = temp_dir();
    let config = Config::tiny(&ALL_METHODS).write(tmp.path(), "tiny.toml");
    sharded_equals_unsharded(&config, 2, &[]);
}

#[test]
fn a_sharded_finite_run_and_a_sharded_sweep_merge_to_the_unsharded_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    sharded_equals_unsharded(&root.join("experiments/finite-example.toml"), 3, &["--quick", "--seeds", "2"]);
    sharded_equals_unsharded(&root.join("experiments/bound-interface.toml"), 2, &["--quick", "--seeds", "2"]);
}

#[test]
fn sharded_routing_runs_merge_to_the_unsharded_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Two presets side by side, shortest paths and the oracle at eight loads; and one load with a link
    // failure, whose run also draws the time series from every job's bins.
    sharded_equals_unsharded(&root.join("experiments/routing-preset-6x6.toml"), 3, &["--quick", "--seeds", "2"]);
    sharded_equals_unsharded(&root.join("experiments/routing-adapt.toml"), 2, &["--quick", "--seeds", "2"]);
}

#[test]
fn sharded_cpu_and_math_runs_merge_to_the_unsharded_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    sharded_equals_unsharded(&root.join("experiments/cpu.toml"), 2, &["--quick", "--seeds", "2"]);
    // The replay backend and the label-simulated critic (math also writes its policy tables).
    sharded_equals_unsharded(
        &root.join("experiments/math-gsm8k-simulated-critic.toml"),
        3,
        &["--quick", "--seeds", "2"],
    );
}

#[test]
fn bad_shard_specs_and_incomplete_or_mixed_shards_give_one_clear_error() {
    let tmp = temp_dir();
    let config = Config::tiny(&["optimal", "ic-q"]).write(tmp.path(), "tiny.toml");
    for (spec, why) in [("2/2", "must be in 0..2"), ("1", "expected i/n"), ("0/0", "count must be"), ("x/2", "index")] {
        let out = baton_run(&config, &tmp.path().join("never"), &["--shard", spec]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains(&format!("--shard {spec}")) && out.stderr.contains(why), "{spec}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {out:?}");
    }
    assert!(!tmp.path().join("never").exists());

    // A live math run is not split: every shard would ask the server. Refused before any request (the URL
    // is never reached: nothing listens on port 9).
    let live = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/live/math-ollama.toml");
    let text = std::fs::read_to_string(&live).expect("the live example");
    let text = text
        .replace("http://127.0.0.1:11434/v1", "http://127.0.0.1:9/v1")
        .replace("runs/math-ollama.jsonl", &tmp.path().join("journal.jsonl").display().to_string());
    let live = tmp.path().join("live.toml");
    std::fs::write(&live, text).expect("write the live config");
    let out = baton_run(&live, &tmp.path().join("never"), &["--shard", "0/2"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("is not split across shards"), "{out:?}");
    assert!(!tmp.path().join("journal.jsonl").exists(), "no request was made");

    let s0 = tmp.path().join("s0");
    baton_run(&config, &s0, &["--shard", "0/2"]).assert_success();
    let merged = tmp.path().join("merged");
    let out = merge(&merged, &[&s0], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("missing shard(s) 1/2"), "{out:?}");
    let out = merge(&merged, &[&s0, &s0], &[]);
    assert!(out.stderr.contains("are both shard 0/2"), "{out:?}");
    let other = Config::tiny(&["optimal", "ic-q"]).set("", "base_seed", "7").write(tmp.path(), "other.toml");
    let s1 = tmp.path().join("s1");
    baton_run(&other, &s1, &["--shard", "1/2"]).assert_success();
    let out = merge(&merged, &[&s0, &s1], &[]);
    assert!(out.stderr.contains("shards of different runs"), "{out:?}");
    let out = merge(&merged, &[&tmp.path().to_path_buf()], &[]);
    assert!(out.stderr.contains("not a shard directory"), "{out:?}");
    assert!(!merged.exists(), "a refused merge writes nothing");
}
