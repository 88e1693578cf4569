//! The CPU-programming runner: byte-identical files on 1 and 2 threads, one scalar per transfer, bad configs
//! named, and a small learning test.

use baton_experiment::cpu::CpuResults;
use baton_experiment::output::RunDir;
use baton_experiment::{write_run, ExperimentConfig, ExperimentError, Method, NoProgress, Outcome};

/// A small, fast workload (debug builds run the role MCMC too).
fn config(methods: &str, extra: &str) -> String {
    let tasks = if extra.contains("tasks =") { "" } else { "tasks = \"hackers-delight\"" };
    format!(
        "name = \"cpu-test\"\nseeds = 2\nmethods = {methods}\n[workload]\nkind = \"cpu\"\n{tasks}\n\
         debugger_budget = 60\noptimizer_budget = 20\neval_episodes_per_task = 4\n{extra}\n\
         [learner]\nbehaviour = {{ kind = \"uniform\" }}\n"
    )
}

fn run(text: &str, threads: usize) -> (baton_experiment::Experiment, Outcome) {
    let exp = ExperimentConfig::from_toml(text, "cpu-test.toml").unwrap().validate().unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let out = pool.install(|| exp.run(&NoProgress)).unwrap();
    (exp, out)
}

fn results(o: &Outcome) -> &CpuResults {
    o.downcast_ref::<CpuResults>().expect("a cpu config gave other results")
}

#[test]
fn files_are_byte_identical_on_one_and_two_threads() {
    let text = config(
        "[\"ic-q\", \"oracle\", \"no-scalar\", \"fixed-pipeline\", \"random\"]",
        "episodes = 400\nk_sweep = [4]",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for threads in [1, 2] {
        // A fresh world each time: the role caches fill in a different order.
        let (exp, out) = run(&text, threads);
        let target = dir.path().join(format!("t{threads}"));
        let rd = RunDir::create(&target, false).unwrap();
        let meta = serde_json::json!({});
        let path = write_run(rd, &exp, &out, &meta).unwrap();
        let read = |n: &str| std::fs::read(path.join(n)).unwrap();
        files.push([
            read("metrics.jsonl"),
            read("summary.json"),
            read("success_vs_difficulty.svg"),
            read("success_vs_k.svg"),
        ]);
        let r = results(&out);
        assert_eq!(r.jobs.len(), 2 * 5 * 2, "2 ks x 5 methods x 2 seeds");
        for j in &r.jobs {
            if j.method == Method::IcQ {
                assert_eq!(j.train.scalars, j.train.transfers, "one scalar per transfer of control");
            } else {
                assert_eq!(j.train.scalars, 0);
            }
        }
    }
    assert!(files[0] == files[1], "files differ between 1 and 2 threads");
    let summary: serde_json::Value = serde_json::from_slice(&files[0][1]).unwrap();
    let row = &summary["rows"][0];
    let mut keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["mean_cost", "mean_cycles_vs_reference", "method", "return", "success_rate", "success_rate_ci95"]
    );
    assert_eq!(summary["per_task"].as_array().unwrap().len(), 25);
}

/// Run with: `cargo test --release -p baton-experiment --test it cpu::ic_q -- --ignored` (a few seconds).
#[test]
#[ignore = "learning run; a few seconds in release"]
fn ic_q_learns_to_beat_random_handoffs_and_the_fixed_pipeline() {
    let (_, out) = run(&config("[\"ic-q\", \"fixed-pipeline\", \"random\"]", "episodes = 20000"), 2);
    let r = results(&out);
    let row = |m: Method| r.summary.rows.iter().find(|x| x.method == m).unwrap().clone();
    let (icq, fixed, random) = (row(Method::IcQ), row(Method::FixedPipeline), row(Method::Random));
    assert!(icq.success_rate > random.success_rate + 0.3, "{icq:?} vs {random:?}");
    assert!(icq.mean_return > fixed.mean_return, "{icq:?} vs {fixed:?}");
}

