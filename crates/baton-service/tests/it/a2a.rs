//! `[option] kind = "a2a"`: baton agents in front of A2A agents that already exist (a minimal JSON-RPC A2A
//! server started here on 127.0.0.1).
//!
//! The task: `entry` wraps the A2A agent `/draft`, which writes a draft either `fast` (quality 0.2, free) or
//! `slow` (quality 1.0, cost 0.1 USD, read from the reply's `metadata.cost_usd`; stage `revised` instead of
//! `drafted`); the draft goes to `review`, which observes its stage and wraps the A2A agent `/review`, whose
//! reply scores the draft (`metadata.score` = its quality). With
//! gamma = 0.95 and cost_weight = 1, `entry` should learn `slow` (-0.1 + 0.95 * 1.0 = 0.85 against 0.19) from
//! the one scalar `review` sends back per handoff. Bad replies of `/review` (oversized, malformed, non-2xx,
//! a JSON-RPC error, late, NaN) each fail their own workflow only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use baton_service::{Agent, AgentConfig, Checkpoint, Client, ServiceError};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What `/review` answers: 0 right, 1 oversized, 2 not JSON, 3 HTTP 500, 4 a JSON-RPC error, 5 too late,
/// 6 a NaN score.
#[derive(Default)]
struct A2aState {
    mode: AtomicU8,
    calls: AtomicU64,
}

fn reply(id: &Value, metadata: Value, parts: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": { "kind": "message", "role": "agent", "messageId": format!("r-{id}"), "parts": parts, "metadata": metadata },
    })
}

async fn a2a_server(state: Arc<A2aState>) -> SocketAddr {
    let draft = post(|Json(req): Json<Value>| async move {
        assert_eq!(req["method"], "message/send");
        let slow = req["params"]["message"]["metadata"]["baton.action"] == "slow";
        let quality = if slow { 1.0 } else { 0.2 };
        Json(reply(
            &req["id"],
            json!({ "cost_usd": if slow { 0.1 } else { 0.0 }, "stage": if slow { "revised" } else { "drafted" } }),
            json!([{ "kind": "data", "data": { "quality": quality } }]),
        ))
    });
    let st = state.clone();
    let review = post(move |Json(req): Json<Value>| {
        let st = st.clone();
        async move {
            st.calls.fetch_add(1, Ordering::Relaxed);
            let quality = req["params"]["message"]["parts"][0]["data"]["quality"].clone();
            match st.mode.load(Ordering::Relaxed) {
                1 => Json(reply(&req["id"], json!({ "score": quality }), json!([{ "kind": "text", "text": "x".repeat(200_000) }])))
                    .into_response(),
                2 => "this is not JSON".into_response(),
                3 => (StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response(),
                4 => Json(json!({ "jsonrpc": "2.0", "id": req["id"], "error": { "code": -32603, "message": "model overloaded" } }))
                    .into_response(),
                5 => {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    Json(reply(&req["id"], json!({ "score": quality }), json!([]))).into_response()
                }
                6 => Json(reply(&req["id"], json!({ "score": "NaN" }), json!([]))).into_response(),
                _ => Json(reply(&req["id"], json!({ "score": quality }), json!([]))).into_response(),
            }
        }
    });
    let app = Router::new().route("/draft", draft).route("/review", review);
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    addr
}

const NAMES: [&str; 2] = ["entry", "review"];

fn config(i: usize, addrs: &[SocketAddr], a2a: SocketAddr, state: &std::path::Path) -> String {
    let option = if i == 0 {
        r#"n_obs = 1
start_artifact = "Write a summary of the report."
actions = [{ name = "fast", to = "review" }, { name = "slow", to = "review" }]
[option.a2a]
observation = "/metadata/stage"
observation_default = 0
cost = "/metadata/cost_usd""#
    } else {
        r#"n_obs = 2
actions = [{ name = "score", submit = true }]
[option.a2a]
observation = "/metadata/stage"
observation_values = ["drafted", "revised"]
reward = "/metadata/score""#
    };
    let j = 1 - i;
    format!(
        r#"id = "{name}"
listen = "{listen}"
seed = {seed}
state_dir = "{dir}"
wire_log = true
[[peers]]
id = "{other}"
url = "http://{other_addr}"
token = "a2a-test-token-0-1"
[[peers]]
id = "client"
token = "a2a-test-client-token"
[option]
kind = "a2a"
url = "http://{a2a}/{path}"
discount = 0.95
timeout_secs = 0.5
{option}
"#,
        name = NAMES[i],
        listen = addrs[i],
        seed = 70 + i,
        dir = state.join(NAMES[i]).display(),
        other = NAMES[j],
        other_addr = addrs[j],
        path = ["draft", "review"][i],
    )
}

struct Running {
    agents: Vec<Agent>,
    client: Client,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), ServiceError>>>,
}

