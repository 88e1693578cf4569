//! `baton run` on a math config with `backend = "live"`, against a counting OpenAI-compatible server on
//! 127.0.0.1 (baton-llm's mock): the spend cap stops a run cleanly, a rerun replays the journal without a single
//! request and gives the same metrics, raising the cap pays only for what is missing, and a run killed
//! mid-way loses no recorded response.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_llm::live::parse_journal;
use baton_llm::mock::{completion, Log};
use serde_json::Value;

use crate::support::{baton, read_json};

fn data_dir() -> PathBuf {
    baton::experiment::data::data_dir()
}

/// The server: the strong model (`gpt-4o`) answers every GSM8K question right, the cheap one (`gpt-4o-mini`)
/// one question in three wrong; usage 1000 prompt and 100 completion tokens per reply (gpt-4o-mini 0.00021
/// USD, gpt-4o 0.0035 USD). Waits `delay` before each reply.
fn server(delay: Duration) -> (String, Log) {
    let test = baton_llm::Dataset::gsm8k_test(&data_dir()).expect("GSM8K test");
    let gold: Arc<HashMap<String, String>> = Arc::new(
        test.problems
            .iter()
            .map(|p| {
                let answer = p.reference.rsplit("####").next().unwrap_or("").trim().replace(',', "");
                (p.question.clone(), answer)
            })
            .collect(),
    );
    baton_llm::mock::serve(None, move |req| {
        std::thread::sleep(delay);
        let content = req.body["messages"][0]["content"].as_str().unwrap_or("");
        let question = content.rsplit("Question: ").next().unwrap_or("").trim_end_matches("\nAnswer:");
        let right = gold.get(question).cloned().unwrap_or_else(|| "0".into());
        let strong = req.body["model"] == "gpt-4o";
        let text = if strong || question.len() % 3 != 0 {
            format!("Working it out step by step.\n#### {right}")
        } else {
            format!("A quick guess.\n#### {right}1")
        };
        (200, completion(&text, Some((1000, 100))))
    })
    .expect("bind a loopback port")
}

fn config(dir: &Path, url: &str, questions: usize, cap: f64, concurrency: u32) -> PathBuf {
    let text = format!(
        r#"name = "live"
seeds = 1
methods = ["ic-q", "cheap-only", "strong-only"]
[workload]
kind = "math"
backend = "live"
lambdas = [0.0, 50.0]
episodes = 2000
questions = {questions}
cheap_model = "gpt-4o-mini"
strong_model = "gpt-4o"
data_dir = {data:?}
[workload.live]
base_url = "{url}"
spend_cap_usd = {cap}
max_concurrency = {concurrency}
max_retries = 0
timeout_secs = 10
record_file = {journal:?}
"#,
        data = data_dir().display().to_string(),
        journal = dir.join("journal.jsonl").display().to_string(),
    );
    let path = dir.join(format!("live-{cap}.toml"));
    std::fs::write(&path, text).expect("write the config");
    path
}

fn run(config: &Path, out: &Path) -> crate::support::Outcome {
    baton(["run", config.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "--quiet"])
}

fn journal_lines(dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join("journal.jsonl")).expect("the journal");
    parse_journal(&text, "journal").expect("every complete line parses").entries.len()
}

fn requests(log: &Log) -> usize {
    log.lock().expect("the mock's log").len()
}

