//! Agents whose options are user-defined HTTP hooks: a three-agent task served by an in-process axum hook
//! server, learned through the ordinary agent services.
//!
//! The task: `src` draws whether the artifact needs work (`need`, alternating); `worker` observes `need` and
//! either does the work (`done = true`, reward -0.25) or passes it on (reward 0); `checker` observes whether
//! `done == need` and submits: `accept` (reward 1, legal only when `done == need`) or `redo` (reward 0). With
//! gamma = 0.95 the worker's right policy is: work only when `need` (0.7 against 0), pass otherwise (0.95
//! against -0.25).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use baton_service::{Agent, AgentConfig, Checkpoint, Client, ServiceError};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What the worker's hook answers: 0 correct, 1 a NaN reward, 2 an observation out of range, 3 too late.
#[derive(Default)]
struct HookState {
    draws: AtomicU64,
    worker_mode: AtomicU8,
    /// `accept` runs the checker's hook saw although `done != need` (the `legal` list forbids them).
    illegal_accepts: AtomicU64,
}

fn flag(a: &Value, key: &str) -> bool {
    a[key].as_bool().unwrap_or(false)
}

async fn hook_server(state: Arc<HookState>) -> SocketAddr {
    let st = state.clone();
    let src = post(move |Json(req): Json<Value>| {
        let st = st.clone();
        async move {
            Json(match req["op"].as_str() {
                Some("observe") => json!({ "observation": 0 }),
                _ => {
                    let need = st.draws.fetch_add(1, Ordering::Relaxed) % 2 == 0;
                    json!({ "artifact": { "need": need, "done": false }, "reward": 0.0, "duration": 1 })
                }
            })
        }
    });
    let st = state.clone();
    let worker = post(move |Json(req): Json<Value>| {
        let st = st.clone();
        async move {
            let a = &req["artifact"];
            let mode = st.worker_mode.load(Ordering::Relaxed);
            match req["op"].as_str() {
                Some("observe") if mode == 2 => Json(json!({ "observation": 7 })),
                Some("observe") => Json(json!({ "observation": u32::from(flag(a, "need")) })),
                _ if mode == 1 => Json(json!({ "artifact": a, "reward": "NaN", "duration": 1 })),
                _ => {
                    if mode == 3 {
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                    }
                    let work = req["action"] == "work";
                    let artifact = json!({ "need": flag(a, "need"), "done": work });
                    Json(json!({ "artifact": artifact, "reward": if work { -0.25 } else { 0.0 }, "duration": 1 }))
                }
            }
        }
    });
    let st = state.clone();
    let checker = post(move |Json(req): Json<Value>| {
        let st = st.clone();
        async move {
            let a = &req["artifact"];
            let right = flag(a, "need") == flag(a, "done");
            Json(match req["op"].as_str() {
                Some("observe") if right => json!({ "observation": 1, "legal": [0, 1] }),
                Some("observe") => json!({ "observation": 0, "legal": [1] }),
                _ => {
                    let accept = req["action"] == "accept";
                    if accept && !right {
                        st.illegal_accepts.fetch_add(1, Ordering::Relaxed);
                    }
                    json!({ "artifact": a, "reward": if accept { 1.0 } else { 0.0 }, "duration": 1 })
                }
            })
        }
    });
    let app = Router::new().route("/src", src).route("/worker", worker).route("/checker", checker);
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    addr
}

const NAMES: [&str; 3] = ["src", "worker", "checker"];

fn token(a: usize, b: usize) -> String {
    format!("hook-test-token-{}-{}", a.min(b), a.max(b))
}