async fn start(state: Arc<A2aState>, dir: &std::path::Path) -> Running {
    let a2a = a2a_server(state).await;
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..2 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(l.local_addr().unwrap());
        listeners.push(l);
    }
    let client =
        Client::new(&format!("http://{}", addrs[0]), "a2a-test-client-token", "client", Duration::from_secs(20))
            .unwrap();
    let mut r = Running { agents: Vec::new(), client, stops: Vec::new(), tasks: Vec::new() };
    for (i, l) in listeners.into_iter().enumerate() {
        let c: AgentConfig = toml::from_str(&config(i, &addrs, a2a, dir)).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_a2a_agent_learns_from_one_scalar_and_bad_replies_fail_only_their_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(A2aState::default());
    let r = start(state.clone(), dir.path()).await;
    let report = r.client.run(300, 4).await;
    assert_eq!(report.submitted, 300, "{report:?}");
    r.quiesce().await;
    let st: Vec<_> = r.agents.iter().map(|a| a.status()).collect();
    assert_eq!((st[0].handoffs_sent, st[1].handoffs_received, st[0].scalars_received), (300, 300, 300));
    assert_eq!(state.calls.load(Ordering::Relaxed), 300, "one SendMessage to /review per workflow");

    for (mode, expect) in [
        (1u8, "reply larger than"),
        (2, "bad A2A reply"),
        (3, "HTTP 500"),
        (4, "error -32603: model overloaded"),
        (5, "no reply within option.timeout_secs = 0.5"),
        (6, "reward at \"/metadata/score\" is \"NaN\", not a finite number"),
    ] {
        r.quiesce().await;
        let before: Vec<u64> = r.agents.iter().map(|a| a.status().updates).collect();
        state.mode.store(mode, Ordering::Relaxed);
        let out = r.client.start(1000 + u64::from(mode)).await.unwrap();
        let reason = out.reason.clone().unwrap_or_default();
        assert_eq!(out.status, baton_service::wire::WorkflowStatus::Failed, "{out:?}");
        assert!(reason.contains(expect) && reason.contains("/review"), "mode {mode}: {reason}");
        r.quiesce().await;
        // The handoff into `review` succeeded (entry learned from its scalar); review's own run failed, so it
        // learns nothing.
        let after: Vec<u64> = r.agents.iter().map(|a| a.status().updates).collect();
        assert_eq!(after, vec![before[0] + 1, before[1]], "mode {mode}");
        state.mode.store(0, Ordering::Relaxed);
        let again = r.client.run(3, 1).await;
        assert_eq!(again.submitted, 3, "mode {mode}: the agents keep serving: {again:?}");
        assert!(r.agents.iter().all(|a| a.status().healthy));
    }
    r.stop().await;

    // One number per handoff reply on the wire between the baton agents; review's reward travels in no handoff.
    let mut replies = 0;
    for name in NAMES {
        let log = std::fs::read_to_string(dir.path().join(name).join("wire.jsonl")).unwrap();
        for line in log.lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let text = entry["body"].to_string();
            if text.contains("\"type\":\"result\"") {
                continue; // the finished workflow's artifact, delivered to its requester
            }
            for word in ["score", "\"q\"", "visits", "observation"] {
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
    assert_eq!(replies, 300 + 6 + 6 * 3, "one scalar per handoff");
    let entry = Checkpoint::load(&dir.path().join("entry")).unwrap().unwrap();
    eprintln!("entry Q [fast, slow] = {:?}", entry.q);
    assert!(entry.q[1] > entry.q[0], "entry should prefer the slow, better draft: {:?}", entry.q);
    assert!((entry.q[1] - 0.85).abs() < 0.1, "Q(slow) = -0.1 + 0.95 * 1: {:?}", entry.q);
    let review = Checkpoint::load(&dir.path().join("review")).unwrap().unwrap();
    assert!(review.q.iter().all(|v| v.is_finite()), "{:?}", review.q);
}

#[test]
fn a2a_configs_name_the_bad_field() {
    let base = |a2a: &str| {
        format!(
            "id = \"a\"\nseed = 1\nstate_dir = \"s\"\n[option]\nkind = \"a2a\"\nurl = \"http://127.0.0.1:1/a\"\n\
             discount = 0.9\nn_obs = 2\nactions = [{{ name = \"x\", submit = true }}]\n{a2a}"
        )
    };
    let check = |a2a: &str, want: &str| {
        let c: AgentConfig = toml::from_str(&base(a2a)).unwrap();
        let e = c.validate("a.toml").unwrap_err().to_string();
        assert!(e.contains("a.toml") && e.contains(want), "{want}: {e}");
    };
    check("", "option.a2a");
    check("[option.a2a]\nobservation = \"stage\"", "option.a2a.observation");
    check("[option.a2a]\nobservation = \"/s\"\nobservation_default = 2", "option.a2a.observation_default");
    check("[option.a2a]\nobservation = \"/s\"\ncost_weight = -1.0", "option.a2a.cost_weight");
    check("[option.a2a]\nobservation = \"/s\"\nduration = 0", "option.a2a.duration");
    let ok: AgentConfig = toml::from_str(&base("[option.a2a]\nobservation = \"/s\"\nreward = \"/r\"")).unwrap();
    assert!(ok.validate("a.toml").is_ok());
    assert!(toml::from_str::<AgentConfig>(&base("[option.a2a]\nobservation = \"/s\"\ncolour = 1")).is_err());
    let http = base("[option.a2a]\nobservation = \"/s\"").replace("\"a2a\"\nurl", "\"http\"\nurl");
    let c: AgentConfig = toml::from_str(&http).unwrap();
    assert!(c.validate("a.toml").unwrap_err().to_string().contains("option.a2a"));
}
