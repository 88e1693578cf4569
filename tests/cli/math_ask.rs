//! `baton math ask`: a math run saves IC-Q's tables; `ask` runs them on one question against a scripted
//! OpenAI-compatible server on 127.0.0.1 (offline), the replay and simulated backends, and fails clearly
//! without a key or a reachable server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use baton_llm::mock::{completion, Log, Seen};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{baton, read_json, Outcome};

fn data_dir() -> PathBuf {
    baton::experiment::data::data_dir()
}

/// One tiny GSM8K math run (IC-Q only, one seed, lambdas 0 and 20), shared by the tests of this module.
fn run_dir() -> &'static Path {
    static RUN: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let cfg = format!(
            "name = \"ask\"\nseeds = 1\nmethods = [\"ic-q\"]\n[workload]\nkind = \"math\"\nbackend = \"replay\"\n\
             lambdas = [0.0, 20.0]\nepisodes = 5000\ndata_dir = {:?}\n",
            data_dir().display().to_string()
        );
        let path = tmp.path().join("math.toml");
        std::fs::write(&path, cfg).expect("write config");
        let out = tmp.path().join("run");
        baton(["run", path.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "--quiet"])
            .assert_success();
        (tmp, out)
    })
    .1
}

/// An OpenAI-compatible server on 127.0.0.1 that answers every solver request with `2 + 2 = 4 / #### 4`
/// and every critic request with `VERDICT: CORRECT`, recording what it was sent.
fn serve() -> (String, Log) {
    baton_llm::mock::serve(None, |req| {
        let content = req.body["messages"][0]["content"].as_str().unwrap_or("");
        let text = if content.contains("VERDICT") {
            "Each step holds.\nVERDICT: CORRECT"
        } else {
            "Two apples and two more make 2 + 2 = 4 apples.\n#### 4"
        };
        (200, completion(text, Some((900, 20))))
    })
    .expect("bind a local port")
}