/// The three agents' configs, written as TOML (so the `[option]` syntax is what is tested).
fn config(i: usize, addrs: &[SocketAddr], hooks: SocketAddr, state: &std::path::Path) -> String {
    let option = match i {
        0 => r#"n_obs = 1
start_artifact = { need = false, done = false }
actions = [{ name = "draw", to = "worker" }]"#
            .to_string(),
        1 => r#"n_obs = 2
actions = [{ name = "work", to = "checker" }, { name = "pass", to = "checker" }]"#
            .to_string(),
        _ => r#"n_obs = 2
actions = [{ name = "accept", submit = true }, { name = "redo", submit = true }]"#
            .to_string(),
    };
    let mut peers = String::new();
    for j in (0..3).filter(|&j| j != i) {
        peers +=
            &format!("[[peers]]\nid = \"{}\"\nurl = \"http://{}\"\ntoken = \"{}\"\n", NAMES[j], addrs[j], token(i, j));
    }
    format!(
        r#"id = "{name}"
listen = "{listen}"
seed = {seed}
state_dir = "{dir}"
wire_log = true
[option]
kind = "http"
url = "http://{hooks}/{name}"
discount = 0.95
timeout_secs = 0.5
{option}
{peers}
[[peers]]
id = "client"
token = "hook-test-client-token"
"#,
        name = NAMES[i],
        listen = addrs[i],
        seed = 40 + i,
        dir = state.join(NAMES[i]).display(),
    )
}

struct Running {
    agents: Vec<Agent>,
    client: Client,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), ServiceError>>>,
}

async fn start(state: Arc<HookState>, dir: &std::path::Path) -> Running {
    let hooks = hook_server(state).await;
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..3 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(l.local_addr().unwrap());
        listeners.push(l);
    }
    let mut r = Running {
        agents: Vec::new(),
        client: Client::new(
            &format!("http://{}", addrs[0]),
            "hook-test-client-token",
            "client",
            Duration::from_secs(20),
        )
        .unwrap(),
        stops: Vec::new(),
        tasks: Vec::new(),
    };
    for (i, l) in listeners.into_iter().enumerate() {
        let c: AgentConfig = toml::from_str(&config(i, &addrs, hooks, dir)).unwrap();
        let agent = Agent::new(c.validate("<test>").unwrap()).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        r.agents.push(agent.clone());
        r.stops.push(tx);
        r.tasks.push(tokio::spawn(agent.run(l, async move {
            let _ = rx.await;
        })));
    }
    r
}