#[test]
fn the_cap_stops_the_run_a_rerun_replays_for_free_and_a_raised_cap_pays_only_the_rest() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (url, log) = server(Duration::ZERO);
    let capped = config(tmp.path(), &url, 40, 0.05, 2);

    let first = run(&capped, &tmp.path().join("first"));
    first.assert_success();
    assert!(first.stderr.contains("spend cap reached"), "{first:?}");
    let s = read_json(&tmp.path().join("first/summary.json"));
    let live = &s["live"];
    let answered = live["questions_answered"].as_u64().expect("answered") as usize;
    assert_eq!(live["cap_reached"], true, "{live}");
    assert!((2..40).contains(&answered), "{live}");
    let spent = live["spent_usd"].as_f64().expect("spent");
    // Two requests may be in flight when the cap is reached: at most two replies (0.0035 USD each) beyond it.
    assert!((0.05..0.05 + 2.0 * 0.0035 + 1e-9).contains(&spent), "{live}");
    let sent = requests(&log);
    assert_eq!(live["http_requests"].as_u64(), Some(sent as u64));
    assert_eq!(journal_lines(tmp.path()), sent, "every response recorded");
    assert_eq!(s["train_questions"].as_u64().unwrap() + s["heldout_questions"].as_u64().unwrap(), answered as u64);

    // The same config again: everything replayed from the journal, not one request, the same metrics.
    let second = run(&capped, &tmp.path().join("second"));
    second.assert_success();
    assert_eq!(requests(&log), sent, "a rerun sent requests");
    let s2 = read_json(&tmp.path().join("second/summary.json"));
    assert_eq!(s2["live"]["http_requests"], 0);
    assert_eq!(s2["live"]["questions_answered"].as_u64(), Some(answered as u64));
    let metrics = |d: &str| std::fs::read_to_string(tmp.path().join(d).join("metrics.jsonl")).expect("metrics");
    assert_eq!(metrics("first"), metrics("second"), "a replayed run must give the recorded run's metrics");

    // A raised cap resumes: the 80 calls of 40 questions, minus those already paid for.
    let raised = config(tmp.path(), &url, 40, 10.0, 2);
    let third = run(&raised, &tmp.path().join("third"));
    third.assert_success();
    assert!(!third.stderr.contains("spend cap reached"), "{third:?}");
    assert_eq!(requests(&log), 80, "each (model, question) paid exactly once");
    let s3 = read_json(&tmp.path().join("third/summary.json"));
    assert_eq!(s3["live"]["new_responses"].as_u64(), Some(80 - sent as u64));
    assert_eq!(s3["live"]["questions_answered"], 40);
    assert_eq!(journal_lines(tmp.path()), 80);
    // Strong-only is right on every held-out question; cheap-only on fewer.
    let row = |m: &str| s3["rows"].as_array().unwrap().iter().find(|r| r["method"] == m).cloned().unwrap();
    assert_eq!(row("strong-only")["accuracy"], 1.0, "{}", row("strong-only"));
    assert!(row("cheap-only")["accuracy"].as_f64().unwrap() < 1.0);
}

#[test]
fn a_run_killed_mid_way_loses_no_recorded_response_and_the_rerun_pays_only_the_rest() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (url, log) = server(Duration::from_millis(40));
    let cfg = config(tmp.path(), &url, 30, 10.0, 1);
    let out = tmp.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .env_remove("BATON_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start baton");
    let start = Instant::now();
    while requests(&log) < 12 {
        assert!(start.elapsed() < Duration::from_secs(120), "the run never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill the run");
    child.wait().expect("reap the run");
    // The server logs a request when its reply is ready (after its 40 ms delay): let the one in flight land.
    std::thread::sleep(Duration::from_millis(300));
    let at_kill = requests(&log);
    let recorded = journal_lines(tmp.path());
    // One request at a time: only the reply in flight at the kill can be missing from the journal.
    assert!(recorded + 1 >= at_kill && recorded <= at_kill, "{recorded} recorded of {at_kill} requests");
    assert!(!out.join("summary.json").exists());

    let rerun = run(&cfg, &out);
    rerun.assert_success();
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["live"]["questions_answered"], 30);
    assert_eq!(s["live"]["replayed"].as_u64(), Some(recorded as u64));
    assert_eq!(requests(&log) - at_kill, 60 - recorded, "the rerun pays only for the responses not recorded");
    assert_eq!(journal_lines(tmp.path()), 60);
    let _: &Value = &s["rows"];
}

#[test]
fn the_example_live_config_is_valid_and_bad_fields_are_named() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/live/math-ollama.toml");
    let text = std::fs::read_to_string(&path).expect("the example");
    let origin = path.display().to_string();
    let config = baton::experiment::ExperimentConfig::from_toml(&text, &origin).expect("parses");
    config.check().unwrap_or_else(|e| panic!("{origin}: {e}"));
    for (from, to, field) in [
        ("spend_cap_usd = 0.50", "", "workload.live.spend_cap_usd"),
        ("spend_cap_usd = 0.50", "spend_cap_usd = -1.0", "workload.live.spend_cap_usd"),
        ("record_file = \"runs/math-ollama.jsonl\"", "", "workload.live.record_file"),
        ("max_concurrency = 2", "max_concurrency = 0", "workload.live.max_concurrency"),
        ("timeout_secs = 300", "timeout_secs = 1e20", "workload.live.timeout_secs"),
        ("questions = 200", "questions = 1", "workload.questions"),
        ("backend = \"live\"", "backend = \"replay\"", "workload.live"),
    ] {
        let bad = text.replacen(from, to, 1);
        let e = baton::experiment::ExperimentConfig::from_toml(&bad, &origin).and_then(|c| c.check().map(|_| ()));
        let e = e.expect_err(field).to_string();
        assert!(e.contains(field), "{field}: {e}");
    }
}