fn ask(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["math", "ask", "--run", run_dir().to_str().expect("utf-8")]).args(args).env_remove("BATON_LOG");
    cmd.env("BATON_DATA_DIR", data_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("cannot start the baton binary");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn transcript(o: &Outcome) -> Value {
    o.assert_success();
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{o:?}"))
}

/// Calls the transcript says were made: (solver calls, critic calls).
fn calls(t: &Value) -> (usize, usize) {
    let works: Vec<String> =
        t["steps"].as_array().expect("steps").iter().map(|s| s["work"].as_str().unwrap_or("").to_string()).collect();
    let count = |needle: &str| works.iter().map(|w| w.matches(needle).count()).sum::<usize>();
    (count("answered"), count("critic judged"))
}

#[test]
fn a_run_saves_each_agents_own_table_per_lambda() {
    let manifest = read_json(&run_dir().join("policy/policy.json"));
    assert_eq!(manifest["dataset"], "gsm8k-test");
    assert_eq!(manifest["lambdas"], serde_json::json!([0.0, 20.0]));
    for lambda in ["0", "20"] {
        for (i, n_obs) in [48, 24, 800, 400, 400].into_iter().enumerate() {
            let t = read_json(&run_dir().join(format!("policy/lambda-{lambda}/agent-{i}.json")));
            assert_eq!(t["agent"], i);
            assert_eq!(t["q"].as_array().expect("q").len(), n_obs * 7, "agent {i} holds only its own table");
        }
    }
}

#[test]
fn live_ask_runs_the_policy_against_a_loopback_server() {
    let (url, seen) = serve();
    for lambda in ["0", "20"] {
        let before = seen.lock().expect("log").len();
        let o = ask(
            &[
                "What is 2 + 2?",
                "--lambda",
                lambda,
                "--gold",
                "4",
                "--base-url",
                &url,
                "--api-key-env",
                "BATON_ASK_KEY",
                "--json",
            ],
            &[("BATON_ASK_KEY", "sk-test")],
        );
        let t = transcript(&o);
        let requests: Vec<Seen> = seen.lock().expect("log")[before..].to_vec();
        // Exactly the calls the policy asked for reached the server, each with the key, on the chat route.
        let (solver, critic) = calls(&t);
        assert!(solver >= 1, "at least one solver answered:\n{o:?}");
        assert_eq!(requests.len(), solver + critic, "one request per call:\n{o:?}\n{requests:?}");
        for r in &requests {
            assert_eq!(r.path, "/v1/chat/completions");
            assert_eq!(r.authorization.as_deref(), Some("Bearer sk-test"));
            assert!(r.body["messages"][0]["content"].as_str().expect("content").contains("What is 2 + 2?"));
        }
        // The submitted answer is the server's, graded against --gold.
        assert_eq!(t["final_answer"], "4", "{o:?}");
        assert_eq!(t["correct"], true);
        let steps = t["steps"].as_array().expect("steps");
        assert_eq!(steps[0]["agent"], "submit", "the desk holds the question first");
        assert!(steps.last().expect("a step")["action"].as_str().expect("action").starts_with("submit-"));
        // Every handoff but the last got the receiver's scalar; costs add up to the total.
        let total: f64 = steps.iter().map(|s| s["cost_usd"].as_f64().expect("cost")).sum();
        assert!((total - t["cost_usd"].as_f64().expect("cost")).abs() < 1e-12);
        assert_eq!(steps.last().expect("a step")["scalar"], 0.0);
    }
    // The text form names every handoff.
    let o = ask(&["What is 2 + 2?", "--lambda", "0", "--base-url", &url], &[]);
    o.assert_success();
    assert!(o.stdout.contains("1. submit (obs 0) sees: cheap answer: absent"), "{o:?}");
    assert!(o.stdout.contains("scalar back"), "{o:?}");
    assert!(o.stdout.contains("not graded"), "{o:?}");
}

#[test]
fn a_missing_key_or_an_unreachable_server_is_a_clear_error() {
    let (url, seen) = serve();
    let o = ask(&["What is 2 + 2?", "--lambda", "0", "--base-url", &url, "--api-key-env", "BATON_ASK_UNSET_KEY"], &[]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("BATON_ASK_UNSET_KEY"), "names the variable: {o:?}");
    assert!(seen.lock().expect("log").is_empty(), "no request without a key");

    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("live.toml");
    std::fs::write(&live, format!("base_url = \"http://127.0.0.1:{port}/v1\"\nmax_retries = 0\ntimeout_secs = 5\n"))
        .expect("write");
    let o = ask(&["What is 2 + 2?", "--lambda", "0", "--live", live.to_str().expect("utf-8")], &[]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains(&format!("127.0.0.1:{port}")) && o.stderr.contains("transport error"), "{o:?}");
    assert!(!o.stderr.contains("panicked"), "{o:?}");

    let o = ask(&["What is 2 + 2?", "--base-url", &url], &[]);
    assert_eq!(o.code, Some(2), "two lambdas saved: --lambda is needed: {o:?}");
    assert!(o.stderr.contains("--lambda") && o.stderr.contains("0, 20"), "{o:?}");
}

#[test]
fn replay_and_simulated_backends_answer_questions_of_the_data_set_offline() {
    let t = transcript(&ask(&["--backend", "replay", "--index", "3", "--lambda", "0", "--json"], &[]));
    assert!(t["correct"].is_boolean(), "a data-set question is graded: {t}");
    let t = transcript(&ask(&["--backend", "simulated", "--index", "3", "--lambda", "20", "--json"], &[]));
    assert!(t["correct"].is_boolean());
    let o = ask(&["What is 2 + 2?", "--backend", "replay", "--lambda", "0"], &[]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("--index"), "{o:?}");
    let o = ask(&["--backend", "replay", "--index", "99999", "--lambda", "0"], &[]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("1319"), "{o:?}");
}

#[test]
fn a_damaged_policy_file_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let copy = tmp.path().join("run");
    std::fs::create_dir_all(copy.join("policy/lambda-0")).expect("mkdir");
    for name in ["config.toml", "policy/policy.json"] {
        std::fs::copy(run_dir().join(name), copy.join(name)).expect("copy");
    }
    for i in 0..5 {
        let name = format!("policy/lambda-0/agent-{i}.json");
        let mut t = read_json(&run_dir().join(&name));
        if i == 2 {
            t["q"].as_array_mut().expect("q").pop();
        }
        std::fs::write(copy.join(&name), t.to_string()).expect("write");
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["math", "ask", "--run", copy.to_str().expect("utf-8"), "--lambda", "0", "--backend", "replay"]);
    let out = cmd.args(["--index", "0"]).env("BATON_DATA_DIR", data_dir()).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("agent-2.json") && stderr.contains("5599 entries, expected 5600"), "{stderr}");
}