impl Running {
    async fn quiesce(&self) {
        for _ in 0..2000 {
            if self.agents.iter().all(|a| a.status().in_flight == 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("agents still busy");
    }

    async fn stop(self) {
        for s in self.stops {
            let _ = s.send(());
        }
        for t in self.tasks {
            t.await.unwrap().unwrap();
        }
    }
}

fn greedy(c: &Checkpoint, obs: usize) -> usize {
    let row = &c.q[obs * c.n_actions..(obs + 1) * c.n_actions];
    (0..row.len()).fold(0, |b, a| if row[a] > row[b] { a } else { b })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_agents_learn_the_right_policy_with_one_scalar_per_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(HookState::default());
    let r = start(state.clone(), dir.path()).await;
    let report = r.client.run(300, 4).await;
    assert_eq!(report.submitted, 300, "{report:?}");
    r.quiesce().await;
    let st: Vec<_> = r.agents.iter().map(|a| a.status()).collect();
    let sent: u64 = st.iter().map(|s| s.handoffs_sent).sum();
    let received: u64 = st.iter().map(|s| s.handoffs_received).sum();
    let scalars: u64 = st.iter().map(|s| s.scalars_received).sum();
    let updates: u64 = st.iter().map(|s| s.updates).sum();
    assert_eq!(sent, 600, "src -> worker -> checker in every workflow");
    assert_eq!((received, scalars, report.hops), (sent, sent, sent));
    assert_eq!(updates, sent + 300, "one update per handoff and per submit");
    assert_eq!(st[2].workflows_submitted, 300);
    assert_eq!(state.illegal_accepts.load(Ordering::Relaxed), 0, "the checker acted outside its `legal` list");
    r.stop().await;

    // Every handoff reply on the wire is one number; the hook's observations and rewards never travel.
    let mut replies = 0;
    for name in NAMES {
        let log = std::fs::read_to_string(dir.path().join(name).join("wire.jsonl")).unwrap();
        for line in log.lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let text = entry["body"].to_string();
            for word in ["observation", "reward", "duration", "legal", "\"q\"", "visits"] {
                assert!(!text.contains(word), "{word} on the wire: {text}");
            }
            if entry["dir"] == "in-reply"
                && entry["body"]["result"]["metadata"].get(baton_service::wire::SCALAR_EXT).is_some()
            {
                assert_eq!(entry["body"]["result"]["metadata"].as_object().unwrap().len(), 1);
                replies += 1;
            }
        }
    }
    assert_eq!(replies, sent);

    // The learned greedy policies, read from the final checkpoints.
    let load = |name: &str| Checkpoint::load(&dir.path().join(name)).unwrap().unwrap();
    let (worker, checker) = (load("worker"), load("checker"));
    eprintln!("worker Q (row-major [obs][work, pass]) = {:?}; checker Q = {:?}", worker.q, checker.q);
    assert_eq!((worker.n_obs, worker.n_actions), (2, 2));
    assert_eq!(greedy(&worker, 1), 0, "work when the artifact needs it: {:?}", worker.q);
    assert_eq!(greedy(&worker, 0), 1, "pass when it does not: {:?}", worker.q);
    assert!((checker.q[2] - 1.0).abs() < 0.01, "Q_checker(right, accept) = 1: {:?}", checker.q);
    assert_eq!(checker.visits[0], 0, "accept is not legal when done != need");
    assert!((worker.q[2] - 0.7).abs() < 0.1 && (worker.q[1] - 0.95).abs() < 0.1, "{:?}", worker.q);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_returning_garbage_fails_the_workflow_and_the_agent_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(HookState::default());
    let r = start(state.clone(), dir.path()).await;
    let ok = r.client.run(4, 1).await;
    assert_eq!(ok.submitted, 4, "{ok:?}");
    for (mode, expect) in [
        (1u8, "expected f64"),
        (2, "observation 7 is out of range 0..2"),
        (3, "no reply within option.timeout_secs = 0.5"),
    ] {
        r.quiesce().await;
        let before: Vec<u64> = r.agents.iter().map(|a| a.status().updates).collect();
        state.worker_mode.store(mode, Ordering::Relaxed);
        let out = r.client.start(100 + u64::from(mode)).await.unwrap();
        let reason = out.reason.clone().unwrap_or_default();
        assert_eq!(out.status, baton_service::wire::WorkflowStatus::Failed, "{out:?}");
        assert!(reason.contains(expect) && reason.contains("/worker"), "mode {mode}: {reason}");
        r.quiesce().await;
        let after: Vec<u64> = r.agents.iter().map(|a| a.status().updates).collect();
        // A bad observation fails the handoff into the worker: src gets no scalar and updates nothing. A bad
        // or late run fails after that handoff succeeded (src learned from the worker's scalar) but before
        // the worker learns: the worker and the checker update nothing.
        let mut want = before.clone();
        if mode != 2 {
            want[0] += 1;
        }
        assert_eq!(after, want, "mode {mode}");
        state.worker_mode.store(0, Ordering::Relaxed);
        let again = r.client.run(2, 1).await;
        assert_eq!(again.submitted, 2, "mode {mode}: the agents keep serving: {again:?}");
        assert!(r.agents.iter().all(|a| a.status().healthy));
    }
    r.stop().await;
    for name in NAMES {
        let c = Checkpoint::load(&dir.path().join(name)).unwrap().unwrap();
        assert!(c.q.iter().all(|v| v.is_finite()), "{name}: {:?}", c.q);
    }
}

#[test]
fn hook_configs_name_the_bad_field() {
    let base = |option: &str| {
        format!(
            "id = \"a\"\nseed = 1\nstate_dir = \"s\"\n[option]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/h\"\n\
             discount = 0.9\n{option}\n[[peers]]\nid = \"b\"\nurl = \"http://127.0.0.1:2\"\ntoken = \"0123456789abcdef-b\"\n"
        )
    };
    let check = |option: &str, want: &str| {
        let c: AgentConfig = toml::from_str(&base(option)).unwrap();
        let e = c.validate("a.toml").unwrap_err().to_string();
        assert!(e.contains("a.toml") && e.contains(want), "{e}");
    };
    check("n_obs = 0\nactions = [{ name = \"x\", submit = true }]", "option.n_obs");
    check("n_obs = 1\nactions = [{ name = \"x\", to = \"zed\" }]", "option.actions[0].to");
    check("n_obs = 1\nactions = [{ name = \"x\" }]", "option.actions[0].to");
    check("n_obs = 1\nactions = [{ name = \"x\", submit = true }, { name = \"x\", to = \"b\" }]", "actions[1].name");
    check("n_obs = 1\nactions = []", "option.actions");
    check("program = \"sh\"\nn_obs = 1\nactions = [{ name = \"x\", submit = true }]", "option.url");
    let command = base("n_obs = 1\nactions = [{ name = \"x\", submit = true }]").replace("\"http\"", "\"command\"");
    let c: AgentConfig = toml::from_str(&command).unwrap();
    assert!(c.validate("a.toml").unwrap_err().to_string().contains("option.program"));
    let ok: AgentConfig = toml::from_str(&base("n_obs = 1\nactions = [{ name = \"x\", to = \"b\" }]")).unwrap();
    assert!(ok.validate("a.toml").is_ok());
    let mut with_role = ok.clone();
    with_role.role = Some(0);
    assert!(with_role.validate("a.toml").unwrap_err().to_string().contains("`role`"));
    let bad = toml::from_str::<AgentConfig>(&base("n_obs = 1\nactions = []\ncolour = 1"));
    assert!(bad.unwrap_err().to_string().contains("colour"));
}

#[test]
fn the_example_hook_config_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/service/hook-worker.toml");
    let s = AgentConfig::load(&path).unwrap();
    let hook = s.hook.unwrap();
    assert_eq!((hook.n_obs, hook.action_names.len()), (2, 2));
    assert!(hook.start_artifact.is_none());
}