/// The ticket interfaces (`verdicts`) close most of IC-Q's gap to the oracle that the original (`spec`) ones
/// leave (docs/deviations.md, "Every role sees the ticket").
/// Run with: `cargo test --release -p baton-experiment --test it cpu::the_ticket -- --ignored` (about a minute).
#[test]
#[ignore = "learning run; about a minute in release"]
fn the_ticket_interfaces_close_most_of_the_gap_to_the_oracle() {
    let gap = |interfaces: &str| {
        let text = format!(
            "name = \"cpu-test\"\nseeds = 3\nmethods = [\"ic-q\", \"oracle\"]\n[workload]\nkind = \"cpu\"\n\
             episodes = 30000\neval_episodes_per_task = 20\ninterfaces = \"{interfaces}\"\n\
             [learner]\nbehaviour = {{ kind = \"uniform\" }}\n"
        );
        let (_, out) = run(&text, 2);
        let check = &results(&out).summary.checks[0];
        assert_eq!(check.method, Method::Oracle);
        check.success_difference
    };
    let (spec, verdicts) = (gap("spec"), gap("verdicts"));
    eprintln!("IC-Q against the oracle: spec {spec:+.3}, verdicts {verdicts:+.3}");
    assert!(verdicts > -0.03, "verdicts: IC-Q {verdicts:+.3} against the oracle");
    assert!(verdicts > spec + 0.02, "verdicts {verdicts:+.3}, spec {spec:+.3}");
}

#[test]
fn a_short_ic_q_run_beats_random_handoffs() {
    let (_, out) = run(&config("[\"ic-q\", \"random\"]", "episodes = 3000"), 2);
    let r = results(&out);
    let row = |m: Method| r.summary.rows.iter().find(|x| x.method == m).unwrap().clone();
    let (icq, random) = (row(Method::IcQ), row(Method::Random));
    assert!(icq.success_rate > random.success_rate + 0.2, "{icq:?} vs {random:?}");
    assert!(icq.mean_return > random.mean_return + 0.2, "{icq:?} vs {random:?}");
}

fn invalid(text: &str) -> (String, String) {
    match ExperimentConfig::from_toml(text, "bad.toml").and_then(ExperimentConfig::validate) {
        Err(ExperimentError::InvalidConfig { field, reason }) => (field, reason),
        Err(ExperimentError::Parse { message, .. }) => ("<parse>".into(), message),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("accepted a bad config:\n{text}"),
    }
}

#[test]
fn bad_cpu_configs_are_rejected_naming_the_field() {
    let methods = "[\"ic-q\"]";
    for (extra, field) in [
        ("tester_k = 0", "workload.tester_k"),
        ("k_sweep = [64]", "workload.k_sweep"),
        ("writer_skill = 0.0", "workload.writer_skill"),
        ("episodes = 0", "workload.episodes"),
        ("[workload.debugger]\ncost = -1.0\nmin_duration = 1\njitter = 0", "workload.debugger.cost"),
        ("tasks = \"no/such/tasks.toml\"", "workload.tasks"),
    ] {
        let (f, r) = invalid(&config(methods, extra));
        assert_eq!(f, field, "{extra}: {r}");
    }
    let (f, r) = invalid(&config("[\"cascade\"]", ""));
    assert_eq!(f, "methods");
    assert!(r.contains("not a cpu method"), "{r}");
    let (f, m) = invalid(&config(methods, "budget = 3"));
    assert_eq!(f, "<parse>");
    assert!(m.contains("budget"), "{m}");
    let (f, m) = invalid(&config(methods, "interfaces = \"wide\""));
    assert_eq!(f, "<parse>");
    assert!(m.contains("wide") && m.contains("verdicts") && m.contains("spec"), "{m}");
    let synthetic = "name = \"s\"\nmethods = [\"fixed-pipeline\"]\n[workload]\nkind = \"synthetic\"\n";
    assert_eq!(invalid(synthetic).0, "methods");
}

/// `ic-q-neural` on the CPU workload: each role's own network, one scalar per transfer, deterministic, and it
/// learns to beat random handoffs in a short run.
#[test]
fn neural_ic_q_runs_on_the_cpu_workload() {
    let net = "[learner.network]\nwidth = 32\neta = 0.2\nfeatures = { kind = \"one-hot\" }\n";
    let text = format!("{}{net}", config("[\"ic-q-neural\", \"random\"]", "episodes = 3000"));
    let (_, a) = run(&text, 1);
    let (_, b) = run(&text, 2);
    let (a, b) = (results(&a), results(&b));
    assert_eq!(a.summary, b.summary, "same results on 1 and 2 threads");
    let row = |m: Method| a.summary.rows.iter().find(|x| x.method == m).unwrap().clone();
    let (neural, random) = (row(Method::IcQNeural), row(Method::Random));
    assert!(neural.success_rate > random.success_rate + 0.2, "{neural:?} vs {random:?}");
    for j in a.jobs.iter().filter(|j| j.method == Method::IcQNeural) {
        assert!(j.train.transfers > 0);
        assert_eq!(j.train.scalars, j.train.transfers, "one scalar per transfer of control");
    }
    let (f, r) = invalid(&config("[\"ic-q-neural\"]", ""));
    assert_eq!(f, "learner.network", "{r}");
}