/// One entry agent whose option is a `sh` script (`kind = "command"`); its one action submits.
#[cfg(unix)]
async fn solo(dir: &std::path::Path, script: &str) -> Running {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let config = format!(
        r#"id = "solo"
listen = "{addr}"
seed = 7
state_dir = "{dir}"
[option]
kind = "command"
program = "sh"
args = ["-c", {script:?}]
n_obs = 1
discount = 0.9
timeout_secs = 0.5
start_artifact = {{ n = 0 }}
actions = [{{ name = "done", submit = true }}]
[[peers]]
id = "client"
token = "hook-test-client-token"
"#,
        dir = dir.display()
    );
    let c: AgentConfig = toml::from_str(&config).unwrap();
    let agent = Agent::new(c.validate("<test>").unwrap()).unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let client = Client::new(&format!("http://{addr}"), "hook-test-client-token", "client", Duration::from_secs(20));
    let task = tokio::spawn(agent.clone().run(l, async move {
        let _ = rx.await;
    }));
    Running { agents: vec![agent], client: client.unwrap(), stops: vec![tx], tasks: vec![task] }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_hook_runs_one_process_per_call_and_bad_ones_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let answer = |run: &str| {
        format!(
            r#"IFS= read -r line; case "$line" in *'"op":"observe"'*) echo '{{"observation": 0}}';; *) {run};; esac"#
        )
    };
    let good = answer(r#"echo '{"artifact": {"n": 1}, "reward": 1.0, "duration": 1}'"#);
    let r = solo(&dir.path().join("good"), &good).await;
    let report = r.client.run(5, 2).await;
    assert_eq!(report.submitted, 5, "{report:?}");
    r.quiesce().await;
    assert_eq!(r.agents[0].status().updates, 5);
    r.stop().await;
    let c = Checkpoint::load(&dir.path().join("good")).unwrap().unwrap();
    assert!(c.q[0] > 0.5 && c.q[0] <= 1.0, "{:?}", c.q);
    assert_eq!(c.env, "user-hook-v1");

    for (name, run, expect) in [
        ("late", "sleep 5".to_string(), "no reply within option.timeout_secs = 0.5"),
        ("garbage", "echo not-json".to_string(), "bad run reply"),
        ("exit", "exit 3".to_string(), "exited with"),
    ] {
        let r = solo(&dir.path().join(name), &answer(&run)).await;
        let report = r.client.run(1, 1).await;
        assert_eq!(report.failed, 1, "{name}: {report:?}");
        assert!(report.failures[0].contains(expect) && report.failures[0].contains("command sh"), "{report:?}");
        r.quiesce().await;
        assert_eq!(r.agents[0].status().updates, 0, "{name}: nothing learned from a failed run");
        assert!(r.client.status().await.unwrap().healthy, "{name}: the agent keeps serving");
        r.stop().await;
    }
}
